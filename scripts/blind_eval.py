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
import random
import re
import statistics
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from poetry_rnn.corpus import FORMS, load_corpus  # noqa: E402
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.generation.request import option_fields  # noqa: E402
from poetry_rnn.quality import is_intact  # noqa: E402
from poetry_rnn.script import SCRIPTS, convert  # noqa: E402

EVALUATION_DIR = Path(__file__).resolve().parent.parent / "docs" / "evaluation"
SHEET_FILE, KEY_FILE = "sheet.txt", "key.json"
MODES = ("free", "title", "theme")
TITLES = ("秋夜", "送友人", "春望", "登樓", "山居", "江上晚眺", "月夜懷人", "邊城")
THEMES = (
    "秋日登高望远，思念故乡亲人",
    "春雨夜里独坐，怀念远方的朋友",
    "送别友人于江边，依依不舍",
    "山中隐居，远离尘世",
    "边塞将士月夜思乡",
    "春日游园，花开鸟鸣",
)
MEASURES = ("fluency", "coherence", "meaning", "overall")
GUESSES = {
    "h": "human",
    "human": "human",
    "人": "human",
    "m": "machine",
    "machine": "machine",
    "机": "machine",
}
SOURCES = ("generated", "real")


# ---------------------------------------------------------------------------------------------- sheet
def prompt_suite(count: int, forms: Sequence[str] = FORMS) -> list[dict]:
    """`count` prompts; every len(forms) × 3 in a row cover each form in each mode once."""
    prompts = []
    for index in range(count):
        prompt = {"form": forms[index % len(forms)], "mode": MODES[(index // len(forms)) % len(MODES)]}
        if prompt["mode"] == "title":
            prompt["title"] = TITLES[index % len(TITLES)]
        elif prompt["mode"] == "theme":
            prompt["theme"] = THEMES[index % len(THEMES)]
        prompts.append(prompt)
    return prompts


def generate_poems(generator, prompts: Sequence[dict], seed: int, options: dict | None = None) -> list[dict]:
    """One poem per prompt, in the model's script (traditional); request i gets seed `seed + i`."""
    options = dict(options or {})
    if "script" in options or "n" in options:
        raise UserError("--options may not set script or n: use --script; each prompt asks for one poem")
    poems = []
    for index, prompt in enumerate(prompts):
        # the model's script, named: the sheet converts both sources alike, whatever the API's default
        request = {k: v for k, v in prompt.items() if k != "mode"} | options
        request |= {"n": 1, "seed": seed + index, "script": "traditional"}
        poem = generator.generate(**request)[0]
        poems.append(
            {
                "source": "generated",
                "form": prompt["form"],
                "mode": prompt["mode"],
                "request": request,
                "lines": list(poem.lines),
            }
        )
    return poems


def parse_options(text: str | None, flag: str = "--options") -> dict:
    """generate() options given as a JSON object on the command line ({} for none)."""
    try:
        found = json.loads(text) if text else {}
    except ValueError as error:
        raise UserError(
            f"{flag} must be a JSON object of generate() options ({error}), got {text!r}"
        ) from None
    if not isinstance(found, dict):
        raise UserError(f"{flag} must be a JSON object of generate() options, got {text!r}")
    check_option_names(found, flag)
    return found


def check_option_names(options: dict, flag: str, extra: Sequence[str] = ()) -> None:
    """Refuse an option generate() does not have (a typo would otherwise end in a traceback mid-sheet)."""
    known = {option.name for option in option_fields()} | set(extra)
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(
            f"{flag}: unknown option(s) {', '.join(unknown)}; generate() takes {', '.join(sorted(known))}"
        )


def parse_arms(specs: Sequence[str], options: dict) -> dict[str, dict]:
    """`NAME=JSON` arm specifications → name → generate() options (each over `options`); no arm → one
    arm, "generated", with `options`. An arm's `"model": DIR` writes its poems with that model folder
    instead of --model (so readers can compare two models on the same prompts and seeds)."""
    if not specs:
        return {"generated": options}
    arms = {}
    for spec in specs:
        name, equals, text = spec.partition("=")
        try:
            extra = json.loads(text or "{}") if equals else None  # (NAME= : the common options alone)
        except ValueError:
            extra = None
        if not re.fullmatch(r"[\w.-]+", name) or not isinstance(extra, dict) or name in arms:
            raise UserError(
                f"--arm takes NAME=JSON options, a new name of letters, digits, . or -; got {spec!r}"
            )
        check_option_names(extra, f"--arm {name}", extra=("model",))
        if "model" in extra and not (isinstance(extra["model"], str) and extra["model"]):
            raise UserError(f'--arm {name}: "model" must name a model folder, got {extra["model"]!r}')
        arms[name] = options | extra
    return arms


def merge_arms(poems_by_arm: dict[str, list[dict]]) -> list[dict]:
    """The arms' poems, a poem several arms wrote (the same prompt and seed often give the same poem) once,
    with the names of the arms that wrote it."""
    merged: dict[tuple[str, ...], dict] = {}
    for name, poems in poems_by_arm.items():
        for poem in poems:
            entry = merged.setdefault(tuple(poem["lines"]), poem | {"arms": []})
            entry["arms"].append(name)
    return list(merged.values())


def real_poems(corpus, forms: Sequence[str], seed: int, exclude: set[str] = frozenset()) -> list[dict]:
    """One intact test-split poem per entry of `forms`, none twice. Poems whose body is in `exclude` (shown
    by earlier rounds) come only where a form has too few others left; each such poem is marked
    `"shown_before": True` (readers who rated earlier rounds may know it)."""
    choice = random.Random(seed)
    poems = []
    for form in sorted(set(forms)):
        intact = [p for p in corpus.split("test", forms=[form]) if is_intact(p.lines)]
        fresh = [p for p in intact if "".join(p.lines) not in exclude]
        wanted = list(forms).count(form)
        if wanted > len(intact):
            raise UserError(f"the test split has {len(intact)} {form} poems; {wanted} are needed")
        picked = choice.sample(fresh, min(wanted, len(fresh)))
        shown = [p for p in intact if "".join(p.lines) in exclude]
        picked += choice.sample(shown, wanted - len(picked))
        for poem in picked:
            poems.append(
                {
                    "source": "real",
                    "form": form,
                    "title": poem.title,
                    "author": poem.author,
                    "lines": list(poem.lines),
                    "shown_before": "".join(poem.lines) in exclude,
                }
            )
    return poems


def render(lines: Sequence[str]) -> list[str]:
    """A poem as the sheet shows it: one couplet a row, "，" inside, "。" at the end."""
    return [f"{lines[i]}，{lines[i + 1]}。" for i in range(0, len(lines) - 1, 2)]


def build_sheet(poems: Sequence[dict], seed: int, script: str = "traditional") -> tuple[str, dict]:
    """Shuffle and number `poems` (dicts with "source" and "lines", in traditional script): the sheet
    text, and the key entries by number. Both sources pass through the same conversion to `script`."""
    if script not in SCRIPTS:
        raise UserError(f"unknown script {script!r}; choose one of {', '.join(SCRIPTS)}", field="script")
    order = list(poems)
    random.Random(seed).shuffle(order)
    blocks, key = [], {}
    for number, poem in enumerate(order, 1):
        # The model and the corpus write traditional already; converting only for simplified leaves both
        # untouched otherwise (a traditional → traditional pass would re-map some characters).
        lines = (
            [convert(line, script) for line in poem["lines"]] if script != "traditional" else poem["lines"]
        )
        blocks.append("\n".join([str(number), *render(lines)]))
        key[str(number)] = {**poem, "lines": list(lines), "source_lines": list(poem["lines"])}
    return "\n\n".join(blocks) + "\n", key


def used_real_bodies(evaluation_dir: Path) -> set[str]:
    """Bodies of the real poems earlier rounds showed (kept off new sheets: readers may meet them twice)."""
    used = set()
    for key_path in sorted(evaluation_dir.glob(f"round-*/{KEY_FILE}")):
        try:
            entries = json.loads(key_path.read_text(encoding="utf-8"))["poems"].values()
            used |= {"".join(e["source_lines"]) for e in entries if e["source"] == "real"}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise UserError(f"{key_path}: not a key this script wrote (cannot read its real poems)") from None
    return used


def next_round_dir(evaluation_dir: Path, today: datetime.date, kind: str = "round") -> Path:
    """The first free folder KIND-YYYYMMDD-a, -b, … of today (kind: round, couplets, themes)."""
    for letter in string.ascii_lowercase:
        candidate = evaluation_dir / f"{kind}-{today:%Y%m%d}-{letter}"
        if not candidate.exists():
            return candidate
    raise UserError(f"26 {kind} rounds today already under {evaluation_dir}; pass --round-dir")


def seed_of(name: str) -> int:
    """A seed from the round's name: each round draws other poems, and rebuilding one draws the same."""
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], 16)


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


# ---------------------------------------------------------------------------------------------- ratings
@dataclass(frozen=True)
class Rating:
    guess: str  # "human" or "machine"
    fluency: int
    coherence: int
    meaning: int
    overall: int
    known: bool = False  # the reader recognised the poem (`# known` after its line)


_LINE = re.compile(r"^(\d+)\s*[:：.]\s*(.*)$")


def _rating(values: Sequence, where: str, known: bool = False) -> Rating:
    if len(values) != 5:
        raise UserError(
            f"{where}: expected a guess (H or M) and four scores ({' '.join(MEASURES)}), "
            f"got {len(values)} values: {' '.join(map(str, values))!r}"
        )
    guess = GUESSES.get(str(values[0]).strip().lower())
    if guess is None:
        raise UserError(f"{where}: the guess must be H (human) or M (machine), got {values[0]!r}")
    scores = []
    for measure, value in zip(MEASURES, values[1:], strict=True):
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 5:
            raise UserError(f"{where}: {measure} must be a whole number from 1 to 5, got {value!r}")
        scores.append(int(text))
    return Rating(guess, *scores, known=known)


def parse_ratings(text: str, name: str) -> tuple[str | None, dict[int, Rating]]:
    """A ratings file (JSON or the line format of docs/evaluation/README.md): (reader or None, ratings)."""
    if text.lstrip().startswith(("{", "[")):
        return _parse_json(text, name)
    reader, ratings, lines_of = None, {}, {}
    for line_number, raw in enumerate(text.splitlines(), 1):
        line, _, comment = (part.strip() for part in raw.partition("#"))
        if not line:
            continue
        if line.lower().startswith("reader:"):
            reader = line.split(":", 1)[1].strip() or None
            continue
        match = _LINE.match(line)
        if not match:
            raise UserError(
                f"{name} line {line_number}: expected 'N: H 4 3 3 4' (poem number, guess, "
                f"{' '.join(MEASURES)}), got {raw.strip()!r}"
            )
        number = int(match[1])
        if number in ratings:
            raise UserError(
                f"{name} line {line_number}: poem {number} is rated again (first on line {lines_of[number]})"
            )
        values = match[2].replace(",", " ").split()
        # `# known` (or `# known: 王维 …`) marks a poem the reader recognised; "unknown" or "not known" does not
        known = re.match(r"known\b", comment.lower()) is not None
        ratings[number] = _rating(values, f"{name} line {line_number}", known)
        lines_of[number] = line_number
    return reader, ratings


def _parse_json(text: str, name: str) -> tuple[str | None, dict[int, Rating]]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UserError(f"{name}: not valid JSON ({error})") from None
    if isinstance(document, list):
        document = {"ratings": document}
    entries = document.get("ratings") if isinstance(document, dict) else None
    if isinstance(entries, list):  # [{"poem": 1, "guess": "H", ...}, ...]
        entries = {str(e.get("poem")) if isinstance(e, dict) else "?": e for e in entries}
    if not isinstance(entries, dict):
        raise UserError(f'{name}: expected {{"reader": ..., "ratings": {{"1": {{...}}, ...}}}}')
    ratings = {}
    for number_text, entry in entries.items():
        where = f"{name} poem {number_text}"
        if not str(number_text).isdigit():
            raise UserError(f"{name}: {number_text!r} is not a poem number")
        if isinstance(entry, dict):
            missing = [k for k in ("guess", *MEASURES) if k not in entry]
            if missing:
                raise UserError(f"{where}: missing {', '.join(missing)}")
            known = entry.get("known", False)
            if not isinstance(known, bool):
                raise UserError(f'{where}: "known" must be true or false, got {known!r}')
            entry = [entry["guess"], *(entry[m] for m in MEASURES)]
        elif isinstance(entry, list):
            known = False
        else:
            raise UserError(f"{where}: expected an object or a list [guess, {', '.join(MEASURES)}]")
        ratings[int(number_text)] = _rating(entry, where, known)
    reader = document.get("reader")
    return (str(reader) if reader else None), ratings


def check_complete(ratings: dict[int, Rating], numbers: set[int], name: str) -> None:
    missing = sorted(numbers - ratings.keys())
    unknown = sorted(ratings.keys() - numbers)
    if missing or unknown:
        parts = [f"no rating for poem {', '.join(map(str, missing))}"] if missing else []
        parts += [f"poem {', '.join(map(str, unknown))} is not on the sheet"] if unknown else []
        raise UserError(f"{name}: {'; '.join(parts)} (the sheet has poems 1 to {max(numbers)})")


# ---------------------------------------------------------------------------------------------- summary
def stats(values: Sequence[float]) -> dict:
    if not values:
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None}
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 3),
        "sd": round(sd, 3),
        "min": min(values),
        "max": max(values),
    }


def _group(rows: list[tuple[str, int, Rating]], key: dict) -> dict:
    """Means per source and measure, and the share of each source judged the other, for `rows`."""
    out = {}
    for source in SOURCES:
        ratings = [r for _, n, r in rows if key[str(n)]["source"] == source]
        wrong = "human" if source == "generated" else "machine"
        out[source] = {m: stats([getattr(r, m) for r in ratings]) for m in MEASURES}
        share = sum(r.guess == wrong for r in ratings) / len(ratings) if ratings else None
        out[source][f"judged_{wrong}"] = round(share, 3) if share is not None else None
    return out


def summarize(key: dict, ratings_by_reader: dict[str, dict[int, Rating]]) -> dict:
    poems = key["poems"]
    rows = [
        (reader, n, r) for reader, ratings in ratings_by_reader.items() for n, r in sorted(ratings.items())
    ]
    summary = {"round": key.get("round"), "readers": list(ratings_by_reader), "ratings": len(rows)}
    summary["known_ratings"] = sum(r.known for _, _, r in rows)
    summary["by_source"] = _group(rows, poems)
    summary["generated_judged_human"] = summary["by_source"]["generated"]["judged_human"]
    summary["real_judged_machine"] = summary["by_source"]["real"]["judged_machine"]
    forms = sorted({p["form"] for p in poems.values()}, key=lambda f: FORMS.index(f) if f in FORMS else 99)
    summary["by_form"] = {f: _group([x for x in rows if poems[str(x[1])]["form"] == f], poems) for f in forms}
    modes = [m for m in MODES if any(p.get("mode") == m for p in poems.values())]
    summary["by_mode"] = {
        m: _group([x for x in rows if poems[str(x[1])].get("mode") == m], poems)["generated"] for m in modes
    }
    summary["by_reader"] = {r: _group([x for x in rows if x[0] == r], poems) for r in ratings_by_reader}
    arms = sorted({arm for p in poems.values() for arm in p.get("arms", ())})
    if len(arms) > 1:  # each arm's poems, those it shares with other arms included
        summary["by_arm"] = {
            arm: _group([x for x in rows if arm in poems[str(x[1])].get("arms", ())], poems)["generated"]
            for arm in arms
        }
    if len(arms) > 1:
        summary["paired"] = {
            f"{a} − {b}": paired_stats(prompt_differences(poems, rows, a, b)) for a, b in arm_pairs(arms)
        }
    summary["by_poem"] = {
        n: {
            "source": p["source"],
            "form": p["form"],
            "overall": stats([r.overall for _, m, r in rows if str(m) == n])["mean"],
            "judged_human": sum(r.guess == "human" for _, m, r in rows if str(m) == n),
            "known": sum(r.known for _, m, r in rows if str(m) == n),
        }
        for n, p in sorted(poems.items(), key=lambda item: int(item[0]))
    }
    return summary


def arm_pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(arms) for b in arms[i + 1 :]]


def prompt_differences(
    poems: dict, rows: list[tuple[str, int, Rating]], first: str, second: str
) -> list[dict[str, float]]:
    """Per prompt (the request's seed) that both arms wrote for: arm `first`'s poem minus arm `second`'s,
    each measure the mean over readers (a poem both arms wrote differs by 0)."""
    means: dict[str, dict[str, float]] = {}
    for number, poem in poems.items():
        ratings = [r for _, n, r in rows if str(n) == number]
        if poem["source"] == "generated" and ratings:
            means[number] = {m: statistics.fmean(getattr(r, m) for r in ratings) for m in MEASURES}
    by_arm: dict[str, dict[int, str]] = {first: {}, second: {}}
    for number, poem in poems.items():
        seed = poem.get("request", {}).get("seed")
        for arm in poem.get("arms", ()):
            if arm in by_arm and number in means and seed is not None:
                by_arm[arm][seed] = number
    shared = sorted(by_arm[first].keys() & by_arm[second].keys())
    return [
        {m: means[by_arm[first][seed]][m] - means[by_arm[second][seed]][m] for m in MEASURES}
        for seed in shared
    ]


def paired_stats(differences: Sequence[dict[str, float]]) -> dict:
    """Per measure: the mean difference, its standard error, and how many prompts went each way."""
    found = {"prompts": len(differences)}
    for measure in MEASURES:
        values = [d[measure] for d in differences]
        error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else None
        found[measure] = {
            "mean": round(statistics.fmean(values), 4) if values else None,
            "se": None if error is None else round(error, 4),
            "better": sum(v > 0 for v in values),
            "equal": sum(v == 0 for v in values),
            "worse": sum(v < 0 for v in values),
        }
    return found


def paired_markdown(paired: dict) -> list[str]:
    def cell(s: dict) -> str:
        if s["mean"] is None:
            return "–"
        spread = "" if s["se"] is None else f" ± {s['se']:.2f}"
        return f"{s['mean']:+.2f}{spread} ({s['better']}/{s['equal']}/{s['worse']})"

    out = [
        "",
        "Paired by prompt (mean difference ± standard error; prompts better / equal / worse):",
        "",
        "| arms | prompts | " + " | ".join(MEASURES) + " |",
        "|---" * (len(MEASURES) + 2) + "|",
    ]
    for name, found in paired.items():
        out.append(f"| {name} | {found['prompts']} | " + " | ".join(cell(found[m]) for m in MEASURES) + " |")
    return out


def summary_markdown(summary: dict) -> str:
    def cell(s: dict) -> str:
        return "–" if s["n"] == 0 else f"{s['mean']:.2f} ± {s['sd']:.2f} (n {s['n']})"

    def share(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    out = [
        f"# Summary of {summary['round']}",
        "",
        f"Readers: {', '.join(summary['readers'])}; {summary['ratings']} ratings "
        f"({summary['known_ratings']} of a poem the reader recognised).",
        "",
        f"- generated poems judged human: **{share(summary['generated_judged_human'])}**",
        f"- real poems judged machine: **{share(summary['real_judged_machine'])}**",
        "",
        "| source | " + " | ".join(MEASURES) + " |",
        "|---" * (len(MEASURES) + 1) + "|",
    ]
    for source in SOURCES:
        out.append(
            f"| {source} | " + " | ".join(cell(summary["by_source"][source][m]) for m in MEASURES) + " |"
        )
    out += [
        "",
        "| form | generated overall | real overall | generated judged human | real judged machine |",
        "|---|---|---|---|---|",
    ]
    for form, group in summary["by_form"].items():
        out.append(
            f"| {form} | {cell(group['generated']['overall'])} | {cell(group['real']['overall'])} | "
            f"{share(group['generated']['judged_human'])} | {share(group['real']['judged_machine'])} |"
        )
    out += ["", "| generated, by mode | overall | fluency | judged human |", "|---|---|---|---|"]
    for mode, group in summary["by_mode"].items():
        out.append(
            f"| {mode} | {cell(group['overall'])} | {cell(group['fluency'])} | {share(group['judged_human'])} |"
        )
    if "by_arm" in summary:
        out += [
            "",
            "| arm | " + " | ".join(MEASURES) + " | judged human |",
            "|---" * (len(MEASURES) + 2) + "|",
        ]
        for arm, group in summary["by_arm"].items():
            cells = " | ".join(cell(group[m]) for m in MEASURES)
            out.append(f"| {arm} | {cells} | {share(group['judged_human'])} |")
    if "paired" in summary:
        out += paired_markdown(summary["paired"])
    out += [
        "",
        "| reader | generated overall | real overall | generated judged human | real judged machine |",
        "|---|---|---|---|---|",
    ]
    for reader, group in summary["by_reader"].items():
        out.append(
            f"| {reader} | {cell(group['generated']['overall'])} | {cell(group['real']['overall'])} | "
            f"{share(group['generated']['judged_human'])} | {share(group['real']['judged_machine'])} |"
        )
    out += ["", "| poem | source | form | overall | judged human | recognised |", "|---|---|---|---|---|---|"]
    for number, poem in summary["by_poem"].items():
        overall = "–" if poem["overall"] is None else f"{poem['overall']:.2f}"
        out.append(
            f"| {number} | {poem['source']} | {poem['form']} | {overall} | {poem['judged_human']} | "
            f"{poem['known']} |"
        )
    return "\n".join(out) + "\n"


def load_key(path: Path) -> dict:
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
        poems = key["poems"]
        if not poems or not all(p["source"] in SOURCES and p["form"] for p in poems.values()):
            raise ValueError("no poems or an unknown source")
        if sorted(map(int, poems)) != list(range(1, len(poems) + 1)):
            raise ValueError("poem numbers are not 1 to N")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UserError(f"{path}: not a key written by 'blind_eval.py sheet' ({error})") from None
    return key


def load_ratings(key: dict, paths: Sequence[Path]) -> dict[str, dict[int, Rating]]:
    """Each ratings file checked against the key, by reader."""
    numbers = set(map(int, key["poems"]))
    ratings_by_reader: dict[str, dict[int, Rating]] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8-sig")  # (a byte-order mark, as Notepad writes, is dropped)
        except OSError as error:
            raise UserError(f"cannot read ratings file {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise UserError(f"ratings file {path} is not UTF-8 text; save it as UTF-8") from None
        reader, ratings = parse_ratings(text, path.name)
        check_complete(ratings, numbers, path.name)
        reader = reader or path.stem
        if reader in ratings_by_reader:
            raise UserError(f"{path.name}: reader {reader!r} already rated this sheet in another file")
        ratings_by_reader[reader] = ratings
    return ratings_by_reader


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


def run_command(args: argparse.Namespace, handlers: dict) -> int:
    """Run the chosen subcommand; a UserError is one line on stderr and exit status 2, not a traceback."""
    try:
        return handlers[args.command](args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
