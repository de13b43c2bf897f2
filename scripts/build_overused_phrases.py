"""Build a model's table of overused phrases (poetry_rnn.decoding.rules.phrases) by generating with it.

    python scripts/build_overused_phrases.py [--model DIR] [--poems 1200] [--rounds 1] [--min-share 0.02]

Each round writes --poems poems through the public API with the request's defaults and the table so far
(avoid_overused=True; one poem a request, the four forms in turn, half of them untitled and half under a
title drawn from the Tang train split: prompts apart from the evaluation suites'). Every phrase those poems
overuse (in at least --min-share of them), measured as
poetry_rnn.quality measures it against the regular-form poems of the train split, gets the log of how much
more often it was written than the poets wrote it added to its penalty (at most MAX_PENALTY in all). The
next round measures the poems written with that table, which catches the phrases the model turns to
instead. Writes DIR/overused_phrases.json (the model's folder, the shipped model's by default); the
generator reads it from there. Build it again for a new model: the phrases are the model's own.

    python scripts/build_overused_phrases.py --measure [--poems 1200]

writes nothing: it measures the table the model has on prompts of another seed (not the ones it was built
on), without the table and with it.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import FORMS, load_corpus  # noqa: E402
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.decoding.rules.phrases import MAX_PENALTY, write_table  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.prosody.rhyme import is_cjk  # noqa: E402
from poetry_rnn.quality import OVERUSE_MIN_SHARE, PhraseShares, overused_phrases, phrases_of  # noqa: E402

PROMPT_SEED = 20261204  # apart from the digest suite's and the blind rounds' seeds
MEASURE_SEED = PROMPT_SEED + 1  # --measure: prompts the table was not built on
# Only the phrases of at least 2 % of the poems, in one round: readers marked the poems down more the more
# phrases a table held (docs/evaluation, rounds n and o), so the table keeps to the most glaring ones.
TABLE_MIN_SHARE = 0.02


def prompts(corpus, count: int, seed: int) -> list[dict]:
    """`count` requests: forms in turn, every other one with a title from the train split."""
    choice = random.Random(seed)
    titles = sorted(
        {p.title for p in corpus.split("train") if 2 <= len(p.title) <= 8 and all(map(is_cjk, p.title))}
    )
    found = []
    for number in range(count):
        request = {
            "form": FORMS[number % len(FORMS)],
            "seed": choice.randrange(2**31),
            "script": "traditional",
            "avoid_overused": True,  # the table so far applies (the option is off by default)
        }
        if number % 2:
            request["title"] = choice.choice(titles)
        found.append(request)
    return found


def overused(
    generator, requests: list[dict], reference: PhraseShares, name: str, min_share: float = OVERUSE_MIN_SHARE
) -> dict:
    """Write a poem for each request; print and return the phrases those poems overuse."""
    started = time.perf_counter()
    poems = []
    for request in requests:
        try:
            poems.append(generator.generate(**request)[0].lines)
        except UserError as error:  # a title the model cannot write: skipped, and said so
            print(f"  skipped {request}: {error}", file=sys.stderr)
    found = overused_phrases(poems, reference, min_share=min_share)
    with_phrase = sum(bool(phrases_of(poem) & found.keys()) for poem in poems)
    top = ", ".join(f"{phrase} {share:.1%}" for phrase, (share, _) in list(found.items())[:8])
    print(
        f"{name}: {len(poems)} poems in {time.perf_counter() - started:.0f} s, "
        f"{with_phrase / len(poems):.1%} with an overused phrase; {len(found)} phrases ({top})",
        flush=True,
    )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model), where the table goes")
    parser.add_argument("--corpus", help="Tang corpus folder (default: ../shared/data/tang)")
    parser.add_argument("--poems", type=int, default=1200, help="poems a round (default 1200)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds (default 1)")
    parser.add_argument(
        "--min-share",
        type=float,
        default=TABLE_MIN_SHARE,
        help=f"a phrase counts as overused from this share of a round's poems (default {TABLE_MIN_SHARE:g})",
    )
    parser.add_argument("--measure", action="store_true", help="measure the model's table; write nothing")
    args = parser.parse_args(argv)
    from poetry_rnn.generation.generator import PoetryGenerator

    try:
        if args.poems < 100 or args.rounds < 1:
            raise UserError("--poems must be at least 100 and --rounds at least 1")
        if not 0 < args.min_share < 1:
            raise UserError(f"--min-share must be between 0 and 1, got {args.min_share:g}")
        source = str(args.corpus or default_corpus_source())
        corpus = load_corpus(source)
        reference = PhraseShares.from_corpus(corpus)
        generator = PoetryGenerator.from_pretrained(args.model)
        requests = prompts(corpus, args.poems, MEASURE_SEED if args.measure else PROMPT_SEED)
        if args.measure and not generator.overused_phrases:
            raise UserError(f"the model at {generator.model_dir} has no table of overused phrases to measure")
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.measure:
        shipped = dict(generator.overused_phrases)
        for name, table in (("without the table", {}), (f"with its {len(shipped)} phrases", shipped)):
            generator.overused_phrases = table
            overused(generator, requests, reference, name)
        return 0
    table: dict[str, float] = {}
    for round_number in range(1, args.rounds + 1):
        generator.overused_phrases = dict(table)
        found = overused(generator, requests, reference, f"round {round_number}", args.min_share)
        for phrase, (share, reference_share) in found.items():
            table[phrase] = min(MAX_PENALTY, table.get(phrase, 0.0) + math.log(share / reference_share))
        print(f"  table {len(table)}", flush=True)
    about = {
        "made_by": "scripts/build_overused_phrases.py",
        "poems_a_round": args.poems,
        "rounds": args.rounds,
        "min_share": args.min_share,
        "reference": "Tang train split, regular forms",
    }
    path = write_table(generator.model_dir, dict(sorted(table.items())), about)
    print(f"{len(table)} phrases → {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
