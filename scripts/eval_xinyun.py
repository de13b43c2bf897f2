"""How well 中华新韵 poems hold by the modern reading: rhyme and strict tone as a Mandarin reader hears them.

    python scripts/eval_xinyun.py --generate [--out poems.jsonl]   # the 244-poem suite of poem_digest.py, all 新韵
    python scripts/eval_xinyun.py --jsonl poems.jsonl               # poems written by poem_digest.py --out
    python scripts/eval_xinyun.py --tang [../shared/data/tang]      # readings against Tang meter

Each line is read in context as `poetry_rnn.prosody.modern.line_readings` reads it (pypinyin's phrase-aware
reading; either tone only for a true modern polyphone outside any phrase), and also by pypinyin alone (one
reading per character, no exception for polyphones), and per form it reports:
- rhyme kept: the rhyme lines' last characters share a 新韵 group (the poem's pattern says whether the
  first line rhymes; even lines always do);
- strict tone: some tone pattern of the form fits every fixed position (every 平/仄 mark) of every line.
Strict tone counts only poems whose request asked for strict tones (the default); `tone=off` and
`standard` requests are left out of it. Only poems with rhyme scheme xinyun are read from a JSONL file.

--tang checks the readings themselves on real verse. In Tang 绝句/律诗 that keep the 2-4-6 alternation and
粘对 (as scripts/build_prosody_data.py finds them), each place whose tone the meter fixes holds a character
whose modern readings differ in tone class (长 看 华 和); the meter says which tone class the poet read
there, and for a character without an entering-tone (入声) reading the modern reading of that meaning keeps
the class (華山 去 huà, 太華 not huá). Reported: the places read in the meter's class (agree), in the
other (wrong), or left open. Characters whose modern reading dropped a classical one (看 kàn, 听 tīng)
count as wrong whatever the reader does, so compare readers, not the figure with 100 %.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.prosody.modern import line_readings, syllable  # noqa: E402
from poetry_rnn.prosody.patterns import FORMS, STRICT, fits, fixed_positions, tone_patterns  # noqa: E402
from poetry_rnn.prosody.tones import PING  # noqa: E402
from poetry_rnn.script import to_simplified  # noqa: E402

# A reading of a line: per character, (tones, level rhyme groups).
LineReading = list[tuple[frozenset[str], frozenset[str]]]


def contextual(line: str) -> LineReading:
    return [(r.tones, r.rhyme_groups) for r in line_readings(line)]


def pypinyin_alone(line: str) -> LineReading:
    """pypinyin.pinyin on the simplified line, one reading per character, taken as it stands."""
    from pypinyin import Style, pinyin

    found: LineReading = []
    for (written,) in pinyin(
        to_simplified(line), style=Style.TONE, heteronym=False, errors=lambda c: [""] * len(c)
    ):
        read = syllable(written) if written else None
        if read is None:
            found.append((frozenset(), frozenset()))
        else:
            found.append(
                (
                    frozenset((read.tone,)),
                    frozenset((read.group,)) if read.tone == PING and read.group else frozenset(),
                )
            )
    return found


def rhyme_kept(lines: list[str], first_line_rhymes: bool, read: Callable[[str], LineReading]) -> bool:
    rhyme_lines = [i for i in range(len(lines)) if i % 2 == 1 or (i == 0 and first_line_rhymes)]
    shared: frozenset[str] | None = None
    for index in rhyme_lines:
        groups = read(lines[index])[-1][1]
        shared = groups if shared is None else shared & groups
    return bool(shared)


def strict_tone_kept(lines: list[str], form: str, read: Callable[[str], LineReading]) -> bool:
    tones = [[t for t, _ in read(line)] for line in lines]
    for pattern in tone_patterns(form):
        if all(
            fits(template[i], tones[n][i])
            for n, template in enumerate(pattern.lines)
            for i in fixed_positions(template, STRICT)
        ):
            return True
    return False


def evaluate(records: Iterable[dict]) -> dict:
    """records: {"request": {...}, "poem": GeneratedPoem.to_dict()}. Per form and overall:
    poems, rhyme kept, strict-tone poems, strict tone kept — by both readings."""
    readers = {"context": contextual, "pypinyin": pypinyin_alone}
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for record in records:
        poem, request = record["poem"], record.get("request", {})
        lines, form = poem["lines"], poem["form"]
        first_line_rhymes = "首句入韵" in (poem.get("pattern") or "")
        strict = request.get("tone", "strict") == "strict"
        for key in (form, "all"):
            row = totals[key]
            row["poems"] += 1
            row["strict_poems"] += strict
            for name, read in readers.items():
                row[f"rhyme_{name}"] += rhyme_kept(lines, first_line_rhymes, read)
                if strict:
                    row[f"strict_{name}"] += strict_tone_kept(lines, form, read)
    return {key: dict(row) for key, row in totals.items()}


def report(totals: dict) -> str:
    def share(n: int, d: int) -> str:
        return f"{100 * n / d:5.1f} %" if d else "    –  "

    rows = ["form    poems  rhyme(context)  rhyme(pypinyin)  strict-poems  strict(context)  strict(pypinyin)"]
    for key in [*[f for f in FORMS if f in totals], "all"]:
        row = totals.get(key)
        if not row:
            continue
        rows.append(
            f"{key:6}  {row['poems']:5}  {share(row['rhyme_context'], row['poems']):>14}  "
            f"{share(row['rhyme_pypinyin'], row['poems']):>15}  {row['strict_poems']:12}  "
            f"{share(row.get('strict_context', 0), row['strict_poems']):>15}  "
            f"{share(row.get('strict_pypinyin', 0), row['strict_poems']):>16}"
        )
    return "\n".join(rows)


def tang_agreement(corpus_dir: Path) -> dict[str, int]:
    """Places of Tang regulated verse (see the module docstring, --tang) by how `line_readings` reads them."""
    sys.path.insert(0, str(REPO / "scripts"))
    from build_prosody_data import metered_places, one_tone_reader

    from poetry_rnn.corpus import clean_body, detect_form
    from poetry_rnn.prosody.modern import listed_readings
    from poetry_rnn.prosody.rhyme import ZE, pingshui_book

    book = pingshui_book()
    one_tone = one_tone_reader(book)

    def counts(char: str, tone: str) -> bool:
        both = listed_readings(char) + listed_readings(to_simplified(char)[:1] or char)
        split = len({s.tone for s in map(syllable, both) if s is not None}) == 2
        entering = any(r.group.startswith("入") for r in book.readings(char))
        return split and tone in book.table_tones(char) and not (tone == ZE and entering)

    found = {"places": 0, "agree": 0, "wrong": 0, "open": 0}
    for path in sorted(corpus_dir.glob("poet.tang.*.json")):
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
        for record in records:
            lines, _ = clean_body(record.get("paragraphs"))
            if not lines or detect_form(lines) == "other":
                continue
            readings: dict[int, tuple] = {}
            for index, position, tone in metered_places(lines, one_tone):
                line = lines[index]
                if not counts(line[position], tone):
                    continue
                if index not in readings:
                    readings[index] = line_readings(line)
                tones = readings[index][position].tones
                found["places"] += 1
                found["open" if len(tones) > 1 else "agree" if tones == {tone} else "wrong"] += 1
    return found


def generate_suite(model: str | None) -> tuple[list[dict], list[str]]:
    """The poem_digest.py suite with every request in 新韵 (a 平水韵 rhyme group dropped)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from poem_digest import suite

    from poetry_rnn.errors import UserError
    from poetry_rnn.generation.generator import PoetryGenerator

    generators = {p: PoetryGenerator.from_pretrained(model, precision=p) for p in ("int8", "fp32")}
    records, skipped = [], []
    for request in suite():
        request = {k: v for k, v in request.items() if k != "rhyme_group"}
        request["rhyme_scheme"] = "xinyun"
        options = dict(request)
        generator = generators[options.pop("precision", "int8")]
        options.pop("stream", None)
        try:
            poems = generator.generate(**options)
        except UserError as error:  # e.g. a given first line no 新韵 pattern fits
            skipped.append(f"{request}: {error}")
            continue
        records += [{"request": request, "poem": poem.to_dict()} for poem in poems]
    return records, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--jsonl", type=Path, help="poems as poem_digest.py --out writes them")
    source.add_argument("--generate", action="store_true", help="generate the suite, every request in 新韵")
    source.add_argument(
        "--tang",
        type=Path,
        nargs="?",
        const=REPO.parent / "shared" / "data" / "tang",
        help="check the readings against the meter of Tang regulated verse (corpus folder)",
    )
    parser.add_argument("--model", help="model folder for --generate (default: the shipped model)")
    parser.add_argument("--out", type=Path, help="with --generate: also write the poems as JSON lines")
    args = parser.parse_args(argv)
    if args.tang:
        found = tang_agreement(args.tang)
        total = found.pop("places")
        print(
            f"{total} metered places: "
            + ", ".join(f"{k} {n} ({100 * n / total:.2f} %)" for k, n in found.items())
        )
        return 0
    if args.generate:
        records, skipped = generate_suite(args.model)
        for line in skipped:
            print(f"skipped {line}")
        if args.out:
            write_atomic(args.out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    else:
        with open(args.jsonl, encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        records = [r for r in records if r["poem"].get("rhyme_scheme") == "xinyun"]
    print(report(evaluate(records)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
