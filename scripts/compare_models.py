"""Rank model variants at equal CPU training time, then score each on the test split.

    python scripts/compare_models.py --source tang.prepared.json.gz --minutes 20 --runs runs/compare
    python scripts/compare_models.py ... --parallel   # one 2-core slice per run (taskset), all at once

Every run trains with `--threads 2 --budget-clock cpu --max-minutes M`: M minutes of two cores' CPU time
(equal to wall time on an idle 2-core machine), a cosine schedule fitted to that budget. Each run's best
checkpoint is then scored with the project's perplexity definition (poetry_rnn.evaluate) on the test split,
regular forms only. Prints a Markdown table and writes results.json in the runs folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = {
    # name: train flags. Size A: 2 layers, hidden 512, embedding 256.
    "gru-char-512": ["--cell", "gru", "--tokenizer", "char", "--num-layers", "2", "--hidden-size", "512"],
    "lstm-char-512": ["--cell", "lstm", "--tokenizer", "char", "--num-layers", "2", "--hidden-size", "512"],
    "gru-sp-512": ["--cell", "gru", "--tokenizer", "sentencepiece", "--num-layers", "2", "--hidden-size", "512"],
    "lstm-sp-512": ["--cell", "lstm", "--tokenizer", "sentencepiece", "--num-layers", "2", "--hidden-size", "512"],
    # Size B for the winner of size A (both cells are run, so one session answers the question).
    "gru-char-384": ["--cell", "gru", "--tokenizer", "char", "--num-layers", "2", "--hidden-size", "384"],
    "lstm-char-384": ["--cell", "lstm", "--tokenizer", "char", "--num-layers", "2", "--hidden-size", "384"],
}


def launch(name: str, args: argparse.Namespace, slot: int | None) -> subprocess.Popen:
    run_dir = Path(args.runs) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "poetry_rnn", "train", "--source", args.source, "--out", str(run_dir),
               "--threads", "2", "--budget-clock", "cpu", "--max-minutes", str(args.minutes),
               "--max-tokens", str(args.tokens),
               "--epochs", "100", "--seed", str(args.seed), *VARIANTS[name]]
    if slot is not None and hasattr(os, "sched_setaffinity"):
        command = ["taskset", "-c", f"{2 * slot},{2 * slot + 1}", *command]
    log = open(run_dir / "train.log", "w")  # noqa: SIM115 - closed when the process ends
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS="2"))


def score(name: str, args: argparse.Namespace) -> dict:
    import torch

    from poetry_rnn.evaluate import evaluation_bodies, score_bodies
    from poetry_rnn.model import PoetryLM
    from poetry_rnn.prepared import is_prepared, read_prepared

    run_dir = Path(args.runs) / name
    summary = json.loads((run_dir / "summary.json").read_text())
    if is_prepared(args.source):
        bodies = read_prepared(args.source)[2]["test"]
    else:
        bodies = evaluation_bodies(args.source, "test")
    torch.set_num_threads(2)
    model = PoetryLM.from_pretrained(run_dir / "best")
    result = score_bodies(model, model.tokenizer, bodies).as_dict()
    parameters = sum(p.numel() for p in model.parameters())
    return {"variant": name, "test_char_ppl": result["char_ppl"], "bits_per_char": result["bits_per_char"],
            "valid_char_ppl": summary["best_valid_char_ppl"], "tokens_per_s": summary["tokens_per_s"],
            "parameters": parameters, "minutes": summary["minutes"], "poems": result["poems"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="corpus source or a .prepared.json.gz file")
    parser.add_argument("--runs", default="runs/compare")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=0, help="equal token budget instead (0 = time only)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--parallel", action="store_true", help="run all at once, one 2-core slice each")
    parser.add_argument("--score-only", action="store_true", help="only score finished runs")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    names = [n for n in args.variants.split(",") if n]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    started = time.time()
    if not args.score_only:
        if args.parallel:
            processes = [launch(name, args, slot) for slot, name in enumerate(names)]
            for process in processes:
                process.wait()
        else:
            for name in names:
                launch(name, args, None).wait()
    rows = []
    for name in names:
        try:
            rows.append(score(name, args))
        except (OSError, ValueError, KeyError) as error:
            rows.append({"variant": name, "error": str(error)})
    results = {"minutes_budget": args.minutes, "wall_seconds": round(time.time() - started), "rows": rows,
               "host": os.uname().nodename, "cpus": os.cpu_count()}
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    (Path(args.runs) / "results.json").write_text(json.dumps(results, indent=2))
    print(f"| variant | params | tokens/s | valid char_ppl | test char_ppl ({args.minutes:g} CPU-min) |")
    print("|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['variant']} | — | — | — | failed: {row['error']} |")
        else:
            print(f"| {row['variant']} | {row['parameters'] / 1e6:.2f}M | {row['tokens_per_s']:,} | "
                  f"{row['valid_char_ppl']} | {row['test_char_ppl']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
