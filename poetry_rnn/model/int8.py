"""The int8 stepper: a PoetryLM's decoding with every large matrix product in int8.

Decoding one poem reads every weight at every step, so on a memory-bound CPU 4x fewer bytes a weight is the
speed-up. Each recurrent and output matrix is quantized per output channel (symmetric) and packed for
fbgemm's dynamic int8 linear, except the products too small for int8 to pay, which stay float32
(`fast_linear`). Gates and softmax stay float32. The packed weights are a snapshot of the model's: make a
new stepper after changing them. Training and the model itself are untouched.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from poetry_rnn.cache import BoundedCache
from poetry_rnn.model.checkpoint import int8_row_scales
from poetry_rnn.model.lm import PoetryLM
from poetry_rnn.model.stepper import (
    State,
    Stepper,
    StepScores,
    adaptive_log_probs,
    advance_layers,
    cell_update,
    prefix_output,
)

# The op itself, called directly: the overload packet's and the overload's __call__ first scan the
# arguments for fake script objects in Python, a noticeable part of a small product's time.
LINEAR_DYNAMIC = getattr(
    torch.ops.quantized.linear_dynamic.default, "_op", torch.ops.quantized.linear_dynamic.default
)
# Products with fewer inputs than this stay float32 (FloatLinear): quantizing the input costs more than the
# product. Larger ones are int8 even where a float32 product alone is faster: in a decoding step the
# float32 weights (4x the bytes) fall out of cache between uses, and the whole step got slower.
INT8_MIN_INPUTS = 64
MAX_CACHED_PREFIXES = 64  # conditioning prefixes whose output an Int8Stepper keeps


def fast_linear(weight: torch.Tensor, bias: torch.Tensor | None = None) -> Int8Linear | FloatLinear:
    """The faster of the two products for a decoding step with this weight (see INT8_MIN_INPUTS)."""
    if weight.shape[1] < INT8_MIN_INPUTS:
        return FloatLinear(weight, bias)
    return Int8Linear(weight, bias)


class Int8Linear:
    """y = x W^T + b with W held as int8, one scale per output row (symmetric), through fbgemm's dynamic
    quantized linear: the input is quantized per call (one range for the whole input) and the result is
    float32. reduce_range keeps activations to 7 bits, as fbgemm's int16 accumulation needs."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        weight = weight.detach().float().cpu().contiguous()
        scales = int8_row_scales(weight).double()  # as an int8 weights file stores them
        zero_points = torch.zeros(weight.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # quantized tensor creation is deprecated in torch 2.13, still works
            warnings.simplefilter("ignore", UserWarning)
            quantized = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
        self.packed = torch.ops.quantized.linear_prepack(
            quantized, None if bias is None else bias.detach().float().cpu().contiguous()
        )
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.dtype == torch.float32 and x.is_contiguous():  # a decoding step: no reshapes
            return LINEAR_DYNAMIC(x, self.packed, True)
        flat = x.reshape(-1, self.in_features).float().contiguous()
        out = LINEAR_DYNAMIC(flat, self.packed, True)
        return out.reshape(*x.shape[:-1], self.out_features)


class FloatLinear:
    """y = x W^T + b in float32, for the products too small for int8 to pay (see fast_linear)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        self.weight_t = weight.detach().float().cpu().T.contiguous()  # [in, out]: one row-major pass
        self.weight_numpy = self.weight_t.numpy()  # the same memory
        self.bias = None if bias is None else bias.detach().float().cpu().contiguous()
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]

    def row(self, x: np.ndarray) -> np.ndarray:
        """One input row [in] → [out], through NumPy: for a single row its matrix-vector product is faster
        than torch's (no dispatch, no output tensor set-up)."""
        out = x @ self.weight_numpy
        return out if self.bias is None else out + self.bias.numpy()

    def _product(self, flat: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.mm(flat, self.weight_t)
        return torch.addmm(self.bias, flat, self.weight_t)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.dtype == torch.float32 and x.is_contiguous():  # a decoding step: no reshapes
            return self._product(x)
        out = self._product(x.reshape(-1, self.in_features).float().contiguous())
        return out.reshape(*x.shape[:-1], self.out_features)


def _tail_scores(up: FloatLinear, downs: torch.Tensor, rows: torch.Tensor | int) -> torch.Tensor | np.ndarray:
    """A tail cluster's scores from its down-projected rows: for some rows [R, size], or for one (an int:
    [size], the lazy sampler's one row, as a NumPy array). StepScores asks after the step has returned."""
    if isinstance(rows, int):
        return up.row(downs.numpy()[rows])
    with torch._C.DisableTorchFunctionSubclass(), torch.inference_mode():  # see Int8Stepper.step
        return up(downs.index_select(0, rows))


class Int8Stepper(Stepper):
    """The same computation as the FloatStepper (and the model's forward in eval mode), with the matrix
    products done by Int8Linear, except those too small for int8 to pay (fast_linear).

    Decoding also skips the first layer's input product: embedding @ W_ih + b_ih is one row per vocabulary
    entry, so a step looks the row up in a table built on first use (vocab x gates floats) instead of
    multiplying at every step."""

    precision = "int8"

    def __init__(self, model: PoetryLM):
        self.model = model
        config = model.config
        rnn = model.rnn
        self.input_weights = [
            fast_linear(getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"bias_ih_l{layer}"))
            for layer in range(config.num_layers)
        ]
        self.hidden_weights = [
            fast_linear(getattr(rnn, f"weight_hh_l{layer}"), getattr(rnn, f"bias_hh_l{layer}"))
            for layer in range(config.num_layers)
        ]
        self.input_table: torch.Tensor | None = None
        # The requests of one form without title or keywords all start from the same prefix; the weights
        # are a frozen copy, so its output can be kept. Shared by the app's concurrent requests.
        self.prefixes: BoundedCache[tuple[torch.Tensor, State]] = BoundedCache(MAX_CACHED_PREFIXES, lru=True)
        self.adaptive = model.has_adaptive_softmax
        if config.output_layer == "tied":
            self.to_embedding = fast_linear(model.to_embedding.weight, model.to_embedding.bias)
            self.scores = fast_linear(model.embedding.weight, model.output_bias)
        elif self.adaptive:
            adaptive = model.adaptive
            # the head and each tail's first (down) projection read the same hidden state: one product
            self.first_sizes = [adaptive.head.out_features] + [tail[0].out_features for tail in adaptive.tail]
            self.first = fast_linear(*self._output_first_product(model))
            # float32: decoding computes a tail for one row at a time, only when the sampler needs it
            # (StepScores), and at batch 1 a float32 product of this size is faster than int8
            self.tails = [FloatLinear(tail[1].weight) for tail in adaptive.tail]
            self.cutoffs = list(adaptive.cutoffs)  # [shortlist, ..., vocab]
        else:
            self.output = fast_linear(model.output.weight, model.output.bias)
        # A decoding step that projects also computes the top layer's recurrent product for the next step:
        # both read the new hidden state, and one int8 call instead of two saves a call's fixed cost,
        # which at batch 1 and 8 is most of a product's time. The next step finds it by the state's identity.
        top = config.num_layers - 1
        output_weight, output_bias = self._output_first_product(model)
        hidden_weight = getattr(rnn, f"weight_hh_l{top}").detach().float()
        hidden_bias = getattr(rnn, f"bias_hh_l{top}").detach().float()
        self.output_and_recurrent = fast_linear(
            torch.cat([output_weight, hidden_weight]), torch.cat([output_bias, hidden_bias])
        )
        output_sizes = self.first_sizes if self.adaptive else [output_weight.shape[0]]
        self.step_sizes = [*output_sizes, hidden_weight.shape[0]]
        self._next_gates: tuple | None = None  # (state, its top layer's recurrent gates)

    def _output_first_product(self, model: PoetryLM) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight and bias of the output layer's product that reads the top hidden state."""
        if model.config.output_layer == "tied":
            layer = model.to_embedding
            weight, bias = layer.weight, layer.bias
        elif self.adaptive:
            adaptive = model.adaptive
            weight = torch.cat([adaptive.head.weight] + [tail[0].weight for tail in adaptive.tail])
            bias = adaptive.head.bias
            if bias is not None:  # head_bias=True; the tails' projections have no bias
                bias = torch.cat([bias, torch.zeros(weight.shape[0] - bias.shape[0])])
        else:
            weight, bias = model.output.weight, model.output.bias
        weight = weight.detach().float()
        return weight, (torch.zeros(weight.shape[0]) if bias is None else bias.detach().float())

    def weight_bytes_per_step(self) -> int:
        """Bytes of weights one decoding step reads: every product's matrix (1 byte a weight in int8, 4 in
        float32); the first layer's input product is a table row, negligible. The adaptive softmax's tail
        clusters are left out: a decoding step computes them only for the rows whose draw needs them
        (StepScores), about one row in seven."""
        products = self.hidden_weights + self.input_weights[1:]
        if self.model.config.output_layer == "tied":
            products += [self.to_embedding, self.scores]
        elif self.adaptive:
            products.append(self.first)
        else:
            products.append(self.output)
        return sum(p.in_features * p.out_features * (1 if isinstance(p, Int8Linear) else 4) for p in products)

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden [..., H] → log-probabilities [..., V] (adaptive) or logits (tied, full)."""
        if self.model.config.output_layer == "tied":
            return self.scores(self.to_embedding(hidden))
        if not self.adaptive:
            return self.output(hidden)
        head, *downs = self.first(hidden.reshape(-1, hidden.shape[-1])).split(self.first_sizes, dim=-1)
        tails = [up(down) for down, up in zip(downs, self.tails, strict=True)]
        log_probs = adaptive_log_probs(torch.log_softmax(head, dim=-1), tails, self.cutoffs[0])
        return log_probs.reshape(*hidden.shape[:-1], self.cutoffs[-1])

    # The packed weights are TorchScript objects; with __torch_function__ handling on, every op call looks
    # for that attribute on them and fails through a C++ exception, which costs more than a small product
    # takes. Plain tensors only here, so it is switched off.
    @torch.inference_mode()
    def step(
        self, pieces: torch.Tensor, state: State | None = None, project: bool = True
    ) -> tuple[torch.Tensor | None, State]:
        with torch._C.DisableTorchFunctionSubclass():
            new_state, top = self._advance(pieces, state)
            if not project:
                return None, new_state
            return self._step_outputs(top, new_state).full(), new_state

    @torch.inference_mode()
    def step_scores(self, pieces: torch.Tensor, state: State | None = None) -> tuple[StepScores, State]:
        """The head and the tails' down-projections now (in one product with the next step's recurrent
        product), each tail's up-projection only for the rows that ask."""
        with torch._C.DisableTorchFunctionSubclass():
            new_state, top = self._advance(pieces, state)
            return self._step_outputs(top, new_state), new_state

    def prefix_output(self, prefix_ids: Sequence[int]) -> tuple[torch.Tensor, State]:
        """Cached by prefix. The state is returned as a copy (a caller's state is its own); the
        log-probabilities are shared (read them only)."""
        key = tuple(prefix_ids)
        log_probs, state = self.prefixes.get_or_make(key, lambda: prefix_output(self.forward, key))
        return log_probs, tuple(s.clone() for s in state) if isinstance(state, tuple) else state.clone()

    @torch.no_grad()
    def forward(self, input_ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """input_ids [B, T] → (output [B, T, V], state), as PoetryLM.forward in eval mode. The input
        products run once over all time steps; only the hidden products loop over time."""
        with torch._C.DisableTorchFunctionSubclass():
            return self._forward(input_ids, state)

    def _first_input_gates(self, pieces: torch.Tensor) -> torch.Tensor:
        if self.input_table is None:
            model = self.model
            self.input_table = torch.nn.functional.linear(
                model.embedding.weight.detach().float(),
                model.rnn.weight_ih_l0.detach().float(),
                model.rnn.bias_ih_l0.detach().float(),
            )
        return self.input_table.index_select(0, pieces)

    def _advance(self, pieces: torch.Tensor, state: State | None) -> tuple[State, torch.Tensor]:
        """The recurrent layers for one step: (new state, the top layer's output [B, H])."""
        if state is None:
            state = self.model.initial_state(pieces.shape[0], pieces.device)
        pending = self._next_gates
        top = len(self.hidden_weights) - 1
        cell = self.model.config.cell

        def layer_step(layer: int, below: torch.Tensor | None, hidden: torch.Tensor, memory):
            input_gates = self._first_input_gates(pieces) if layer == 0 else self.input_weights[layer](below)
            if layer == top and pending is not None and pending[0] is state:
                hidden_gates = pending[1]  # computed with the previous step's output layer
            else:
                hidden_gates = self.hidden_weights[layer](hidden)
            return cell_update(cell, input_gates, hidden_gates, hidden, memory)

        return advance_layers(cell, state, layer_step)

    def _step_outputs(self, top: torch.Tensor, new_state: State) -> StepScores:
        """The output layer on the top hidden state [B, H], and the next step's recurrent gates, kept for
        a step from `new_state`."""
        *outputs, next_gates = self.output_and_recurrent(top).split_with_sizes(self.step_sizes, dim=-1)
        self._next_gates = (new_state, next_gates)
        if self.adaptive:
            head, *downs = outputs
            tails = [partial(_tail_scores, up, down) for down, up in zip(downs, self.tails, strict=True)]
            return StepScores(torch.log_softmax(head, dim=-1), tails, self.cutoffs)
        logits = self.scores(outputs[0]) if self.model.config.output_layer == "tied" else outputs[0]
        return StepScores(torch.log_softmax(logits, dim=-1))

    def _forward(self, input_ids: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        model, cell = self.model, self.model.config.cell
        batch, steps = input_ids.shape
        x = model.embedding(input_ids)
        if state is None:
            state = model.initial_state(batch, input_ids.device)
        hidden_states, memories = state if cell == "lstm" else (state, None)
        final_hidden, final_memories = [], []
        for layer in range(len(self.hidden_weights)):
            input_gates = self.input_weights[layer](x)  # [B, T, gates * H]
            hidden = hidden_states[layer]
            memory = memories[layer] if memories is not None else None
            outputs = []
            for t in range(steps):
                hidden_gates = self.hidden_weights[layer](hidden)
                hidden, memory = cell_update(cell, input_gates[:, t], hidden_gates, hidden, memory)
                outputs.append(hidden)
            x = torch.stack(outputs, dim=1)
            final_hidden.append(hidden)
            final_memories.append(memory)
        hidden = torch.stack(final_hidden)
        new_state = (hidden, torch.stack(final_memories)) if cell == "lstm" else hidden
        return self.project(x), new_state
