"""Blind theme reading: does a poem (and its plan) fit the theme a user typed? Two decoders side by side.

    python scripts/blind_themes.py generate --themes FILE --out ARM.json [--label L] [--count 40] [--seed S]
    python scripts/blind_themes.py sheet ARM_A.json ARM_B.json [--differing-only] [--round-dir DIR] [--seed S]
    python scripts/blind_themes.py score ROUND_DIR/key.json RATINGS [RATINGS ...]
    python scripts/blind_themes.py pool ROUND_DIR [ROUND_DIR ...]

`generate` writes one poem per theme (one theme a line in FILE; the forms in turn, theme i gets seed S + i)
through the public API, with its plan and the keywords the theme conditioned it on, into an arm file with
the commit that wrote it: another checkout running this script gives the other arm. `sheet` pairs the two
arms' poems theme by theme, shows each pair as 甲 and 乙 in a drawn order, then (apart, in another order)
each pair of plans, and writes `sheet.txt` (themes, poems, plans, nothing else) and `key.json` into a new
folder `docs/evaluation/themes-YYYYMMDD-x/`. Readers get `theme_instructions.md` and the sheet. `score`
reads one file per reader (`P3: 4 2 3 3` for a poem pair: 甲 fits, 乙 fits, 甲 overall, 乙 overall;
`K3: 5 2` for a plan pair: 甲 fits, 乙 fits) and writes each arm's means and the paired differences. `pool`
prints the paired differences of several rounds (each folder's key.json and ratings/*.txt) taken together.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.blind import code_version, run_command  # noqa: E402
from poetry_rnn.blind.sheet import EVALUATION_DIR, KEY_FILE, SHEET_FILE, next_round_dir, seed_of  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.script import to_simplified  # noqa: E402

FORMS = ("wujue", "qijue", "wulv", "qilv")
SIDES = ("甲", "乙")
# what a reader gives for one item: the poem pairs four scores, the plan pairs two
SCORES = {"P": ("fit", "fit", "overall", "overall"), "K": ("plan_fit", "plan_fit")}
_LINE = re.compile(r"^\s*([PK])(\d+)\s*[:：]\s*([1-5](?:\s+[1-5])*)\s*(?:#.*)?$")


# ------------------------------------------------------------------------------------------- generate
def read_themes(path: Path, count: int) -> list[str]:
    themes = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not themes:
        raise UserError(f"{path}: no themes (one a line)")
    return themes[:count]


def run_generate(args: argparse.Namespace) -> int:
    from poetry_rnn.generation.generator import PoetryGenerator

    generator = PoetryGenerator.from_pretrained(args.model)
    poems = []
    for index, theme in enumerate(read_themes(args.themes, args.count)):
        request = {"form": FORMS[index % len(FORMS)], "theme": theme, "n": 1, "seed": args.seed + index}
        try:
            poem = generator.generate(**request, script="simplified")[0]
        except UserError as error:  # a theme this decoder cannot read: counted, left off the sheet
            poems.append(request | {"error": str(error)})
            continue
        poems.append(request | {"lines": list(poem.lines), "plan": poem.plan or []})
    arm = {"label": args.label, "commit": code_version(), "poems": poems}
    write_atomic(args.out, json.dumps(arm, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(poems)} poems → {args.out} ({arm['commit']})")
    print(plan_shapes(poems))
    return 0


def plan_shapes(poems: Sequence[dict]) -> str:
    """How many poems had a plan for every couplet, for some, or none (a theme's plan leaves couplets free
    where nothing goes with the theme)."""
    written = [poem for poem in poems if "lines" in poem]
    full = sum(1 for poem in written if len(poem["plan"]) == len(poem["lines"]) // 2)
    none = sum(1 for poem in written if not poem["plan"])
    return f"plans: {full} for every couplet, {len(written) - full - none} for some, {none} none"


# ---------------------------------------------------------------------------------------------- sheet
def load_arm(path: Path) -> dict:
    arm = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(arm, dict) or not isinstance(arm.get("poems"), list):
        raise UserError(f"{path}: not an arm file of `blind_themes.py generate`")
    return arm


def build_sheet(arms: Sequence[dict], seed: int, differing_only: bool = False) -> tuple[str, dict]:
    """The reader's text and the key: poem pairs P1… then plan pairs K1… (where both arms made a plan),
    each pair's sides drawn; with `differing_only`, only the pairs whose two poems (or plans) differ."""
    first, second = (arm["poems"] for arm in arms)
    if [a["theme"] for a in first] != [b["theme"] for b in second]:
        raise UserError("the two arms must hold the same themes in the same order (same --themes, --count)")
    # a theme an arm failed on is left off, and the failures are kept in the key
    pairs = [(a, b) for a, b in zip(first, second, strict=True) if "lines" in a and "lines" in b]
    choice = random.Random(seed)
    key: dict = {"arms": [arm["label"] or arm["commit"] for arm in arms], "items": {}}
    key["failed"] = [[(p["theme"], p["error"]) for p in poems if "error" in p] for poems in (first, second)]
    text: list[str] = []
    parts = (
        (
            "P",
            "一、诗（每题两首：甲、乙）",
            "lines",
            lambda lines: "，".join(map(to_simplified, lines)) + "。",
        ),
        (
            "K",
            "二、每联一个关键词的构思（每题两组：甲、乙）",
            "plan",
            lambda plan: "、".join(map(to_simplified, plan)),
        ),
    )
    for prefix, heading, field, shown in parts:
        order = [
            i
            for i, (a, b) in enumerate(pairs)
            if (not differing_only or a[field] != b[field]) and a[field] and b[field]  # no plan: no K item
        ]
        text += [heading, ""] if order else []
        choice.shuffle(order)
        for number, index in enumerate(order, 1):
            sides = choice.sample((0, 1), 2)
            same = pairs[index][0][field] == pairs[index][1][field]
            theme = pairs[index][0]["theme"]
            key["items"][f"{prefix}{number}"] = {"theme": theme, "sides": sides, "same": same}
            text += [f"{prefix}{number}  主题：{theme}"]
            text += [
                f"  {side}：{shown(pairs[index][arm][field])}" for side, arm in zip(SIDES, sides, strict=True)
            ]
            text.append("")
    return "\n".join(text), key


def run_sheet(args: argparse.Namespace) -> int:
    arms = [load_arm(path) for path in (args.arm_a, args.arm_b)]
    folder = args.round_dir or next_round_dir(EVALUATION_DIR, datetime.date.today(), "themes")
    if (folder / KEY_FILE).exists():
        raise UserError(f"{folder} already holds a sheet; give another --round-dir")
    sheet, key = build_sheet(
        arms, args.seed if args.seed is not None else seed_of(folder.name), args.differing_only
    )
    key["differing_only"] = args.differing_only
    key["commits"] = [arm["commit"] for arm in arms]
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / SHEET_FILE, sheet + "\n")
    write_atomic(folder / KEY_FILE, json.dumps(key, ensure_ascii=False, indent=1) + "\n")
    for arm, path in zip(arms, (args.arm_a, args.arm_b), strict=True):
        write_atomic(folder / f"arm-{arm['label'] or arm['commit']}.json", path.read_text(encoding="utf-8"))
    print(f"{len(key['items'])} items → {folder / SHEET_FILE}")
    return 0


# ---------------------------------------------------------------------------------------------- score
def parse_ratings(text: str, name: str, items: dict) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            item, scores = f"{match[1]}{match[2]}", [int(v) for v in match[3].split()]
            if len(scores) != len(SCORES[match[1]]):
                raise UserError(f"{name}: {item} needs {len(SCORES[match[1]])} scores, got {len(scores)}")
            found[item] = scores
    missing = sorted(set(items) - set(found), key=lambda item: (item[0], int(item[1:])))
    if missing:
        raise UserError(f"{name}: no rating for {', '.join(missing[:10])}")
    return found


def theme_means(
    key: dict, ratings: dict[str, dict[str, list[int]]]
) -> tuple[dict[str, dict[str, list[float]]], dict[str, set[str]]]:
    """(measure → theme → [first arm, second arm], each the readers' mean; measure → the themes where the
    two arms wrote different things)."""
    per_theme: dict[str, dict[str, list[list[int]]]] = {}  # measure → theme → per arm, readers' scores
    differing: dict[str, set[str]] = {}
    for reader_scores in ratings.values():
        for item, scores in reader_scores.items():
            if not key["items"][item].get("same"):
                for measure in SCORES[item[0]]:
                    differing.setdefault(measure, set()).add(key["items"][item]["theme"])
            sides = key["items"][item]["sides"]  # sides[0]: the arm shown as 甲
            for offset in range(0, len(scores), 2):
                measure = SCORES[item[0]][offset]
                cell = per_theme.setdefault(measure, {}).setdefault(key["items"][item]["theme"], [[], []])
                for position, arm_index in enumerate(sides):
                    cell[arm_index].append(scores[offset + position])
    means = {
        measure: {theme: [statistics.fmean(arm) for arm in cell] for theme, cell in themes.items()}
        for measure, themes in per_theme.items()
    }
    return means, differing


def summarize(key: dict, ratings: dict[str, dict[str, list[int]]]) -> dict:
    """Per arm, the mean of each measure; per measure, the mean paired difference (second arm − first)
    over themes, averaged over readers first, with its standard error and the themes each way."""
    per_theme, differing = theme_means(key, ratings)
    summary: dict = {"arms": key["arms"], "readers": sorted(ratings), "failed": key["failed"], "measures": {}}
    for measure, themes in per_theme.items():
        means = [[pair[arm] for pair in themes.values()] for arm in (0, 1)]
        differences = [b - a for a, b in zip(*means, strict=True)]
        error = _standard_error(differences)
        changed = [
            d for d, theme in zip(differences, themes, strict=True) if theme in differing.get(measure, ())
        ]
        summary["measures"][measure] = {
            "means": [round(statistics.fmean(values), 3) for values in means],
            "difference": round(statistics.fmean(differences), 3),
            "se": None if error is None else round(error, 3),
            "differing_themes": len(changed),
            "difference_where_differing": round(statistics.fmean(changed), 3) if changed else None,
            "themes_better_worse_equal": [
                sum(d > 0 for d in differences),
                sum(d < 0 for d in differences),
                sum(d == 0 for d in differences),
            ],
        }
    return summary


def summary_markdown(summary: dict) -> str:
    first, second = summary["arms"]
    rows = [
        f"Readers: {', '.join(summary['readers'])}. Difference: {second} − {first}, per theme (readers averaged), "
        "± its standard error; themes where it is better / worse / equal.",
        "",
        f"| measure | {first} | {second} | difference | themes + / − / = | where they differ (themes) |",
        "|---|---|---|---|---|---|",
    ]
    for measure, found in summary["measures"].items():
        better, worse, equal = found["themes_better_worse_equal"]
        rows.append(
            f"| {measure} | {found['means'][0]:.2f} | {found['means'][1]:.2f} | "
            f"{found['difference']:+.2f} ± {found['se'] or 0:.2f} | {better} / {worse} / {equal} | "
            f"{found['difference_where_differing'] or 0:+.2f} ({found['differing_themes']}) |"
        )
    for label, failed in zip(summary["arms"], summary["failed"], strict=True):
        if failed:
            themes = "、".join(theme for theme, _ in failed)
            rows.append(f"\n{label} wrote no poem for {len(failed)} theme(s), left off the sheet: {themes}")
    return "\n".join(rows) + "\n"


def _standard_error(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else None


def read_ratings(key: dict, paths: Sequence[Path]) -> dict[str, dict[str, list[int]]]:
    """Each reader's file (named by its stem) read against the key."""
    return {
        path.stem: parse_ratings(path.read_text(encoding="utf-8"), path.name, key["items"]) for path in paths
    }


def run_score(args: argparse.Namespace) -> int:
    key = json.loads(args.key.read_text(encoding="utf-8"))
    summary = summarize(key, read_ratings(key, args.ratings))
    write_atomic(args.key.parent / "summary.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    write_atomic(args.key.parent / "summary.md", summary_markdown(summary))
    print(summary_markdown(summary), end="")
    return 0


def pool(rounds: Sequence[tuple[dict, dict[str, dict[str, list[int]]]]]) -> dict[str, dict]:
    """The paired differences (second arm − first, per theme, readers averaged) of several rounds, pooled:
    per measure the themes, the mean difference and its standard error."""
    differences: dict[str, list[float]] = {}
    for key, ratings in rounds:
        for measure, themes in theme_means(key, ratings)[0].items():
            differences.setdefault(measure, []).extend(b - a for a, b in themes.values())
    return {
        measure: {"themes": len(found), "difference": statistics.fmean(found), "se": _standard_error(found)}
        for measure, found in differences.items()
    }


def run_pool(args: argparse.Namespace) -> int:
    rounds = []
    for round_dir in args.round_dirs:
        if not (round_dir / KEY_FILE).is_file():
            raise UserError(f"{round_dir}: no {KEY_FILE}; give round folders made by `sheet`")
        key = json.loads((round_dir / KEY_FILE).read_text(encoding="utf-8"))
        paths = sorted((round_dir / "ratings").glob("*.txt"))
        if not paths:
            raise UserError(f"{round_dir}: no ratings/*.txt to pool")
        rounds.append((key, read_ratings(key, paths)))
    rows = ["| measure | themes | second − first, per theme |", "|---|---|---|"]
    for measure, found in pool(rounds).items():
        rows.append(
            f"| {measure} | {found['themes']} | {found['difference']:+.2f} ± {found['se'] or 0:.2f} |"
        )
    print("\n".join(rows))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="one poem per theme, into an arm file")
    generate.add_argument("--themes", type=Path, required=True, help="one theme a line")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--label", default="")
    generate.add_argument("--count", type=int, default=40)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--model", default=None)
    sheet = commands.add_parser("sheet", help="a blind sheet of two arms' poems and plans")
    sheet.add_argument("arm_a", type=Path)
    sheet.add_argument("arm_b", type=Path)
    sheet.add_argument("--round-dir", type=Path, default=None)
    sheet.add_argument("--seed", type=int, default=None)
    sheet.add_argument(
        "--differing-only",
        action="store_true",
        help="leave off the pairs whose two poems (or plans) are the same",
    )
    score = commands.add_parser("score", help="the readers' ratings against the key")
    score.add_argument("key", type=Path)
    score.add_argument("ratings", type=Path, nargs="+")
    pooled = commands.add_parser("pool", help="several rounds' paired differences, pooled per theme")
    pooled.add_argument("round_dirs", type=Path, nargs="+", help="round folders (key.json, ratings/*.txt)")
    handlers = {"generate": run_generate, "sheet": run_sheet, "score": run_score, "pool": run_pool}
    return run_command(parser.parse_args(argv), handlers)


if __name__ == "__main__":
    raise SystemExit(main())
