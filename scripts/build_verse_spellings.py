"""Build poetry_rnn/data/verse_spellings.json: the traditional characters Tang verse writes for a simplified one.

    python scripts/build_verse_spellings.py [--corpus ../shared/data/tang]   # build, then measure
    python scripts/build_verse_spellings.py --measure                        # measure the shipped table

OpenCC converts a simplified character that stands for several traditional ones to its everyday modern
choice when no phrase decides: 钟 → 鍾 (the vessel, a surname), where Tang verse means the bell 鐘 three times
in four; 征 → 徵, where verse writes 征 (to march). Where the train split writes one traditional form of a
simplified character in at least SHARE of at least MIN_COUNT occurrences and OpenCC writes another, the table
prefers the corpus's form (`chars`). Two-character words the train split spells otherwise at least
MIN_WORD_COUNT times, and at least as often as the preferred spelling, keep their own (`words`: 钟山 → 鍾山).
`script.to_traditional` applies the table where OpenCC's choice came from the character alone. Characters
both scripts write, which OpenCC alone would change and the train split writes as they are at least
MIN_AS_WRITTEN times (里 云 后 干: `as_written`), stay as written in a text already traditional.

--measure converts the test split's regular poems to simplified and back, and counts the characters that
come back other than the poet wrote them, with OpenCC alone and with the table.
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
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.script import VERSE_SPELLINGS_FILE, normalize_variants, to_simplified, to_traditional  # noqa: E402

SHARE = 0.7
MIN_COUNT = 100
MIN_WORD_COUNT = 3
MIN_AS_WRITTEN = 20
REGULAR = ["wujue", "qijue", "wulv", "qilv"]


def build(lines: list[str]) -> dict:
    chars: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for line in lines:
        line = normalize_variants(line)
        chars.update(line)
        words.update(line[i : i + 2] for i in range(len(line) - 1))
    forms: dict[str, Counter[str]] = {}
    for char, count in chars.items():
        simple = to_simplified(char)
        if len(simple) == 1:
            forms.setdefault(simple, Counter())[char] = count
    preferred = {}
    for simple, counts in sorted(forms.items()):
        total = sum(counts.values())
        form, count = counts.most_common(1)[0]
        if total >= MIN_COUNT and count >= SHARE * total and form != to_traditional(simple, verse=False):
            preferred[simple] = form
    own_spelling = {}
    for word, count in sorted(words.items()):
        if count < MIN_WORD_COUNT:
            continue
        for k, char in enumerate(word):
            simple = to_simplified(char)
            if preferred.get(simple, char) == char:
                continue
            rival = word[:k] + preferred[simple] + word[k + 1 :]
            simple_word = to_simplified(word)
            if count >= words[rival] and len(simple_word) == 2:
                own_spelling[simple_word] = word
    as_written = [
        char
        for char, count in chars.items()
        if count >= MIN_AS_WRITTEN
        and to_simplified(char) == char
        and to_traditional(char, verse=False) != char
    ]
    return {"chars": preferred, "words": own_spelling, "as_written": "".join(sorted(as_written))}


def measure(poems) -> dict:
    """Characters of the poems that a round trip through simplified script changes."""
    total = opencc_wrong = verse_wrong = 0
    wrong: Counter[str] = Counter()
    for poem in poems:
        original = normalize_variants("\n".join(poem.lines))
        simple = to_simplified(original)
        back_opencc = to_traditional(simple, verse=False)
        back = to_traditional(simple)
        if not len(original) == len(back_opencc) == len(back):
            continue
        for char, by_opencc, by_verse, given in zip(original, back_opencc, back, simple, strict=True):
            if char == "\n":
                continue
            total += 1
            opencc_wrong += by_opencc != char
            verse_wrong += by_verse != char
            if by_verse != char:
                wrong[f"{given}→{by_verse} (poet: {char})"] += 1
    return {
        "characters": total,
        "wrong, OpenCC alone": opencc_wrong,
        "wrong, with the table": verse_wrong,
        "most often wrong with the table": dict(wrong.most_common(10)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="Tang corpus folder (default: ../shared/data/tang)")
    parser.add_argument(
        "--out", type=Path, default=VERSE_SPELLINGS_FILE, help=f"default: {VERSE_SPELLINGS_FILE}"
    )
    parser.add_argument("--measure", action="store_true", help="only measure the shipped table")
    args = parser.parse_args(argv)
    try:
        corpus = load_corpus(str(args.corpus or default_corpus_source()))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.measure:
        table = build([line for poem in corpus.split("train") for line in poem.lines])
        text = json.dumps(table, ensure_ascii=False, indent=0, sort_keys=True) + "\n"
        write_atomic(args.out, text.encode("utf-8"))
        print(
            f"{args.out}: {len(table['chars'])} characters, {len(table['words'])} words, "
            f"{len(table['as_written'])} kept as written",
            file=sys.stderr,
        )
        if args.out != VERSE_SPELLINGS_FILE:
            return 0
        from poetry_rnn import script

        script.verse_spellings.cache_clear()
    report = measure(corpus.split("test", REGULAR))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
