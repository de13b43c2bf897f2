"""Rank model variants at equal CPU training time, then score each on the test split.

    python scripts/compare_models.py --minutes 20 --runs runs/compare                 # one after another
    python scripts/compare_models.py --minutes 20 --threads 1 --parallel 2 ...       # 2 at once, a core each

Every run trains with `--threads T --budget-clock cpu --max-minutes M`: M minutes of its T cores' CPU time
(the process's CPU time divided by T, which is wall time when nothing else runs), a cosine schedule fitted
to that budget, and the same recipe (RECIPE) as the 40-minute CPU run of the README. With `--parallel K`,
K runs train at once, each pinned to its own T cores (taskset), so they do not slow each other down.
Each run's best checkpoint is then scored with the project's perplexity definition (poetry_rnn.evaluate)
on the test split, regular forms only. Prints a Markdown table and writes results.json in the runs folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from poetry_rnn.corpus import default_source
from poetry_rnn.files import write_atomic

# The CPU recipe every variant shares (README, "Forty minutes on this CPU"): no dropout (a run of 20-40
# minutes sees the data a few times at most), batches of ~3k tokens (more updates a minute), the four
# regular forms only.
RECIPE = ["--dropout", "0", "--batch-tokens", "3072", "--lr", "3e-3", "--train-forms", "regular"]


def variant(cell: str, tokenizer: str, hidden_size: int) -> list[str]:
    return ["--cell", cell, "--tokenizer", tokenizer, "--num-layers", "2", "--hidden-size", str(hidden_size)]


VARIANTS = {  # name: train flags. Size A: 2 layers, hidden 512, embedding 256; size B: hidden 384.
    f"{cell}-{'char' if tokenizer == 'char' else 'sp'}-{size}": variant(cell, tokenizer, size)
    for size, tokenizers in ((512, ("char", "sentencepiece")), (384, ("char",)))
    for tokenizer in tokenizers
    for cell in ("gru", "lstm")
}


def launch(name: str, args: argparse.Namespace, slot: int | None) -> subprocess.Popen:
    run_dir = Path(args.runs) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "poetry_rnn",
        "train",
        "--source",
        args.source,
        "--out",
        str(run_dir),
        "--threads",
        str(args.threads),
        "--budget-clock",
        "cpu",
        "--max-minutes",
        str(args.minutes),
        "--max-tokens",
        str(args.tokens),
        "--patience",
        "100",
        "--epochs",
        "100",
        "--seed",
        str(args.seed),
        *RECIPE,
        *VARIANTS[name],
    ]
    if slot is not None and hasattr(os, "sched_setaffinity"):
        cores = ",".join(str(slot * args.threads + i) for i in range(args.threads))
        command = ["taskset", "-c", cores, *command]
    log = open(run_dir / "train.log", "w")  # noqa: SIM115 - closed when the process ends
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    )


def score(name: str, args: argparse.Namespace) -> dict:
    import torch

    from poetry_rnn.model import PoetryLM
    from poetry_rnn.perplexity import corpus_bodies, evaluation_bodies, score_bodies
    from poetry_rnn.prepared import is_prepared, read_prepared

    run_dir = Path(args.runs) / name
    summary = json.loads((run_dir / "summary.json").read_text())
    if is_prepared(args.source):
        bodies = corpus_bodies(read_prepared(args.source)[0], "test")
    else:
        bodies = evaluation_bodies(args.source, "test")
    torch.set_num_threads(2)
    model = PoetryLM.from_pretrained(run_dir / "best")
    result = score_bodies(model, model.tokenizer, bodies).as_dict()
    parameters = sum(p.numel() for p in model.parameters())
    return {
        "variant": name,
        "test_char_ppl": result["char_ppl"],
        "bits_per_char": result["bits_per_char"],
        "valid_char_ppl": summary["best_valid_char_ppl"],
        "tokens_per_s": summary["tokens_per_s"],
        "parameters": parameters,
        "minutes": summary["minutes"],
        "poems": result["poems"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/compare")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=0, help="equal token budget instead (0 = time only)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--threads", type=int, default=2, help="cores (torch threads) per run")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once, each pinned to its own cores")
    parser.add_argument(
        "--source", default=default_source(), help="corpus source or a .prepared.json.gz file"
    )
    parser.add_argument("--score-only", action="store_true", help="only score finished runs")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    names = [n for n in args.variants.split(",") if n]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    started = time.time()
    if not args.score_only:
        slots = max(1, args.parallel)
        for first in range(0, len(names), slots):  # `slots` runs at a time, each on its own cores
            group = names[first : first + slots]
            processes = [launch(name, args, slot if slots > 1 else None) for slot, name in enumerate(group)]
            for process in processes:
                process.wait()
    rows = []
    for name in names:
        try:
            rows.append(score(name, args))
        except (OSError, ValueError, KeyError) as error:
            rows.append({"variant": name, "error": str(error)})
    results = {
        "minutes_budget": args.minutes,
        "wall_seconds": round(time.time() - started),
        "rows": rows,
        "host": os.uname().nodename,
        "cpus": os.cpu_count(),
    }
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(args.runs) / "results.json", json.dumps(results, indent=2))
    print(f"| variant | params | tokens/s | valid char_ppl | test char_ppl ({args.minutes:g} CPU-min) |")
    print("|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['variant']} | — | — | — | failed: {row['error']} |")
        else:
            print(
                f"| {row['variant']} | {row['parameters'] / 1e6:.2f}M | {row['tokens_per_s']:,} | "
                f"{row['valid_char_ppl']} | {row['test_char_ppl']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
