"""Model folders are untrusted input: every crafted, truncated or inconsistent file is refused with a
UserError (field "model") before any large allocation, and nothing is ever unpickled.

The folders here are built from a real (tiny, random) PoetryLM saved with `save_pretrained`, then damaged
one way at a time. The memory test loads the hostile folders in a child process whose address space is
capped a little above what it already uses, so a large allocation would fail there.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from poetry_rnn.cli import main as cli_main  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.generation.generator import PoetryGenerator  # noqa: E402
from poetry_rnn.model import ModelConfig, PoetryLM  # noqa: E402
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHARACTERS = "白日依山盡黃河入海流欲窮千里目更上一層樓床前明月光疑是地霜舉頭望低思故鄉春眠不覺曉處聞啼鳥"


def _save_model(directory: Path) -> PoetryLM:
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *dict.fromkeys(CHARACTERS)])
    torch.manual_seed(0)
    # cutoffs inside the vocabulary, so the folder has an adaptive-softmax output layer like the real model
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size, embedding_dim=16, hidden_size=24, num_layers=2, cutoffs=(20, 40)
    )
    model = PoetryLM(config)
    model.save_pretrained(directory, tokenizer)
    return model


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("good_model")
    _save_model(directory)
    return directory


@pytest.fixture
def bad_dir(good_dir, tmp_path) -> Path:
    """A fresh copy of the good folder, to be damaged by the test."""
    directory = tmp_path / "model"
    shutil.copytree(good_dir, directory)
    return directory


def _refused(directory: Path, *fragments: str) -> str:
    with pytest.raises(UserError) as caught:
        PoetryLM.from_pretrained(directory)
    message = str(caught.value)
    assert caught.value.field == "model"
    for fragment in fragments:
        assert fragment in message, message
    return message


def _config(directory: Path) -> dict:
    return json.loads((directory / "config.json").read_text(encoding="utf-8"))


def _write_config(directory: Path, **changes) -> None:
    (directory / "config.json").write_text(json.dumps({**_config(directory), **changes}), encoding="utf-8")


def _header(path: Path) -> dict:
    raw = path.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + length])


def _write_raw_safetensors(path: Path, header: dict, body: bytes) -> None:
    encoded = json.dumps(header).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + body)


def _read_weights(directory: Path) -> dict[str, torch.Tensor]:
    """The folder's tensors by name (to be damaged and written back by `_save_weights`)."""
    return load_file(str(directory / "model.safetensors"))


def _save_weights(directory: Path, tensors: dict[str, torch.Tensor]) -> None:
    save_file(tensors, str(directory / "model.safetensors"))


# ------------------------------------------------------------------------------------------ the good folder
def test_the_undamaged_folder_loads_and_matches_what_was_saved(good_dir):
    model = PoetryLM.from_pretrained(good_dir)
    saved = load_file(str(good_dir / "model.safetensors"))
    assert set(saved) == set(model.state_dict())
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    assert hasattr(model, "adaptive")
    assert model.tokenizer.vocab_size == model.config.vocab_size


# ------------------------------------------------------------------------------------------ weights file
@pytest.mark.parametrize("keep", [0, 4, 8, 60, "half_header", "half_data", "all_but_one"])
def test_truncated_weights(bad_dir, keep):
    path = bad_dir / "model.safetensors"
    raw = path.read_bytes()
    header_end = 8 + struct.unpack("<Q", raw[:8])[0]
    cut = {"half_header": header_end // 2, "half_data": (header_end + len(raw)) // 2,
           "all_but_one": len(raw) - 1}.get(keep, keep)  # fmt: skip
    path.write_bytes(raw[:cut])
    _refused(bad_dir, "model.safetensors")


def test_header_claiming_huge_tensors(bad_dir):
    path = bad_dir / "model.safetensors"
    header = _header(path)
    # 10^12 floats (4 TB) announced, 16 bytes present
    header["embedding.weight"] = {
        "dtype": "F32",
        "shape": [1_000_000, 1_000_000],
        "data_offsets": [0, 4 * 10**12],
    }
    for name in [n for n in header if n not in ("embedding.weight", "__metadata__")]:
        header[name] = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
    _write_raw_safetensors(path, header, bytes(16))
    _refused(bad_dir, "not a readable safetensors file")


def test_header_whose_shape_disagrees_with_its_byte_range(bad_dir):
    path = bad_dir / "model.safetensors"
    header = {"embedding.weight": {"dtype": "F32", "shape": [100_000, 100_000], "data_offsets": [0, 16]}}
    _write_raw_safetensors(path, header, bytes(16))
    _refused(bad_dir, "not a readable safetensors file")


@pytest.mark.parametrize("length", [2**63, 10**9, 2_000_000])
def test_absurd_header_length_is_refused_without_parsing(bad_dir, length):
    (bad_dir / "model.safetensors").write_bytes(struct.pack("<Q", length) + b"{}" * 8)
    _refused(bad_dir, "header of")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_weights(bad_dir, value):
    tensors = _read_weights(bad_dir)
    tensors["rnn.weight_hh_l1"][3, 5] = value
    _save_weights(bad_dir, tensors)
    _refused(bad_dir, "rnn.weight_hh_l1", "NaN or infinite")


def test_extra_tensor(bad_dir):
    tensors = _read_weights(bad_dir)
    tensors["backdoor.weight"] = torch.zeros(3)
    _save_weights(bad_dir, tensors)
    _refused(bad_dir, "unexpected ['backdoor.weight']")


def test_missing_tensor(bad_dir):
    tensors = _read_weights(bad_dir)
    del tensors["rnn.bias_ih_l0"]
    _save_weights(bad_dir, tensors)
    _refused(bad_dir, "missing ['rnn.bias_ih_l0']")


def test_tensor_of_the_wrong_shape(bad_dir):
    tensors = _read_weights(bad_dir)
    tensors["embedding.weight"] = torch.zeros(tensors["embedding.weight"].shape[0], 17)
    _save_weights(bad_dir, tensors)
    _refused(bad_dir, "embedding.weight", "shape")


def test_integer_weights(bad_dir):
    tensors = _read_weights(bad_dir)
    tensors["embedding.weight"] = torch.ones_like(tensors["embedding.weight"], dtype=torch.int64)
    _save_weights(bad_dir, tensors)
    _refused(bad_dir, "dtype I64")


def test_half_precision_weights_are_read(bad_dir):
    path = bad_dir / "model.safetensors"
    tensors = {name: t.to(torch.bfloat16) for name, t in load_file(str(path)).items()}
    save_file(tensors, str(path))
    model = PoetryLM.from_pretrained(bad_dir)
    assert torch.equal(model.embedding.weight.detach(), tensors["embedding.weight"].float())


# ------------------------------------------------------------------------------------------ int8 weights
@pytest.fixture
def int8_dir(good_dir, tmp_path) -> Path:
    """The good model saved again with int8 matrices (the shipping format for a model too large in float16)."""
    directory = tmp_path / "int8"
    PoetryLM.from_pretrained(good_dir).save_pretrained(directory, int8=True)
    return directory


def test_int8_weights_are_read_back_within_half_a_step_of_each_row(good_dir, int8_dir):
    original = PoetryLM.from_pretrained(good_dir).state_dict()
    stored = load_file(str(int8_dir / "model.safetensors"))
    matrices = [name for name, tensor in original.items() if tensor.dim() == 2]
    assert matrices and all(stored[name].dtype == torch.int8 for name in matrices)
    assert all(stored[name].dtype == torch.float16 for name in original if name not in matrices)
    model = PoetryLM.from_pretrained(int8_dir)
    for name in matrices:
        step = stored[name + ".scale"][:, None]
        assert (model.state_dict()[name] - original[name]).abs().le(step / 2 + 1e-7).all(), name
    # rounded, not the float values stored again (a one-column matrix is its own scale: exact)
    assert not torch.equal(model.state_dict()["rnn.weight_hh_l0"], original["rnn.weight_hh_l0"])
    inputs = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        near = PoetryLM.from_pretrained(good_dir)(inputs)[0].exp()
        assert (model(inputs)[0].exp() - near).abs().max() < 0.05  # the same predictions, nearly


def test_an_int8_matrix_without_its_scales_is_refused(int8_dir):
    tensors = _read_weights(int8_dir)
    del tensors["rnn.weight_hh_l0.scale"]
    _save_weights(int8_dir, tensors)
    _refused(int8_dir, "rnn.weight_hh_l0", "no row scales")


@pytest.mark.parametrize(
    ("scale", "fragment"),
    [(torch.full((5,), 0.1), "row scales; found F32 (5,)"), (None, "negative, NaN or infinite")],
)
def test_int8_scales_of_the_wrong_shape_or_value_are_refused(int8_dir, scale, fragment):
    tensors = _read_weights(int8_dir)
    if scale is None:
        scale = tensors["rnn.weight_hh_l0.scale"].clone()
        scale[0] = float("nan")
    tensors["rnn.weight_hh_l0.scale"] = scale
    _save_weights(int8_dir, tensors)
    _refused(int8_dir, fragment)


def test_scales_beside_a_float_tensor_are_refused(bad_dir):
    tensors = _read_weights(bad_dir)
    tensors["rnn.weight_hh_l0.scale"] = torch.ones(tensors["rnn.weight_hh_l0"].shape[0])
    _save_weights(bad_dir, tensors)
    _refused(bad_dir, "scales for tensors that are not int8", "rnn.weight_hh_l0.scale")


def test_an_int8_vector_is_refused(int8_dir):
    tensors = _read_weights(int8_dir)
    tensors["rnn.bias_hh_l0"] = torch.zeros_like(tensors["rnn.bias_hh_l0"], dtype=torch.int8)
    tensors["rnn.bias_hh_l0.scale"] = torch.ones(1)
    _save_weights(int8_dir, tensors)
    _refused(int8_dir, "rnn.bias_hh_l0 is int8 but not a matrix")


class _Payload:
    """Unpickling this creates the marker file: proof that a loader ran pickle."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_pickle_named_model_safetensors_is_never_unpickled(bad_dir, tmp_path):
    marker = tmp_path / "pickle-was-loaded"
    (bad_dir / "model.safetensors").write_bytes(pickle.dumps({"embedding.weight": _Payload(str(marker))}))
    _refused(bad_dir, "not a readable safetensors file")
    assert not marker.exists()


def test_a_torch_save_file_named_model_safetensors_is_never_unpickled(bad_dir, tmp_path):
    marker = tmp_path / "pickle-was-loaded"
    torch.save(
        {"embedding.weight": torch.zeros(2), "payload": _Payload(str(marker))}, bad_dir / "model.safetensors"
    )
    _refused(bad_dir, "not a readable safetensors file")
    assert not marker.exists()


def test_missing_weights_file(bad_dir):
    (bad_dir / "model.safetensors").unlink()
    _refused(bad_dir, "weights file missing")


def test_weights_path_that_is_a_folder(bad_dir):
    (bad_dir / "model.safetensors").unlink()
    (bad_dir / "model.safetensors").mkdir()
    _refused(bad_dir, "weights file missing")


# ------------------------------------------------------------------------------------------ config.json
@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"hidden_size": 10**9}, "hidden_size must be an integer from 1 to 8,192"),
        ({"vocab_size": 10**12}, "vocab_size"),
        ({"num_layers": 0}, "num_layers"),
        ({"embedding_dim": -5}, "embedding_dim"),
        ({"hidden_size": 24.0}, "hidden_size"),
        ({"hidden_size": "24"}, "hidden_size"),
        ({"hidden_size": True}, "hidden_size"),
        ({"hidden_size": None}, "hidden_size"),
        ({"cell": "transformer"}, "cell"),
        ({"cell": ["gru"]}, "cell"),
        ({"output_layer": "mixture"}, "output_layer"),
        ({"dropout": "x"}, "dropout"),
        ({"dropout": 1.5}, "dropout"),
        ({"dropout": math.nan}, "dropout"),
        ({"adaptive_div": 0}, "adaptive_div"),
        ({"adaptive_div": -2.0}, "adaptive_div"),
        ({"adaptive_div": "4"}, "adaptive_div"),
        ({"adaptive_div": 1e-300}, "adaptive_div"),
        ({"cutoffs": [40, 20]}, "cutoffs"),
        ({"cutoffs": [[20]]}, "cutoffs"),
        ({"cutoffs": 20}, "cutoffs"),
        ({"cutoffs": [0, 20]}, "cutoffs"),
        ({"script": 5}, "script"),
        ({"exec": "import os"}, "unknown keys ['exec']"),
        # within every per-field limit, yet 8 x 8192-wide LSTM layers: over the parameter cap
        ({"hidden_size": 8192, "num_layers": 8, "cell": "lstm"}, "parameters; at most"),
    ],
)
def test_bad_config_values(bad_dir, changes, fragment):
    _write_config(bad_dir, **changes)
    _refused(bad_dir, "config.json", fragment)


def test_config_describing_a_large_model_beside_small_weights(bad_dir):
    # ~160 M parameters: allowed by the limits, but the weights file does not hold them
    _write_config(bad_dir, hidden_size=4096, embedding_dim=1024, num_layers=2)
    _refused(bad_dir, "config.json implies")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2, 3]", "expected a JSON object"),
        ('"gru"', "expected a JSON object"),
        ("\udcff", "not valid JSON"),
        ("{}", "lacks vocab_size"),
    ],
)
def test_config_that_is_not_a_config(bad_dir, text, fragment):
    (bad_dir / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    _refused(bad_dir, fragment)


@pytest.mark.parametrize(
    "changes, fragments",
    [
        ({"model_type": "bert"}, ["model_type is 'bert'", "not a poetry_rnn model"]),
        ({"format_version": 2}, ["format_version 2 is not one this poetry_rnn reads", "newer poetry_rnn"]),
        ({"format_version": "1"}, ["format_version '1'"]),
    ],
)
def test_a_config_of_another_kind_or_a_newer_format(bad_dir, changes, fragments):
    _write_config(bad_dir, **changes)
    _refused(bad_dir, *fragments)


def test_a_config_without_model_type_and_version_loads(good_dir, bad_dir):
    """The first format had neither key."""
    config = {k: v for k, v in _config(bad_dir).items() if k not in ("model_type", "format_version")}
    (bad_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert PoetryLM.from_pretrained(bad_dir).config == PoetryLM.from_pretrained(good_dir).config


@pytest.mark.parametrize("missing", [["hidden_size"], ["cell", "num_layers"]])
def test_a_config_missing_an_architecture_field_names_it(bad_dir, missing):
    config = {k: v for k, v in _config(bad_dir).items() if k not in missing}
    (bad_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    message = _refused(bad_dir, f"config lacks {', '.join(missing)}")
    assert "weights" not in message  # not blamed on model.safetensors


def test_pickled_weights_are_named_and_not_loaded(bad_dir):
    (bad_dir / "model.safetensors").rename(bad_dir / "pytorch_model.bin")
    _refused(bad_dir, "weights file missing", "pytorch_model.bin cannot stand in for it", "only safetensors")


def test_oversized_config_file(bad_dir):
    config = _config(bad_dir)
    config["model_type"] = "x" * 2_000_000
    (bad_dir / "config.json").write_text(json.dumps(config))
    _refused(bad_dir, "too large to be a model config")


def test_missing_config(bad_dir):
    (bad_dir / "config.json").unlink()
    _refused(bad_dir, "config file missing")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "vocab_size",
                "cell",
                "embedding_dim",
                "hidden_size",
                "num_layers",
                "dropout",
                "output_layer",
                "cutoffs",
                "adaptive_div",
                "script",
                "format_version",
                "model_type",
            ]
        )
        | st.text(max_size=10),
        JSON_VALUES,
        min_size=1,
        max_size=4,
    )
)
def test_any_config_values_load_or_are_refused_cleanly(good_dir, tmp_path_factory, changes):
    directory = tmp_path_factory.mktemp("fuzzed_config")
    shutil.copytree(good_dir, directory, dirs_exist_ok=True)
    _write_config(directory, **changes)
    try:
        model = PoetryLM.from_pretrained(directory)
    except UserError as error:
        assert error.field == "model"
        assert str(error)
    else:  # only changes that leave the model what it was can load
        assert model.state_dict().keys() == PoetryLM.from_pretrained(good_dir).state_dict().keys()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_damage_to_the_weights_file_is_refused_or_harmless(good_dir, tmp_path_factory, data):
    raw = bytearray((good_dir / "model.safetensors").read_bytes())
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), min_size=1, max_size=8)
    )
    for position, value in edits:
        raw[position] = value
    cut = data.draw(st.none() | st.integers(0, len(raw)))
    directory = tmp_path_factory.mktemp("fuzzed_weights")
    shutil.copytree(good_dir, directory, dirs_exist_ok=True)
    (directory / "model.safetensors").write_bytes(bytes(raw[:cut] if cut is not None else raw))
    try:
        model = PoetryLM.from_pretrained(directory)
    except UserError as error:
        assert error.field == "model"
    else:  # a flipped byte inside the data only changes a weight: it must still be finite
        assert all(torch.isfinite(t).all() for t in model.state_dict().values())


# ------------------------------------------------------------------------------------------ tokenizer file
@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"\x80\x04\x95 not json at all", "not valid JSON"),
        (b'{"kind": "char", "pieces": ', "not valid JSON"),
        (b"[]", "expected an object with a list of string 'pieces'"),
        (b'{"kind": "char", "pieces": [1, 2, 3]}', "expected an object with a list of string 'pieces'"),
        (b'{"kind": "char", "pieces": ["a"]}', "must start with the special pieces"),
        (b'{"kind": "bpe-from-elsewhere", "pieces": []}', "unknown tokenizer kind"),
    ],
)
def test_tokenizer_file_that_is_not_a_tokenizer(bad_dir, content, fragment):
    (bad_dir / "tokenizer.json").write_bytes(content)
    with pytest.raises(UserError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        PoetryLM.from_pretrained(bad_dir)


def test_tokenizer_with_the_wrong_vocabulary(bad_dir):
    pieces = [*SPECIALS, *PUNCTUATION, *"春江花月夜"]
    (bad_dir / "tokenizer.json").write_text(
        json.dumps({"kind": "char", "pieces": pieces}, ensure_ascii=False)
    )
    _refused(bad_dir, "the tokenizer belongs to another model")


def test_tokenizer_with_duplicate_pieces(bad_dir):
    document = json.loads((bad_dir / "tokenizer.json").read_text(encoding="utf-8"))
    document["pieces"][-1] = document["pieces"][-2]
    (bad_dir / "tokenizer.json").write_text(json.dumps(document, ensure_ascii=False))
    with pytest.raises(UserError, match="duplicate pieces"):
        PoetryLM.from_pretrained(bad_dir)


def test_sentencepiece_tokenizer_without_its_model_file(bad_dir):
    document = json.loads((bad_dir / "tokenizer.json").read_text(encoding="utf-8"))
    document["kind"] = "sentencepiece"
    (bad_dir / "tokenizer.json").write_text(json.dumps(document, ensure_ascii=False))
    _refused(bad_dir, "sentencepiece.model")


def test_oversized_tokenizer_file_is_refused_before_it_is_read(bad_dir):
    with open(bad_dir / "tokenizer.json", "wb") as handle:  # sparse: 60 MB on paper, no disk used
        handle.truncate(60_000_000)
    _refused(bad_dir, "too large for a tokenizer file")


def test_missing_tokenizer(bad_dir):
    (bad_dir / "tokenizer.json").unlink()
    _refused(bad_dir, "tokenizer file missing")


def test_missing_folder(tmp_path):
    _refused(tmp_path / "nothing-here", "does not exist")


# ------------------------------------------------------------------------------------------ through the API/CLI
def test_the_generator_and_the_cli_refuse_a_bad_folder_cleanly(bad_dir, capsys):
    (bad_dir / "model.safetensors").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(UserError) as caught:
        PoetryGenerator.from_pretrained(bad_dir)
    assert caught.value.field == "model"
    assert cli_main(["generate", "--model", str(bad_dir), "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable safetensors file" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------------ no large allocation
MEMORY_PROBE = textwrap.dedent(
    """
    import json, resource, sys
    import torch
    torch.set_num_threads(1)
    from poetry_rnn.errors import UserError
    from poetry_rnn.model import PoetryLM

    def virtual_mb():
        with open("/proc/self/status") as status:
            line = next(l for l in status if l.startswith("VmSize"))
        return int(line.split()[1]) // 1024

    PoetryLM.from_pretrained(sys.argv[1])  # warm up: imports and allocator pools are in place
    headroom = int(sys.argv[2])
    limit = (virtual_mb() + headroom) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    results = {}
    for folder in sys.argv[3:]:
        try:
            PoetryLM.from_pretrained(folder)
            results[folder] = "loaded"
        except UserError as error:
            results[folder] = "UserError: " + str(error)
        except BaseException as error:  # MemoryError, or torch's allocation RuntimeError
            results[folder] = f"ESCAPED {type(error).__name__}: {error}"[:300]
    # the cap allows normal loading: the good folder loads again under it
    PoetryLM.from_pretrained(sys.argv[1])
    print(json.dumps(results))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS (Linux)")
def test_hostile_folders_are_refused_under_a_small_address_space_cap(good_dir, tmp_path):
    """Each hostile folder would need far more than 200 MB if its sizes were believed."""
    folders = {}

    def damaged(name: str) -> Path:
        directory = tmp_path / name
        shutil.copytree(good_dir, directory)
        folders[name] = directory
        return directory

    # ~160 M parameters (640 MB as float32) described, 20 kB of weights present
    _write_config(damaged("large_config"), hidden_size=4096, embedding_dim=1024, num_layers=2)
    # 10^9 hidden units
    _write_config(damaged("absurd_config"), hidden_size=10**9)
    # a 4 TB tensor announced in the header
    header = {"embedding.weight": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}
    _write_raw_safetensors(damaged("huge_tensor_header") / "model.safetensors", header, bytes(64))
    # a header length of 16 EB
    (damaged("huge_header_length") / "model.safetensors").write_bytes(struct.pack("<Q", 2**63) + bytes(64))
    # a 1 GB tokenizer file (sparse)
    with open(damaged("huge_tokenizer") / "tokenizer.json", "wb") as handle:
        handle.truncate(10**9)
    completed = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(good_dir), "200", *map(str, folders.values())],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    for name, directory in folders.items():
        assert results[str(directory)].startswith("UserError: "), (name, results[str(directory)])
