"""Repetition and diversity of generated poems beside real Tang poems (the measures of issue 13).

    python scripts/eval_quality.py [--model DIR] [--poems poems.jsonl] [--json-out report.json]

Generated: the 244-poem suite of scripts/poem_digest.py (every form and option, through the public API),
or the poems of a file it wrote with --out. Real: as many test-split poems of the same forms (seeded
sample), and the whole regular-form test split for a steadier reference. Attested reduplications come from
the train split, and so do the phrase shares that say which phrases are overused (its regular-form poems).
Real poems with a character marked lost (囗) are left out; so is a given first line (the user wrote it).
Measures: see poetry_rnn/quality.py. Simplified poems are converted to traditional first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from poetry_rnn.corpus import FORMS, load_corpus  # noqa: E402
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.quality import PhraseShares, QualityReport, ReduplicationSlots, is_intact, measure  # noqa: E402
from poetry_rnn.script import convert  # noqa: E402

SAMPLE_SEED = 13


def generated_records(model: str | None) -> list[dict]:
    """The digest suite's poems as {"request", "poem"} records."""
    from poem_digest import run_suite

    from poetry_rnn.generation.generator import PoetryGenerator

    generators = {p: PoetryGenerator.from_pretrained(model, precision=p) for p in ("int8", "fp32")}
    return [json.loads(line) for line in run_suite(generators)]


def poems_digest(poems: list[list[str]]) -> str:
    """A digest of the poems' text alone: names the measured set (the analyses around it may vary)."""
    return hashlib.sha256("\n".join("，".join(poem) for poem in poems).encode("utf-8")).hexdigest()


def read_records(path: Path) -> list[dict]:
    records = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
            poem = record["poem"]
            usable = isinstance(poem["lines"], list) and isinstance(poem["form"], str)
        except (ValueError, KeyError, TypeError):
            usable = False
        if not usable:
            raise UserError(
                f"{path} line {number}: expected a JSON object with poem.lines (a list) and poem.form, "
                "as scripts/poem_digest.py --out writes"
            )
        records.append(record)
    if not records:
        raise UserError(f"{path}: no poems")
    return records


def written_lines(record: dict) -> list[str]:
    """The lines the generator wrote (a given first line left out), in traditional script."""
    poem = record["poem"]
    lines = list(poem["lines"])[1:] if record.get("request", {}).get("first_line") else list(poem["lines"])
    if poem.get("script") == "simplified":
        return [convert(line, "traditional") for line in lines]
    return lines


def real_sample(corpus, form_counts: Counter[str], seed: int) -> list[list[str]]:
    """Test-split poems with the same number of each form as the generated set."""
    choice = random.Random(seed)
    sample = []
    for form in FORMS:
        wanted = form_counts.get(form, 0)
        pool = [poem for poem in corpus.split("test", forms=[form]) if is_intact(poem.lines)]
        if wanted > len(pool):
            raise UserError(f"the test split has {len(pool)} {form} poems; {wanted} are needed")
        sample += [list(poem.lines) for poem in choice.sample(pool, wanted)]
    return sample


def row(name: str, report: QualityReport) -> str:
    unattested = report.unattested_reduplications_per_poem
    split = report.split_word_reduplications_per_poem
    return (
        f"{name:<22}{report.poems:>6}{report.lines_with_repeated_character:>10.1%}"
        f"{report.lines_with_repeat_outside_reduplication:>10.1%}{report.reduplications_per_poem:>9.3f}"
        f"{unattested if unattested is not None else float('nan'):>11.3f}"
        f"{split if split is not None else float('nan'):>9.3f}"
        f"{report.poems_with_a_reduplication_twice:>7}{report.poems_repeated_verbatim:>9}"
        f"{report.distinct_2:>9.3f}{report.repeated_characters:>8.1%}{report.poems_naming_two_seasons:>9.1%}"
        f"{report.poems_with_overused_phrase:>10.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--poems", type=Path, help="measure the poems of this poem_digest.py --out file")
    parser.add_argument("--corpus", help="Tang corpus folder (default: ../shared/data/tang)")
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED, help="seed of the real-poem sample")
    parser.add_argument("--json-out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    try:
        corpus_source = str(args.corpus or default_corpus_source())
        corpus = load_corpus(corpus_source)
        slots = ReduplicationSlots.from_corpus(corpus, "train")
        records = read_records(args.poems) if args.poems else generated_records(args.model)
        generated = [written_lines(record) for record in records]
        form_counts = Counter(record["poem"]["form"] for record in records)
        sample = real_sample(corpus, form_counts, args.seed)
        test_all = [list(p.lines) for p in corpus.split("test", forms=FORMS) if is_intact(p.lines)]
        phrases = PhraseShares.from_corpus(corpus)
        reports = {
            "generated": measure(generated, slots, phrases),
            "real_sample": measure(sample, slots, phrases),
            "real_test_split": measure(test_all, slots, phrases),
        }
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{'':<22}{'poems':>6}{'rep.line':>10}{'outside':>10}{'redup/p':>9}{'unattest/p':>11}{'split/p':>9}"
        f"{'redup2':>7}{'verbatim':>9}{'dist-2':>9}{'reused':>8}{'seasons':>9}{'overused':>10}"
    )
    for name, report in reports.items():
        print(row(name, report))
    print(
        "rep.line: lines with a repeated character; outside: ... other than as one reduplication; "
        "unattest/p: reduplications not attested at that slot of the train split, per poem; split/p: "
        "reduplications splitting a word beside them (滿城城), per poem; reused: characters repeating one "
        "earlier in the poem; seasons: poems "
        "naming two of 春夏秋冬; overused: poems "
        "with a phrase used in 1 % of the poems and 10 times as often as in the train split"
    )
    if args.json_out:
        document = {
            "generated_source": str(args.poems) if args.poems else "scripts/poem_digest.py suite",
            "generated_poems_sha256": poems_digest(generated),
            "model": args.model or "shipped model",
            "corpus": corpus_source,
            "attested_slots": len(slots),
            "forms": dict(sorted(form_counts.items())),
            "real_sample_seed": args.seed,
            **{name: report.to_dict() for name, report in reports.items()},
        }
        write_atomic(args.json_out, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
