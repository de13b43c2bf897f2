"""Build poetry_rnn/prosody/data/reduplication_slots.json: where the Tang train split attests a reduplication.

    python scripts/build_reduplication_slots.py [--corpus ../shared/data/tang]

A reduplication (叠词, 「蕭蕭」) reads as one word where the same reduplication stands at the same position of
a line of the same length in the train split (poetry_rnn/quality.py; lines with a character marked lost
are left out). The decoder's repetition rule allows a reduplication only there; it runs without the corpus (a Space ships only the package and data/), so the
table is built here once, for the line lengths of the regular forms (5 and 7 characters).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.quality import SLOTS_FILE, ReduplicationSlots, is_intact  # noqa: E402

LINE_LENGTHS = (5, 7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="Tang corpus folder (default: ../shared/data/tang)")
    parser.add_argument("--out", type=Path, default=SLOTS_FILE, help=f"default: {SLOTS_FILE}")
    args = parser.parse_args(argv)
    try:
        source = str(args.corpus or default_corpus_source())
        corpus = load_corpus(source)
        # a line with a lost character (囗) would attest 「囗囗」
        lines = [line for poem in corpus.split("train") for line in poem.lines if is_intact([line])]
        slots = ReduplicationSlots.from_lines(lines)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    document = slots.to_json(LINE_LENGTHS)
    document["source"] = "Tang corpus, train split, every poem (all forms), lines of 5 and 7 characters"
    write_atomic(args.out, json.dumps(document, ensure_ascii=False, indent=0) + "\n")
    kept = len(ReduplicationSlots.from_json(document))
    print(f"{kept} slots ({len(slots)} for every line length) → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
