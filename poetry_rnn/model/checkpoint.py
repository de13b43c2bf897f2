"""Model folders: `config.json`, `model.safetensors` and the tokenizer files, saved and loaded, locally or
through the Hugging Face Hub.

A model folder may come from anyone (a download, a Hub repo), so loading trusts nothing in it: weights are
read through safetensors only (never pickle), every file's size is checked before it is read whole, the
weights' header (names, dtypes, shapes) is checked against the config before any tensor is allocated, and
the tokenizer must match the model's vocabulary.

Weights are floating point, or int8 (a shipped model's matrices, `save_pretrained(..., int8=True)`): an int8
matrix `NAME` has one scale per row beside it, `NAME.scale` (symmetric: the row's largest magnitude / 127),
and is read back as float32, int8 value × its row's scale. Half the bytes of float16, for a model that would
not otherwise fit `data/`; decoding quantizes the same rows to the same int8 values again.

`PretrainedModel` gives a model class `from_pretrained`, `save_pretrained` and `push_to_hub` (as
huggingface_hub's PyTorchModelHubMixin does); the class names its config dataclass in `config_class`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic
from poetry_rnn.tokenizer import TOKENIZER_FILE, BaseTokenizer, load_tokenizer
from poetry_rnn.tokenizer.sentencepiece_tokenizer import MODEL_FILE as SENTENCEPIECE_FILE

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MODEL_TYPE = "poetry_rnn"
FORMAT_VERSION = 1
MAX_CONFIG_BYTES = 1_000_000
MAX_HEADER_BYTES = 1_000_000  # safetensors JSON header (names, dtypes, shapes, offsets)
MAX_TOKENIZER_BYTES = 50_000_000
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")
INT8_DTYPE = "I8"
SCALE_SUFFIX = ".scale"  # beside an int8 matrix: its per-row scales
HUB_FILES = ["*.json", "*.safetensors", "*.model", "*.txt"]  # what a model folder holds; nothing executable


def default_model_dir() -> Path:
    """The shipped model (data/default_model beside the package), or $POETRY_RNN_MODEL when set."""
    override = os.environ.get("POETRY_RNN_MODEL")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "data" / "default_model"


def resolve_model_dir(location: str | os.PathLike) -> Path:
    """A local model folder, or a Hub repo id ("owner/name"), fetched once and read from the local cache
    afterwards (works offline with HF_HUB_OFFLINE=1 once cached). Only the safetensors/JSON files are
    fetched."""
    path = Path(location)
    if path.is_dir():
        return path
    text = str(location)
    if text.count("/") == 1 and not text.startswith((".", "/", "~")) and not path.exists():
        from huggingface_hub import snapshot_download  # imported here: only Hub ids need it

        try:
            return Path(snapshot_download(text, allow_patterns=HUB_FILES))
        except Exception as error:  # noqa: BLE001 - the hub raises many types; the user needs one message
            raise UserError(
                f"model {text!r} is neither a local folder nor a reachable Hub repo ({error})", field="model"
            ) from None
    raise UserError(f"model folder {path} does not exist", field="model")


def read_config(directory: Path, config_class: type) -> Any:
    """config.json as a `config_class` (a dataclass with `from_dict`, which validates the values)."""
    path = directory / CONFIG_FILE
    if not path.is_file():
        runs = [name for name in ("best", "checkpoint") if (directory / name / CONFIG_FILE).is_file()]
        hint = (
            f"; {directory} is a training run's folder: give its model, {directory / runs[0]}"
            + (" (the best by validation)" if runs[0] == "best" else "")
            if runs
            else ""
        )
        raise UserError(f"{path}: config file missing{hint}", field="model")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise UserError(f"{path}: config file is too large to be a model config", field="model")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid JSON ({error})", field="model") from None
    if not isinstance(document, dict):
        raise UserError(f"{path}: expected a JSON object", field="model")
    # (a config without these two is of the first format, which had neither)
    if document.get("model_type", MODEL_TYPE) != MODEL_TYPE:
        raise UserError(
            f"{path}: model_type is {_shown(document['model_type'])}, not {MODEL_TYPE!r}: this is not a "
            "poetry_rnn model",
            field="model",
        )
    version = document.get("format_version", FORMAT_VERSION)
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise UserError(
            f"{path}: format_version {_shown(version)} is not one this poetry_rnn reads (it reads "
            f"{', '.join(map(str, range(1, FORMAT_VERSION + 1)))}); a model saved by a newer poetry_rnn needs "
            "that version",
            field="model",
        )
    try:
        return config_class.from_dict(document)
    except (UserError, TypeError) as error:
        raise UserError(f"{path}: {error}", field="model") from None


def _shown(value: Any) -> str:
    """A config value quoted in a message, cut short (a hostile file may hold megabytes)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def read_tokenizer(directory: Path, vocab_size: int) -> BaseTokenizer:
    """The folder's tokenizer, refused if its files are absurdly large or it belongs to another model."""
    for name in (TOKENIZER_FILE, SENTENCEPIECE_FILE):  # read whole: refuse absurd sizes first
        path = directory / name
        if path.is_file() and path.stat().st_size > MAX_TOKENIZER_BYTES:
            raise UserError(
                f"{path}: {path.stat().st_size:,} bytes is too large for a tokenizer file "
                f"(at most {MAX_TOKENIZER_BYTES:,})",
                field="model",
            )
    tokenizer = load_tokenizer(directory)
    if tokenizer.vocab_size != vocab_size:
        raise UserError(
            f"{directory / TOKENIZER_FILE} has {tokenizer.vocab_size:,} pieces but the model "
            f"has {vocab_size:,}: the tokenizer belongs to another model",
            field="model",
        )
    return tokenizer


def read_weights(directory: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """Read model.safetensors after checking its header against the model: names, shapes, dtypes."""
    from safetensors import SafetensorError, safe_open

    path = directory / WEIGHTS_FILE
    if not path.is_file():
        pickled = sorted(p.name for p in directory.glob("*") if p.suffix in (".pt", ".pth", ".bin", ".ckpt"))
        hint = (
            f"; {', '.join(pickled)} cannot stand in for it: pickled weights are never loaded (they can run "
            "code), only safetensors"
            if pickled
            else ""
        )
        raise UserError(f"{path}: weights file missing{hint}", field="model")
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
            scale_names = {name for name in names if name.endswith(SCALE_SUFFIX) and name not in expected}
            if names - scale_names != set(expected):
                missing = sorted(set(expected) - names)
                unexpected = sorted(names - scale_names - set(expected))
                raise UserError(
                    f"{path}: tensors do not match config.json (missing {missing}, unexpected {unexpected})",
                    field="model",
                )
            tensors = {}
            for name in expected:
                tensor_slice = handle.get_slice(name)
                shape = tuple(tensor_slice.get_shape())
                if shape != expected[name]:
                    raise UserError(
                        f"{path}: tensor {name} has shape {shape}, config.json implies {expected[name]}",
                        field="model",
                    )
                if tensor_slice.get_dtype() == INT8_DTYPE:
                    tensors[name] = _dequantized(handle, name, shape, path)
                    scale_names.discard(name + SCALE_SUFFIX)
                    continue
                if tensor_slice.get_dtype() not in FLOAT_DTYPES:
                    raise UserError(
                        f"{path}: tensor {name} has dtype {tensor_slice.get_dtype()}; weights must be "
                        f"floating point ({', '.join(FLOAT_DTYPES)}) or an int8 matrix with its row scales",
                        field="model",
                    )
                tensors[name] = handle.get_tensor(name).float()
            if scale_names:
                raise UserError(
                    f"{path}: scales for tensors that are not int8: {sorted(scale_names)}", field="model"
                )
    except UserError:
        raise
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise UserError(f"{path}: not a readable safetensors file ({error})", field="model") from None
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise UserError(f"{path}: tensor {name} holds NaN or infinite values", field="model")
    return tensors


def int8_row_scales(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric per-row int8 scales of a float matrix [rows, columns] (float32 [rows]): the row's largest
    magnitude / 127, so that the row's values round into -127..127. The int8 stepper quantizes by the same."""
    return (weight.detach().float().abs().amax(dim=1) / 127.0).clamp_min(1e-12)


def int8_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A float matrix as (int8 values, float32 per-row scales)."""
    scales = int8_row_scales(weight)
    values = torch.round(weight.detach().float() / scales[:, None]).clamp(-127, 127).to(torch.int8)
    return values, scales


def _dequantized(handle, name: str, shape: tuple[int, ...], path: Path) -> torch.Tensor:
    """An int8 matrix of the weights file as float32, checked against its scales."""
    scale_name = name + SCALE_SUFFIX
    if len(shape) != 2 or scale_name not in handle.keys():
        raise UserError(
            f"{path}: tensor {name} is int8 but "
            + ("not a matrix" if len(shape) != 2 else f"has no row scales ({scale_name})"),
            field="model",
        )
    scale_slice = handle.get_slice(scale_name)
    if scale_slice.get_dtype() not in FLOAT_DTYPES or tuple(scale_slice.get_shape()) != shape[:1]:
        raise UserError(
            f"{path}: {scale_name} must be {shape[0]} floating-point row scales; found "
            f"{scale_slice.get_dtype()} {tuple(scale_slice.get_shape())}",
            field="model",
        )
    scales = handle.get_tensor(scale_name).float()
    if not (torch.isfinite(scales).all() and (scales >= 0).all()):
        raise UserError(f"{path}: {scale_name} holds negative, NaN or infinite scales", field="model")
    return handle.get_tensor(name).float() * scales[:, None]


class PretrainedModel:
    """Saving and loading for an nn.Module whose constructor takes one config dataclass (`config_class`),
    with the tokenizer it was trained with kept as `.tokenizer` and saved beside it."""

    config_class: ClassVar[type]
    config: Any
    tokenizer: BaseTokenizer | None

    def save_pretrained(
        self,
        directory: str | os.PathLike,
        tokenizer: BaseTokenizer | None = None,
        extra: dict | None = None,
        int8: bool = False,
    ) -> None:
        """Write config.json, model.safetensors and the tokenizer into `directory` (each file atomically).
        The weights keep their dtype; with `int8`, every matrix is stored as int8 with per-row scales and
        every other tensor as float16 (a model to ship: see the module docstring)."""
        from safetensors.torch import save

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tokenizer = tokenizer or self.tokenizer
        if tokenizer is not None:
            if tokenizer.vocab_size != self.config.vocab_size:
                raise UserError("tokenizer and model disagree on the vocabulary size", field="tokenizer")
            tokenizer.save(directory)
        tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in self.state_dict().items()}
        if int8:
            stored = {}
            for name, tensor in tensors.items():
                if tensor.dim() == 2 and tensor.is_floating_point():
                    stored[name], stored[name + SCALE_SUFFIX] = int8_rows(tensor)
                else:
                    stored[name] = tensor.half() if tensor.is_floating_point() else tensor
            tensors = stored
        write_atomic(directory / WEIGHTS_FILE, save(tensors, metadata={"format": "pt"}))
        document = {
            "model_type": MODEL_TYPE,
            "format_version": FORMAT_VERSION,
            **(self.config.as_document() if hasattr(self.config, "as_document") else asdict(self.config)),
            **(extra or {}),
        }
        known = {f.name for f in fields(self.config_class)} | {"model_type", "format_version"}
        document = {k: v for k, v in document.items() if k in known}
        write_atomic(directory / CONFIG_FILE, json.dumps(document, indent=2, ensure_ascii=False))

    def push_to_hub(
        self,
        repo_id: str,
        token: str | None = None,
        private: bool = False,
        commit_message: str = "Upload poetry_rnn model",
    ) -> str:
        """Upload the model folder (config, safetensors weights, tokenizer) to the Hugging Face Hub."""
        from huggingface_hub import HfApi  # imported here: only uploads need it

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder)
            info = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message)
        return str(info)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, map_location: str = "cpu"):
        """Load a model folder (or Hub repo id) in eval mode; the tokenizer is attached as `.tokenizer`.
        Refuses anything inconsistent."""
        directory = resolve_model_dir(directory)
        config = read_config(directory, cls.config_class)
        tokenizer = read_tokenizer(directory, config.vocab_size)
        if tuple(getattr(config, "sources", ())) != tokenizer.sources:
            raise UserError(
                f"{directory}: config.json names the sources {list(getattr(config, 'sources', ()))} but the "
                f"tokenizer has tags for {list(tokenizer.sources)}: the files belong to different models",
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
