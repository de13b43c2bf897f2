"""The decoding interface: a `Stepper` walks a language model one piece at a time for a batch of candidates.

The search (poetry_rnn.decoding.search) sees only this interface:
- `prefix(prefix_ids, batch)`: feed the conditioning prefix once → (log-probabilities [batch, V], state);
- `step(pieces, state, project)`: one piece per row → (log-probabilities [B, V], new state); with
  project=False only the state advances (the rules dictate the next piece, so no output layer is needed);
- `step_scores(pieces, state)`: as `step`, with the log-probabilities as `StepScores` (an adaptive
  softmax's tail clusters computed only for the rows a sampler asks for);
- `select(state, rows)`: the state of some rows, in that order (beam search keeps the best continuations).

`FloatStepper` runs a PoetryLM's float32 weights; `poetry_rnn.model.int8.Int8Stepper` an int8 copy of them.
Both walk the recurrent layers with `advance_layers` (the layer loop and the state's layout, written once);
the gate arithmetic on computed products is `cell_update` (the int8 stepper's steps and prefixes), while the
float stepper calls torch's own cells.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch
from torch import nn

from poetry_rnn.model.lm import PoetryLM

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # hidden [L, B, H] (GRU), or (hidden, cell) (LSTM)


class StepScores:
    """The log-probabilities of one decoding step for a batch, [B, V], as an adaptive softmax gives them:
    the head now, each tail cluster on demand. The head holds log P(piece) for the shortlist's pieces and
    log P(cluster) for each tail cluster; a tail's pieces need that tail's product, a quarter of the
    output layer's work and half the vocabulary, which a sampler rarely needs (see
    decoding.search.sample_scores). A model without clusters has its whole distribution in `head`."""

    def __init__(
        self,
        head: torch.Tensor,
        tails: Sequence[Callable[[torch.Tensor], torch.Tensor]] = (),
        cutoffs: Sequence[int] | None = None,
    ):
        self.head = head  # [B, shortlist + clusters]
        # cluster c: row indices [R] → its scores [R, size_c]; one row (an int) → [size_c], tensor or array
        self.tails = list(tails)
        self.cutoffs = list(cutoffs) if cutoffs is not None else [head.shape[1]]  # [shortlist, ..., V]
        self.shortlist = self.cutoffs[0]
        self.vocab_size = self.cutoffs[-1]
        self._entries: list[list[float]] | None = None

    @property
    def batch_size(self) -> int:
        return self.head.shape[0]

    def full(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Log-probabilities [R, V] of the given rows (long [R]; None = all)."""
        head = self.head if rows is None else self.head.index_select(0, rows)
        if not self.tails:
            return head
        if rows is None:
            rows = torch.arange(self.batch_size)
        return adaptive_log_probs(head, [tail(rows) for tail in self.tails], self.shortlist)

    def cluster(self, cluster: int, row: int) -> np.ndarray:
        """Log-probabilities [size] of one tail cluster's pieces (cutoffs[cluster] ..
        cutoffs[cluster + 1]) for one row, as a float32 NumPy array (what the lazy sampler works on)."""
        if self._entries is None:  # log P(cluster) of every row, read once for the step
            self._entries = self.head[:, self.shortlist :].tolist()
        scores = self.tails[cluster](row)
        if isinstance(scores, np.ndarray):
            scores = torch.from_numpy(scores)
        log_probs = torch.log_softmax(scores, dim=-1).numpy()
        log_probs += self._entries[row][cluster]  # in NumPy: a scalar add to a small array is cheaper there
        return log_probs


def adaptive_log_probs(head: torch.Tensor, tails: list[torch.Tensor], shortlist: int) -> torch.Tensor:
    """Adaptive-softmax log-probabilities [B, V] from the head's log-probabilities (the shortlist and one
    entry per tail cluster) and each tail's scores: a cluster's token has log P(cluster) + log P(token |
    cluster). As nn.AdaptiveLogSoftmaxWithLoss.log_prob, from products computed elsewhere (int8 or fp32)."""
    pieces = [head[:, :shortlist]]
    for index, tail in enumerate(tails):
        pieces.append(torch.log_softmax(tail, dim=-1) + head[:, shortlist + index : shortlist + index + 1])
    return torch.cat(pieces, dim=1)


def gru_gates(input_gates: torch.Tensor, hidden_gates: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """One GRU update from W_ih x + b_ih and W_hh h + b_hh (gate order r, z, n as in nn.GRU). Few tensor
    ops, views taken in one call each: at batch 1 an op costs more in call overhead than in arithmetic."""
    size = hidden.shape[-1]
    input_rz, input_n = input_gates.split_with_sizes([2 * size, size], dim=-1)
    hidden_rz, hidden_n = hidden_gates.split_with_sizes([2 * size, size], dim=-1)
    reset, update = torch.add(input_rz, hidden_rz).sigmoid_().chunk(2, dim=-1)
    candidate = torch.addcmul(input_n, reset, hidden_n).tanh_()
    return torch.lerp(candidate, hidden, update)  # = (1 - z) * n + z * h


def lstm_gates(input_gates: torch.Tensor, hidden_gates: torch.Tensor, cell: torch.Tensor):
    """One LSTM update from W_ih x + b_ih and W_hh h + b_hh (gate order i, f, g, o as in nn.LSTM)."""
    i, f, g, o = (input_gates + hidden_gates).chunk(4, dim=-1)
    cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(cell), cell


def cell_update(
    cell: str,
    input_gates: torch.Tensor,
    hidden_gates: torch.Tensor,
    hidden: torch.Tensor,
    memory: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One layer, one time step: (new hidden, new LSTM cell memory or None for a GRU)."""
    if cell == "gru":
        return gru_gates(input_gates, hidden_gates, hidden), None
    return lstm_gates(input_gates, hidden_gates, memory)


LayerStep = Callable[
    [int, torch.Tensor | None, torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor | None]
]


def advance_layers(cell: str, state: State, layer_step: LayerStep) -> tuple[State, torch.Tensor]:
    """The recurrent layers for one time step: (new state, the top layer's output [B, H]).
    `layer_step(layer, output of the layer below or None, hidden, LSTM cell memory or None)` → (new hidden,
    new memory or None) is one layer's update; the stepper chooses how its products are computed."""
    hidden_states, memories = state if cell == "lstm" else (state, None)
    new_hidden, new_memories = [], []
    x = None
    for layer in range(hidden_states.shape[0]):
        memory = None if memories is None else memories[layer]
        x, memory = layer_step(layer, x, hidden_states[layer], memory)
        new_hidden.append(x)
        new_memories.append(memory)
    if len(new_hidden) == 1:  # views, no copy
        hidden = new_hidden[0].unsqueeze(0)
        new_state = (hidden, new_memories[0].unsqueeze(0)) if cell == "lstm" else hidden
    else:
        hidden = torch.stack(new_hidden)
        new_state = (hidden, torch.stack(new_memories)) if cell == "lstm" else hidden
    return new_state, x


def expand_state(state: State, batch: int) -> State:
    """A batch-1 state copied to `batch` rows (each row its own memory)."""
    if isinstance(state, tuple):
        return tuple(part.expand(-1, batch, -1).contiguous() for part in state)
    return state.expand(-1, batch, -1).contiguous()


def prefix_output(forward: Callable, prefix_ids: Sequence[int]) -> tuple[torch.Tensor, State]:
    """Run `forward` ([B, T] ids → (output, state)) over one prefix: (log-probabilities [1, V] of the piece
    after it, the state there)."""
    output, state = forward(torch.tensor([list(prefix_ids)], dtype=torch.long))
    return torch.log_softmax(output[:, -1].float(), dim=-1), state


class Stepper(ABC):
    """What a search needs from a language model (see the module docstring)."""

    precision: str

    def prefix(self, prefix_ids: Sequence[int], batch: int) -> tuple[torch.Tensor, State]:
        """Feed the conditioning prefix once and copy the result to `batch` rows: (log-probabilities
        [batch, V] (a broadcast view: read only), state)."""
        log_probs, state = self.prefix_output(prefix_ids)
        return log_probs.expand(batch, -1), expand_state(state, batch)

    def prefix_output(self, prefix_ids: Sequence[int]) -> tuple[torch.Tensor, State]:
        """(log-probabilities [1, V] of the piece after the prefix, the state there)."""
        return prefix_output(self.forward, prefix_ids)

    @abstractmethod
    def forward(self, input_ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Whole sequences at once: input_ids [B, T] → (output [B, T, V], of which log_softmax is the
        model's distribution; the state after them). Feeds prefixes; scores a corpus (evaluate)."""

    @abstractmethod
    def step(
        self, pieces: torch.Tensor, state: State | None, project: bool = True
    ) -> tuple[torch.Tensor | None, State]:
        """pieces [B] → (log-probabilities [B, V], new state); with project=False (None, new state)."""

    @abstractmethod
    def step_scores(self, pieces: torch.Tensor, state: State | None) -> tuple[StepScores, State]:
        """As step(), the log-probabilities as StepScores (tail clusters on demand)."""

    def select(self, state: State, rows: torch.Tensor) -> State:
        """The state of the given rows (long [R]), in that order."""
        if isinstance(state, tuple):
            return tuple(part.index_select(1, rows) for part in state)
        return state.index_select(1, rows)


def _module_tail_scores(tail: nn.Module, inputs: torch.Tensor, rows: torch.Tensor | int) -> torch.Tensor:
    """A tail cluster's scores for some rows of a step [R, size], or for one (an int: [size]). StepScores
    asks after the step has returned, outside its inference mode."""
    with torch._C.DisableTorchFunctionSubclass(), torch.inference_mode():
        if isinstance(rows, int):
            return tail(inputs[rows : rows + 1])[0]
        return tail(inputs.index_select(0, rows))


class FloatStepper(Stepper):
    """Decoding with a PoetryLM's own float32 weights (in whatever mode the model is: eval for decoding)."""

    precision = "fp32"

    def __init__(self, model: PoetryLM):
        self.model = model

    @torch.inference_mode()
    def prefix_output(self, prefix_ids: Sequence[int]) -> tuple[torch.Tensor, State]:
        return prefix_output(self.model, prefix_ids)

    def forward(self, input_ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        return self.model(input_ids, state)

    @torch.inference_mode()
    def step(
        self, pieces: torch.Tensor, state: State | None = None, project: bool = True
    ) -> tuple[torch.Tensor | None, State]:
        new_state, top = self._advance(pieces, state)
        if not project:
            return None, new_state
        return torch.log_softmax(self.model.project(top), dim=-1), new_state

    @torch.inference_mode()
    def step_scores(self, pieces: torch.Tensor, state: State | None = None) -> tuple[StepScores, State]:
        new_state, top = self._advance(pieces, state)
        return self.output_scores(top), new_state

    def output_scores(self, hidden: torch.Tensor) -> StepScores:
        """hidden [B, H] → StepScores (float32)."""
        model = self.model
        if not model.has_adaptive_softmax:
            return StepScores(torch.log_softmax(model.project(hidden).float(), dim=-1))
        adaptive = model.adaptive
        tails = [partial(_module_tail_scores, tail, hidden) for tail in adaptive.tail]
        return StepScores(torch.log_softmax(adaptive.head(hidden), dim=-1), tails, list(adaptive.cutoffs))

    def _advance(self, pieces: torch.Tensor, state: State | None) -> tuple[State, torch.Tensor]:
        model, cell = self.model, self.model.config.cell
        if state is None:
            state = model.initial_state(pieces.shape[0], pieces.device)
        embedded = model.embedding(pieces)

        # torch's own cells, called directly: for one time step several times faster on a CPU than going
        # through nn.GRU/nn.LSTM. Not gru_gates: it rounds differently in the last bit, which would change
        # the draws, and so the poems, of fp32 decoding.
        def layer_step(layer: int, below: torch.Tensor | None, hidden: torch.Tensor, memory):
            x = embedded if layer == 0 else below
            weights = self._layer_weights(layer)
            if cell == "gru":
                return torch.gru_cell(x, hidden, *weights), None
            return torch.lstm_cell(x, (hidden, memory), *weights)

        return advance_layers(cell, state, layer_step)

    def _layer_weights(self, layer: int) -> list[torch.Tensor]:
        rnn = self.model.rnn
        return [getattr(rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
