"""PoetryLM: embedding → GRU or LSTM → projection to the vocabulary.

Conditioning (form tag, title, keywords) arrives as prefix tokens, so the model itself is a plain
recurrent language model. `forward` takes a hidden state and returns the new one, which is all the
decoder needs to step it one token at a time.

A model folder holds `config.json`, `model.safetensors` and the tokenizer files. Loading reads
safetensors only (never pickle) and checks sizes before allocating anything.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic
from poetry_rnn.tokenizer import TOKENIZER_FILE, BaseTokenizer, load_tokenizer
from poetry_rnn.tokenizer.sentencepiece_tokenizer import MODEL_FILE as SENTENCEPIECE_FILE

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
# Refuse configs that would allocate absurd amounts before reading any weight (a hostile config.json).
LIMITS = {"vocab_size": 200_000, "embedding_dim": 4096, "hidden_size": 8192, "num_layers": 8}
MAX_PARAMETERS = 200_000_000
MAX_HEADER_BYTES = 1_000_000  # safetensors JSON header (names, dtypes, shapes, offsets)
MAX_TOKENIZER_BYTES = 50_000_000
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")
PRECISIONS = ("fp32", "int8")  # inference precision of the matrix products (see PoetryLM.enable_int8)


@dataclass
class ModelConfig:
    vocab_size: int
    cell: str = "gru"  # "gru" or "lstm"
    embedding_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.1
    # Output layer: "adaptive" (adaptive softmax: frequent characters cheap, rare ones through smaller
    # projections; 3-4x less training compute than a full softmax), "tied" (hidden → embedding space,
    # scored against the embedding matrix) or "full".
    output_layer: str = "adaptive"
    cutoffs: tuple[int, ...] = (1500, 4000)  # adaptive: the token ids where the next, cheaper cluster starts
    adaptive_div: float = 4.0
    script: str = "traditional"  # the script of the characters the model writes

    def validate(self) -> None:
        if self.cell not in ("gru", "lstm"):
            raise UserError(f"config cell must be 'gru' or 'lstm', got {self.cell!r}", field="config")
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
                raise UserError(
                    f"config {name} must be an integer from 1 to {limit:,}, got {value!r}", field="config"
                )
        if self.output_layer not in ("adaptive", "tied", "full"):
            raise UserError(
                f"config output_layer must be adaptive, tied or full, got {self.output_layer!r}",
                field="config",
            )
        if self.output_layer == "adaptive" and not (
            isinstance(self.cutoffs, (list, tuple))
            and all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in self.cutoffs)
            and list(self.cutoffs) == sorted(set(self.cutoffs))
        ):
            raise UserError(
                f"config cutoffs must be increasing integers, got {self.cutoffs!r}", field="config"
            )
        if not _is_number(self.dropout) or not 0.0 <= self.dropout < 1.0:
            raise UserError(f"config dropout must be in [0, 1), got {self.dropout!r}", field="config")
        # checked before parameter_count divides by it: 0 or a string in a hostile config.json must not crash
        if not _is_number(self.adaptive_div) or not 1.0 <= self.adaptive_div <= 64.0:
            raise UserError(
                f"config adaptive_div must be from 1 to 64, got {self.adaptive_div!r}", field="config"
            )
        if self.script not in ("traditional", "simplified"):
            raise UserError(
                f"config script must be traditional or simplified, got {self.script!r}", field="config"
            )
        if self.parameter_count() > MAX_PARAMETERS:
            raise UserError(
                f"config describes {self.parameter_count():,} parameters; at most "
                f"{MAX_PARAMETERS:,} are allowed",
                field="config",
            )

    def parameter_count(self) -> int:
        gates = 3 if self.cell == "gru" else 4
        count = self.vocab_size * self.embedding_dim
        for layer in range(self.num_layers):
            inputs = self.embedding_dim if layer == 0 else self.hidden_size
            count += gates * self.hidden_size * (inputs + self.hidden_size + 2)
        if self.output_layer == "tied":
            count += self.hidden_size * self.embedding_dim + self.embedding_dim + self.vocab_size
        elif self.output_layer == "full":
            count += self.hidden_size * self.vocab_size + self.vocab_size
        else:
            cutoffs = self.effective_cutoffs()
            count += self.hidden_size * (cutoffs[0] + len(cutoffs) - 1)
            for index in range(len(cutoffs) - 1):
                size = max(1, int(self.hidden_size // (self.adaptive_div ** (index + 1))))
                count += self.hidden_size * size + size * (cutoffs[index + 1] - cutoffs[index])
        return count

    def effective_cutoffs(self) -> list[int]:
        """Cutoffs below the vocabulary size, ending with it (as nn.AdaptiveLogSoftmaxWithLoss wants)."""
        return [c for c in self.cutoffs if 0 < c < self.vocab_size] + [self.vocab_size]

    @classmethod
    def from_dict(cls, document: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(document) - known - {"model_type", "format_version"}
        if unknown:
            raise UserError(f"config has unknown keys {sorted(unknown)}", field="config")
        if "vocab_size" not in document:
            raise UserError("config lacks vocab_size", field="config")
        values = {k: v for k, v in document.items() if k in known}
        if isinstance(values.get("cutoffs"), list):
            values["cutoffs"] = tuple(values["cutoffs"])
        config = cls(**values)
        config.validate()
        return config


class PoetryLM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        # Built uninitialised, then filled as nn.Embedding would: initialising on the meta device (the
        # shape check in from_pretrained) would import torch._dynamo, ~2 s of every cold start.
        self.embedding = nn.Embedding(
            config.vocab_size,
            config.embedding_dim,
            _weight=torch.empty(config.vocab_size, config.embedding_dim),
        )
        if self.embedding.weight.device.type != "meta":
            nn.init.normal_(self.embedding.weight)
        rnn_class = nn.GRU if config.cell == "gru" else nn.LSTM
        self.rnn = rnn_class(
            config.embedding_dim,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        if config.output_layer == "tied":
            self.to_embedding = nn.Linear(config.hidden_size, config.embedding_dim)
            self.output_bias = nn.Parameter(torch.zeros(config.vocab_size))
        elif config.output_layer == "full":
            self.output = nn.Linear(config.hidden_size, config.vocab_size)
        else:
            cutoffs = config.effective_cutoffs()
            if len(cutoffs) == 1:  # vocabulary too small to split: one cluster is a full softmax
                self.output = nn.Linear(config.hidden_size, config.vocab_size)
            else:
                self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(
                    config.hidden_size, config.vocab_size, cutoffs[:-1], div_value=config.adaptive_div
                )
        self.tokenizer: BaseTokenizer | None = None
        self.int8: Int8Weights | None = None  # set by enable_int8()

    def forward(self, input_ids: torch.Tensor, state=None, targets: torch.Tensor | None = None):
        """input_ids [batch, time] → logits [batch, time, vocab] (log-probabilities for the adaptive output
        layer; either way `log_softmax` of them is the model's distribution), new state.
        With `targets` (training; also what DistributedDataParallel wraps): the mean loss instead."""
        if targets is not None:
            return self.loss(input_ids, targets)
        if self.int8 is not None and not self.training:
            return self.int8.forward(input_ids, state)
        hidden, state = self.encode(input_ids, state)
        return self.project(hidden), state

    @torch.inference_mode()
    def prefix_log_probs(self, prefix_ids: Sequence[int]) -> tuple[torch.Tensor, object]:
        """Feed a conditioning prefix (eval mode): (log-probabilities [1, V] of the piece after it, the state
        there). With int8 weights the result is cached by prefix (see Int8Weights.prefix_log_probs)."""
        if self.int8 is not None:
            return self.int8.prefix_log_probs(prefix_ids)
        return prefix_output(self, prefix_ids)

    @torch.inference_mode()
    def step(self, token_ids: torch.Tensor, state=None, project: bool = True):
        """One decoding step: token_ids [batch] → (log-probabilities [batch, vocab], new state).
        With project=False only the state advances and the log-probabilities are None: a decoder that
        knows the next piece already (the rules dictate it) skips the output layer.

        Calls the recurrent cells directly: for one time step that is several times faster on a CPU
        than going through nn.GRU/nn.LSTM, and gives the same numbers. After enable_int8() the matrix
        products use int8 weights (see Int8Weights)."""
        if self.int8 is not None:
            return self.int8.step(token_ids, state, project)
        config = self.config
        x = self.embedding(token_ids)
        if state is None:
            state = self.initial_state(token_ids.shape[0], token_ids.device)
        hidden_states, cell_states = state if config.cell == "lstm" else (state, None)
        new_hidden, new_cells = [], []
        for layer in range(config.num_layers):
            weights = [
                getattr(self.rnn, f"{name}_l{layer}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            if config.cell == "gru":
                x = torch.gru_cell(x, hidden_states[layer], *weights)
            else:
                x, cell = torch.lstm_cell(x, (hidden_states[layer], cell_states[layer]), *weights)
                new_cells.append(cell)
            new_hidden.append(x)
        hidden = torch.stack(new_hidden)
        new_state = (hidden, torch.stack(new_cells)) if config.cell == "lstm" else hidden
        if not project:
            return None, new_state
        return torch.log_softmax(self.project(x), dim=-1), new_state

    @torch.inference_mode()
    def step_scores(self, token_ids: torch.Tensor, state=None) -> tuple[StepScores, object]:
        """One decoding step, as step(), with the log-probabilities as StepScores: with the adaptive output
        layer, a tail cluster's pieces are computed only for the rows a sampler asks for."""
        if self.int8 is not None:
            return self.int8.step_scores(token_ids, state)
        _, new_state = self.step(token_ids, state, project=False)
        top = (new_state[0] if self.config.cell == "lstm" else new_state)[-1]  # last layer's output [B, H]
        return self.output_scores(top), new_state

    def output_scores(self, hidden: torch.Tensor) -> StepScores:
        """hidden [B, H] → StepScores (eval mode, float32)."""
        if not hasattr(self, "adaptive"):
            return StepScores(torch.log_softmax(self.project(hidden).float(), dim=-1))
        adaptive = self.adaptive
        tails = [partial(_tail_scores, tail, hidden) for tail in adaptive.tail]
        return StepScores(torch.log_softmax(adaptive.head(hidden), dim=-1), tails, list(adaptive.cutoffs))

    def encode(self, input_ids: torch.Tensor, state=None):
        hidden, state = self.rnn(self.dropout(self.embedding(input_ids)), state)
        return self.dropout(hidden), state

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.config.output_layer == "tied":
            return nn.functional.linear(self.to_embedding(hidden), self.embedding.weight, self.output_bias)
        if hasattr(self, "adaptive"):
            flat = self.adaptive.log_prob(hidden.reshape(-1, hidden.shape[-1]))
            return flat.reshape(*hidden.shape[:-1], self.config.vocab_size)
        return self.output(hidden)

    def loss(self, input_ids: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy of the next tokens; targets of -100 are ignored. The adaptive output layer only
        computes the clusters the targets fall in, which is where its training speed comes from."""
        hidden, _ = self.encode(input_ids)
        mask = targets != -100
        if hasattr(self, "adaptive"):
            # In float32 even under autocast: the layer writes its per-cluster results into a buffer of the
            # input's dtype, and mixed dtypes there fail (bf16/fp16 buffer, float32 log-softmax).
            with torch.autocast(hidden.device.type, enabled=False):
                output = self.adaptive(hidden[mask].float(), targets[mask])
            nll = -output.output
            return nll.mean() if reduction == "mean" else nll.sum()
        logits = self.project(hidden)
        return nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            targets.reshape(-1),
            ignore_index=-100,
            reduction=reduction,
        )

    def enable_int8(self) -> PoetryLM:
        """Switch inference (step() and forward() in eval mode) to int8 weights: every recurrent and output
        matrix is quantized per output channel and packed for fbgemm's dynamic int8 linear. Decoding one
        poem reads every weight at every step, so 4x fewer bytes is the speed-up on a memory-bound CPU.
        The packed copy is a snapshot: call again after changing the weights. Training is unaffected."""
        self.int8 = Int8Weights(self)
        return self

    def disable_int8(self) -> PoetryLM:
        self.int8 = None
        return self

    @property
    def precision(self) -> str:
        return "fp32" if self.int8 is None else "int8"

    def initial_state(self, batch_size: int, device=None):
        zeros = torch.zeros(self.config.num_layers, batch_size, self.config.hidden_size, device=device)
        return (zeros, zeros.clone()) if self.config.cell == "lstm" else zeros

    def save_pretrained(
        self, directory: str | os.PathLike, tokenizer: BaseTokenizer | None = None, extra: dict | None = None
    ) -> None:
        """Write config.json, model.safetensors and the tokenizer into `directory` (each file atomically)."""
        from safetensors.torch import save

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tokenizer = tokenizer or self.tokenizer
        if tokenizer is not None:
            if tokenizer.vocab_size != self.config.vocab_size:
                raise UserError("tokenizer and model disagree on the vocabulary size", field="tokenizer")
            tokenizer.save(directory)
        tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in self.state_dict().items()}
        write_atomic(directory / WEIGHTS_FILE, save(tensors, metadata={"format": "pt"}))
        document = {"model_type": "poetry_rnn", "format_version": 1, **asdict(self.config), **(extra or {})}
        document = {
            k: v
            for k, v in document.items()
            if k in {f.name for f in fields(ModelConfig)} or k in ("model_type", "format_version")
        }
        write_atomic(directory / CONFIG_FILE, json.dumps(document, indent=2, ensure_ascii=False))

    def push_to_hub(
        self,
        repo_id: str,
        token: str | None = None,
        private: bool = False,
        commit_message: str = "Upload poetry_rnn model",
    ) -> str:
        """Upload the model folder (config, safetensors weights, tokenizer) to the Hugging Face Hub."""
        import tempfile

        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder)
            info = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message)
        return str(info)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, map_location: str = "cpu") -> PoetryLM:
        """Load a model folder; the tokenizer is attached as `.tokenizer`. Refuses anything inconsistent."""
        directory = resolve_model_dir(directory)
        config = read_config(directory)
        for name in (TOKENIZER_FILE, SENTENCEPIECE_FILE):  # read whole: refuse absurd sizes first
            path = directory / name
            if path.is_file() and path.stat().st_size > MAX_TOKENIZER_BYTES:
                raise UserError(
                    f"{path}: {path.stat().st_size:,} bytes is too large for a tokenizer file "
                    f"(at most {MAX_TOKENIZER_BYTES:,})",
                    field="model",
                )
        tokenizer = load_tokenizer(directory)
        if tokenizer.vocab_size != config.vocab_size:
            raise UserError(
                f"{directory / 'tokenizer.json'} has {tokenizer.vocab_size:,} pieces but the model "
                f"has {config.vocab_size:,}: the tokenizer belongs to another model",
                field="model",
            )
        # Check the weights file against a shape-only (meta) model first: a config.json describing a huge
        # model with a small or forged weights file is refused before its parameters are allocated.
        with torch.device("meta"):
            skeleton = cls(config)
        tensors = read_weights(directory, skeleton)
        model = cls(config)
        model.load_state_dict(tensors, strict=True)
        model.tokenizer = tokenizer
        model.eval()
        return model.to(map_location)


def validate_precision(precision) -> str:
    if precision not in PRECISIONS:
        raise UserError(
            f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}", field="precision"
        )
    return precision


# The op itself, called directly: the overload packet's and the overload's __call__ first scan the
# arguments for fake script objects in Python (~5-30 µs a call, a tenth of the product at batch 1).
LINEAR_DYNAMIC = getattr(
    torch.ops.quantized.linear_dynamic.default, "_op", torch.ops.quantized.linear_dynamic.default
)
# Products with fewer inputs than this stay float32 (FloatLinear): quantizing the input costs more than the
# product. Larger ones are int8 even where a float32 product alone times faster: in a decoding step the
# float32 weights (4x the bytes) fall out of cache between uses, and the whole step got slower (measured on
# a 2-layer 256 model: 58 ms a poem all-int8, 75 ms with its products under 450k weights in float32).
INT8_MIN_INPUTS = 64


MAX_CACHED_PREFIXES = 64  # conditioning prefixes whose output Int8Weights keeps (30 KB each here)


def prefix_output(forward: Callable, prefix_ids: Sequence[int]) -> tuple[torch.Tensor, object]:
    """Run `forward` (a model's, [B, T] ids → (output, state)) over one prefix: (log-probabilities [1, V]
    of the piece after it, the state there)."""
    output, state = forward(torch.tensor([list(prefix_ids)], dtype=torch.long))
    return torch.log_softmax(output[:, -1].float(), dim=-1), state


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
        scales = (weight.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
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
        """One input row [in] → [out], through NumPy: for a single row its matrix-vector product is about
        twice as fast here as torch's (no dispatch, no output tensor set-up)."""
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


def gru_gates(input_gates: torch.Tensor, hidden_gates: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """One GRU update from W_ih x + b_ih and W_hh h + b_hh (gate order r, z, n as in nn.GRU). Few tensor
    ops, views taken in one call each: at batch 1 an op costs more in call overhead than in arithmetic."""
    size = hidden.shape[-1]
    input_rz, input_n = input_gates.split_with_sizes([2 * size, size], dim=-1)
    hidden_rz, hidden_n = hidden_gates.split_with_sizes([2 * size, size], dim=-1)
    reset, update = torch.add(input_rz, hidden_rz).sigmoid_().chunk(2, dim=-1)
    candidate = torch.addcmul(input_n, reset, hidden_n).tanh_()
    return torch.lerp(candidate, hidden, update)  # = (1 - z) * n + z * h


def adaptive_log_probs(head: torch.Tensor, tails: list[torch.Tensor], shortlist: int) -> torch.Tensor:
    """Adaptive-softmax log-probabilities [B, V] from the head's log-probabilities (the shortlist and one
    entry per tail cluster) and each tail's scores: a cluster's token has log P(cluster) + log P(token |
    cluster). As nn.AdaptiveLogSoftmaxWithLoss.log_prob, from products computed elsewhere (int8 or fp32)."""
    pieces = [head[:, :shortlist]]
    for index, tail in enumerate(tails):
        pieces.append(torch.log_softmax(tail, dim=-1) + head[:, shortlist + index : shortlist + index + 1])
    return torch.cat(pieces, dim=1)


def lstm_gates(input_gates: torch.Tensor, hidden_gates: torch.Tensor, cell: torch.Tensor):
    """One LSTM update from W_ih x + b_ih and W_hh h + b_hh (gate order i, f, g, o as in nn.LSTM)."""
    i, f, g, o = (input_gates + hidden_gates).chunk(4, dim=-1)
    cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(cell), cell


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
        log_probs += self._entries[row][cluster]  # NumPy: a tensor op with a Python float costs more here
        return log_probs


def _tail_scores(tail: Callable, inputs: torch.Tensor, rows: torch.Tensor | int) -> torch.Tensor:
    """A tail cluster's scores for some rows of a step [R, size], or for one (an int: [size]). StepScores
    asks after the step has returned."""
    if isinstance(rows, int) and isinstance(tail, FloatLinear):  # the lazy sampler's one row
        return tail.row(inputs.numpy()[rows])
    with torch._C.DisableTorchFunctionSubclass(), torch.inference_mode():  # see Int8Weights.step
        if isinstance(rows, int):
            return tail(inputs[rows : rows + 1])[0]
        return tail(inputs.index_select(0, rows))


class Int8Weights:
    """The int8 inference path of a PoetryLM: the same computation as step()/forward() in eval mode, with
    the matrix products done by Int8Linear, except those too small for int8 to pay (fast_linear), which
    stay float32. Gates and softmax are float32.

    Decoding also skips the first layer's input product: embedding @ W_ih + b_ih is one row per vocabulary
    entry, so `step` looks the row up in a table built on first use (vocab x gates floats, 34 MB for
    the shipped model) instead of multiplying at every step."""

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
        self._prefixes: dict[tuple[int, ...], tuple[torch.Tensor, object]] = {}  # in order of use
        self._prefixes_lock = threading.Lock()
        self.adaptive = hasattr(model, "adaptive")
        if config.output_layer == "tied":
            self.to_embedding = fast_linear(model.to_embedding.weight, model.to_embedding.bias)
            self.scores = fast_linear(model.embedding.weight, model.output_bias)
        elif self.adaptive:
            adaptive = model.adaptive
            # the head and each tail's first (down) projection read the same hidden state: one product
            self.first_sizes = [adaptive.head.out_features] + [tail[0].out_features for tail in adaptive.tail]
            self.first = fast_linear(*self._output_first_product(model))
            # float32: decoding computes a tail for one row at a time, only when the sampler needs it
            # (StepScores), and at batch 1 a float32 product of this size is about twice as fast as int8
            self.tails = [FloatLinear(tail[1].weight) for tail in adaptive.tail]
            self.cutoffs = list(adaptive.cutoffs)  # [shortlist, ..., vocab]
        else:
            self.output = fast_linear(model.output.weight, model.output.bias)
        # A decoding step that projects also computes the top layer's recurrent product for the next step:
        # both read the new hidden state, and one int8 call instead of two saves a call's fixed cost
        # (~45 µs here, at batch 1 and 8 alike). The next step finds it by the state's identity.
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

    def _adaptive_parts(self, hidden: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        head, *downs = self.first(hidden).split(self.first_sizes, dim=-1)
        return head, [up(down) for down, up in zip(downs, self.tails, strict=True)]

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden [..., H] → log-probabilities [..., V] (adaptive) or logits (tied, full)."""
        if self.model.config.output_layer == "tied":
            return self.scores(self.to_embedding(hidden))
        if not self.adaptive:
            return self.output(hidden)
        head, tails = self._adaptive_parts(hidden.reshape(-1, hidden.shape[-1]))
        log_probs = adaptive_log_probs(torch.log_softmax(head, dim=-1), tails, self.cutoffs[0])
        return log_probs.reshape(*hidden.shape[:-1], self.cutoffs[-1])

    # The packed weights are TorchScript objects; with __torch_function__ handling on, every op call looks
    # for that attribute on them and fails through a C++ exception (~40 µs a call, more than a small
    # product takes). Plain tensors only here, so it is switched off.
    @torch.inference_mode()
    def step(self, token_ids: torch.Tensor, state=None, project: bool = True):
        with torch._C.DisableTorchFunctionSubclass():
            return self._step(token_ids, state, project)

    @torch.inference_mode()
    def step_scores(self, token_ids: torch.Tensor, state=None) -> tuple[StepScores, object]:
        """As PoetryLM.step_scores: the head and the tails' down-projections now (in one product with the
        next step's recurrent product), each tail's up-projection only for the rows that ask."""
        with torch._C.DisableTorchFunctionSubclass():
            new_state, top = self._advance(token_ids, state)
            return self._step_outputs(top, new_state), new_state

    def prefix_log_probs(self, prefix_ids: Sequence[int]) -> tuple[torch.Tensor, object]:
        """As PoetryLM.prefix_log_probs, cached: these weights are a frozen copy, and the requests of one
        form without title or keywords all start from the same prefix (about 1 ms saved a request). The
        state is returned as a copy; the log-probabilities are shared (read them only)."""
        key = tuple(prefix_ids)
        with self._prefixes_lock:  # the app decodes several requests at once
            found = self._prefixes.pop(key, None)
        if found is None:
            found = prefix_output(self.forward, key)
        with self._prefixes_lock:
            self._prefixes.pop(key, None)  # another request may have stored it meanwhile
            while len(self._prefixes) >= MAX_CACHED_PREFIXES:
                self._prefixes.pop(next(iter(self._prefixes)))  # the least recently used
            self._prefixes[key] = found
        log_probs, state = found
        return log_probs, tuple(s.clone() for s in state) if isinstance(state, tuple) else state.clone()

    @torch.no_grad()
    def forward(self, input_ids: torch.Tensor, state=None):
        """input_ids [B, T] → (output [B, T, V], state), as PoetryLM.forward in eval mode. The input
        products run once over all time steps; only the hidden products loop over time."""
        with torch._C.DisableTorchFunctionSubclass():
            return self._forward(input_ids, state)

    def _first_input_gates(self, token_ids: torch.Tensor) -> torch.Tensor:
        if self.input_table is None:
            model = self.model
            self.input_table = torch.nn.functional.linear(
                model.embedding.weight.detach().float(),
                model.rnn.weight_ih_l0.detach().float(),
                model.rnn.bias_ih_l0.detach().float(),
            )
        return self.input_table.index_select(0, token_ids)

    def _step(self, token_ids: torch.Tensor, state=None, project: bool = True):
        new_state, top = self._advance(token_ids, state)
        if not project:
            return None, new_state
        return self._step_outputs(top, new_state).full(), new_state

    def _advance(self, token_ids: torch.Tensor, state=None) -> tuple[object, torch.Tensor]:
        """The recurrent layers for one step: (new state, the top layer's output [B, H])."""
        model, config = self.model, self.model.config
        if state is None:
            state = model.initial_state(token_ids.shape[0], token_ids.device)
        hidden_states, cell_states = state if config.cell == "lstm" else (state, None)
        pending = self._next_gates
        top = config.num_layers - 1
        new_hidden, new_cells = [], []
        x = None
        for layer in range(config.num_layers):
            input_gates = self._first_input_gates(token_ids) if layer == 0 else self.input_weights[layer](x)
            if layer == top and pending is not None and pending[0] is state:
                hidden_gates = pending[1]  # computed with the previous step's output layer
            else:
                hidden_gates = self.hidden_weights[layer](hidden_states[layer])
            if config.cell == "gru":
                x = gru_gates(input_gates, hidden_gates, hidden_states[layer])
            else:
                x, cell = lstm_gates(input_gates, hidden_gates, cell_states[layer])
                new_cells.append(cell)
            new_hidden.append(x)
        if config.num_layers == 1:  # views, no copy
            hidden = new_hidden[0].unsqueeze(0)
            new_state = (hidden, new_cells[0].unsqueeze(0)) if config.cell == "lstm" else hidden
        else:
            hidden = torch.stack(new_hidden)
            new_state = (hidden, torch.stack(new_cells)) if config.cell == "lstm" else hidden
        return new_state, x

    def _step_outputs(self, top: torch.Tensor, new_state) -> StepScores:
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

    def _forward(self, input_ids: torch.Tensor, state=None):
        model, config = self.model, self.model.config
        batch, steps = input_ids.shape
        x = model.embedding(input_ids)
        if state is None:
            state = model.initial_state(batch, input_ids.device)
        hidden_states, cell_states = state if config.cell == "lstm" else (state, None)
        final_hidden, final_cells = [], []
        for layer in range(config.num_layers):
            input_gates = self.input_weights[layer](x)  # [B, T, gates * H]
            hidden = hidden_states[layer]
            cell = cell_states[layer] if cell_states is not None else None
            outputs = []
            for t in range(steps):
                hidden_gates = self.hidden_weights[layer](hidden)
                if config.cell == "gru":
                    hidden = gru_gates(input_gates[:, t], hidden_gates, hidden)
                else:
                    hidden, cell = lstm_gates(input_gates[:, t], hidden_gates, cell)
                outputs.append(hidden)
            x = torch.stack(outputs, dim=1)
            final_hidden.append(hidden)
            final_cells.append(cell)
        hidden = torch.stack(final_hidden)
        new_state = (hidden, torch.stack(final_cells)) if config.cell == "lstm" else hidden
        return self.project(x), new_state


def resolve_model_dir(location: str | os.PathLike) -> Path:
    """A local model folder, or a Hub repo id ("owner/name"), fetched once and read from the local cache
    afterwards (works offline with HF_HUB_OFFLINE=1 once cached). Only the safetensors/JSON files are
    fetched."""
    path = Path(location)
    if path.is_dir():
        return path
    text = str(location)
    if text.count("/") == 1 and not text.startswith((".", "/", "~")) and not path.exists():
        from huggingface_hub import snapshot_download

        try:
            return Path(
                snapshot_download(text, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"])
            )
        except Exception as error:  # noqa: BLE001 - the hub raises many types; the user needs one message
            raise UserError(
                f"model {text!r} is neither a local folder nor a reachable Hub repo ({error})", field="model"
            ) from None
    raise UserError(f"model folder {path} does not exist", field="model")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_config(directory: Path) -> ModelConfig:
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise UserError(f"{path}: config file missing", field="model")
    if path.stat().st_size > 1_000_000:
        raise UserError(f"{path}: config file is too large to be a model config", field="model")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid JSON ({error})", field="model") from None
    if not isinstance(document, dict):
        raise UserError(f"{path}: expected a JSON object", field="model")
    try:
        return ModelConfig.from_dict(document)
    except UserError as error:
        raise UserError(f"{path}: {error}", field="model") from None
    except TypeError as error:
        raise UserError(f"{path}: {error}", field="model") from None


def read_weights(directory: Path, model: PoetryLM) -> dict[str, torch.Tensor]:
    """Read model.safetensors after checking its header against the model: names, shapes, dtypes."""
    from safetensors import SafetensorError, safe_open

    path = directory / WEIGHTS_FILE
    if not path.is_file():
        raise UserError(f"{path}: weights file missing", field="model")
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    with open(path, "rb") as handle:  # the JSON header's length comes first: refuse absurd ones unparsed
        header_bytes = int.from_bytes(handle.read(8), "little")
    if header_bytes > MAX_HEADER_BYTES:
        raise UserError(
            f"{path}: not a readable safetensors file (header of {header_bytes:,} bytes; a model's is a few "
            "kB)",
            field="model",
        )
    try:
        with safe_open(str(path), framework="pt") as handle:
            names = set(handle.keys())
            if names != set(expected):
                missing, unexpected = sorted(set(expected) - names), sorted(names - set(expected))
                raise UserError(
                    f"{path}: tensors do not match config.json (missing {missing}, unexpected {unexpected})",
                    field="model",
                )
            tensors = {}
            for name in expected:
                tensor_slice = handle.get_slice(name)
                shape = tuple(tensor_slice.get_shape())
                if tensor_slice.get_dtype() not in FLOAT_DTYPES:
                    raise UserError(
                        f"{path}: tensor {name} has dtype {tensor_slice.get_dtype()}; weights must be "
                        f"floating point ({', '.join(FLOAT_DTYPES)})",
                        field="model",
                    )
                if shape != expected[name]:
                    raise UserError(
                        f"{path}: tensor {name} has shape {shape}, config.json implies {expected[name]}",
                        field="model",
                    )
                tensors[name] = handle.get_tensor(name).float()
    except UserError:
        raise
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise UserError(f"{path}: not a readable safetensors file ({error})", field="model") from None
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise UserError(f"{path}: tensor {name} holds NaN or infinite values", field="model")
    return tensors


def default_model_dir() -> Path:
    """The shipped model (data/default_model beside the package), or $POETRY_RNN_MODEL when set."""
    override = os.environ.get("POETRY_RNN_MODEL")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "data" / "default_model"


def load_pretrained(directory: str | os.PathLike, precision: str = "fp32") -> tuple[PoetryLM, BaseTokenizer]:
    """The model and its tokenizer; precision "int8" switches its inference to int8 weights."""
    validate_precision(precision)
    model = PoetryLM.from_pretrained(directory)
    if precision == "int8":
        try:
            model.enable_int8()
        except RuntimeError as error:  # no int8 kernels on this platform: the fp32 model still works
            logging.getLogger(__name__).warning("int8 inference unavailable (%s); using fp32", error)
    return model, model.tokenizer


def tiny_model_for_tests(tokenizer: BaseTokenizer, cell: str = "gru", seed: int = 0) -> PoetryLM:
    """A small randomly initialised model, for tests that need a model but not a good one."""
    torch.manual_seed(seed)
    model = PoetryLM(
        ModelConfig(
            vocab_size=tokenizer.vocab_size,
            cell=cell,
            embedding_dim=32,
            hidden_size=48,
            num_layers=1,
            dropout=0.0,
        )
    )
    model.tokenizer = tokenizer
    return model.eval()
