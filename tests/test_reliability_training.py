"""Training survives kills and signals, runs data-parallel, and fails early on an unusable output folder.

- scripts/fault_test.py (short version): SIGKILL twice at random steps, then SIGTERM and SIGINT; every
  checkpoint left behind loads; the resumed run ends with exactly the weights of an uninterrupted run.
- torchrun with 2 CPU processes (gloo): one writer, every rank stopping at the same step.
- An output folder that cannot be written, or a disk without room, is refused before any data is read; a
  disk that fills up during training is a clear error and leaves the last checkpoint loadable.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from process_state import kept_process_state  # noqa: E402

from poetry_rnn.cli import main as cli_main  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.model import PoetryLM  # noqa: E402
from poetry_rnn.training import TrainConfig, find_checkpoint, train  # noqa: E402
from poetry_rnn.training import checkpoint as checkpoint_module  # noqa: E402
from poetry_rnn.training import data as training_data  # noqa: E402
from poetry_rnn.training import loop as train_module  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SMALL_CORPUS = REPO / "tests" / "data" / "poet.tang.small.json"
TINY = [
    "--hidden-size",
    "32",
    "--embedding-dim",
    "16",
    "--num-layers",
    "1",
    "--threads",
    "1",
    "--device",
    "cpu",
]


@pytest.fixture(autouse=True)
def _restore_process_state():
    with kept_process_state():
        yield


def _environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO),
            "POETRY_RNN_CACHE": str(tmp_path / "cache")}  # fmt: skip


# ------------------------------------------------------------------------------------------ kills
@pytest.mark.slow
def test_killed_and_resumed_run_ends_with_the_uninterrupted_runs_weights(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "fault_test.py"), "--kills", "2", "--sigterm", "1",
         "--sigint", "1", "--epochs", "2", "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    report = json.loads(completed.stdout)
    assert completed.returncode == 0 and report["ok"], (report["problems"], completed.stderr[-2000:])
    assert (report["kills"], report["sigterm"], report["sigint"]) == (2, 1, 1)
    assert report["checkpoints_verified"] == 4
    assert report["final_weights_equal"]
    assert report["comparison"]["optimizer.safetensors"]["equal"]
    assert report["comparison"]["steps"][0] == report["comparison"]["steps"][1] > 0
    for event in report["events"]:
        if event["signal"] != "SIGKILL":  # a signal saves the step it stopped at
            assert event["returncode"] == 130 and event["lost_steps"] == 0, event  # stopped, not finished
        assert event["lost_steps"] >= 0


# ------------------------------------------------------------------------------------------ DDP
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_data_parallel_training_with_two_cpu_processes(tmp_path):
    out = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}", "-m", "poetry_rnn", "train", "--source", str(SMALL_CORPUS),
        "--out", str(out), *TINY, "--batch-tokens", "256", "--epochs", "2", "--warmup-steps", "5",
        "--seed", "3", "--checkpoint-minutes", "0.005",
        # a token budget: each rank counts only its own half, so the ranks must agree when to stop
        "--max-tokens", "12000",
    ]  # fmt: skip
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=REPO, env=_environment(tmp_path)
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["finished"] == "step/token budget"
    assert 12000 <= summary["tokens"] < 12000 + 2 * 256 * 2
    # one writer: rank 0 logs once, and every metrics record appears once
    assert completed.stderr.count("tokenizer: char") == 1
    assert completed.stderr.count('"finished": "step/token budget"') == 1
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert max(Counter((r["kind"], r["step"]) for r in records).values()) == 1
    assert [r["kind"] for r in records].count("valid") == 2  # epoch 1, then the budget's end
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["step"] == summary["steps"]
    model = PoetryLM.from_pretrained(out / "checkpoint")
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
    assert not list(out.glob("checkpoint.*"))


# ------------------------------------------------------------------------------------------ output folder
@pytest.fixture
def no_data_reading(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the corpus was read before the output folder was checked")

    monkeypatch.setattr(training_data, "load_corpus", forbidden)
    monkeypatch.setattr(training_data, "read_prepared", forbidden)


def _config(out: Path, **changes) -> TrainConfig:
    return TrainConfig(source=str(SMALL_CORPUS), out=str(out), hidden_size=32, embedding_dim=16, num_layers=1,
                       threads=1, device="cpu", batch_tokens=256, warmup_steps=5, **{"epochs": 2, **changes})  # fmt: skip


def test_output_folder_below_a_file(tmp_path, no_data_reading, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="is not writable") as caught:
        train(_config(blocker / "run"))
    assert caught.value.field == "out"
    assert cli_main(["train", "--source", str(SMALL_CORPUS), "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: output folder") and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_read_only_output_folder(tmp_path, no_data_reading):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserError, match="is not writable"):
            train(_config(folder / "run"))
    finally:
        folder.chmod(0o755)


def test_output_folder_on_a_read_only_file_system(no_data_reading):
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc")
    with pytest.raises(UserError, match="is not writable"):  # /proc refuses new folders, even for root
        train(_config(Path("/proc/self/poetry-rnn-run")))


def test_full_disk_is_refused_at_start(tmp_path, monkeypatch, no_data_reading):
    real_usage = shutil.disk_usage

    def almost_full(path):
        usage = real_usage(path)
        return type(usage)(usage.total, usage.total - 10_000_000, 10_000_000)

    monkeypatch.setattr(shutil, "disk_usage", almost_full)
    with pytest.raises(UserError, match="has 10 MB free") as caught:
        train(_config(tmp_path / "run"))
    assert caught.value.field == "out"


def test_disk_filling_up_during_training_is_a_clear_error_and_resumable(tmp_path, monkeypatch):
    """The third checkpoint write fails with ENOSPC half way (in its staging folder)."""
    writes = Counter()
    real_write = checkpoint_module.write_atomic

    def write_atomic(path, data):
        if Path(path).name == "optimizer.safetensors":
            writes["checkpoints"] += 1
            if writes["checkpoints"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(checkpoint_module, "write_atomic", write_atomic)
    out = tmp_path / "run"
    with pytest.raises(UserError, match="No space left on device.*previous checkpoint is intact") as caught:
        train(_config(out, epochs=3))
    assert caught.value.field == "out"
    saved = json.loads((find_checkpoint(out) / "state.json").read_text())
    assert saved["epoch"] == 2  # the checkpoints of epochs 1 and 2 were written; the third failed
    monkeypatch.undo()
    summary = train(_config(out, epochs=3), resume=True)
    assert summary["finished"] == "epochs" and summary["epochs"] == 3


# ------------------------------------------------------------------------------------------ signals in-process
@pytest.mark.parametrize("stop_at", ["first step", "last step of the run"])
def test_signal_then_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch, stop_at):
    """SIGTERM at a chosen step (the last one of the run left a resumed run with no batch to train: it
    crashed before the fix); the resumed run must end exactly like an uninterrupted one."""
    from safetensors.torch import load_file

    reference = train(_config(tmp_path / "reference", epochs=1))
    real_learning_rate = train_module.learning_rate

    def signalling_learning_rate(config, step, total_steps, warmup=None):
        if step == (0 if stop_at == "first step" else total_steps - 1):
            os.kill(os.getpid(), signal.SIGTERM)  # handled by train(): checkpoint after this step
        return real_learning_rate(config, step, total_steps, warmup)

    monkeypatch.setattr(train_module, "learning_rate", signalling_learning_rate)
    out = tmp_path / "stopped"
    stopped = train(_config(out, epochs=1))
    assert stopped["finished"] == "signal"
    assert stopped["steps"] == (1 if stop_at == "first step" else reference["steps"])
    monkeypatch.undo()
    resumed = train(_config(out, epochs=1), resume=True)
    assert resumed["finished"] == "epochs" and resumed["steps"] == reference["steps"]
    expected = load_file(str(tmp_path / "reference" / "checkpoint" / "model.safetensors"))
    got = load_file(str(out / "checkpoint" / "model.safetensors"))
    assert all(torch.equal(expected[name], got[name]) for name in expected)
    assert resumed["best_valid_char_ppl"] == reference["best_valid_char_ppl"]
