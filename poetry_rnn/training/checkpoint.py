"""The run folder: atomic checkpoints (model, optimizer, random state, progress), metrics and curves.

A checkpoint is built beside the old one and swapped in, so a crash at any point leaves one that loads;
`--resume` continues from it exactly.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic
from poetry_rnn.model import PoetryLM, read_weights


def replace_folder(final: Path, build: Callable[[Path], None]) -> None:
    """Write the folder `final` whole or not at all: `build` fills a staging folder beside it, which is then
    swapped in (a crash leaves the old folder, or, between the two renames, `final`.old)."""
    staging, previous = final.with_name(final.name + ".tmp"), final.with_name(final.name + ".old")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    build(staging)
    if final.exists():
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(final, previous)
    os.replace(staging, final)
    shutil.rmtree(previous, ignore_errors=True)


def save_checkpoint(run_dir: Path, model: PoetryLM, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Write checkpoint/ (model, optimizer, random state, progress) whole: the old one survives a crash."""
    from safetensors.torch import save

    def build(staging: Path) -> None:
        model.save_pretrained(staging)
        optimizer_state = optimizer.state_dict()
        tensors = {}
        for param_id, param_state in optimizer_state["state"].items():
            for key, value in param_state.items():
                tensors[f"{param_id}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
        # the random state rides with the optimizer's tensors: one safetensors file of everything not the model
        tensors["rng.torch"] = torch.get_rng_state()
        write_atomic(staging / "optimizer.safetensors", save(tensors))
        progress = dict(state, param_groups=optimizer_state["param_groups"], python_rng=random.getstate())
        write_atomic(staging / "state.json", json.dumps(progress, ensure_ascii=False))

    replace_folder(run_dir / "checkpoint", build)


def save_best(run_dir: Path, model: PoetryLM) -> None:
    """Write best/ (the model with the best validation perplexity so far) whole, never half of two saves."""
    replace_folder(run_dir / "best", model.save_pretrained)


def find_checkpoint(run_dir: Path) -> Path | None:
    for name in ("checkpoint", "checkpoint.old"):  # .old exists only if a crash hit the swap
        candidate = run_dir / name
        if (candidate / "state.json").is_file() and (candidate / "optimizer.safetensors").is_file():
            return candidate
    return None


def load_checkpoint(path: Path, model: PoetryLM, optimizer: torch.optim.Optimizer) -> dict:
    from safetensors.torch import load_file

    model.load_state_dict(read_weights(path, model))
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    tensors = load_file(str(path / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("rng.torch"))
    optimizer_state: dict = {"state": {}, "param_groups": state.pop("param_groups")}
    for name, tensor in tensors.items():
        param_id, key = name.split(".", 1)
        optimizer_state["state"].setdefault(int(param_id), {})[key] = tensor
    optimizer.load_state_dict(optimizer_state)
    python_rng = state.pop("python_rng")
    random.setstate((python_rng[0], tuple(python_rng[1]), python_rng[2]))
    return state


def check_writable(run_dir: Path, needed_bytes: int) -> None:
    """Fail at the start, not after an hour: the run's folder (or the nearest folder above it that exists,
    where it will be made) must be writable with room for checkpoints. Makes nothing: a run refused or
    interrupted before it writes its first file leaves no empty folder behind."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"output folder {run_dir} is a file; name a folder for the run", field="out")
    existing = run_dir.resolve()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(
            f"output folder {run_dir} is not writable ({existing} is a file, not a folder)", field="out"
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UserError(f"output folder {run_dir} is not writable ({error.strerror})", field="out") from None
    free = shutil.disk_usage(existing).free
    if free < needed_bytes:
        raise UserError(
            f"output folder {run_dir} has {free / 1e6:.0f} MB free; checkpoints need about "
            f"{needed_bytes / 1e6:.0f} MB",
            field="out",
        )


def holds_a_run(run_dir: Path) -> bool:
    """Whether `run_dir` holds a run that `--resume` would continue: one with a checkpoint. (A run stopped
    before its first checkpoint left nothing to continue: a new run may start there afresh.)"""
    return find_checkpoint(run_dir) is not None


def trim_metrics(path: Path, step: int) -> None:
    """Keep the records up to the checkpoint's step: a resumed run logs the later steps again (and a
    killed run may have left half a line)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue
    write_atomic(path, "".join(kept))


def plot_curves(run_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line]
    train = [r for r in records if r["kind"] == "train"]
    valid = [r for r in records if r["kind"] == "valid"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([r["minutes"] for r in train], [r["loss"] for r in train], lw=0.8)
    left.set(xlabel="minutes", ylabel="training loss (nats/token)", title="training loss")
    right.plot([r["minutes"] for r in valid], [r["char_ppl"] for r in valid], marker="o")
    right.set(xlabel="minutes", ylabel="char perplexity", title="validation perplexity", yscale="log")
    figure.tight_layout()
    temp = run_dir / ".curves.png.tmp"
    figure.savefig(temp, format="png", dpi=90)
    plt.close(figure)
    os.replace(temp, run_dir / "curves.png")
