"""PoetryLM: embedding → GRU or LSTM → output layer over the vocabulary.

Conditioning (form tag, title, keywords) arrives as prefix tokens, so the model itself is a plain recurrent
language model. `forward` takes a hidden state and returns the new one; decoding walks the model one piece
at a time through a stepper (poetry_rnn.model.stepper), which reads these weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from poetry_rnn.errors import UserError
from poetry_rnn.model.checkpoint import PretrainedModel
from poetry_rnn.tokenizer import BaseTokenizer
from poetry_rnn.tokenizer.base import check_source_name

# Refuse configs that would allocate absurd amounts before reading any weight (a hostile config.json).
LIMITS = {"vocab_size": 200_000, "embedding_dim": 4096, "hidden_size": 8192, "num_layers": 8}
MAX_PARAMETERS = 200_000_000


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class ModelConfig:
    """The architecture; checks itself on creation (a config may come from an untrusted config.json)."""

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
    # Training only (decoding never drops): whole rows of the embedding matrix dropped per batch, and one
    # dropout mask per sequence for all its time steps (variational) instead of one per step.
    embedding_dropout: float = 0.0
    locked_dropout: bool = False
    # The corpora it was trained on, primary first, when several (each a tag in the tokenizer); () for a
    # single-corpus model, whose config.json does not name any.
    sources: tuple[str, ...] = ()
    # Whether it was trained with each poem's keywords in its prefix (`<kw>`), so that generation may give it
    # some; a config.json that does not say is of a model that was (every model before the field).
    keywords: bool = True

    def __post_init__(self) -> None:
        self.validate()

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
        if self.output_layer == "adaptive":
            # each cluster projects to hidden_size / adaptive_div^k units: none would leave its characters
            # one shared probability, unlearnable
            clusters = len(self.effective_cutoffs()) - 1
            if clusters and self.hidden_size // self.adaptive_div**clusters < 1:
                raise UserError(
                    f"config hidden_size {self.hidden_size} is too small for {clusters} adaptive clusters at "
                    f"adaptive_div {self.adaptive_div:g}: the last would have no units; use hidden_size ≥ "
                    f"{math.ceil(self.adaptive_div**clusters)}, fewer cutoffs or output_layer full",
                    field="config",
                )
        if not _is_number(self.embedding_dropout) or not 0.0 <= self.embedding_dropout < 1.0:
            raise UserError(
                f"config embedding_dropout must be in [0, 1), got {self.embedding_dropout!r}", field="config"
            )
        for name in ("locked_dropout", "keywords"):
            if not isinstance(getattr(self, name), bool):
                raise UserError(
                    f"config {name} must be true or false, got {getattr(self, name)!r}", field="config"
                )
        if not isinstance(self.sources, (list, tuple)) or len(set(self.sources)) != len(self.sources):
            raise UserError(
                f"config sources must be a list of distinct names, got {self.sources!r}", field="config"
            )
        for name in self.sources:
            check_source_name(name, field="config")
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

    def as_document(self) -> dict:
        """The fields for config.json; the training-only and multi-corpus ones only when set, so a model of
        the original kind is saved exactly as before."""
        document = asdict(self)
        defaults = (
            ("embedding_dropout", 0.0),
            ("locked_dropout", False),
            ("sources", ()),
            ("keywords", True),
        )
        for name, default in defaults:
            if document[name] == default:
                del document[name]
        return document

    @classmethod
    def from_dict(cls, document: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(document) - known - {"model_type", "format_version"}
        if unknown:
            raise UserError(f"config has unknown keys {sorted(unknown)}", field="config")
        # the architecture is never guessed: a default would be blamed on the weights file instead
        missing = [name for name in ("vocab_size", "cell", "embedding_dim", "hidden_size", "num_layers")
                   if name not in document]  # fmt: skip
        if missing:
            raise UserError(f"config lacks {', '.join(missing)}", field="config")
        values = {k: v for k, v in document.items() if k in known}
        for name in ("cutoffs", "sources"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        return cls(**values)


class PoetryLM(nn.Module, PretrainedModel):
    config_class = ModelConfig

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()  # again: a config's fields may have been changed since it was made
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
        self.tokenizer: BaseTokenizer | None = None  # the one it was trained with; saved beside the weights

    @property
    def has_adaptive_softmax(self) -> bool:
        return hasattr(self, "adaptive")

    def forward(self, input_ids: torch.Tensor, state=None, targets: torch.Tensor | None = None):
        """input_ids [batch, time] → logits [batch, time, vocab] (log-probabilities for the adaptive output
        layer; either way `log_softmax` of them is the model's distribution), new state.
        With `targets` (training; also what DistributedDataParallel wraps): the mean loss instead."""
        if targets is not None:
            return self.loss(input_ids, targets)
        hidden, state = self.encode(input_ids, state)
        return self.project(hidden), state

    def encode(self, input_ids: torch.Tensor, state=None):
        hidden, state = self.rnn(self.drop(self.embed(input_ids)), state)
        return self.drop(hidden), state

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        rate = self.config.embedding_dropout
        if not (self.training and rate):
            return self.embedding(input_ids)
        # a dropped piece is missing from the whole batch (every occurrence), so no context can stand in
        keep = self.embedding.weight.new_empty(self.config.vocab_size, 1).bernoulli_(1 - rate) / (1 - rate)
        return nn.functional.embedding(input_ids, self.embedding.weight * keep)

    def drop(self, values: torch.Tensor) -> torch.Tensor:
        """Dropout on [batch, time, features]; locked: the same units dropped at every time step."""
        rate = self.config.dropout
        if not (self.training and rate and self.config.locked_dropout):
            return self.dropout(values)
        keep = values.new_empty(values.shape[0], 1, values.shape[2]).bernoulli_(1 - rate) / (1 - rate)
        return values * keep

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.config.output_layer == "tied":
            return nn.functional.linear(self.to_embedding(hidden), self.embedding.weight, self.output_bias)
        if self.has_adaptive_softmax:
            flat = self.adaptive.log_prob(hidden.reshape(-1, hidden.shape[-1]))
            return flat.reshape(*hidden.shape[:-1], self.config.vocab_size)
        return self.output(hidden)

    def loss(self, input_ids: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy of the next tokens; targets of -100 are ignored. The adaptive output layer only
        computes the clusters the targets fall in, which is where its training speed comes from."""
        hidden, _ = self.encode(input_ids)
        mask = targets != -100
        if self.has_adaptive_softmax:
            # In float32 even under autocast: the layer writes its per-cluster results into a buffer of the
            # input's dtype, and mixed dtypes there fail (bf16/fp16 buffer, float32 log-softmax).
            with torch.autocast(hidden.device.type, enabled=False):
                output = self.adaptive(hidden[mask].float(), targets[mask])
            nll = -output.output
            if reduction == "none":  # as cross_entropy gives it: one a position, 0 where ignored
                return nll.new_zeros(targets.shape).masked_scatter(mask, nll).reshape(-1)
            return nll.mean() if reduction == "mean" else nll.sum()
        logits = self.project(hidden)
        return nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            targets.reshape(-1),
            ignore_index=-100,
            reduction=reduction,
        )

    def initial_state(self, batch_size: int, device=None):
        """The zero state: hidden [layers, batch, H] (GRU), or (hidden, cell) of that shape each (LSTM)."""
        zeros = torch.zeros(self.config.num_layers, batch_size, self.config.hidden_size, device=device)
        return (zeros, zeros.clone()) if self.config.cell == "lstm" else zeros
