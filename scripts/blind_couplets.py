"""Blind 对仗 reading: do readers see the middle couplets of generated 律诗 as parallel?

    python scripts/blind_couplets.py generate --out ARM.json [--label L] [--poems 12] [--seed S]
                                              [--model DIR] [--options JSON]
    python scripts/blind_couplets.py sheet [--arm ARM.json ...] [--real-middle 16] [--real-first 8]
                                           [--real-last 0] [--round-dir DIR] [--seed S]
    python scripts/blind_couplets.py score ROUND_DIR/key.json RATINGS [RATINGS ...]

`generate` writes 律诗 for a prompt suite (五律 and 七律 in turn, free, title and theme modes) through the
public API and keeps their middle couplets (lines 3–4 and 5–6) in an arm file, with the commit that wrote
them: arms from different decoders (another checkout running this script) can share one sheet, so the
same readers compare them. `sheet` mixes the arms' couplets with real middle couplets (the controls that
are parallel by convention), real first couplets (mostly not) and, on request, real last couplets of
regular 律诗 from the test split, shuffles and numbers them, and writes `sheet.txt` (numbers and couplets, nothing else) and `key.json` into
a new folder `docs/evaluation/couplets-YYYYMMDD-x/`. Readers get `couplet_instructions.md` and the sheet
(docs/evaluation/README.md). `score` reads one file per reader (`N: 工|宽|不 fluency`) and writes, per
source, the share judged parallel (工 or 宽) and 工, the mean fluency, the checker's verdicts beside
them, and how often the checker agrees with the readers' majority on parallel or not. A sheet of real
couplets alone (no --arm) measures the checker itself against readers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.blind import code_version, run_command  # noqa: E402
from poetry_rnn.blind.sheet import (  # noqa: E402
    EVALUATION_DIR,
    KEY_FILE,
    SHEET_FILE,
    next_round_dir,
    prompt_suite,
    seed_of,
    used_real_bodies,
)
from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.prosody.check import analyze_lines  # noqa: E402
from poetry_rnn.prosody.parallel import couplet_kind  # noqa: E402
from poetry_rnn.quality import is_intact  # noqa: E402

FORMS = ("wulv", "qilv")
VERDICTS = {"工": "工", "工对": "工", "g": "工", "宽": "宽", "寬": "宽", "宽对": "宽", "k": "宽"}
VERDICTS |= {"不": "不", "不对": "不", "不對": "不", "b": "不", "n": "不"}
_LINE = re.compile(r"^\s*(\d+)\s*[:：]\s*(\S+)\s+([1-5])\s*(?:#.*)?$")


# ------------------------------------------------------------------------------------------- generate
def prompts(count: int) -> list[dict]:
    """`count` 律诗 prompts: the forms in turn, each mode for two prompts in a row."""
    return prompt_suite(count, FORMS)


def run_generate(args: argparse.Namespace) -> int:
    from poetry_rnn.generation.generator import PoetryGenerator

    options = json.loads(args.options) if args.options else {}
    if not isinstance(options, dict) or {"script", "n", "form"} & set(options):
        raise UserError("--options is a JSON object of generate() options other than script, n and form")
    generator = PoetryGenerator.from_pretrained(args.model)
    couplets = []
    for index, prompt in enumerate(prompts(args.poems)):
        request = {k: v for k, v in prompt.items() if k != "mode"} | options
        request |= {"n": 1, "seed": args.seed + index, "script": "traditional"}
        lines = list(generator.generate(**request)[0].lines)
        for line in (2, 4):
            couplets.append(
                {"form": prompt["form"], "mode": prompt["mode"], "request": request, "line": line}
                | {"first": lines[line], "second": lines[line + 1]}
            )
    arm = {"label": args.label, "commit": code_version(), "options": options, "couplets": couplets}
    write_atomic(args.out, json.dumps(arm, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(couplets)} couplets of {args.poems} poems → {args.out} ({arm['commit']})")
    return 0


# ---------------------------------------------------------------------------------------------- sheet
def real_couplets(corpus, middle: int, first: int, seed: int, exclude: set[str], last: int = 0) -> list[dict]:
    """`middle` middle couplets, `first` first couplets and `last` last couplets of regular test-split 律诗
    (the checker finds no 失粘, 失对, 出韵 or 仄韵), one couplet per poem, no poem in `exclude`."""
    choice = random.Random(seed)
    pool = []
    for poem in corpus.split("test", list(FORMS)):
        if not is_intact(poem.lines) or "".join(poem.lines) in exclude:
            continue
        faults = analyze_lines(poem.lines, strictness="standard").faults
        if not any(f.name in ("失粘", "失对", "出韵", "仄韵") for f in faults):
            pool.append(poem)
    if middle + first + last > len(pool):
        needed = middle + first + last
        raise UserError(f"the test split has {len(pool)} unused regular 律诗; {needed} are needed")
    found = []
    for number, poem in enumerate(choice.sample(pool, middle + first + last)):
        if number < middle:
            source, line = "real middle", choice.choice((2, 4))
        else:
            source, line = ("real first", 0) if number < middle + first else ("real last", 6)
        found.append(
            {"source": source, "form": poem.form, "title": poem.title, "author": poem.author, "line": line}
            | {"first": poem.lines[line], "second": poem.lines[line + 1], "body": "".join(poem.lines)}
        )
    return found


def used_bodies() -> set[str]:
    """Real poems earlier rounds (of poems or of couplets) showed."""
    used = used_real_bodies(EVALUATION_DIR)
    for key_path in sorted(EVALUATION_DIR.glob(f"couplets-*/{KEY_FILE}")):
        entries = json.loads(key_path.read_text(encoding="utf-8"))["couplets"].values()
        used |= {e["body"] for e in entries if "body" in e}
    return used


def run_sheet(args: argparse.Namespace) -> int:
    today = datetime.date.today()
    if args.round_dir:
        round_dir = Path(args.round_dir)
    else:
        round_dir = next_round_dir(EVALUATION_DIR, today, "couplets")
    if (round_dir / SHEET_FILE).exists():
        raise UserError(f"{round_dir} already holds a sheet; rounds are never rebuilt over")
    seed = args.seed if args.seed is not None else seed_of(round_dir.name)
    # A couplet several arms wrote (the same seed often gives the same couplet) is shown once, and counts
    # for each of them.
    generated: dict[tuple[str, str], dict] = {}
    for path in args.arm or ():
        arm = json.loads(Path(path).read_text(encoding="utf-8"))
        label = arm["label"]
        if label.startswith("real") or "+" in label:
            raise UserError(f"{path}: an arm's label may not start with 'real' or contain '+'")
        for couplet in arm["couplets"]:
            entry = generated.setdefault(
                (couplet["first"], couplet["second"]), couplet | {"arms": [], "commits": []}
            )
            if label not in entry["arms"]:
                entry["arms"].append(label)
                entry["commits"].append(arm["commit"])
    entries = [entry | {"source": "+".join(entry["arms"])} for entry in generated.values()]
    corpus = load_corpus(args.corpus or default_corpus_source())
    entries += real_couplets(
        corpus, args.real_middle, args.real_first, seed, used_bodies(), last=args.real_last
    )
    if not entries:
        raise UserError("nothing to show: give an --arm or real couplets")
    random.Random(seed).shuffle(entries)
    blocks, key = [], {}
    for number, entry in enumerate(entries, 1):
        blocks.append(f"{number}\n{entry['first']}，{entry['second']}。")
        key[str(number)] = entry | {"checker": couplet_kind(entry["first"], entry["second"])}
    round_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(round_dir / SHEET_FILE, "\n\n".join(blocks) + "\n")
    meta = {"round": round_dir.name, "created": f"{today}", "seed": seed, "couplets": key}
    write_atomic(round_dir / KEY_FILE, json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(entries)} couplets → {round_dir / SHEET_FILE} (key: {KEY_FILE}, never shown to readers)")
    return 0


# ---------------------------------------------------------------------------------------------- score
def parse_ratings(text: str, name: str, numbers: set[str]) -> dict[str, tuple[str, int]]:
    """Number → (verdict 工/宽/不, fluency 1–5); a UserError naming the line for anything else."""
    found: dict[str, tuple[str, int]] = {}
    for at, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.lower().startswith("reader"):
            continue
        match = _LINE.match(line)
        verdict = VERDICTS.get(match.group(2).lower()) if match else None
        if match is None or verdict is None:
            raise UserError(f"{name} line {at}: expected 'N: 工|宽|不 fluency(1-5)', got {line[:60]!r}")
        number = match.group(1)
        if number not in numbers or number in found:
            raise UserError(f"{name} line {at}: couplet {number} is not on the sheet or rated twice")
        found[number] = (verdict, int(match.group(3)))
    missing = sorted(numbers - set(found), key=int)
    if missing:
        raise UserError(f"{name}: no rating for couplet(s) {', '.join(missing[:10])}")
    return found


def summarize(key: dict, ratings: dict[str, dict[str, tuple[str, int]]]) -> dict:
    """Per arm (every couplet it wrote, shared ones included), per source as shown (an arm's own couplets,
    those several arms share, the real ones): what readers and the checker said."""
    couplets = key["couplets"]
    groups = {
        source: [n for n, c in couplets.items() if c["source"] == source]
        for source in sorted({c["source"] for c in couplets.values()})
    }
    arms = sorted({arm for c in couplets.values() for arm in c.get("arms", ())})
    if len(arms) > 1:
        groups |= {f"arm {arm}": [n for n, c in couplets.items() if arm in c.get("arms", ())] for arm in arms}
    real = [n for n, c in couplets.items() if c["source"].startswith("real")]
    if len({couplets[n]["source"] for n in real}) > 1:
        groups["real, all"] = real
    out = {"round": key["round"], "readers": sorted(ratings), "sources": {}}
    for source, numbers in groups.items():
        verdicts = Counter(ratings[r][n][0] for r in ratings for n in numbers)
        fluency = [ratings[r][n][1] for r in ratings for n in numbers]
        checker = Counter(couplets[n]["checker"] for n in numbers)
        total = sum(verdicts.values()) or 1
        # a couplet "seen as parallel" when most readers call it 工 or 宽
        majority = {n: 2 * sum(ratings[r][n][0] != "不" for r in ratings) > len(ratings) for n in numbers}
        seen = sum(majority.values())
        agree = sum(majority[n] == (couplets[n]["checker"] != "不对") for n in numbers)
        out["sources"][source] = {
            "couplets": len(numbers),
            "ratings": total,
            "judged parallel": round((verdicts["工"] + verdicts["宽"]) / total, 3),
            "judged 工对": round(verdicts["工"] / total, 3),
            "parallel by majority": round(seen / (len(numbers) or 1), 3),
            "fluency": round(sum(fluency) / (len(fluency) or 1), 2),
            "checker parallel": round((checker["工对"] + checker["宽对"]) / (len(numbers) or 1), 3),
            "checker 工对": round(checker["工对"] / (len(numbers) or 1), 3),
            "checker agrees with the majority": round(agree / (len(numbers) or 1), 3),
        }
    return out


def summary_markdown(summary: dict) -> str:
    rows = [
        f"# 对仗 reading {summary['round']}",
        "",
        f"Readers: {', '.join(summary['readers'])}. A couplet is seen as parallel by majority when most",
        "readers call it 工对 or 宽对.",
        "",
        "| source | couplets | judged parallel | judged 工对 | parallel by majority | fluency | "
        "checker: parallel | checker: 工对 | checker agrees |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for source, s in summary["sources"].items():
        rows.append(
            f"| {source} | {s['couplets']} | {s['judged parallel']:.0%} | {s['judged 工对']:.0%} | "
            f"{s['parallel by majority']:.0%} | {s['fluency']:.2f} | {s['checker parallel']:.0%} | "
            f"{s['checker 工对']:.0%} | {s['checker agrees with the majority']:.0%} |"
        )
    return "\n".join(rows) + "\n"


def run_score(args: argparse.Namespace) -> int:
    key_path = Path(args.key)
    key = json.loads(key_path.read_text(encoding="utf-8"))
    numbers = set(key["couplets"])
    ratings = {}
    for path in args.ratings:
        ratings[Path(path).stem] = parse_ratings(Path(path).read_text(encoding="utf-8"), path, numbers)
    summary = summarize(key, ratings)
    out_dir = key_path.parent
    write_atomic(out_dir / "summary.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    text = summary_markdown(summary)
    write_atomic(out_dir / "summary.md", text)
    print(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="generate 律诗 and keep their middle couplets")
    generate.add_argument("--out", required=True, help="the arm file to write (JSON)")
    generate.add_argument("--label", default="generated", help="the arm's name in the summary")
    generate.add_argument("--poems", type=int, default=12, help="律诗 to generate (two couplets each)")
    generate.add_argument("--seed", type=int, default=0, help="request i gets seed + i")
    generate.add_argument("--model", help="model folder (default: the shipped model)")
    generate.add_argument("--options", help="extra generate() options as JSON")
    sheet = commands.add_parser("sheet", help="mix arms with real couplets into a new round folder")
    sheet.add_argument(
        "--arm", action="append", help="an arm file from `generate` (none: real couplets only)"
    )
    sheet.add_argument("--real-middle", type=int, default=16, help="real middle couplets (parallel)")
    sheet.add_argument("--real-first", type=int, default=8, help="real first couplets (mostly not)")
    sheet.add_argument("--real-last", type=int, default=0, help="real last couplets")
    sheet.add_argument("--round-dir", help="round folder (default: docs/evaluation/couplets-YYYYMMDD-x)")
    sheet.add_argument("--seed", type=int, help="seed (default: from the round folder's name)")
    sheet.add_argument("--corpus", help="Tang corpus folder (default: ../shared/data/tang)")
    score = commands.add_parser("score", help="score ratings files against a round's key")
    score.add_argument("key", help="the round's key.json")
    score.add_argument("ratings", nargs="+", help="one ratings file per reader")
    return run_command(
        parser.parse_args(argv), {"generate": run_generate, "sheet": run_sheet, "score": run_score}
    )


if __name__ == "__main__":
    raise SystemExit(main())
