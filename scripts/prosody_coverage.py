"""How much of the Tang corpus the rhyme tables cover.

    python scripts/prosody_coverage.py [--corpus ../shared/data/tang] [--top 40]
    python scripts/prosody_coverage.py --write-common-chars 4000   # refresh prosody/data/common_chars.txt

Counts CJK character tokens in poem bodies and prints, per scheme, the share that has a reading and the
most frequent characters without one (candidates for `poetry_rnn.script.VARIANTS` or the supplement
table `poetry_rnn/prosody/data/pingshui_supplement.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.prosody.rhyme import DATA_DIR, get_scheme, is_cjk  # noqa: E402
from poetry_rnn.script import normalize_variants  # noqa: E402


def corpus_char_counts(corpus_dir: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    files = sorted(corpus_dir.glob("poet.tang.*.json"))
    if not files:
        raise SystemExit(f"no poet.tang.*.json files in {corpus_dir}")
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for poem in json.load(handle):
                for paragraph in poem.get("paragraphs") or ():
                    counts.update(c for c in normalize_variants(paragraph) if is_cjk(c))
    return counts


def write_common_chars(counts: Counter[str], n: int) -> Path:
    path = DATA_DIR / "common_chars.txt"
    chars = [c for c, _ in counts.most_common(n)]
    lines = ["".join(chars[i : i + 50]) for i in range(0, len(chars), 50)]
    DATA_DIR.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=DATA_DIR, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "data" / "tang")
    parser.add_argument("--top", type=int, default=40, help="how many uncovered characters to list")
    parser.add_argument("--write-common-chars", type=int, metavar="N", default=0)
    args = parser.parse_args()
    counts = corpus_char_counts(args.corpus)
    total = sum(counts.values())
    print(f"corpus: {total:,} CJK character tokens, {len(counts):,} distinct characters")
    for name in ("pingshui", "xinyun"):
        scheme = get_scheme(name)
        missing = Counter({c: n for c, n in counts.items() if not scheme.tones(c)})
        covered = total - sum(missing.values())
        print(
            f"{name} ({scheme.chinese_name}): {covered / total:.4%} of tokens have a reading "
            f"({len(counts) - len(missing):,}/{len(counts):,} distinct characters)"
        )
        shown = " ".join(f"{c}×{n}" for c, n in missing.most_common(args.top))
        print(f"  most frequent without a reading: {shown or '(none)'}")
    if args.write_common_chars:
        print(f"wrote {write_common_chars(counts, args.write_common_chars)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
