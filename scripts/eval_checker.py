"""How the 格律 checker judges real Tang regulated verse: the share it finds 合律, the 拗救 it accepts, the
faults it names.

    python scripts/eval_checker.py [--split test] [--corpus ../shared/data/tang] [--scheme pingshui]
    python scripts/eval_checker.py --split all --examples 5     # every split; a few poems per licence
    python scripts/eval_checker.py --simplified                 # the same poems typed in simplified script

Poems: the corpus's 绝句 and 律诗 (4 or 8 lines of 5 or 7 characters) of the split, as cleaned for training,
each judged by `poetry_rnn.prosody.check.analyze_lines` at both strictness levels. Not every such poem is
regulated verse (古绝 and early poems in regulated shape are among them), so 100 % is not the aim; the
figures say how often the checker's verdict and its licences (特拗, 三仄尾, 对句相救, 邻韵) come into play
on real poems.

--simplified judges each poem again as a user typing simplified script would give it (OpenCC's
conversion), at standard strictness, and counts where the two readings part: the verdict, the faults, and
each couplet's 对仗 kind (工对 宽对 不对).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.prosody.check import analyze_lines  # noqa: E402
from poetry_rnn.prosody.patterns import STRICTNESS_LEVELS  # noqa: E402
from poetry_rnn.script import to_simplified  # noqa: E402

FORMS = ["wujue", "qijue", "wulv", "qilv"]


def judge(poems, scheme: str, strictness: str, examples: int) -> dict:
    ok = licensed_ok = 0
    licences: Counter[str] = Counter()
    poems_with: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    shown: dict[str, list[str]] = {}
    for poem in poems:
        analysis = analyze_lines(poem.lines, scheme=scheme, strictness=strictness)
        kinds = [licence["kind"] for licence in analysis.licences]
        licences.update(kinds)
        poems_with.update(set(kinds))
        faults.update(f.name for f in analysis.faults)
        if analysis.ok:
            ok += 1
            licensed_ok += bool(kinds)
        for licence in analysis.licences:
            found = shown.setdefault(licence["kind"], [])
            if len(found) < examples:
                found.append(f"{'，'.join(poem.lines)}  — {licence['note']}")
    count = max(1, len(poems))
    report = {
        "poems": len(poems),
        "合律 %": round(100 * ok / count, 1),
        "合律 only through a licence %": round(100 * licensed_ok / count, 1),
        "poems with a licence %": {kind: round(100 * n / count, 1) for kind, n in sorted(poems_with.items())},
        "licences per 100 poems": {kind: round(100 * n / count, 1) for kind, n in sorted(licences.items())},
        "faults per 100 poems": {name: round(100 * n / count, 1) for name, n in faults.most_common()},
    }
    if examples:
        report["examples"] = shown
    return report


def script_agreement(poems, scheme: str, examples: int) -> dict:
    """Where a poem typed in simplified script is judged otherwise than as the poet wrote it."""
    compared = verdicts = faults = couplets = couplets_differ = 0
    shown: list[str] = []
    for poem in poems:
        simplified = to_simplified("\n".join(poem.lines)).split("\n")
        if [len(line) for line in simplified] != [len(line) for line in poem.lines]:
            continue
        written = analyze_lines(poem.lines, scheme=scheme, strictness="standard")
        typed = analyze_lines(simplified, scheme=scheme, strictness="standard")
        compared += 1
        verdicts += written.ok != typed.ok
        faults += sorted(f.name for f in written.faults) != sorted(f.name for f in typed.faults)
        for mine, theirs in zip(written.couplets, typed.couplets, strict=True):
            couplets += 1
            if mine.kind != theirs.kind:
                couplets_differ += 1
                if len(shown) < examples:
                    shown.append(
                        f"{mine.first}，{mine.second} {mine.kind} → {theirs.first}，{theirs.second} {theirs.kind}"
                    )
    report = {
        "poems compared": compared,
        "verdict differs": verdicts,
        "faults differ": faults,
        "couplets": couplets,
        "对仗 kind differs": couplets_differ,
    }
    if examples:
        report["examples"] = shown
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "tang"))
    parser.add_argument("--split", default="test", choices=["train", "valid", "test", "all"])
    parser.add_argument("--scheme", default="pingshui", choices=["pingshui", "xinyun"])
    parser.add_argument("--examples", type=int, default=0, help="poems to print for each kind of licence")
    parser.add_argument(
        "--simplified", action="store_true", help="compare with the poems in simplified script"
    )
    args = parser.parse_args(argv)
    if not Path(args.corpus).is_dir():
        parser.error(f"no corpus folder at {args.corpus} (the Tang corpus lies in ../shared/data/tang)")
    corpus = load_corpus(args.corpus)
    splits = ["train", "valid", "test"] if args.split == "all" else [args.split]
    poems = [poem for split in splits for poem in corpus.split(split, FORMS)]
    if args.simplified:
        report = {
            "split": args.split,
            "scheme": args.scheme,
            **script_agreement(poems, args.scheme, args.examples),
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    report = {
        "split": args.split,
        "scheme": args.scheme,
        **{level: judge(poems, args.scheme, level, args.examples) for level in STRICTNESS_LEVELS},
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
