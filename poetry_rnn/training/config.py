"""What a training run is told: `TrainConfig`, checked before any data is read, and the device it runs on."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from poetry_rnn.errors import UserError
from poetry_rnn.model.lm import LIMITS as MODEL_LIMITS
from poetry_rnn.tokenizer.sentencepiece_tokenizer import MIN_VOCAB_SIZE as MIN_SP_VOCAB_SIZE
from poetry_rnn.training.sources import parse_extra_sources


@dataclass
class TrainConfig:
    source: str = ""
    # More corpora to train on, "name=location[,name=location]" (song=../shared/data/song): every poem of them
    # is training data, tagged with its corpus's name; validation stays on `source`'s valid split.
    extra_sources: str = ""
    source_name: str = "tang"  # the tag of `source`'s poems when there are extra sources (generation uses it)
    primary_repeat: int = 1  # each epoch sees `source`'s train poems this many times (against a larger extra)
    # Start from a trained model folder instead of random weights: its tokenizer and weights, widened to
    # hidden_size when that is larger (poetry_rnn.model.grow); the other architecture fields must match it.
    init_from: str = ""
    out: str = "runs/default"
    tokenizer: str = "char"  # char | sentencepiece
    script: str = "traditional"  # traditional (as the corpus) | simplified (converted with OpenCC)
    min_count: int = 2
    sp_vocab_size: int = 8192
    cell: str = "gru"
    embedding_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.1
    embedding_dropout: float = 0.0  # share of the vocabulary dropped from each batch's embedding lookups
    locked_dropout: bool = False  # one mask per sequence, kept over its steps (embeddings and output only)
    output_layer: str = "adaptive"  # adaptive | tied | full
    keywords: bool = False  # condition on jieba keywords of each poem (cached per corpus)
    # "all": every poem of the train split; "regular": only 五绝 七绝 五律 七律, the forms the generator writes
    train_forms: str = "all"
    batch_tokens: int = 6144  # at most this many tokens a batch, padding included (per process under DDP)
    max_len: int = 200  # longer sequences are cut
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    clip: float = 1.0
    epochs: int = 20
    max_minutes: float = 0.0  # time budget; the cosine schedule is fitted to it (0 = by epochs)
    # "wall": clock time. "cpu": this process's CPU time divided by its threads — equals wall time on an idle
    # machine, and keeps runs comparable when other work shares the CPU.
    budget_clock: str = "wall"
    patience: int = 3  # epochs without validation improvement before stopping
    checkpoint_minutes: float = 5.0
    seed: int = 1234
    threads: int = 0
    device: str = "auto"
    valid_limit: int = 0  # validate on at most this many poems (0 = whole valid split)
    max_steps: int = 0  # stop after this many optimizer steps (tests)
    max_tokens: int = 0  # stop after this many training tokens; the cosine schedule is fitted to it


CHOICES = {
    "tokenizer": ("char", "sentencepiece"),
    "script": ("traditional", "simplified"),
    "cell": ("gru", "lstm"),
    "output_layer": ("adaptive", "tied", "full"),
    "budget_clock": ("wall", "cpu"),
    "train_forms": ("all", "regular"),
}
AT_LEAST = {"min_count": 1, "sp_vocab_size": MIN_SP_VOCAB_SIZE, "batch_tokens": 1, "max_len": 8, "epochs": 1, "patience": 1,
            "warmup_steps": 0, "weight_decay": 0, "min_lr_ratio": 0, "max_minutes": 0, "threads": 0,
            "valid_limit": 0, "max_steps": 0, "max_tokens": 0, "primary_repeat": 1}  # fmt: skip
ABOVE_ZERO = ("lr", "clip", "checkpoint_minutes")
AT_MOST = {"min_lr_ratio": 1}  # a floor above the peak would make the "decay" rise


def check_config(config: TrainConfig) -> None:
    """Refuse settings that cannot work before any data is read, not after an hour of training."""
    kinds = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
    for item in fields(TrainConfig):
        value, kind = getattr(config, item.name), str(item.type)
        if kind not in kinds:  # a field of another type checks itself
            continue
        if not isinstance(value, kinds[kind]) or (isinstance(value, bool) and kind != "bool"):
            raise UserError(f"{item.name} must be of type {kind}, got {value!r}", field=item.name)
        if kind == "float" and not math.isfinite(value):
            raise UserError(f"{item.name} must be a finite number, got {value!r}", field=item.name)
    for name, allowed in CHOICES.items():
        if getattr(config, name) not in allowed:
            raise UserError(
                f"{name} must be one of {', '.join(allowed)}, got {getattr(config, name)!r}", field=name
            )
    for name, low in AT_LEAST.items():
        if getattr(config, name) < low:
            raise UserError(f"{name} must be at least {low}, got {getattr(config, name)!r}", field=name)
    for name, high in AT_MOST.items():
        if getattr(config, name) > high:
            raise UserError(f"{name} must be at most {high}, got {getattr(config, name)!r}", field=name)
    for name in ("embedding_dim", "hidden_size", "num_layers"):  # the model's own limits, before the data
        if not 1 <= getattr(config, name) <= MODEL_LIMITS[name]:
            raise UserError(
                f"{name} must be from 1 to {MODEL_LIMITS[name]:,}, got {getattr(config, name)!r}", field=name
            )
    if not config.out.strip():
        raise UserError("out must name the run's folder (e.g. runs/gru512), got an empty name", field="out")
    for name in ABOVE_ZERO:
        if not getattr(config, name) > 0:
            raise UserError(f"{name} must be above 0, got {getattr(config, name)!r}", field=name)
    for name in ("dropout", "embedding_dropout"):
        if not 0 <= getattr(config, name) < 1:
            raise UserError(f"{name} must be in [0, 1), got {getattr(config, name)!r}", field=name)
    source_names(config)  # the corpora's names and locations: well-formed, before anything is read


def source_names(config: TrainConfig) -> tuple[str, ...]:
    """The run's corpora by name, primary first, when it has extra sources; () for a single-corpus run."""
    if not config.extra_sources:
        return ()
    return (
        config.source_name,
        *(extra.name for extra in parse_extra_sources(config.extra_sources, config.source_name)),
    )


def pick_device(name: str) -> torch.device:
    """The device `name` names, refused at once if this machine cannot train on it ("auto": CUDA, then
    Apple's MPS, then the CPU)."""
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            device = None
        if device is None or device.type not in ("cpu", "cuda", "mps"):
            raise UserError(
                f"unknown device {name!r}; one of auto, cpu, cuda, cuda:N (a GPU's number), mps",
                field="device",
            )
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise UserError(f"device {name!r}: CUDA is not available on this machine", field="device")
            if device.index is not None and device.index >= torch.cuda.device_count():
                raise UserError(
                    f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                    f"numbered from 0",
                    field="device",
                )
        if device.type == "mps" and not _mps_available():
            raise UserError(f"device {name!r}: Apple's MPS is not available on this machine", field="device")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
