"""Same seed and options, same result: poems from the shipped model (in one process, streamed or not, and
in another process with another hash seed and thread count) and trained weights on a CPU (in one process
and in another).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from poetry_rnn.model import default_model_dir  # noqa: E402
from poetry_rnn.training import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SMALL_CORPUS = REPO / "tests" / "data" / "poet.tang.small.json"
REQUESTS = [
    {"form": "qilv", "n": 3, "seed": 5},
    {
        "form": "wujue",
        "acrostic": "春江花月",
        "rhyme_scheme": "xinyun",
        "n": 2,
        "seed": 77,
        "script": "simplified",
    },
    {
        "form": "qijue",
        "first_line": "黃河遠上白雲間",
        "tone": "standard",
        "keywords": ["秋", "雁"],
        "title": "秋夜",
        "n": 2,
        "seed": 2**40,
        "temperature": 1.3,
    },
]
CLI_REQUEST = [
    "--form",
    "qilv",
    "--n",
    "3",
    "--seed",
    "5",
    "--temperature",
    "0.85",
    "--top-p",
    "0.95",
    "--json",
]


def _shipped_model_dir() -> Path:
    directory = default_model_dir()
    if not (directory / "model.safetensors").is_file():
        pytest.skip(f"no shipped model at {directory}")
    return directory


@pytest.mark.parametrize("options", REQUESTS, ids=lambda o: f"{o['form']}-{o['seed']}")
def test_same_seed_same_poems_in_one_process(shipped, options):
    first = shipped.generate(**options)
    second = shipped.generate(**options)
    assert [p.to_dict() for p in first] == [p.to_dict() for p in second]
    streamed = list(shipped.generate_stream(**options))[-1]["poems"]
    assert [p.text for p in streamed] == [p.text for p in first]


def test_another_seed_gives_other_poems(shipped):
    texts = {tuple(p.text for p in shipped.generate(form="qijue", n=2, seed=seed)) for seed in range(4)}
    assert len(texts) == 4


def test_a_drawn_seed_replays(shipped):
    drawn = shipped.generate(form="wulv", n=2)
    # several poems are decoded one by one (line selection), with the drawn seed and the next
    first = min(poem.seed for poem in drawn)
    assert [p.text for p in shipped.generate(form="wulv", n=2, seed=first)] == [p.text for p in drawn]
    assert [shipped.generate(form="wulv", seed=p.seed)[0].text for p in drawn] == [p.text for p in drawn]


def test_same_poems_in_another_process_with_another_hash_seed_and_thread_count(shipped):
    expected = [p.text for p in shipped.generate(form="qilv", n=3, seed=5, temperature=0.85, top_p=0.95)]
    completed = subprocess.run(
        [sys.executable, "-m", "poetry_rnn", "generate", "--model", str(_shipped_model_dir()), *CLI_REQUEST],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert torch.get_num_threads() != 1 or os.cpu_count() == 1  # this process: another thread count
    assert [json.loads(line)["text"] for line in completed.stdout.splitlines() if line.strip()] == expected


# ------------------------------------------------------------------------------------------ training
def _weights(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(out / "checkpoint" / "model.safetensors"))


def _train(out: Path, seed: int) -> dict:
    threads = torch.get_num_threads()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return train(TrainConfig(source=str(SMALL_CORPUS), out=str(out), hidden_size=32, embedding_dim=16,
                                 num_layers=1, dropout=0.2, threads=1, device="cpu", batch_tokens=256, epochs=1,
                                 warmup_steps=5, seed=seed))  # fmt: skip
    finally:
        torch.set_num_threads(threads)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def test_training_with_the_same_seed_gives_the_same_weights(tmp_path):
    _train(tmp_path / "a", seed=21)
    _train(tmp_path / "b", seed=21)
    _train(tmp_path / "c", seed=22)
    a, b, c = _weights(tmp_path / "a"), _weights(tmp_path / "b"), _weights(tmp_path / "c")
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert not all(torch.equal(a[name], c[name]) for name in a)
    # and in another process
    completed = subprocess.run(
        [sys.executable, "-m", "poetry_rnn", "train", "--source", str(SMALL_CORPUS), "--out", str(tmp_path / "d"),
         "--hidden-size", "32", "--embedding-dim", "16", "--num-layers", "1", "--dropout", "0.2",
         "--threads", "1", "--device", "cpu", "--batch-tokens", "256", "--epochs", "1", "--warmup-steps", "5",
         "--seed", "21"],
        capture_output=True, text=True, cwd=REPO, timeout=300, env={**os.environ, "PYTHONHASHSEED": "3"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    d = _weights(tmp_path / "d")
    assert all(torch.equal(a[name], d[name]) for name in a)
