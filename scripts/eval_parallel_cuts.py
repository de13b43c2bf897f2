"""How often the 对仗 analysis cuts a couplet into the words a reader faces (prosody.parallel.segments).

    python scripts/eval_parallel_cuts.py [--file tests/data/parallel_cuts.txt] [--verbose]

The file holds famous middle couplets (and a few parallel first and last couplets) with a reader's cut,
one cut for both lines (`感时|花|溅泪 恨别|鸟|惊心`); the script prints how many the module cuts the same
way, by form and by the reader's cut, and with --verbose each couplet it cuts otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.prosody.parallel import load_table, normalize_lines, segments  # noqa: E402

CUTS_FILE = REPO / "tests" / "data" / "parallel_cuts.txt"


def read_cuts(path: Path = CUTS_FILE) -> list[tuple[str, str, list[tuple[int, int]], str]]:
    """(first, second, the reader's cut as (start, end) spans, source) per couplet of the file."""
    out = []
    for row in path.read_text(encoding="utf-8").splitlines():
        if not row.strip() or row.startswith("#"):
            continue
        text, _, source = row.partition("\t")
        first, second = text.split()
        spans = _spans(first)
        if spans != _spans(second):
            raise ValueError(f"the two lines are cut differently: {text}")
        out.append((first.replace("|", ""), second.replace("|", ""), spans, source.strip()))
    return out


def _spans(cut: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for word in cut.split("|"):
        spans.append((start, start + len(word)))
        start += len(word)
    return spans


def shown(line: str, spans: list[tuple[int, int]]) -> str:
    return "|".join(line[a:b] for a, b in spans)


def evaluate(path: Path = CUTS_FILE) -> tuple[int, int, list[str], Counter[str]]:
    """(couplets cut as the reader cuts them, couplets, a line per couplet cut otherwise, the tally by form
    and reader's cut: "5言 2+1+2" → couplets, "5言 2+1+2 right" → those cut alike)."""
    table = load_table()
    right, wrong = 0, []
    tally: Counter[str] = Counter()
    for first, second, spans, source in read_cuts(path):
        cut = segments(*normalize_lines([first, second]), table)
        key = f"{len(first)}言 {'+'.join(str(b - a) for a, b in spans)}"
        tally[key] += 1
        if cut == spans:
            right += 1
            tally[key + " right"] += 1
        else:
            wrong.append(
                f"{shown(first, cut)} {shown(second, cut)}  (reader: {shown(first, spans)})  {source}"
            )
    return right, right + len(wrong), wrong, tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(CUTS_FILE))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    right, total, wrong, tally = evaluate(Path(args.file))
    for key in sorted(k for k in tally if not k.endswith("right")):
        print(f"  {key}: {tally[key + ' right']}/{tally[key]}")
    print(f"cut as a reader cuts them: {right}/{total} ({right / total:.1%})")
    if args.verbose:
        print("\n".join(wrong))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
