"""Kill a training run again and again; resume it each time; compare with an uninterrupted run.

    python scripts/fault_test.py                         # 6 SIGKILLs, 1 SIGTERM, 1 SIGINT (about 2 min)
    python scripts/fault_test.py --kills 2 --sigterm 1 --sigint 1 --epochs 2   # the test suite's version
    python scripts/fault_test.py --ddp --kills 3 --sigterm 1 --sigint 0          # 2 processes (torchrun, gloo)

A tiny model (GRU 1x32, embeddings 16, dropout 0.1) trains on 200 real Tang poems
(tests/data/poet.tang.small.json) with a checkpoint every 0.3 s (--checkpoint-minutes 0.005) and at
every epoch end. The reference run goes through uninterrupted. The faulted run, with the same seed and
options, is stopped at random points: SIGKILL (no chance to save; possibly in the middle of writing a
checkpoint), then SIGTERM and SIGINT (the run saves a checkpoint and exits with status 130: stopped, not
finished). After each stop:
  - the checkpoint that `--resume` will use must be complete and loadable (weights, optimizer, state);
  - lost steps = optimizer steps completed before the stop − the step the checkpoint holds
    (they are recomputed after the resume; a signal must lose none).
Then the run resumes (`--resume`; from scratch if no checkpoint existed yet). At the end its weights,
optimizer state and step count must equal the reference run's exactly (CPU, one thread).

To know how many steps a process completed before it was killed, each training process runs through a
small harness that records the step number after every optimizer step in a file (8 bytes, pwrite); the
training code itself is unchanged. With --ddp both runs go through `torchrun --nproc_per_node=2`; a
SIGKILL hits the launcher and both workers (the process group), a SIGTERM/SIGINT the launcher, which passes
it on to the workers (the launcher itself then exits with status 1: that is torchrun's way).
Prints a JSON report; exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_DIR / "tests" / "data" / "poet.tang.small.json"
STOPPED = 130  # the exit status of a run a signal stopped after its checkpoint

# Runs `python -m poetry_rnn train ARGS` after wrapping two functions to record progress: the step index
# comes from the learning-rate call at the start of each step, and is written once the optimizer step
# has finished (so the file holds the number of completed steps).
HARNESS = """
import os, struct, sys
import torch
import poetry_rnn.training.loop as train
record = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
current = [0]
learning_rate = train.learning_rate
def recording_learning_rate(config, step, total_steps, warmup=None):
    current[0] = step
    return learning_rate(config, step, total_steps, warmup)
train.learning_rate = recording_learning_rate
adamw_step = torch.optim.AdamW.step
def recording_step(self, *args, **kwargs):
    result = adamw_step(self, *args, **kwargs)
    os.pwrite(record, struct.pack("<q", current[0] + 1), 0)
    return result
torch.optim.AdamW.step = recording_step
from poetry_rnn.cli import main
raise SystemExit(main(["train", *sys.argv[2:]]))
"""


def train_arguments(args: argparse.Namespace, out: Path) -> list[str]:
    return [
        "--source", str(args.source), "--out", str(out),
        "--hidden-size", "32", "--embedding-dim", "16", "--num-layers", "1", "--dropout", "0.1",
        "--batch-tokens", "512", "--epochs", str(args.epochs), "--warmup-steps", "10",
        "--patience", "100", "--seed", str(args.seed), "--threads", "1", "--device", "cpu",
        "--checkpoint-minutes", str(args.checkpoint_minutes),
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args: argparse.Namespace, out: Path, step_file: Path, resume: bool, log: Path) -> subprocess.Popen:
    harness = Path(args.workdir) / "harness.py"
    if not harness.exists():
        harness.write_text(HARNESS)
    launcher = [sys.executable]
    if args.ddp:
        launcher += ["-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
                     f"--master_port={free_port()}"]  # fmt: skip
    command = [*launcher, str(harness), str(step_file), *train_arguments(args, out)]
    if resume:
        command.append("--resume")
    with open(log, "ab") as handle:
        return subprocess.Popen(command, cwd=REPO_DIR, stdout=handle, stderr=subprocess.STDOUT, env=args.env)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (torchrun starts its workers in sessions of their own, so a process
    group signal would miss them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def stop(process: subprocess.Popen, kind: str) -> None:
    if kind == "SIGKILL":  # under torchrun: the launcher and every worker, at once
        for pid in [process.pid, *descendants(process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    else:
        process.send_signal(getattr(signal, kind))


def completed_steps(step_file: Path) -> int:
    try:
        raw = step_file.read_bytes()
    except FileNotFoundError:
        return 0
    return struct.unpack("<q", raw[:8])[0] if len(raw) >= 8 else 0


def verify_checkpoint(run_dir: Path) -> dict | None:
    """Load the checkpoint `--resume` would use, completely; None if there is none. Raises if damaged."""
    import torch
    from safetensors.torch import load_file

    from poetry_rnn.model import PoetryLM
    from poetry_rnn.training import find_checkpoint

    path = find_checkpoint(run_dir)
    if path is None:
        return None
    model = PoetryLM.from_pretrained(path)  # config, tokenizer, weights: checked and finite
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    optimizer = load_file(str(path / "optimizer.safetensors"))
    assert "rng.torch" in optimizer, "checkpoint lacks the random state"
    moments = [t for name, t in optimizer.items() if name != "rng.torch"]
    assert moments and all(torch.isfinite(t).all() for t in moments), "optimizer state damaged"
    assert (run_dir / "train_config.json").is_file(), "train_config.json missing beside the checkpoint"
    return {
        "path": path.name,
        "step": state["step"],
        "epoch": state["epoch"],
        "parameters": len(model.state_dict()),
    }


def compare_runs(reference: Path, faulted: Path) -> dict:
    import torch
    from safetensors.torch import load_file

    result = {}
    for name in ("model.safetensors", "optimizer.safetensors"):
        left = load_file(str(reference / "checkpoint" / name))
        right = load_file(str(faulted / "checkpoint" / name))
        assert left.keys() == right.keys(), f"{name}: different tensors"
        differences = [
            float((left[k].double() - right[k].double()).abs().max()) for k in left if left[k].numel()
        ]
        result[name] = {"tensors": len(left), "equal": all(torch.equal(left[k], right[k]) for k in left),
                        "max_abs_difference": max(differences, default=0.0)}  # fmt: skip
    summaries = [json.loads((run / "summary.json").read_text()) for run in (reference, faulted)]
    result["steps"] = [s["steps"] for s in summaries]
    result["best_valid_char_ppl"] = [s["best_valid_char_ppl"] for s in summaries]
    return result


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.fault_seed)
    work = Path(args.workdir)
    reference_dir, faulted_dir = work / "reference", work / "faulted"
    reference_log, faulted_log = work / "reference.log", work / "faulted.log"
    started = time.perf_counter()

    # The reference run goes alongside the faulted one (each uses one thread).
    reference = start(args, reference_dir, work / "reference.step", False, reference_log)
    stops = ["SIGKILL"] * args.kills + ["SIGTERM"] * args.sigterm + ["SIGINT"] * args.sigint
    events, problems = [], []
    step_file = work / "faulted.step"
    total_steps = None
    for index, kind in enumerate(stops):
        checkpoint = verify_checkpoint(faulted_dir)
        resumed_from = checkpoint["step"] if checkpoint else 0
        step_file.write_bytes(struct.pack("<q", resumed_from))
        process = start(args, faulted_dir, step_file, checkpoint is not None, faulted_log)
        # a random target among the steps still to come (never the last: a run that ends on its own is no
        # stop), then a random fraction of a step more
        remaining_stops = len(stops) - index
        horizon = (total_steps or args.epochs * (9 if args.ddp else 18)) - resumed_from
        target = resumed_from + max(1, int(rng.uniform(0.3, 1.0) * (horizon - 1) / remaining_stops))
        step_times = []  # when each step was seen to complete: how long a step takes on this machine
        seen = completed_steps(step_file)
        while process.poll() is None and seen < target:
            time.sleep(0.002)
            if (now := completed_steps(step_file)) != seen:
                seen = now
                step_times.append(time.perf_counter())
        if process.poll() is not None:
            problems.append(f"stop {index + 1}: the run ended (rc {process.returncode}) before step {target}")
            break
        # a fixed pause would let a fast machine run past several steps, or to the end of the run
        step_seconds = (
            (step_times[-1] - step_times[0]) / (len(step_times) - 1) if len(step_times) > 1 else 0.01
        )
        time.sleep(rng.uniform(0.0, step_seconds))
        stop(process, kind)
        returncode = process.wait(timeout=120)
        if args.ddp:
            time.sleep(0.5)  # the killed workers (children of the launcher) are gone a moment later
        done = completed_steps(step_file)
        try:
            after = verify_checkpoint(faulted_dir)
        except Exception as error:  # noqa: BLE001 - any failure to load is what this test looks for
            problems.append(f"stop {index + 1} ({kind}): checkpoint damaged: {type(error).__name__}: {error}")
            break
        lost = done - (after["step"] if after else 0)
        event = {"signal": kind, "returncode": returncode, "steps_done": done, "resumed_from": resumed_from,
                 "checkpoint_step": after["step"] if after else None,
                 "checkpoint": after["path"] if after else None, "lost_steps": lost}  # fmt: skip
        events.append(event)
        if kind != "SIGKILL":
            if returncode != STOPPED and not args.ddp:
                problems.append(
                    f"{kind}: exit status {returncode}, expected {STOPPED} (checkpoint and exit, not finished)"
                )
            if lost != 0:
                problems.append(f"{kind}: {lost} steps lost; the signal handler should save the last step")
        if after and after["step"] < resumed_from:
            problems.append(
                f"stop {index + 1}: checkpoint went back from step {resumed_from} to {after['step']}"
            )
        if total_steps is None:
            config = faulted_dir / "checkpoint" / "state.json"
            if config.is_file():
                total_steps = json.loads(config.read_text())["total_steps"]
    # the last resume runs to the end
    if not problems:
        checkpoint = verify_checkpoint(faulted_dir)
        final = start(args, faulted_dir, step_file, checkpoint is not None, faulted_log)
        if final.wait(timeout=1800) != 0:
            problems.append(f"final resume failed with exit status {final.returncode}; see {faulted_log}")
    if reference.wait(timeout=1800) != 0:
        problems.append(f"reference run failed with exit status {reference.returncode}; see {reference_log}")
    comparison = {}
    if not problems:
        comparison = compare_runs(reference_dir, faulted_dir)
        for name in ("model.safetensors", "optimizer.safetensors"):
            if not comparison[name]["equal"]:
                problems.append(f"{name} differs from the uninterrupted run ({comparison[name]})")
        if comparison["steps"][0] != comparison["steps"][1]:
            problems.append(f"step counts differ: {comparison['steps']}")
    counts = {kind: sum(e["signal"] == kind for e in events) for kind in ("SIGKILL", "SIGTERM", "SIGINT")}
    return {
        "mode": "ddp (2 processes)" if args.ddp else "single process",
        "kills": counts["SIGKILL"],
        "sigterm": counts["SIGTERM"],
        "sigint": counts["SIGINT"],
        "lost_steps": sum(e["lost_steps"] for e in events),
        "lost_steps_by_kill": [e["lost_steps"] for e in events if e["signal"] == "SIGKILL"],
        "checkpoints_verified": len(events),
        "final_weights_equal": bool(comparison and comparison["model.safetensors"]["equal"]),
        "events": events,
        "comparison": comparison,
        "problems": problems,
        "ok": not problems,
        "seconds": round(time.perf_counter() - started, 1),
        "workdir": str(work),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs at random points")
    parser.add_argument("--sigterm", type=int, default=1, help="SIGTERMs (after the kills)")
    parser.add_argument("--sigint", type=int, default=1, help="SIGINTs (after the SIGTERMs)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of ~18 steps each")
    parser.add_argument("--seed", type=int, default=7, help="training seed (both runs)")
    parser.add_argument("--fault-seed", type=int, default=None, help="seed for the kill points")
    parser.add_argument("--checkpoint-minutes", type=float, default=0.005)
    parser.add_argument("--source", default=str(DEFAULT_SOURCE))
    parser.add_argument("--workdir", help="keep the runs here (default: a temporary folder, removed)")
    parser.add_argument("--ddp", action="store_true", help="both runs data-parallel: torchrun, 2 processes")
    args = parser.parse_args()
    if args.fault_seed is None:
        args.fault_seed = random.SystemRandom().randrange(2**31)
    with tempfile.TemporaryDirectory(prefix="fault_test-") as temporary:
        args.workdir = args.workdir or temporary
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        cache = Path(args.workdir) / "cache"
        args.env = {**os.environ, "POETRY_RNN_CACHE": str(cache), "HF_DATASETS_CACHE": str(cache / "datasets"),
                    "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_DIR)}  # fmt: skip
        report = run(args)
        report["fault_seed"] = args.fault_seed
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
