"""PoetryLM: embedding → GRU or LSTM → projection to the vocabulary.

Conditioning (form tag, title, keywords) arrives as prefix tokens, so the model itself is a plain
recurrent language model. `forward` takes a hidden state and returns the new one, which is all the
decoder needs to step it one token at a time.

A model folder holds `config.json`, `model.safetensors` and the tokenizer files. Loading reads
safetensors only (never pickle) and checks sizes before allocating anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from poetry_rnn.errors import UserError
from poetry_rnn.tokenizer import BaseTokenizer, load_tokenizer, write_atomic

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
# Refuse configs that would allocate absurd amounts before reading any weight (a hostile config.json).
LIMITS = {"vocab_size": 200_000, "embedding_dim": 4096, "hidden_size": 8192, "num_layers": 8}
MAX_PARAMETERS = 200_000_000


@dataclass
class ModelConfig:
    vocab_size: int
    cell: str = "gru"  # "gru" or "lstm"
    embedding_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.1
    tie_weights: bool = True  # output projection shares the embedding matrix (via a hidden→embedding map)
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
        if not 0.0 <= float(self.dropout) < 1.0:
            raise UserError(f"config dropout must be in [0, 1), got {self.dropout!r}", field="config")
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
        if self.tie_weights:
            count += self.hidden_size * self.embedding_dim + self.embedding_dim + self.vocab_size
        else:
            count += self.hidden_size * self.vocab_size + self.vocab_size
        return count

    @classmethod
    def from_dict(cls, document: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(document) - known - {"model_type", "format_version"}
        if unknown:
            raise UserError(f"config has unknown keys {sorted(unknown)}", field="config")
        if "vocab_size" not in document:
            raise UserError("config lacks vocab_size", field="config")
        config = cls(**{k: v for k, v in document.items() if k in known})
        config.validate()
        return config


class PoetryLM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        rnn_class = nn.GRU if config.cell == "gru" else nn.LSTM
        self.rnn = rnn_class(
            config.embedding_dim,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        if config.tie_weights:
            self.to_embedding = nn.Linear(config.hidden_size, config.embedding_dim)
            self.output_bias = nn.Parameter(torch.zeros(config.vocab_size))
        else:
            self.output = nn.Linear(config.hidden_size, config.vocab_size)
        self.tokenizer: BaseTokenizer | None = None

    def forward(self, input_ids: torch.Tensor, state=None):
        """input_ids [batch, time] → logits [batch, time, vocab], new state."""
        hidden, state = self.rnn(self.dropout(self.embedding(input_ids)), state)
        return self.project(self.dropout(hidden)), state

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.config.tie_weights:
            return nn.functional.linear(self.to_embedding(hidden), self.embedding.weight, self.output_bias)
        return self.output(hidden)

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

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, map_location: str = "cpu") -> PoetryLM:
        """Load a model folder; the tokenizer is attached as `.tokenizer`. Refuses anything inconsistent."""
        directory = Path(directory)
        if not directory.is_dir():
            raise UserError(f"model folder {directory} does not exist", field="model")
        config = read_config(directory)
        tokenizer = load_tokenizer(directory)
        if tokenizer.vocab_size != config.vocab_size:
            raise UserError(
                f"{directory / 'tokenizer.json'} has {tokenizer.vocab_size:,} pieces but the model "
                f"has {config.vocab_size:,}: the tokenizer belongs to another model",
                field="model",
            )
        model = cls(config)
        model.load_state_dict(read_weights(directory, model), strict=True)
        model.tokenizer = tokenizer
        model.eval()
        return model.to(map_location)


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
                shape = tuple(handle.get_slice(name).get_shape())
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


def load_pretrained(directory: str | os.PathLike) -> tuple[PoetryLM, BaseTokenizer]:
    model = PoetryLM.from_pretrained(directory)
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
