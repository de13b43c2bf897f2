"""Blind evaluation: rating sheets that mix generated and real Tang poems, and the scores readers give.

    python scripts/blind_eval.py sheet [--generated 12] [--real N] [--round-dir DIR] [--seed S]
                                       [--script traditional|simplified] [--model DIR] [--options JSON]
                                       [--arm NAME=JSON ...]
    python scripts/blind_eval.py score ROUND_DIR/key.json RATINGS [RATINGS ...] [--out-dir DIR]
    python scripts/blind_eval.py pool --pair ROUND_DIR ARM OTHER_ARM [--pair ...]

`sheet` generates poems for a fixed prompt suite (free, title and theme modes over all four forms) through
the public API, draws as many real poems of the same forms from the corpus's test split, shuffles and
numbers them (with arms, each arm's options on the same prompts and seeds, a poem several arms wrote
shown once), and writes into the round folder `sheet.txt` (numbers and poems, nothing else) and
`key.json` (number → source, form, prompt; never shown to readers). `score` checks each ratings file
against the key and writes `summary.md` and `summary.json` beside it; with arms, each pair of arms is also
compared prompt by prompt (the arms share prompts and seeds). `pool` makes that comparison over several
rounds' folders together. Protocol and formats: docs/evaluation/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from poetry_rnn.blind import run_command  # noqa: E402
from poetry_rnn.blind.ratings import load_key, load_ratings  # noqa: E402
from poetry_rnn.blind.sheet import (  # noqa: E402
    EVALUATION_DIR,
    KEY_FILE,
    SHEET_FILE,
    build_sheet,
    generate_poems,
    merge_arms,
    next_round_dir,
    parse_arms,
    parse_options,
    prompt_suite,
    real_poems,
    seed_of,
    used_real_bodies,
)
from poetry_rnn.blind.summary import (  # noqa: E402
    paired_markdown,
    paired_stats,
    prompt_differences,
    summarize,
    summary_markdown,
)
from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.script import SCRIPTS  # noqa: E402


def run_sheet(args: argparse.Namespace) -> int:
    from poetry_rnn.generation.generator import PoetryGenerator

    if args.generated < 1 or (args.real is not None and args.real < 0):
        raise UserError("--generated must be at least 1 and --real at least 0")
    options = parse_options(args.options)
    arms = parse_arms(args.arm or [], options)
    round_dir = (
        Path(args.round_dir) if args.round_dir else next_round_dir(EVALUATION_DIR, datetime.date.today())
    )
    if (round_dir / SHEET_FILE).exists() or (round_dir / KEY_FILE).exists():
        raise UserError(f"{round_dir} already holds a sheet: every round gets a fresh folder")
    seed = args.seed if args.seed is not None else seed_of(round_dir.name)
    corpus_source = str(args.corpus or default_corpus_source())
    corpus = load_corpus(corpus_source)
    generators: dict = {}  # model folder → generator, each loaded once

    def generator_for(arm: dict):
        location = arm.get("model", args.model)
        if location not in generators:
            generators[location] = PoetryGenerator.from_pretrained(location)
        return generators[location]

    generated = merge_arms(
        {
            name: generate_poems(
                generator_for(arm),
                prompt_suite(args.generated),
                seed,
                {k: v for k, v in arm.items() if k != "model"},
            )
            for name, arm in arms.items()
        }
    )
    real_count = args.generated if args.real is None else args.real
    forms = [poem["form"] for poem in generated]
    forms = (forms * (real_count // len(forms) + 1))[:real_count]
    real = real_poems(corpus, forms, seed, used_real_bodies(round_dir.parent))
    sheet, entries = build_sheet(generated + real, seed, args.script)
    key = {
        "round": round_dir.name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "script": args.script,
        "model": str(args.model or "shipped model"),
        "corpus": corpus_source,
        "options": options,
        "arms": arms,
        "counts": {
            "generated": len(generated),
            "real": len(real),
            "real_shown_before": sum(poem["shown_before"] for poem in real),
        },
        "sheet_sha256": hashlib.sha256(sheet.encode("utf-8")).hexdigest(),
        "poems": entries,
    }
    round_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(round_dir / SHEET_FILE, sheet)
    write_atomic(round_dir / KEY_FILE, json.dumps(key, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(entries)} poems ({len(generated)} generated, {len(real)} real), seed {seed}")
    if key["counts"]["real_shown_before"]:
        shown = key["counts"]["real_shown_before"]
        print(
            f"{shown} real {'poem was' if shown == 1 else 'poems were'} shown by earlier rounds (too few others "
            "left of their form): give the sheet to readers who did not rate those rounds"
        )
    print(f"sheet (hand to readers): {round_dir / SHEET_FILE}")
    print(f"key (keep from readers): {round_dir / KEY_FILE}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    key_path = Path(args.key)
    key = load_key(key_path)
    summary = summarize(key, load_ratings(key, [Path(path) for path in args.ratings]))
    markdown = summary_markdown(summary)
    out_dir = Path(args.out_dir) if args.out_dir else key_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "summary.md", markdown)
    write_atomic(out_dir / "summary.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    print(markdown)
    print(f"wrote {out_dir / 'summary.md'} and summary.json")
    return 0


def run_pool(args: argparse.Namespace) -> int:
    """Paired differences of two arms over several rounds: each round's key.json and ratings/ files."""
    differences: list[dict[str, float]] = []
    for round_dir, first, second in args.pair:
        folder = Path(round_dir)
        key = load_key(folder / KEY_FILE)
        arms = {arm for poem in key["poems"].values() for arm in poem.get("arms", ())}
        missing = [arm for arm in (first, second) if arm not in arms]
        if missing:
            raise UserError(
                f"{folder}: no arm {missing[0]!r} (its arms: {', '.join(sorted(arms)) or 'none'})"
            )
        paths = sorted(p for p in (folder / "ratings").glob("*") if p.suffix in (".txt", ".json"))
        if not paths:
            raise UserError(f"{folder}: no ratings files in {folder / 'ratings'}")
        ratings_by_reader = load_ratings(key, paths)
        rows = [(r, n, x) for r, ratings in ratings_by_reader.items() for n, x in sorted(ratings.items())]
        differences += prompt_differences(key["poems"], rows, first, second)
    name = " + ".join(f"{Path(d).name}: {a} − {b}" for d, a, b in args.pair)
    print("\n".join(paired_markdown({name: paired_stats(differences)})).strip())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sheet = commands.add_parser(
        "sheet",
        help="build a rating sheet and its key in a new round folder",
        description="Build a rating sheet and its key in a new round folder.",
    )
    sheet.add_argument("--generated", type=int, default=12, help="generated poems (default 12)")
    sheet.add_argument("--real", type=int, help="real poems (default: as many as generated)")
    sheet.add_argument("--round-dir", help="round folder (default: docs/evaluation/round-YYYYMMDD-x, new)")
    sheet.add_argument("--seed", type=int, help="seed (default: from the round folder's name)")
    sheet.add_argument("--script", choices=SCRIPTS, default="traditional", help="script of the sheet")
    sheet.add_argument("--model", help="model folder (default: the shipped model)")
    sheet.add_argument("--corpus", help="Tang corpus folder (default: ../shared/data/tang)")
    sheet.add_argument("--options", help="extra generate() options as JSON, e.g. '{\"candidates\": 8}'")
    sheet.add_argument(
        "--arm",
        action="append",
        help="NAME=JSON: an arm of generated poems with these options (over --options); repeat to compare "
        "decoders on the same prompts and seeds before the same readers",
    )
    score = commands.add_parser(
        "score",
        help="score ratings files against a round's key",
        description="Score ratings files against a round's key.",
    )
    score.add_argument("key", help="the round's key.json")
    score.add_argument("ratings", nargs="+", help="ratings files (line format or JSON), one per reader")
    score.add_argument("--out-dir", help="where summary.md/.json go (default: the key's folder)")
    pool = commands.add_parser(
        "pool",
        help="paired differences of two arms, pooled over rounds",
        description="Paired differences of two arms, pooled over rounds.",
    )
    pool.add_argument(
        "--pair",
        nargs=3,
        action="append",
        required=True,
        metavar=("ROUND_DIR", "ARM", "OTHER_ARM"),
        help="a round folder (key.json, ratings/) and the two arms to compare there; repeat for more rounds",
    )
    return run_command(parser.parse_args(argv), {"sheet": run_sheet, "score": run_score, "pool": run_pool})


if __name__ == "__main__":
    raise SystemExit(main())
