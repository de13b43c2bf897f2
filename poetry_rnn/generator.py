"""PoetryGenerator: poems under form, rhyme and tone constraints — the API the app and the CLI use.

    gen = PoetryGenerator.from_pretrained()            # data/default_model or $POETRY_RNN_MODEL
    poems = gen.generate(form="qilv", acrostic="春江花月夜色正明", n=8, seed=1)

    python -m poetry_rnn generate --form qilv --acrostic 春江花月夜色正明 --rhyme pingshui --tone strict \
        --n 8 --seed 1 --json

A request is validated completely before decoding (every bad field raises `UserError` naming it). The
rules become constraints (poetry_rnn.decoding); candidates are sampled as one batch (or found by beam
search), checked once more with the 格律 checker, and returned best first. Each call keeps its state
local and draws randomness only from its own seeded `torch.Generator`, so one generator may serve
concurrent requests and the same seed and options give the same poems.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from poetry_rnn.corpus import conditioning_ids, render_body
from poetry_rnn.decoding.constraints import (
    PATTERNS,
    AcrosticConstraint,
    Constraint,
    ConstraintSet,
    FormConstraint,
    OriginalityConstraint,
    RepetitionConstraint,
    RhymeConstraint,
    ToneConstraint,
)
from poetry_rnn.decoding.originality import CorpusLines, resolve_corpus_lines, write_corpus_lines
from poetry_rnn.decoding.search import Deadline, SamplingOptions, beam_search, sample
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.tables import VocabularyTables
from poetry_rnn.errors import UserError
from poetry_rnn.model import make_stepper
from poetry_rnn.prosody.check import Analysis, analyze, analyze_lines
from poetry_rnn.prosody.patterns import Form, TonePattern, get_form, tone_patterns
from poetry_rnn.prosody.rhyme import RhymeScheme, get_scheme, is_cjk
from poetry_rnn.script import SCRIPTS, SimplifiedIndex, convert, normalize_variants, to_traditional

__all__ = ["GeneratedPoem", "PoetryGenerator", "write_corpus_lines", "configure_parser", "run"]

log = logging.getLogger(__name__)

RHYME_SCHEMES = ("pingshui", "xinyun", "none")
TONE_MODES = ("strict", "standard", "off")
# Inference precision of the model's matrix products; $POETRY_RNN_PRECISION overrides it. int8: decoding
# about 1.9x faster on one CPU thread, test char_ppl 76.31 vs 76.27 in fp32 (see the model card).
DEFAULT_PRECISION = "int8"
MAX_N = 64
MAX_BEAM = 32
MAX_TEMPERATURE = 5.0
DEFAULT_TEMPERATURE = 0.85
DEFAULT_TOP_P = 0.95
MIN_TEMPERATURE = 0.01  # (far below it, log-probabilities / temperature overflow to -inf: NaN weights)
MAX_TITLE_CHARS = 20
MAX_CACHED_CONSTRAINTS = 256  # constraint objects kept with their mask caches (see _constraints)
MAX_THEME_CHARS = 200
MAX_KEYWORDS = 8
MAX_KEYWORD_CHARS = 8
TITLE_CONDITIONING_CHARS = 12  # titles were cut to this length in training
MAX_ROUNDS = 4  # decoding rounds to replace candidates that died or failed the final check
SHAPE_FAULTS = frozenset({"字数", "句数"})
RHYME_FAULTS = frozenset({"出韵", "重韵"})
TONE_FAULTS = frozenset({"失粘", "失对", "孤平", "三平尾", "不协平仄"})
# Sampled rhyme groups need this many usable characters per rhyme line, so that the rhyme lines never run
# out of characters; a group the user names needs only one spare.
AUTO_GROUP_CHARS_PER_RHYME = 3

_SCHEME_ALIASES = {"平水韵": "pingshui", "平水韻": "pingshui", "中华新韵": "xinyun", "中華新韻": "xinyun",
                   "新韵": "xinyun", "新韻": "xinyun", "无": "none", "無": "none", "": "none"}  # fmt: skip
_KEYWORD_SPLIT = re.compile(r"[\s,，、;；/|]+")


@dataclass
class GeneratedPoem:
    lines: list[str]  # in the requested script
    text: str  # lines joined with ，。
    score: float  # mean log-probability per chosen piece under the model (dictated ones not counted)
    rhyme_group: str | None
    rhyme_group_label: str | None
    pattern_name: str | None  # e.g. 平起首句入韵
    seed: int
    analysis: Analysis  # the checker's analysis of `text`
    ok: bool  # no fault of the kinds the request asked to avoid
    form: str = ""
    rhyme_scheme: str = "pingshui"
    tone: str = "strict"
    script: str = "traditional"
    notes: list[str] = field(default_factory=list)  # e.g. that the originality check was off

    def to_dict(self) -> dict:
        return {
            "lines": self.lines,
            "text": self.text,
            "score": round(self.score, 4),
            "rhyme_group": self.rhyme_group,
            "rhyme_group_label": self.rhyme_group_label,
            "pattern": self.pattern_name,
            "seed": self.seed,
            "ok": self.ok,
            "form": self.form,
            "rhyme_scheme": self.rhyme_scheme,
            "tone": self.tone,
            "script": self.script,
            "notes": self.notes,
            "analysis": self.analysis.to_dict(),
        }


@dataclass
class _Request:
    """A validated request: everything decoding needs, nothing left to check."""

    form: Form
    rhyme_scheme: str  # pingshui | xinyun | none
    tone: str
    patterns: list[TonePattern]
    rhyme_groups: tuple[str, ...]
    heads: list[set[str]] | None
    first_line: str | None
    title: str | None
    keywords: list[str]
    n: int
    candidates: int
    seed: int
    options: SamplingOptions
    beam: int
    script: str
    originality: bool
    max_repeat: int | None
    time_limit: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def tone_scheme(self) -> str:
        """Tones come from the rhyme scheme; with no rhyme scheme, from 平水韵."""
        return self.rhyme_scheme if self.rhyme_scheme != "none" else "pingshui"

    @property
    def strictness(self) -> str:
        return self.tone if self.tone != "off" else "standard"

    @property
    def judged_faults(self) -> frozenset[str]:
        kinds = set(SHAPE_FAULTS)
        if self.rhyme_scheme != "none":
            kinds |= RHYME_FAULTS
        if self.tone != "off":
            kinds |= TONE_FAULTS
        return frozenset(kinds)


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) == "So"
        or 0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or code in (0xFE0F, 0x200D)
    )


def _chinese_text(value, field_name: str, what: str, allow_punctuation: bool = False) -> str:
    """The text with spaces removed; UserError unless it is only Chinese characters."""
    if not isinstance(value, str):
        raise UserError(f"{what} must be text, got {type(value).__name__}", field=field_name)
    text = "".join(value.split())
    if allow_punctuation:
        text = text.strip("，。、；！？,.;!?")
    emoji = [c for c in text if _is_emoji(c)]
    if emoji:
        raise UserError(
            f"{what} contains emoji ({''.join(emoji)}); use Chinese characters only", field=field_name
        )
    other = sorted({c for c in text if not is_cjk(c)})
    if other:
        raise UserError(
            f"{what} may contain only Chinese characters; found {' '.join(other)}", field=field_name
        )
    return text


def _integer(value, field_name: str, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value)
            else:
                raise ValueError
        except ValueError:
            raise UserError(f"{what} must be a whole number, got {value!r}", field=field_name) from None
    if not low <= value <= high:
        raise UserError(f"{what} must be from {low} to {high}, got {value}", field=field_name)
    return value


def _number(value, field_name: str, what: str) -> float:
    if isinstance(value, bool):
        raise UserError(f"{what} must be a number, got {value!r}", field=field_name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a number, got {value!r}", field=field_name) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise UserError(f"{what} must be a finite number, got {value!r}", field=field_name)
    return number


class PoetryGenerator:
    """A model with its tokenizer, vocabulary tables and (lazily) the corpus lines for originality."""

    def __init__(
        self,
        model,
        tokenizer,
        model_dir: str | Path | None = None,
        corpus_source: str | Path | None = None,
        corpus_lines: CorpusLines | None = None,
        precision: str = "fp32",
    ):
        """precision: the stepper's, "fp32" (the model's own weights) or "int8" (see from_pretrained)."""
        self.model = model.eval()
        self.stepper = make_stepper(self.model, precision)  # the search runs the model through it
        self.tokenizer = tokenizer
        self.model_dir = Path(model_dir) if model_dir else None
        self.corpus_source = corpus_source
        self.tables = VocabularyTables.build(tokenizer)
        self._corpus_lines = corpus_lines
        self._corpus_lines_resolved = corpus_lines is not None
        self._lock = threading.Lock()
        self._simplified_index: SimplifiedIndex | None = None
        self._constraint_cache: dict = {}  # tone/rhyme constraints keep mask caches: share across calls

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        corpus_source: str | Path | None = None,
        precision: str | None = None,
    ) -> PoetryGenerator:
        """precision: "int8" (int8 weights for the matrix products; about 1.9x faster decoding on a CPU,
        test perplexity within 0.1 % of fp32 for the shipped model) or "fp32"; None = $POETRY_RNN_PRECISION
        or DEFAULT_PRECISION."""
        from poetry_rnn.model import default_model_dir, load_pretrained, validate_precision

        precision = validate_precision(
            precision or os.environ.get("POETRY_RNN_PRECISION") or DEFAULT_PRECISION
        )
        directory = Path(path) if path else default_model_dir()
        if not directory.is_dir():
            raise UserError(
                f"no model at {directory}; train one (python -m poetry_rnn train) or pass --model",
                field="model",
            )
        model, tokenizer = load_pretrained(directory)
        return cls(model, tokenizer, model_dir=directory, corpus_source=corpus_source, precision=precision)

    # ------------------------------------------------------------------------------------------ helpers
    def corpus_lines(self) -> CorpusLines | None:
        if not self._corpus_lines_resolved:
            with self._lock:
                if not self._corpus_lines_resolved:
                    self._corpus_lines = resolve_corpus_lines(self.model_dir, self.corpus_source)
                    self._corpus_lines_resolved = True
        return self._corpus_lines

    def simplified_index(self) -> SimplifiedIndex:
        if self._simplified_index is None:
            with self._lock:
                if self._simplified_index is None:
                    self._simplified_index = SimplifiedIndex(self.tables.ids_starting_with)
        return self._simplified_index

    def check(self, text: str, scheme: str = "pingshui") -> Analysis:
        return analyze(text, scheme=scheme)

    def usable_rhyme_chars(self, scheme: str, group: str) -> frozenset[str]:
        """Characters of `group` that the model can write at a rhyme position."""
        return self.tables.scheme(scheme).group_chars[group]

    def rhyme_groups(self, scheme: str = "pingshui", script: str = "traditional") -> list[tuple[str, str]]:
        """(group id, label with example characters) for each group the model can rhyme in, for UI lists."""
        scheme_name = self._scheme_name(scheme)
        if scheme_name == "none":
            return []
        rhyme_scheme = get_scheme(scheme_name)
        found = []
        for group in rhyme_scheme.level_groups:
            usable = self.usable_rhyme_chars(scheme_name, group)
            if len(usable) < 5:
                continue
            examples = [c for c in rhyme_scheme.examples(group, k=40) if c in usable][:6]
            shown = (
                "".join(convert(c, script) for c in examples) if script == "simplified" else "".join(examples)
            )
            found.append((group, f"{rhyme_scheme.group_label(group, script)} {shown}"))
        return found

    @staticmethod
    def _scheme_name(value) -> str:
        key = str(value).strip().lower() if value is not None else "none"
        key = _SCHEME_ALIASES.get(key, key)
        if key not in RHYME_SCHEMES:
            raise UserError(
                f"unknown rhyme scheme {value!r}; allowed: pingshui (平水韵), xinyun (中华新韵), none",
                field="rhyme_scheme",
            )
        return key

    def _to_model_script(self, text: str) -> str:
        """Input in either script → the characters the model writes (traditional for the default model).
        A character the model knows stays as it is; others are converted."""
        known = self.tables.ids_starting_with
        converted = to_traditional(text)
        if len(converted) != len(text):
            return "".join(c if normalize_variants(c) in known else to_traditional(c) for c in text)
        return "".join(
            normalize_variants(c) if normalize_variants(c) in known else t
            for c, t in zip(text, converted, strict=True)
        )

    # ------------------------------------------------------------------------------------------ validation
    def _validate(
        self,
        form,
        rhyme_scheme,
        rhyme_group,
        first_line_rhymes,
        tone,
        acrostic,
        first_line,
        title,
        keywords,
        theme,
        n,
        seed,
        temperature,
        top_k,
        top_p,
        beam,
        script,
        originality,
        max_repeat,
        time_limit,
        candidates,
    ) -> _Request:
        form_spec = get_form(form) if isinstance(form, str) else None
        if form_spec is None:
            raise UserError(f"form must be a name such as qijue or 七绝, got {form!r}", field="form")
        scheme_name = self._scheme_name(rhyme_scheme)
        if tone not in TONE_MODES:
            raise UserError(f"unknown tone setting {tone!r}; allowed: {', '.join(TONE_MODES)}", field="tone")
        if script not in SCRIPTS:
            raise UserError(f"unknown script {script!r}; allowed: {', '.join(SCRIPTS)}", field="script")
        n = _integer(n, "n", 1, MAX_N, "n (number of poems)")
        candidates = n if candidates is None else _integer(candidates, "candidates", n, MAX_N, "candidates")
        beam = _integer(beam or 0, "beam", 0, MAX_BEAM, "beam")
        if seed is None:
            seed = secrets.randbelow(2**31)
        else:
            seed = _integer(seed, "seed", 0, 2**63 - 1, "seed")
        temperature = _number(temperature, "temperature", "temperature")
        if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
            raise UserError(
                f"temperature must be from {MIN_TEMPERATURE:g} to {MAX_TEMPERATURE:g}, got {temperature:g}",
                field="temperature",
            )
        top_k = _integer(top_k or 0, "top_k", 0, self.tables.vocab_size, "top_k")
        top_p = _number(top_p, "top_p", "top_p")
        if not 0 < top_p <= 1:
            raise UserError(f"top_p must be above 0 and at most 1, got {top_p:g}", field="top_p")
        if max_repeat is not None:
            max_repeat = _integer(max_repeat, "max_repeat", 1, 56, "max_repeat")
        if time_limit is not None:
            time_limit = _number(time_limit, "time_limit", "time_limit")
            if time_limit <= 0:
                raise UserError(f"time_limit must be above 0 seconds, got {time_limit:g}", field="time_limit")
        if first_line_rhymes is not None and not isinstance(first_line_rhymes, bool):
            raise UserError(
                f"first_line_rhymes must be true, false or unset, got {first_line_rhymes!r}",
                field="first_line_rhymes",
            )

        patterns = [p for p in tone_patterns(form_spec) if first_line_rhymes in (None, p.first_line_rhymes)]
        heads = self._validate_acrostic(acrostic, form_spec) if acrostic is not None else None
        line = None
        if first_line is not None:
            line = self._to_model_script(_chinese_text(first_line, "first_line", "the first line", True))
            if not line:
                raise UserError("the first line is empty", field="first_line")
            if len(line) != form_spec.chars_per_line:
                raise UserError(
                    f"the first line has {len(line)} characters; a {form_spec.chinese_name} line has "
                    f"{form_spec.chars_per_line}",
                    field="first_line",
                )
            missing = [c for c in line if c not in self.tables.ids_of_text]
            if missing and self.tokenizer.decode(self.tokenizer.encode(line)) != line:
                raise UserError(
                    f"the model cannot write {'、'.join(dict.fromkeys(missing))} (not in its vocabulary); "
                    "change the first line",
                    field="first_line",
                )
        groups = self._validate_rhyme_group(scheme_name, rhyme_group, form_spec, patterns)
        title_text = None
        if title is not None and str(title).strip():
            title_text = _chinese_text(title, "title", "the title")
            if len(title_text) > MAX_TITLE_CHARS:
                raise UserError(
                    f"the title has {len(title_text)} characters; at most {MAX_TITLE_CHARS} are allowed",
                    field="title",
                )
            title_text = self._to_model_script(title_text)
        keyword_list = self._validate_keywords(keywords)
        if theme is not None and str(theme).strip():
            keyword_list += self._theme_keywords(theme)
        return _Request(
            form=form_spec,
            rhyme_scheme=scheme_name,
            tone=tone,
            patterns=patterns,
            rhyme_groups=groups,
            heads=heads,
            first_line=line,
            title=title_text,
            keywords=list(dict.fromkeys(keyword_list)),
            n=n,
            candidates=candidates,
            seed=seed,
            options=SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p),
            beam=beam,
            script=script,
            originality=bool(originality),
            max_repeat=max_repeat,
            time_limit=time_limit,
        )

    def _validate_rhyme_group(
        self, scheme_name: str, rhyme_group, form: Form, patterns: list[TonePattern]
    ) -> tuple[str, ...]:
        if scheme_name == "none":
            if rhyme_group not in (None, ""):
                raise UserError(
                    "a rhyme group needs a rhyme scheme (pingshui or xinyun)", field="rhyme_group"
                )
            return ()
        scheme = get_scheme(scheme_name)
        rhyme_lines = max(len(p.rhyme_lines) for p in patterns)
        if rhyme_group in (None, ""):
            needed = AUTO_GROUP_CHARS_PER_RHYME * rhyme_lines
            groups = tuple(
                g for g in scheme.level_groups if len(self.usable_rhyme_chars(scheme_name, g)) >= needed
            )
            if not groups:  # a tiny vocabulary: fall back to whatever can carry the rhyme lines
                groups = tuple(
                    g
                    for g in scheme.level_groups
                    if len(self.usable_rhyme_chars(scheme_name, g)) > rhyme_lines
                )
            if not groups:
                raise UserError(
                    f"the model's vocabulary has no {scheme.chinese_name} group with {rhyme_lines + 1} "
                    "rhyme characters",
                    field="rhyme_group",
                )
            return groups
        group = self._find_group(scheme, rhyme_group)
        usable = self.usable_rhyme_chars(scheme_name, group)
        if len(usable) <= rhyme_lines:
            raise UserError(
                f"rhyme group {scheme.group_label(group)} has only {len(usable)} characters the model can "
                f"write, but a {form.chinese_name} needs {rhyme_lines} different rhyme characters (and a "
                "spare); choose another group",
                field="rhyme_group",
            )
        return (group,)

    @staticmethod
    def _find_group(scheme: RhymeScheme, value) -> str:
        text = str(value).strip()
        for group in scheme.level_groups:
            labels = {
                group,
                scheme.group_label(group, "traditional"),
                scheme.group_label(group, "simplified"),
            }
            if text in labels:
                return group
        # A bare group character (尤, 東) names the group whose label ends with it.
        matches = [
            g
            for g in scheme.level_groups
            if len(text) == 1
            and text in (scheme.group_label(g, "traditional")[-1], scheme.group_label(g, "simplified")[-1])
        ]
        if len(matches) == 1:
            return matches[0]
        allowed = " ".join(scheme.group_label(g) for g in scheme.level_groups)
        raise UserError(
            f"{text!r} is not a level-tone rhyme group of {scheme.chinese_name}; allowed: {allowed}",
            field="rhyme_group",
        )

    def _validate_acrostic(self, acrostic, form: Form) -> list[set[str]]:
        text = _chinese_text(acrostic, "acrostic", "the acrostic")
        if not text:
            raise UserError("the acrostic is empty; give one character per line", field="acrostic")
        if len(text) != form.line_count:
            raise UserError(
                f"the acrostic has {len(text)} characters but a {form.chinese_name} has {form.line_count} "
                f"lines; give exactly {form.line_count}",
                field="acrostic",
            )
        index = self.simplified_index()
        heads = []
        for char in text:
            found = {c for c in index.candidates(char) if c in self.tables.ids_starting_with}
            if not found:
                raise UserError(
                    f"the model cannot write 「{char}」 (not in its vocabulary); choose another head character",
                    field="acrostic",
                )
            heads.append(found)
        return heads

    @staticmethod
    def _validate_keywords(keywords) -> list[str]:
        if keywords is None:
            return []
        if isinstance(keywords, str):
            items = [k for k in _KEYWORD_SPLIT.split(keywords) if k]
        elif isinstance(keywords, (list, tuple)):
            items = [k for k in keywords if not (isinstance(k, str) and not k.strip())]
        else:
            raise UserError("keywords must be a list of words or one string", field="keywords")
        if len(items) > MAX_KEYWORDS:
            raise UserError(
                f"at most {MAX_KEYWORDS} keywords are allowed, got {len(items)}", field="keywords"
            )
        words = []
        for item in items:
            word = _chinese_text(item, "keywords", "a keyword")
            if len(word) > MAX_KEYWORD_CHARS:
                raise UserError(
                    f"keyword {word!r} is too long ({len(word)} characters; at most {MAX_KEYWORD_CHARS})",
                    field="keywords",
                )
            words.append(to_traditional(word))
        return words

    @staticmethod
    def _theme_keywords(theme) -> list[str]:
        if not isinstance(theme, str):
            raise UserError("the theme must be text", field="theme")
        if len(theme) > MAX_THEME_CHARS:
            raise UserError(
                f"the theme has {len(theme)} characters; at most {MAX_THEME_CHARS} are allowed", field="theme"
            )
        emoji = [c for c in theme if _is_emoji(c)]
        if emoji:
            raise UserError(f"the theme contains emoji ({''.join(emoji)}); use words only", field="theme")
        if not any(is_cjk(c) for c in theme):
            raise UserError("the theme must be written in Chinese", field="theme")
        try:
            from poetry_rnn.keywords import extract_keywords
        except ImportError:
            raise UserError(
                "themes are not available in this installation (poetry_rnn.keywords is missing); "
                "give keywords instead",
                field="theme",
            ) from None
        try:
            words = [w for w in extract_keywords(theme, k=4, method="textrank", script="traditional") if w]
        except UserError as error:
            raise UserError(f"the theme could not be read: {error}", field="theme") from None
        words = [to_traditional("".join(c for c in w if is_cjk(c))) for w in words]
        words = [w for w in words if w]
        if not words:
            raise UserError(
                "no keywords could be found in the theme; describe it in more words", field="theme"
            )
        return words

    # ------------------------------------------------------------------------------------------ constraints
    def _constraints(self, request: _Request) -> ConstraintSet:
        tables = self.tables
        form = request.form
        constraints: list[Constraint] = [FormConstraint(tables, form.chars_per_line, form.line_count)]
        if request.tone != "off" or request.rhyme_scheme != "none":
            key = (
                "tone",
                request.tone_scheme,
                form.name,
                request.tone,
                tuple(p.name for p in request.patterns),
            )
            tone = self._constraint_cache.get(key)
            if tone is None:
                tone = ToneConstraint(
                    tables, tables.scheme(request.tone_scheme), request.patterns, request.tone
                )
                self._constraint_cache[key] = tone
            constraints.append(tone)
        if request.rhyme_scheme != "none":
            key = (
                "rhyme",
                request.rhyme_scheme,
                form.name,
                tuple(p.name for p in request.patterns),
                request.rhyme_groups,
            )
            rhyme = self._constraint_cache.get(key)
            if rhyme is None:
                rhyme = RhymeConstraint(
                    tables, tables.scheme(request.rhyme_scheme), request.patterns, request.rhyme_groups
                )
                self._constraint_cache[key] = rhyme
            constraints.append(rhyme)
        if request.heads:
            # cached too: the same mask objects at every request keep the penalty caches warm
            key = ("acrostic", tuple(tuple(sorted(head)) for head in request.heads))
            acrostic = self._constraint_cache.get(key)
            if acrostic is None:
                if len(self._constraint_cache) >= MAX_CACHED_CONSTRAINTS:  # acrostics come from users
                    self._constraint_cache.clear()
                acrostic = self._constraint_cache[key] = AcrosticConstraint(tables, request.heads)
            constraints.append(acrostic)
        if request.max_repeat is not None:
            # Heads that stand for one character are reserved, so that the model cannot spend them early.
            reserved = {i: next(iter(h)) for i, h in enumerate(request.heads or ()) if len(h) == 1}
            constraints.append(RepetitionConstraint(tables, request.max_repeat, reserved))
        if request.originality:
            lines = self.corpus_lines()
            if lines is not None:
                constraints.append(OriginalityConstraint(tables, lines, form.chars_per_line))
            else:
                request.notes.append("originality check off: no corpus lines available")
        return ConstraintSet(tables, constraints)

    def _start_state(self, request: _Request, constraints: ConstraintSet) -> tuple[DecodingState, list[int]]:
        """A fresh state, advanced through the given first line (checked by the same constraints the
        decoder uses), and the ids of the first line."""
        state = constraints.new_state()
        if request.first_line is None:
            return state, []
        ids = self.tokenizer.encode(request.first_line)
        ids.append(self.tables.comma_id)
        for piece in ids:
            for constraint in constraints.hard:
                allowed = constraint.mask(state)
                if allowed is not None and not bool(allowed[piece]):
                    raise UserError(
                        self._first_line_problem(request, constraint, state, piece), field="first_line"
                    )
            constraints.advance(state, piece)
        return state, ids

    def _first_line_problem(
        self, request: _Request, constraint: Constraint, state: DecodingState, piece: int
    ) -> str:
        line = request.first_line
        chars = self.tables.chars[piece] or self.tokenizer.piece_chars(piece)
        position = state.position + 1
        if isinstance(constraint, AcrosticConstraint):
            return (
                f"the first line starts with 「{line[0]}」 but the acrostic asks for another head character"
            )
        if isinstance(constraint, ToneConstraint):
            scheme = get_scheme(request.tone_scheme)
            marks = "".join(
                "◐" if len(t) == 2 else "○" if t == {"ping"} else "●" if t == {"ze"} else "？"
                for t in (scheme.tones(c) for c in line)
            )
            templates = " / ".join(dict.fromkeys(p.lines[0] for p in request.patterns))
            return (
                f"the first line 「{line}」 ({marks}) fits no {request.form.chinese_name} tone pattern "
                f"({templates}) under tone={request.tone}: character {position} 「{chars}」 cannot stand there "
                f"(○ 平 ● 仄; 孤平 and 三平尾 are not allowed in strict)"
            )
        if isinstance(constraint, RhymeConstraint):
            scheme = get_scheme(request.rhyme_scheme)
            groups = "、".join(scheme.group_label(g) for g in request.rhyme_groups[:6])
            more = " …" if len(request.rhyme_groups) > 6 else ""
            return (
                f"the first line ends in 「{chars}」, which would have to rhyme (in {groups}{more}) but does not; "
                "end it with a rhyme character or an oblique-tone character, or choose another rhyme group"
            )
        return f"the model cannot write the first line as given (character {position} 「{chars}」)"

    # ------------------------------------------------------------------------------------------ decoding
    def generate(self, **options) -> list[GeneratedPoem]:
        """Poems for one request, best first. See the module docstring and `generate_stream` for options."""
        events = self._generate(stream=False, **options)
        while True:
            try:
                next(events)
            except StopIteration as stop:
                return stop.value

    def generate_stream(self, **options) -> Iterator[dict]:
        """Yields {"partial": [lines so far of the leading candidate]} while decoding, then
        {"done": True, "poems": [GeneratedPoem, ...]}."""
        events = self._generate(stream=True, **options)
        while True:
            try:
                yield next(events)
            except StopIteration as stop:
                yield {"done": True, "poems": stop.value}
                return

    def _generate(
        self,
        stream: bool,
        form: str = "qijue",
        rhyme_scheme: str = "pingshui",
        rhyme_group: str | None = None,
        first_line_rhymes: bool | None = None,
        tone: str = "strict",
        acrostic: str | None = None,
        first_line: str | None = None,
        title: str | None = None,
        keywords: Sequence[str] | str | None = None,
        theme: str | None = None,
        n: int = 1,
        seed: int | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        top_k: int = 0,
        top_p: float = DEFAULT_TOP_P,
        beam: int = 0,
        script: str = "traditional",
        originality: bool = True,
        max_repeat: int | None = 2,
        time_limit: float | None = None,
        candidates: int | None = None,
    ):
        request = self._validate(
            form, rhyme_scheme, rhyme_group, first_line_rhymes, tone, acrostic, first_line, title, keywords,
            theme, n, seed, temperature, top_k, top_p, beam, script, originality, max_repeat, time_limit,
            candidates,
        )  # fmt: skip
        deadline = Deadline(request.time_limit)
        constraints = self._constraints(request)
        start, first_ids = self._start_state(request, constraints)
        prefix = conditioning_ids(
            self.tokenizer,
            form=request.form.name,
            title=request.title[:TITLE_CONDITIONING_CHARS] if request.title else None,
            keywords=request.keywords or None,
        )
        prefix = prefix + first_ids
        form_spec = request.form
        max_steps = form_spec.line_count * (form_spec.chars_per_line + 1) + 2
        generator = torch.Generator().manual_seed(request.seed)
        poems: list[GeneratedPoem] = []
        seen: set[str] = set()
        last_partial = None
        with torch.inference_mode():
            for _ in range(MAX_ROUNDS):
                missing = request.candidates - len(poems)
                if missing <= 0:
                    break
                if request.beam > 1:
                    search = beam_search(
                        self.stepper,
                        constraints,
                        prefix,
                        start,
                        max(request.beam, request.candidates),
                        max_steps,
                        deadline,
                    )
                else:
                    search = sample(
                        self.stepper,
                        constraints,
                        prefix,
                        start,
                        missing,
                        request.options,
                        generator,
                        max_steps,
                        deadline,
                    )
                while True:
                    try:
                        states = next(search)
                    except StopIteration as stop:
                        states = stop.value
                        break
                    if stream:
                        partial = self._partial(states, request)
                        if partial is not None and partial != last_partial:
                            last_partial = partial
                            yield {"partial": partial}
                for state in states:
                    if not state.finished or state.dead:
                        continue
                    poem = self._finish(state, request)
                    if poem.ok and poem.text not in seen:
                        seen.add(poem.text)
                        poems.append(poem)
                if request.beam > 1:
                    break  # beam search is deterministic: another round finds the same poems
        if not poems:
            raise UserError(
                "no poem satisfying every constraint was found; try another seed or fewer constraints",
                field=None,
            )
        poems.sort(key=lambda p: -p.score)
        return poems[: request.n]

    def _partial(self, states: list[DecodingState], request: _Request) -> list[str] | None:
        alive = [s for s in states if not s.dead]
        if not alive:
            return None
        leader = max(alive, key=lambda s: s.score())
        lines = leader.all_lines()
        return [convert(line, request.script) for line in lines] if request.script == "simplified" else lines

    @staticmethod
    def _repeats_too_often(lines: list[str], request: _Request) -> bool:
        """Whether the simplified poem breaks max_repeat: distinct characters the model wrote can become one
        (雲 and 云 both give 云). Characters the user gave (first line, heads) count but are not at fault."""
        if request.max_repeat is None:
            return False
        given = Counter(lines[0] if request.first_line else "")
        if request.heads:
            given.update(line[0] for line in lines[1 if request.first_line else 0 :])
        counts = Counter("".join(lines))
        return any(count > max(request.max_repeat, given[char]) for char, count in counts.items())

    def _finish(self, state: DecodingState, request: _Request) -> GeneratedPoem:
        lines = list(state.lines)
        scheme_name = request.tone_scheme
        analysis = analyze_lines(lines, scheme=scheme_name, strictness=request.strictness)
        ok = not any(f.name in request.judged_faults for f in analysis.faults)
        if request.script == "simplified":
            lines = [convert(line, "simplified") for line in lines]
            analysis = analyze(render_body(lines), scheme=scheme_name, strictness=request.strictness)
            ok = ok and not any(f.name in request.judged_faults for f in analysis.faults)
            ok = ok and not self._repeats_too_often(lines, request)
        remaining = [request.patterns[i] for i in state.slots.get(PATTERNS, range(len(request.patterns)))]
        pattern = next((p.name for p in remaining if p.name == analysis.pattern), None)
        if pattern is None and remaining and request.tone != "off":
            pattern = remaining[0].name
        group = label = None
        if request.rhyme_scheme != "none":
            groups = state.slots.get("rhyme_groups", ())
            group = next((g for g in analysis.rhyme_groups if g in groups), groups[0] if groups else None)
            if group is not None:
                label = get_scheme(request.rhyme_scheme).group_label(group, request.script)
        return GeneratedPoem(
            lines=lines,
            text=render_body(lines),
            score=state.score(),
            rhyme_group=group,
            rhyme_group_label=label,
            pattern_name=pattern,
            seed=request.seed,
            analysis=analysis,
            ok=ok,
            form=request.form.name,
            rhyme_scheme=request.rhyme_scheme,
            tone=request.tone,
            script=request.script,
            notes=list(request.notes),
        )


# ---------------------------------------------------------------------------------------------- CLI
def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--form", default="qijue", help="wujue qijue wulv qilv (or 五绝 七绝 五律 七律)")
    parser.add_argument("--acrostic", help="藏头: one head character per line")
    parser.add_argument("--first-line", help="the first line, written as given")
    parser.add_argument("--title", help="title to condition on (at most 20 characters)")
    parser.add_argument("--keywords", help="keywords to condition on, separated by spaces or 、")
    parser.add_argument("--theme", help="a description; its keywords condition the poem")
    parser.add_argument("--rhyme", default="pingshui", help="rhyme scheme: pingshui, xinyun or none")
    parser.add_argument(
        "--rhyme-group", help="a level-tone rhyme group, e.g. 下平一先 (default: the model's choice)"
    )
    parser.add_argument(
        "--first-line-rhymes",
        choices=("yes", "no"),
        help="whether the first line rhymes (default: the model's choice)",
    )
    parser.add_argument("--tone", default="strict", choices=TONE_MODES, help="tone rules (平仄)")
    parser.add_argument("--n", type=int, default=1, help="number of poems (1–64)")
    parser.add_argument("--candidates", type=int, help="candidates to decode and rerank (default: --n)")
    parser.add_argument("--seed", type=int, help="random seed (default: drawn and reported)")
    parser.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=DEFAULT_TOP_P)
    parser.add_argument(
        "--beam", type=int, default=0, help="beam width (>1: beam search instead of sampling)"
    )
    parser.add_argument("--max-repeat", type=int, default=2, help="most times one character may occur")
    parser.add_argument("--no-originality", action="store_true", help="allow lines that occur in the corpus")
    parser.add_argument("--time-limit", type=float, help="give up after this many seconds")
    parser.add_argument("--script", default="traditional", choices=SCRIPTS)
    parser.add_argument("--model", help="model folder (default: data/default_model or $POETRY_RNN_MODEL)")
    parser.add_argument(
        "--precision",
        choices=("int8", "fp32"),
        help="model inference precision (default: $POETRY_RNN_PRECISION or " + DEFAULT_PRECISION + ")",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per poem per line")


def run(args: argparse.Namespace) -> int:
    generator = PoetryGenerator.from_pretrained(args.model, precision=args.precision)
    poems = generator.generate(
        form=args.form,
        rhyme_scheme=args.rhyme,
        rhyme_group=args.rhyme_group,
        first_line_rhymes=None if args.first_line_rhymes is None else args.first_line_rhymes == "yes",
        tone=args.tone,
        acrostic=args.acrostic,
        first_line=args.first_line,
        title=args.title,
        keywords=args.keywords,
        theme=args.theme,
        n=args.n,
        seed=args.seed,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        beam=args.beam,
        script=args.script,
        originality=not args.no_originality,
        max_repeat=args.max_repeat,
        time_limit=args.time_limit,
        candidates=args.candidates,
    )
    for rank, poem in enumerate(poems, 1):
        if args.json:
            record = poem.to_dict()
            record.pop("analysis")
            record["faults"] = [f.to_dict() for f in poem.analysis.faults]
            print(json.dumps(record, ensure_ascii=False))
            continue
        head = [f"#{rank}", f"score {poem.score:.3f}"]
        head += [x for x in (poem.pattern_name, poem.rhyme_group_label) if x]
        head.append(f"seed {poem.seed}")
        print("  ".join(head))
        for index, line in enumerate(poem.analysis.lines):
            mark = "，" if index % 2 == 0 else "。"
            print(f"  {line.text}{mark}  {line.tone_marks}")
        print("  " + ("合律 ok" if poem.ok else "faults: " + "; ".join(f.name for f in poem.analysis.faults)))
        print()
    return 0
