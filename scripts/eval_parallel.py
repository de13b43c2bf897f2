"""Measure the 对仗 analysis on the Tang corpus and the speed of `check --batch`.

    python scripts/eval_parallel.py [--split test] [--corpus ../shared/data/tang] [--speed 6000]

On the split's 律诗 (8 lines of 5 or 7 characters): the share of middle couplets (lines 3–4, 5–6) judged
parallel (goal ≥ 85 %) and of first couplets (goal ≤ 35 %), for all of them and for the tonally regular
ones (the checker finds no 失粘/失对 and no 出韵 at standard strictness: 律诗 in form, not 古体 of eight
lines). Then the time of `python -m poetry_rnn check --batch - --json` on as many couplets.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.prosody.check import analyze_lines  # noqa: E402
from poetry_rnn.prosody.parallel import judge_couplet, load_table  # noqa: E402

IRREGULAR = {"失粘", "失对", "出韵"}


def is_regular(lines) -> bool:
    analysis = analyze_lines(lines, strictness="standard")
    return not any(f.name in IRREGULAR for f in analysis.faults)


def rates(poems) -> dict:
    table = load_table()
    counts: Counter[str] = Counter()
    for poem in poems:
        lines = poem.lines
        for name, (a, b) in (("first", (0, 1)), ("middle", (2, 3)), ("middle", (4, 5)), ("last", (6, 7))):
            kind = table.kind(*table.scores(lines[a], lines[b]))
            counts[name] += 1
            counts[f"{name} parallel"] += kind != "不对"
            counts[f"{name} 工对"] += kind == "工对"
    out = {"poems": len(poems)}
    for name in ("middle", "first", "last"):
        total = counts[name] or 1
        out[name] = {
            "couplets": counts[name],
            "parallel": round(counts[f"{name} parallel"] / total, 4),
            "工对": round(counts[f"{name} 工对"] / total, 4),
        }
    return out


def batch_speed(poems, couplets: int) -> dict:
    """Time the CLI on `couplets` couplets (the split's couplets, repeated as needed), one per input line."""
    pairs = [(p.lines[i], p.lines[i + 1]) for p in poems for i in range(0, 8, 2)]
    pairs = (pairs * (couplets // len(pairs) + 1))[:couplets]
    payload = "".join(f"{a}，{b}。\n" for a, b in pairs)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "poetry_rnn", "check", "--batch", "-", "--json"],
        input=payload,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    errors = sum("error" in row for row in rows)
    return {"couplets": couplets, "seconds": round(seconds, 2), "rows": len(rows), "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "tang"))
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--speed", type=int, default=6000, help="couplets for the batch timing (0: skip)")
    parser.add_argument(
        "--examples", type=int, default=0, help="print this many judged couplets of each kind"
    )
    args = parser.parse_args(argv)
    corpus = load_corpus(args.corpus)
    poems = corpus.split(args.split, ["wulv", "qilv"])
    regular = [p for p in poems if is_regular(p.lines)]
    report = {"split": args.split, "all 律诗": rates(poems), "regular 律诗": rates(regular)}
    started = time.perf_counter()
    for poem in poems:
        for i in range(0, 8, 2):
            judge_couplet(poem.lines[i], poem.lines[i + 1])
    per_couplet = (time.perf_counter() - started) / (4 * len(poems))
    report["judge_couplet_us"] = round(per_couplet * 1e6, 1)
    if args.speed:
        report["batch"] = batch_speed(poems, args.speed)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    for poem in regular[: args.examples]:
        for i in (0, 2, 4):
            verdict = judge_couplet(poem.lines[i], poem.lines[i + 1])
            pairs = " ".join(f"{p.left}/{p.right}:{p.relation}{p.label}" for p in verdict.pairs)
            print(
                f"{i + 1}-{i + 2} {verdict.first}/{verdict.second} {verdict.kind} {verdict.score:.2f} {pairs}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
