"""A blind rating sheet: a fixed prompt suite, poems generated for it (in arms, one set of options each),
as many real poems of the same forms from the corpus's test split, shuffled and numbered. The sheet shows
numbers and poems only; the key (number → source, form, prompt) is kept from readers.
Protocol: docs/evaluation/README.md."""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import re
import string
from collections.abc import Sequence
from pathlib import Path

from poetry_rnn.corpus import FORMS
from poetry_rnn.errors import UserError
from poetry_rnn.generation.request import option_fields
from poetry_rnn.quality import is_intact
from poetry_rnn.script import SCRIPTS, convert

SHEET_FILE, KEY_FILE = "sheet.txt", "key.json"
# where each round's folder goes, in the checkout (docs/evaluation/README.md)
EVALUATION_DIR = Path(__file__).resolve().parents[2] / "docs" / "evaluation"
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
