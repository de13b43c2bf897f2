"""Hostile input against the generate and check API, the CLI and (with --app) the web endpoints.

    python scripts/fuzz_test.py                          # 2000 API + 500 check + 200 CLI inputs, tiny model
    python scripts/fuzz_test.py --model data/default_model --api 200 --check 0 --cli 0
    python scripts/fuzz_test.py --app http://127.0.0.1:7860/ --web 200   # a running app.py, via gradio_client

Inputs (hypothesis): each option is, at random, a valid value (forms by either name, real corpus lines as
first lines, rhyme groups by id, label or character, acrostics of common characters in both scripts, ...)
or a hostile one: random unicode, huge strings (up to 200k characters), control and format characters,
mixed scripts, emoji, lone surrogates, NaN/inf/huge numbers, wrong types, nonsense combinations.

Each call must end, within HANG_SECONDS, in either
  - poems that keep everything the request asked for, judged by the checker (prosody.check.analyze):
    form, rhyme (group and first-line rhyme), tone rules, acrostic heads, first line, script, repetition
    limit, originality, n and seed; or
  - a UserError naming one of the request's fields (or none), with a message of reasonable length.
Anything else — another exception, a poem that breaks the request, a hang — is an escape. Prints a JSON
report: inputs tried and escaped per target, with the escaped inputs. Exit status 1 if any escaped.

tests/test_fuzz.py imports this module and runs the same properties with fewer examples.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.format import render_body  # noqa: E402
from poetry_rnn.generation.request import (  # noqa: E402
    find_rhyme_group,
    option_fields,
    option_flag,
    scheme_name,
    switch_names,
)
from poetry_rnn.prosody.analysis import faults_of  # noqa: E402
from poetry_rnn.prosody.check import analyze  # noqa: E402
from poetry_rnn.prosody.patterns import get_form  # noqa: E402
from poetry_rnn.prosody.rhyme import get_scheme  # noqa: E402
from poetry_rnn.script import normalize_variants, to_simplified, to_traditional  # noqa: E402

HANG_SECONDS = 60.0  # a hang guard, not a speed target: the slowest honest call takes a few seconds
MAX_MESSAGE_CHARS = 2000  # an error message must not echo a 200k-character input back
# the request's options and their defaults, as generate() takes them (a draw leaves most out)
DEFAULTS = {option.name: option.default for option in option_fields()}
GENERATE_FIELDS = frozenset({*DEFAULTS, "model"})
CHECK_FIELDS = frozenset({"text", "scheme", "strictness"})
FORM_NAMES = ["wujue", "qijue", "wulv", "qilv", "五绝", "七絕", "五言律诗", "七律", "QIJUE", " wulv "]
SCHEME_NAMES = ["pingshui", "xinyun", "none", "平水韵", "中華新韻", "新韵", "无", "", "PingShui"]
COMMON = "春江花月夜山水風雲日月星辰天地人心秋冬夏雨雪霜明清白青紅長短高低東西南北千萬一三五"
COMMON_SIMPLIFIED = "风云红长东万门书马鸟鱼龙归来开关时间"
PUNCTUATION = "，。、；！？,.;!? \t\n"


class Escape(AssertionError):
    """An input the API did not handle: another exception, a broken poem, a hang."""


# ---------------------------------------------------------------------------------------------- inputs
def _repeat(text: str, times: int) -> str:
    return text * times


HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),  # any unicode, surrogates excluded by hypothesis' default alphabet
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]), max_size=20),
    st.text("春江花月夜abcΩЖ한글ひらがなالع😀\u200d\u0301\ufe0f\u202e\x00\x1b\ufeff𠀀𪚥", max_size=30),
    st.builds(_repeat, st.text(min_size=1, max_size=4), st.integers(1_000, 50_000)),  # huge
    st.builds(_repeat, st.sampled_from(["春", "山水", "\x00", "，"]), st.integers(100, 200_000)),
    st.sampled_from(["\ud800", "a\udfffb", "春\ud83d"]),  # lone surrogates
    st.text(st.characters(min_codepoint=0x3400, max_codepoint=0x9FFF), max_size=12),  # any CJK
    st.text(st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF), max_size=8),  # CJK ext. B
)
HOSTILE_VALUE = st.one_of(
    HOSTILE_TEXT,
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # NaN, inf, subnormals, -0.0
    st.lists(HOSTILE_TEXT, max_size=12),
    st.binary(max_size=12),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
    st.tuples(st.integers(), st.text(max_size=3)),
)


def _mostly(valid: st.SearchStrategy, hostile: st.SearchStrategy = HOSTILE_VALUE) -> st.SearchStrategy:
    """A valid value 7 times in 8, else a hostile one (with a dozen options, most requests still carry
    one hostile value)."""
    return st.integers(0, 7).flatmap(lambda k: valid if k else hostile)


def _chinese(alphabet: str, low: int, high: int) -> st.SearchStrategy:
    return st.text(st.sampled_from(alphabet), min_size=low, max_size=high)


def generate_options(first_lines: list[str], rhyme_groups: list[str]) -> st.SearchStrategy[dict]:
    """Keyword arguments for PoetryGenerator.generate: any subset of the options, mostly valid values."""
    return st.fixed_dictionaries({}, optional=option_strategies(first_lines, rhyme_groups))


def option_strategies(first_lines: list[str], rhyme_groups: list[str]) -> dict[str, st.SearchStrategy]:
    """A strategy for each option of GenerationRequest (every one: a test holds this to option_fields())."""
    heads = COMMON + COMMON_SIMPLIFIED
    return {
        "form": _mostly(st.sampled_from(FORM_NAMES)),
        "rhyme_scheme": _mostly(st.sampled_from(SCHEME_NAMES)),
        "rhyme_group": _mostly(
            st.sampled_from(rhyme_groups) | st.sampled_from(["東", "尤", "阳", "十一尤", ""])
        ),
        "first_line_rhymes": _mostly(st.sampled_from([None, True, False])),
        "tone": _mostly(st.sampled_from(["strict", "standard", "off"])),
        "acrostic": _mostly(_chinese(heads, 4, 4) | _chinese(heads, 8, 8) | _chinese(heads + " ，", 3, 9)),
        "first_line": _mostly(
            st.sampled_from(first_lines)
            | _chinese(COMMON, 5, 5)
            | _chinese(COMMON, 7, 7)
            | st.sampled_from(first_lines).map(lambda line: f" {line}，")
        ),  # fmt: skip
        "title": _mostly(_chinese(COMMON + COMMON_SIMPLIFIED, 1, 24) | st.just("   ")),
        "keywords": _mostly(
            st.lists(_chinese(COMMON, 1, 4), max_size=10) | _chinese(COMMON + " 、,/|;", 0, 30)
        ),
        "theme": _mostly(
            st.sampled_from(["秋夜思鄉，月照寒江", "春天的江边，花开了", "登高望远", "。。。", "a"])
        ),
        "n": _mostly(st.integers(1, 4) | st.sampled_from([0, 65, -1, 2.0, 2.5, "3", " 2 "])),
        "seed": _mostly(st.integers(0, 2**63 - 1) | st.sampled_from([-1, 2**63, 3.0, "12", "x"])),
        "temperature": _mostly(st.floats(0.05, 5.0) | st.sampled_from([0.0, -1.0, 5.01, 1e-300, "0.8"])),
        "top_k": _mostly(st.integers(0, 50) | st.sampled_from([-1, 10**9, 1])),
        "top_p": _mostly(st.floats(0.01, 1.0) | st.sampled_from([0.0, 1.5, 1e-300, -0.5])),
        "beam": _mostly(st.integers(0, 4) | st.sampled_from([1, 33, -2])),
        "script": _mostly(st.sampled_from(["traditional", "simplified", "繁体", "latin"])),
        "originality": _mostly(st.booleans()),
        "avoid_overused": _mostly(st.booleans()),
        "one_season": _mostly(st.booleans()),
        "select_lines": _mostly(st.booleans()),
        "repeat_penalty": _mostly(st.floats(0.0, 10.0) | st.sampled_from([-0.5, 10.5, "2", float("nan")])),
        "max_repeat": _mostly(st.sampled_from([None, 1, 2, 3, 56, 0, 57])),
        "time_limit": _mostly(st.sampled_from([None, 30.0, 5.0, 0.5, 1e-6, 0, -1.0])),
        "candidates": _mostly(st.sampled_from([None, 1, 4, 8, 0, 65])),
        "parallel": _mostly(st.sampled_from([None, True, False])),
        "plan": _mostly(
            st.sampled_from(["", "off", "draw", "春風,柳", "春风，孤城，归", ",,,"])
            | _chinese(COMMON + ",", 0, 12)
        ),
    }


CHECK_TEXT = st.one_of(
    HOSTILE_VALUE,
    st.sampled_from(
        ["白日依山盡，黃河入海流。欲窮千里目，更上一層樓。", "床前明月光\n疑是地上霜\n举头望明月\n低头思故乡"]
    ),
    _chinese(COMMON + COMMON_SIMPLIFIED + PUNCTUATION, 0, 80),
    _chinese(COMMON + "，。", 400, 420),  # around the checker's 400-character limit
)


# ---------------------------------------------------------------------------------------------- judging
def _fold(char: str) -> set[str]:
    """A character in every spelling the generator treats as the same (scripts, variants)."""
    forms = {char, to_simplified(char), to_traditional(char), normalize_variants(char)}
    return forms | {to_simplified(normalize_variants(c)) for c in forms}


def _same_characters(left: str, right: str) -> bool:
    return len(left) == len(right) and all(_fold(a) & _fold(b) for a, b in zip(left, right, strict=True))


def _message_ok(error: UserError, fields: frozenset[str]) -> str | None:
    message = str(error)
    if not message.strip():
        return "empty error message"
    if len(message) > MAX_MESSAGE_CHARS:
        return f"error message of {len(message):,} characters (echoes the input?)"
    if error.field is not None and error.field not in fields:
        return f"error names an unknown field {error.field!r}"
    return None


def verify_poems(generator, options: dict, poems: list[dict]) -> list[str]:
    """What is wrong with `poems` (dicts as GeneratedPoem.to_dict() / the CLI's --json give them)."""
    problems: list[str] = []
    form = get_form(options.get("form", DEFAULTS["form"]))
    scheme = scheme_name(options.get("rhyme_scheme", DEFAULTS["rhyme_scheme"]))
    tone = options.get("tone", DEFAULTS["tone"])
    tone_scheme = scheme if scheme != "none" else "pingshui"
    strictness = tone if tone != "off" else "standard"
    n = int(options.get("n", DEFAULTS["n"]))
    if not 1 <= len(poems) <= n:
        problems.append(f"{len(poems)} poems for n={n}")
    group = options.get("rhyme_group")
    expected_group = find_rhyme_group(get_scheme(scheme), group) if scheme != "none" and group else None
    corpus_lines = generator.corpus_lines() if options.get("originality", DEFAULTS["originality"]) else None
    for poem in poems:
        lines, text = poem["lines"], poem["text"]
        where = f"poem {text!r}"
        if len(lines) != form.line_count or any(len(line) != form.chars_per_line for line in lines):
            problems.append(f"{where}: not a {form.name}")
            continue
        if text != render_body(lines):
            problems.append(f"{where}: text and lines disagree")
        if poem.get("ok") is not True:
            problems.append(f"{where}: returned with ok={poem.get('ok')}")
        faults = {f.name for f in analyze(text, scheme=tone_scheme, strictness=strictness).faults}
        judged = faults_of(
            "shape", *(["rhyme"] if scheme != "none" else []), *(["tone"] if tone != "off" else [])
        )
        if faults & judged:
            problems.append(f"{where}: faults {sorted(faults & judged)} under {tone_scheme}/{strictness}")
        if expected_group is not None and poem.get("rhyme_group") != expected_group:
            problems.append(f"{where}: rhyme group {poem.get('rhyme_group')}, asked for {expected_group}")
        rhymes = options.get("first_line_rhymes")
        if scheme != "none" and rhymes is True and poem.get("rhyme_group"):
            if poem["rhyme_group"] not in get_scheme(scheme).rhyme_groups(lines[0][-1]):
                problems.append(f"{where}: the first line should rhyme in {poem['rhyme_group']}")
        if tone != "off" and rhymes is False and "ze" not in get_scheme(tone_scheme).tones(lines[0][-1]):
            problems.append(f"{where}: the first line should end in an oblique tone (首句不入韵)")
        acrostic = options.get("acrostic")
        if acrostic is not None:
            heads = "".join(acrostic.split())
            if not _same_characters("".join(line[0] for line in lines), heads):
                problems.append(f"{where}: heads are not the acrostic {heads!r}")
        first_line = options.get("first_line")
        if first_line is not None:
            given_line = "".join(first_line.split()).strip("，。、；！？,.;!?")
            if not _same_characters(lines[0], given_line):
                problems.append(f"{where}: first line is not {given_line!r}")
        if options.get("script", DEFAULTS["script"]) == "simplified" and to_simplified(text) != text:
            problems.append(f"{where}: not in simplified characters")
        max_repeat = options.get("max_repeat", DEFAULTS["max_repeat"])
        if max_repeat is not None:
            # characters the user gave (heads, first line) may exceed the limit; the model may not add more
            given_positions = {(0, i) for i in range(len(lines[0]))} if first_line is not None else set()
            if acrostic is not None:
                given_positions |= {(row, 0) for row in range(len(lines))}
            given = Counter(lines[row][column] for row, column in given_positions)
            overused = {c: n for c, n in Counter("".join(lines)).items() if n > max(max_repeat, given[c])}
            if overused:
                problems.append(f"{where}: characters used too often {overused} (max_repeat {max_repeat})")
        if options.get("seed") is not None and int(options["seed"]) != -1:  # -1 draws a seed
            # several poems are written one by one (line selection), with the seed and the next ones, and a
            # poem that echoed an earlier one's line drew again with the seeds after those
            from poetry_rnn.generation.generator import DUPLICATE_RETRIES

            seed = int(options["seed"])
            if poem.get("seed") not in {(seed + k) % 2**63 for k in range(n + DUPLICATE_RETRIES * (n - 1))}:
                problems.append(f"{where}: seed {poem.get('seed')}, asked for {options['seed']} (n {n})")
        # (the corpus is traditional, and a simplified line's traditional original is ambiguous)
        if corpus_lines is not None and options.get("script", DEFAULTS["script"]) == "traditional":
            copied = [line for line in lines[1 if first_line is not None else 0 :] if line in corpus_lines]
            if copied:
                problems.append(f"{where}: lines copied from the corpus {copied}")
    return problems


def _timed(call):
    started = time.perf_counter()
    try:
        return call(), None, time.perf_counter() - started
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - sorting out exceptions (and SystemExit) is the point
        return None, error, time.perf_counter() - started


def _describe(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{where}: {str(error)[:300]}"


def generate_outcome(generator, options: dict) -> str:
    """'poems' or 'refused'; raises Escape for anything else."""
    poems, error, seconds = _timed(lambda: generator.generate(**options))
    if seconds > HANG_SECONDS:
        raise Escape(f"took {seconds:.0f} s")
    if error is not None:
        if not isinstance(error, UserError):
            raise Escape(_describe(error))
        problem = _message_ok(error, GENERATE_FIELDS)
        if problem:
            raise Escape(problem)
        return f"refused ({error.field})"
    problems = verify_poems(generator, options, [p.to_dict() for p in poems])
    if problems:
        raise Escape("; ".join(problems[:3]))
    return "poems"


def check_outcome(generator, text, scheme) -> str:
    analysis, error, seconds = _timed(lambda: generator.check(text, scheme=scheme))
    if seconds > HANG_SECONDS:
        raise Escape(f"took {seconds:.0f} s")
    if error is not None:
        if not isinstance(error, UserError):
            raise Escape(_describe(error))
        problem = _message_ok(error, CHECK_FIELDS | {"rhyme_scheme"})
        if problem:
            raise Escape(problem)
        return "refused"
    document = analysis.to_dict()
    json.dumps(document, ensure_ascii=False)  # JSON-able, as the app returns it
    if analysis.ok != (not analysis.faults):
        raise Escape("ok disagrees with the faults")
    return "analysis"


# every option that takes a value on the command line, by its own flag (the switches take none)
CLI_FLAGS = {
    option.name: option_flag(option.name) for option in option_fields() if option.name not in switch_names()
}


def cli_arguments(model_dir: str) -> st.SearchStrategy[tuple[list[str], dict]]:
    """(argv for `python -m poetry_rnn generate`, the options it stands for) — plus stray tokens."""
    value = st.one_of(
        st.sampled_from(["qijue", "七律", "pingshui", "none", "strict", "off", "2", "0", "-3", "1e9", "nan",
                         "simplified", "春江花月", "白日依山盡", "下平十一尤", "", " ", "--n", "-"]),
        HOSTILE_TEXT.map(lambda t: t.replace("\x00", "")[:3000]),  # argv cannot hold NUL
    )  # fmt: skip
    flags = st.dictionaries(st.sampled_from(sorted(CLI_FLAGS)), value, max_size=6)
    extra = st.lists(st.sampled_from(["--no-originality", "--first-line-rhymes", "yes", "no", "--bogus", "x"]),
                     max_size=2)  # fmt: skip
    return st.tuples(flags, extra).map(lambda pair: _argv(model_dir, *pair))


def _argv(model_dir: str, flags: dict, extra: list[str]) -> tuple[list[str], dict]:
    argv = ["generate", "--model", model_dir, "--json"]
    for name, text in flags.items():
        argv += [CLI_FLAGS[name], text]
    return argv + extra, flags


def cli_outcome(argv: list[str], flags: dict, generator, capture) -> str:
    """Run the CLI in this process; `capture()` returns (stdout, stderr) written since the last call."""
    from poetry_rnn.cli import main

    code, error, seconds = _timed(lambda: main(argv))
    out, err = capture()
    if seconds > HANG_SECONDS:
        raise Escape(f"took {seconds:.0f} s")
    if isinstance(error, SystemExit) or (error is None and code == 2):
        # (argparse quotes a bad argument back in full: the shell user's own input, as with any CLI)
        if "Traceback" in err or not err.strip():
            raise Escape(f"exit 2 without a clear message: {err[-300:]!r}")
        return "refused"
    if error is not None:
        raise Escape(_describe(error))
    if code != 0:
        raise Escape(f"exit status {code}: {err[-300:]!r}")
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    options = _cli_options(argv, flags)
    problems = verify_poems(generator, options, records)
    if problems:
        raise Escape("; ".join(problems[:3]))
    return "poems"


def _cli_options(argv: list[str], flags: dict) -> dict:
    """The API options the CLI passed on, parsed back the way the CLI parses them."""
    from poetry_rnn.generation.command import configure_parser, request_options

    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args, _ = parser.parse_known_args(argv[1:])
    return {k: v for k, v in request_options(args).items() if v is not None or k == "max_repeat"}


# ---------------------------------------------------------------------------------------------- web
WEB_FORMS = ["wujue", "qijue", "wulv", "qilv", "七律"]
WEB_MODES = ["free", "acrostic", "first_line", "title", "theme"]


def web_generate_arguments() -> st.SearchStrategy[dict]:
    """Arguments of the app's /generate endpoint: its own choices, or hostile values."""
    return st.fixed_dictionaries(
        {
            "form": _mostly(st.sampled_from(WEB_FORMS)),
            "mode": _mostly(st.sampled_from(WEB_MODES)),
            "text": _mostly(_chinese(COMMON + COMMON_SIMPLIFIED, 0, 8), HOSTILE_TEXT),
            "rhyme_scheme": _mostly(st.sampled_from(["pingshui", "xinyun", "none"])),
            "rhyme_group": _mostly(st.sampled_from(["auto", "下平十一尤", "上平一東", "尤"])),
            "first_line_rhymes": _mostly(st.sampled_from(["auto", "yes", "no"])),
            "tone": _mostly(st.sampled_from(["strict", "standard", "off"])),
            "n": _mostly(st.integers(1, 3)),
            "temperature": _mostly(st.floats(0.1, 2.0)),
            "top_p": _mostly(st.floats(0.1, 1.0)),
            "seed": _mostly(st.integers(-1, 2**31)),
            "script": _mostly(st.sampled_from(["simplified", "traditional"])),
        }
    )


def _json_safe(value):
    """gradio_client sends JSON: hostile values it cannot encode (bytes, surrogates, NaN) become text."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or infinity
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return value


def web_outcome(client, generator, arguments: dict) -> str:
    """Call /generate; a refusal must be a gradio error whose message is a clear one (not the generic
    server error), a success must be poems that keep the request."""
    from gradio_client.exceptions import AppError

    arguments = {k: _json_safe(v) for k, v in arguments.items()}
    result, error, seconds = _timed(lambda: client.predict(**arguments, api_name="/generate"))
    if seconds > HANG_SECONDS:
        raise Escape(f"took {seconds:.0f} s")
    if error is not None:
        if not isinstance(error, AppError):
            raise Escape(_describe(error))
        message = str(error)
        if "服务器错误" in message or "Server error" in message or "internal" in message.lower():
            raise Escape(f"server error: {message[:300]}")
        if len(message) > MAX_MESSAGE_CHARS + 200:
            raise Escape(f"error message of {len(message):,} characters")
        return "refused"
    options = _web_options(arguments)
    problems = verify_poems(generator, options, result["poems"])
    if problems:
        raise Escape("; ".join(problems[:3]))
    return "poems"


def _web_options(arguments: dict) -> dict:
    """What the request asked of the poems, in generate()'s terms (only the parts that can be judged)."""
    options = {"form": arguments["form"], "rhyme_scheme": arguments["rhyme_scheme"], "tone": arguments["tone"],
               "n": arguments["n"], "script": arguments["script"]}  # fmt: skip
    if arguments["rhyme_group"] not in ("auto", "", None):
        options["rhyme_group"] = arguments["rhyme_group"]
    if arguments["first_line_rhymes"] in ("yes", "no"):
        options["first_line_rhymes"] = arguments["first_line_rhymes"] == "yes"
    if arguments["mode"] in ("acrostic", "first_line"):
        options[arguments["mode"]] = str(arguments["text"]).strip()
    if arguments["seed"] is not None and str(arguments["seed"]).strip() not in (
        "",
        "-1",
    ):  # as the app reads it
        options["seed"] = arguments["seed"]
    return options


def web_check_outcome(client, text, scheme) -> str:
    from gradio_client.exceptions import AppError

    result, error, seconds = _timed(
        lambda: client.predict(_json_safe(text), _json_safe(scheme), "strict", api_name="/check")
    )
    if seconds > HANG_SECONDS:
        raise Escape(f"took {seconds:.0f} s")
    if error is not None:
        if not isinstance(error, AppError) or "服务器错误" in str(error) or "Server error" in str(error):
            raise Escape(_describe(error))
        return "refused"
    if not isinstance(result, dict) or "ok" not in result:
        raise Escape(f"unexpected result {str(result)[:200]}")
    return "analysis"


# ---------------------------------------------------------------------------------------------- campaign
class Campaign:
    """Runs a property over many hypothesis inputs, counting outcomes instead of stopping at the first
    escape (hypothesis' shrinking is off: the report lists the inputs as generated)."""

    def __init__(self, name: str):
        self.name = name
        self.outcomes: Counter[str] = Counter()
        self.escapes: list[dict] = []

    def record(self, inputs, run) -> None:
        try:
            self.outcomes[run()] += 1
        except Escape as escape:
            self.outcomes["escaped"] += 1
            self.escapes.append({"input": _shown(inputs), "problem": str(escape)})
        except Exception as error:  # noqa: BLE001 - a fault of this harness's judging, not of the app
            self.outcomes["harness error"] += 1
            self.escapes.append({"input": _shown(inputs), "problem": f"harness error: {_describe(error)}"})

    def report(self) -> dict:
        tried = sum(self.outcomes.values())
        return {"tried": tried, "escaped": self.outcomes["escaped"], "outcomes": dict(self.outcomes),
                "escapes": self.escapes[:20]}  # fmt: skip


def _shown(value):
    text = repr(value)
    return text if len(text) < 400 else text[:400] + f"... ({len(text):,} characters)"


def _settings(examples: int, seed: int):
    return settings(max_examples=max(1, examples), deadline=None, database=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck), derandomize=False)  # fmt: skip


def run_campaigns(args: argparse.Namespace) -> dict:
    import random

    import torch

    from poetry_rnn.generation.generator import PoetryGenerator

    torch.set_num_threads(1)
    random.seed(args.seed)
    generator = PoetryGenerator.from_pretrained(args.model)
    lines = generator.corpus_lines()
    first_lines = [line for line in (lines.lines() if lines is not None else []) if len(line) in (5, 7)]
    first_lines = random.Random(args.seed).sample(first_lines, min(300, len(first_lines))) or ["白日依山盡"]
    groups = [g for scheme in ("pingshui", "xinyun") for g, _ in generator.rhyme_groups(scheme)]
    report = {"model": str(generator.model_dir), "seed": args.seed}
    started = time.perf_counter()

    api = Campaign("generate")

    @_settings(args.api, args.seed)
    @given(generate_options(first_lines, groups))
    def api_property(options):
        api.record(options, lambda: generate_outcome(generator, options))

    if args.api:
        api_property()
        report["generate"] = api.report()

    checks = Campaign("check")

    @_settings(args.check, args.seed)
    @given(CHECK_TEXT, _mostly(st.sampled_from(["pingshui", "xinyun"])))
    def check_property(text, scheme):
        checks.record((text, scheme), lambda: check_outcome(generator, text, scheme))

    if args.check:
        check_property()
        report["check"] = checks.report()

    cli = Campaign("cli")
    if args.cli:
        import contextlib
        import io

        out, err = io.StringIO(), io.StringIO()

        def capture():
            texts = out.getvalue(), err.getvalue()
            for stream in (out, err):
                stream.seek(0)
                stream.truncate()
            return texts

        @_settings(args.cli, args.seed)
        @given(cli_arguments(str(generator.model_dir)))
        def cli_property(pair):
            argv, flags = pair
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                cli.record(argv, lambda: cli_outcome(argv, flags, generator, capture))

        cli_property()
        report["cli"] = cli.report()

    if args.app and args.web:
        from gradio_client import Client

        client = Client(args.app, verbose=False)
        web = Campaign("web")

        @_settings(args.web, args.seed)
        @given(web_generate_arguments())
        def web_property(arguments):
            web.record(arguments, lambda: web_outcome(client, generator, arguments))

        web_property()
        report["web_generate"] = web.report()
        web_checks = Campaign("web_check")

        @_settings(max(1, args.web // 2), args.seed)
        @given(CHECK_TEXT, _mostly(st.sampled_from(["pingshui", "xinyun"])))
        def web_check_property(text, scheme):
            web_checks.record((text, scheme), lambda: web_check_outcome(client, text, scheme))

        web_check_property()
        report["web_check"] = web_checks.report()

    parts = [v for v in report.values() if isinstance(v, dict)]
    report["inputs_tried"] = sum(p["tried"] for p in parts)
    report["inputs_escaped"] = sum(p["escaped"] for p in parts)
    report["harness_errors"] = sum(p["outcomes"].get("harness error", 0) for p in parts)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: a tiny random model built from the corpus)")
    parser.add_argument("--api", type=int, default=2000, help="generate() inputs")
    parser.add_argument("--check", type=int, default=500, help="check() inputs")
    parser.add_argument("--cli", type=int, default=200, help="`generate` CLI inputs (in-process)")
    parser.add_argument("--app", help="URL of a running app.py, for the web endpoints")
    parser.add_argument("--web", type=int, default=100, help="/generate inputs (half as many /check)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if args.model is None:
        args.model = str(
            build_tiny_model(Path(os.environ.get("POETRY_RNN_CACHE", Path.home() / ".cache" / "poetry_rnn")))
        )
    report = run_campaigns(args)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 1 if report["inputs_escaped"] or report["harness_errors"] else 0


def build_tiny_model(cache: Path) -> Path:
    """The test suite's tiny random model (char tokenizer from the corpus, corpus lines), built once."""
    directory = cache / "fuzz_tiny_model"
    if (directory / "model.safetensors").is_file() and (directory / "corpus_lines.txt").is_file():
        return directory
    from poetry_rnn.corpus import load_corpus
    from poetry_rnn.decoding.originality import default_corpus_source, write_corpus_lines
    from poetry_rnn.tokenizer import build_tokenizer

    sys.path.insert(0, str(REPO_DIR / "tests"))  # the test suite's tiny model
    from tiny_model import tiny_model_for_tests

    corpus = load_corpus(str(default_corpus_source()))
    tokenizer, _ = build_tokenizer("char", corpus)
    tiny_model_for_tests(tokenizer).save_pretrained(directory, tokenizer)
    write_corpus_lines(directory, corpus)
    return directory


if __name__ == "__main__":
    raise SystemExit(main())
