"""GenerationRequest: the options of one generation request, listed once, validated when it is made.

    request = GenerationRequest(form="七律", acrostic="春江花月夜色正明", rhyme_scheme="平水韵", n=8, seed=1)
    poems = PoetryGenerator.from_pretrained().generate(request)

Each field carries its default, its help text and how the command line spells it; the CLI builds its
parser from `dataclasses.fields(GenerationRequest)` and the app and the API build the request. Decoding
reads a new option from `ResolvedRequest.asked` (generation/resolve.py) where the rules are chosen
(generation/constraints.py); only what depends on the model's vocabulary gets a field of its own there,
made in `resolve_request`. Making a request checks everything that does not depend on a model (types,
ranges, names, the text of acrostic, first line, title and keywords) and normalises it (七绝 or QIJUE →
qijue, 平水韵 → pingshui, 严格 → strict, 繁體 → traditional, 先 → 下平一先, auto → no fixed group,
simplified keywords → traditional, a theme → its keywords); a bad value (a word for an on/off option
too) raises `UserError` naming the field. What depends on the model's vocabulary (whether it can write the
first line or the head characters, which rhyme groups it can use, top_k up to its vocabulary size) the
generator checks when it resolves the request for decoding (poetry_rnn.generation.resolve).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from poetry_rnn.errors import UserError
from poetry_rnn.generation.plan import parse_plan
from poetry_rnn.keywords import theme_keywords, theme_title
from poetry_rnn.prosody.group_names import find_rhyme_group
from poetry_rnn.prosody.patterns import STANDARD, STRICT, STRICTNESS_LEVELS, TONE_OFF, Form, get_form
from poetry_rnn.prosody.poem_text import foreign_runs
from poetry_rnn.prosody.rhyme import get_scheme, is_cjk
from poetry_rnn.script import SCRIPTS, words_to_traditional

__all__ = [
    "GenerationRequest",
    "find_rhyme_group",
    "in_range",
    "option_fields",
    "scheme_name",
    "script_name",
    "strictness_name",
    "tone_name",
]

RHYME_SCHEMES = ("pingshui", "xinyun", "none")
TONE_MODES = (STRICT, STANDARD, TONE_OFF)
MAX_N = 64
MAX_BEAM = 32
MAX_TEMPERATURE = 5.0
# Chosen by blind reading (docs/evaluation: settings side by side on fresh sheets): eight reranked
# candidates read better than one, and 0.7 better than 0.85 (round d). With line selection, 0.55 read better
# than 0.7 on two fresh sheets (rounds l and m, 48 prompts paired: overall +0.15 ± 0.08, coherence +0.19 ±
# 0.09), as good as a beam of 8 at a third of its time. The price is more of the model's stock lines across
# poems (see avoid_overused).
DEFAULT_TEMPERATURE = 0.55
DEFAULT_TOP_P = 0.95
DEFAULT_CANDIDATES = 8  # sampled candidates reranked for each poem (a beam keeps one: its width searches)
MIN_TEMPERATURE = 0.01  # (far below it, log-probabilities / temperature overflow to -inf: NaN weights)
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit integer
# The penalty is added to the tempered log-weights, so a lower temperature weakens it. Set at 2.0 when the
# temperature was 0.7 (then 2.6 % of characters repeated, Tang 2.4 %); at 0.55 a 七律 repeated 3.0-3.4
# characters against 1.4 in Tang 七律 (五律 1.6-2.0 against 0.7). At 4.0: 七律 1.7-2.2, 五律 0.8-0.9, the
# 绝句 at or under Tang's, for 0.02 nats a character; readers saw no difference (docs/experiments.md).
REPEAT_PENALTY = 4.0
MAX_REPEAT_PENALTY = 10.0  # e^-10: a character the poem has is as good as excluded
MAX_REPEAT = 56  # the characters of a 七律: a higher limit limits nothing
# What a user may type; the model is conditioned on fewer (format.MAX_TITLE_CHARS, keywords.MAX_KEYWORD_CHARS)
MAX_TITLE_INPUT_CHARS = 20
MAX_THEME_CHARS = 200
MAX_KEYWORDS = 8
MAX_KEYWORD_INPUT_CHARS = 8

# Names users type for a choice → its value, besides the value itself in any case: the labels the app shows
# for it (poetry_rnn/app/text.py, CHOICES) in either script, so that Python, the CLI and the app's API read
# the same words. Keys are lower case (the lookup lowers what was typed).
_SCHEME_ALIASES = {"平水韵": "pingshui", "平水韻": "pingshui", "中华新韵": "xinyun", "中華新韻": "xinyun",
                   "新韵": "xinyun", "新韻": "xinyun", "无": "none", "無": "none", "": "none",
                   "不押韵": "none", "不押韻": "none", "no rhyme": "none"}  # fmt: skip
_TONE_ALIASES = {"严格": "strict", "嚴格": "strict", "一三五不论": "standard", "一三五不論": "standard",
                 "标准": "standard", "標準": "standard", "1-3-5 free": "standard", "不限": "off"}  # fmt: skip
_SCRIPT_ALIASES = {"简体": "simplified", "簡體": "simplified", "简体字": "simplified", "簡體字": "simplified",
                   "繁体": "traditional", "繁體": "traditional", "繁体字": "traditional",
                   "繁體字": "traditional"}  # fmt: skip
_TONE_LABELS = {"strict": "严格", "standard": "一三五不论", "off": "不限"}
_SCRIPT_LABELS = {"simplified": "简体", "traditional": "繁體"}
_AUTO_GROUP = frozenset({"auto", "自动", "自動"})  # the app's 韵部 dropdown: no fixed group
_FIRST_LINE_RHYMES_WORDS = {"auto": None, "yes": True, "no": False}
_KEYWORD_SPLIT = re.compile(r"[\s,，、;；/|]+")


def _option(default, help: str, **cli) -> dataclasses.Field:
    """A request field with its help text. `cli` says how the command line spells it where that is not
    `--field-name TEXT`: flag (another name), type (int, float), choices, values (a word on the command
    line → the value, e.g. yes → True), off_switch (the flag turns a default-on option off; the help text
    then says what the flag does), on_switch (the flag turns a default-off option on)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """What to write. Frozen: a request that exists has been validated (dataclasses.replace validates the
    changed copy again)."""

    form: str = _option("qijue", "wujue qijue wulv qilv (or 五绝 七绝 五律 七律)")
    rhyme_scheme: str = _option("pingshui", "rhyme scheme: pingshui, xinyun or none", flag="--rhyme")
    rhyme_group: str | None = _option(
        None,
        "a level-tone rhyme group: 下平一先 or 先 (平水韵), 唐, 十唐 or 10 (新韵), or its character's pinyin (yang, "
        "tang) (default or auto: the model's choice)",
    )
    first_line_rhymes: bool | None = _option(
        None,
        "whether the first line rhymes (default, auto: the model's choice)",
        choices=tuple(_FIRST_LINE_RHYMES_WORDS),
        values=_FIRST_LINE_RHYMES_WORDS,
    )
    # (no fixed choices for the command line: the request reads the app's labels too, 严格 …)
    tone: str = _option("strict", "tone rules (平仄): strict (严格), standard (一三五不论) or off (不限)")
    acrostic: str | None = _option(None, "藏头: one head character per line")
    first_line: str | None = _option(None, "the first line, written as given")
    title: str | None = _option(None, f"title to condition on (at most {MAX_TITLE_INPUT_CHARS} characters)")
    keywords: Sequence[str] | str | None = _option(
        None, "keywords to condition on, separated by spaces or 、"
    )
    theme: str | None = _option(None, "a description; its keywords condition the poem")
    n: int = _option(1, f"number of poems (1–{MAX_N})", type=int)
    seed: int | None = _option(None, "random seed (default or -1: drawn and reported)", type=int)
    temperature: float = _option(
        DEFAULT_TEMPERATURE, f"sampling temperature ({MIN_TEMPERATURE:g}–{MAX_TEMPERATURE:g})", type=float
    )
    top_k: int = _option(0, "sample from the k likeliest pieces only (0: no limit)", type=int)
    top_p: float = _option(
        DEFAULT_TOP_P, "nucleus sampling: the likeliest pieces up to this mass", type=float
    )
    beam: int = _option(0, "beam width (>1: a seeded stochastic beam search instead of sampling)", type=int)
    # Simplified for every face (app, API, CLI, Python): most readers read it; the model writes traditional.
    script: str = _option(
        "simplified", "script of the poems: simplified (简体, default) or traditional (繁體)"
    )
    originality: bool = _option(
        True, "allow lines that occur in the corpus", flag="--no-originality", off_switch=True
    )
    # Off by default since the temperature fell to 0.55: readers rated the poems lower with a table than
    # without it (docs/evaluation, rounds n and o), though without one the model's stock phrases come back.
    avoid_overused: bool = _option(
        False,
        "avoid the phrases the model overuses (「不知何处」), listed beside its weights",
        on_switch=True,
    )
    one_season: bool = _option(
        True,
        "let the poem name more than one season (by default, once the title or a line names one, the others "
        "are avoided)",
        flag="--mixed-seasons",
        off_switch=True,
    )
    select_lines: bool = _option(
        True,
        "let every candidate continue from its own lines (by default, after each line the likelier half of "
        "a poem's candidates continue in place of the others)",
        flag="--no-line-selection",
        off_switch=True,
    )
    max_repeat: int | None = _option(2, "most times one character may occur", type=int)
    repeat_penalty: float = _option(
        REPEAT_PENALTY,
        f"how much a character the poem already has is disfavoured (0–{MAX_REPEAT_PENALTY:g}; 0: not at all)",
        type=float,
    )
    time_limit: float | None = _option(None, "give up after this many seconds", type=float)
    candidates: int | None = _option(
        None,
        f"candidates to decode and rerank, shared out among the poems (at least --n; default: "
        f"{DEFAULT_CANDIDATES} a poem, one a poem with a beam)",
        type=int,
    )
    parallel: bool | None = _option(
        None,
        "对仗: write parallel couplets (default: a 律诗's middle couplets; yes: a 绝句's last one too)",
        choices=("yes", "no"),
        values={"yes": True, "no": False},
    )
    plan: Sequence[str] | str | None = _option(
        None,
        "one keyword per couplet, e.g. 春风,柳,孤城,归; fewer leave the last couplets free (default: planned "
        "from the title, keywords or theme, none for a free poem; draw: drawn from the corpus; off: no plan)",
    )
    # The user's keywords and those of the theme, once each: what the poem is conditioned on.
    conditioning_keywords: tuple[str, ...] = field(init=False, default=())
    # The theme's keywords alone, in verse's words: the plan takes them only whole.
    theme_keywords: tuple[str, ...] = field(init=False, default=())
    # The theme as a title (keywords.theme_title): the model's title when the request has none.
    theme_title: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # With several bad fields, the message names the first in this order (the generator's order before
        # the request existed, which the CLI, the app and the tests see).
        if not isinstance(self.form, str):
            raise UserError.of("form_not_text", "form", value=self.form)
        form = get_form(self.form)
        self._set("form", form.name)
        scheme = scheme_name(self.rhyme_scheme)
        self._set("rhyme_scheme", scheme)
        self._set("tone", tone_name(self.tone))
        self._set("script", script_name(self.script))
        n = _integer(self.n, "n", 1, MAX_N, "n (number of poems)")
        self._set("n", n)
        if self.candidates is not None:
            self._set("candidates", _integer(self.candidates, "candidates", n, MAX_N, "candidates"))
        self._set("beam", _integer(self.beam or 0, "beam", 0, MAX_BEAM, "beam"))
        if self.seed is not None:
            seed = _whole_number(self.seed, "seed", "seed")
            if not -1 <= seed <= MAX_SEED:
                raise UserError.of("seed_range", "seed", value=seed)
            self._set("seed", None if seed == -1 else seed)  # -1 draws one, as in the app
        self._check_sampling()
        if self.max_repeat is not None:
            self._set("max_repeat", _integer(self.max_repeat, "max_repeat", 1, MAX_REPEAT, "max_repeat"))
        if self.time_limit is not None:
            time_limit = _number(self.time_limit, "time_limit", "time_limit")
            if time_limit <= 0:
                raise UserError.of("time_limit_not_positive", "time_limit", value=f"{time_limit:g}")
            self._set("time_limit", time_limit)
        if isinstance(self.first_line_rhymes, str):  # the words the command line and the app take
            word = self.first_line_rhymes.strip().lower()
            if word in _FIRST_LINE_RHYMES_WORDS:
                self._set("first_line_rhymes", _FIRST_LINE_RHYMES_WORDS[word])
        if self.first_line_rhymes is not None and not isinstance(self.first_line_rhymes, bool):
            raise UserError.of(
                "not_yes_no", "first_line_rhymes", what="first_line_rhymes", value=self.first_line_rhymes
            )
        if scheme == "none" and self.first_line_rhymes:
            raise UserError.of("first_line_rhymes_needs_scheme", "first_line_rhymes")
        if self.parallel is not None and not isinstance(self.parallel, bool):
            raise UserError.of("not_yes_no", "parallel", what="parallel", value=self.parallel)
        if self.acrostic is not None:
            self._set("acrostic", _acrostic(self.acrostic, form))
        if self.first_line is not None:
            self._set("first_line", _first_line(self.first_line, form))
        self._set("rhyme_group", _rhyme_group(scheme, self.rhyme_group, self.script))
        self._set("title", _title(self.title))
        keywords = _keywords(self.keywords)
        self._set("keywords", tuple(keywords) if self.keywords is not None else None)
        # a blank theme is none, as a blank title is (the app's 主题 mode asks for one)
        if isinstance(self.theme, str) and not self.theme.strip():
            self._set("theme", None)
        if self.theme is not None:
            self._set("theme_keywords", tuple(_theme_keywords(self.theme)))
            self._set("theme_title", theme_title(self.theme) or None)
            keywords += self.theme_keywords
        self._set("conditioning_keywords", tuple(dict.fromkeys(keywords)))
        for name in switch_names():
            # a word such as "no" is true to bool(): refused rather than read as on
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise UserError.of("not_true_false", name, what=name, value=value)
        penalty = _number(self.repeat_penalty, "repeat_penalty", "repeat_penalty")
        if not 0 <= penalty <= MAX_REPEAT_PENALTY:
            raise UserError.of(
                "repeat_penalty_range", "repeat_penalty", high=f"{MAX_REPEAT_PENALTY:g}", value=f"{penalty:g}"
            )
        self._set("repeat_penalty", penalty)
        self._set("plan", parse_plan(self.plan, form.line_count // 2))

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)  # the one place a frozen request is written: while validated

    def _check_sampling(self) -> None:
        temperature = _number(self.temperature, "temperature", "temperature")
        if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
            raise UserError.of(
                "out_of_range",
                "temperature",
                what="temperature",
                low=f"{MIN_TEMPERATURE:g}",
                high=f"{MAX_TEMPERATURE:g}",
                value=f"{temperature:g}",
            )
        self._set("temperature", temperature)
        # The upper limit of top_k is the model's vocabulary size: the generator checks it.
        self._set("top_k", _whole_number(self.top_k or 0, "top_k", "top_k"))
        top_p = _number(self.top_p, "top_p", "top_p")
        if not 0 < top_p <= 1:
            raise UserError.of("top_p_range", "top_p", value=f"{top_p:g}")
        self._set("top_p", top_p)

    @property
    def form_spec(self) -> Form:
        return get_form(self.form)


def option_fields() -> tuple[dataclasses.Field, ...]:
    """The request's options, in order, each with its default and `metadata` (help, CLI spelling)."""
    return tuple(f for f in dataclasses.fields(GenerationRequest) if f.init)


def switch_names() -> tuple[str, ...]:
    """The on/off options: those whose command-line flag switches them (`on_switch`, `off_switch`), each
    true or false and nothing else."""
    return tuple(
        option.name
        for option in option_fields()
        if option.metadata.get("on_switch") or option.metadata.get("off_switch")
    )


def option_flag(name: str) -> str:
    """The command-line flag of option `name`: its own spelling (`--rhyme`, `--no-originality`) or
    `--name-with-dashes`."""
    spec = next((option.metadata for option in option_fields() if option.name == name), {})
    return spec.get("flag") or "--" + name.replace("_", "-")


# ---------------------------------------------------------------------------------------------- names
def _named(value, aliases: dict[str, str], allowed: tuple[str, ...]) -> str | None:
    """The choice among `allowed` that `value` names (in any case, or by an alias), or None."""
    if not isinstance(value, str):
        return None
    key = value.strip().lower()
    key = aliases.get(key, key)
    return key if key in allowed else None


def scheme_name(value: object) -> str:
    """A rhyme scheme's name from what users type (pingshui, PINGSHUI, 平水韵, 中華新韻, 不押韵, 无 …)."""
    name = _named("none" if value is None else value, _SCHEME_ALIASES, RHYME_SCHEMES)
    if name is None:
        raise UserError.of("rhyme_scheme_unknown", "rhyme_scheme", value=value)
    return name


def _label_name(value, aliases: dict[str, str], allowed: tuple[str, ...], labels: dict[str, str], field: str):
    """The choice `value` names, or a refusal (`<field>_unknown`) listing each choice with its app label."""
    name = _named(value, aliases, allowed)
    if name is None:
        listed = ", ".join(f"{choice} ({labels[choice]})" for choice in allowed)
        raise UserError.of(f"{field}_unknown", field, value=value, allowed=listed)
    return name


def tone_name(value: object) -> str:
    """A tone setting from what users type: strict standard off in any case, or the app's labels (严格,
    一三五不论, 不限; 标准 for standard)."""
    return _label_name(value, _TONE_ALIASES, TONE_MODES, _TONE_LABELS, "tone")


def script_name(value: object) -> str:
    """A script from what users type: simplified traditional in any case, or 简体 繁體 (either script)."""
    return _label_name(value, _SCRIPT_ALIASES, SCRIPTS, _SCRIPT_LABELS, "script")


def strictness_name(value: object) -> str:
    """The checker's strictness from what users type: strict standard in any case, or the app's labels
    (严格, 一三五不论; 标准 for standard)."""
    return _label_name(value, _TONE_ALIASES, STRICTNESS_LEVELS, _TONE_LABELS, "strictness")


def _rhyme_group(scheme: str, value, script: str) -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _AUTO_GROUP | {""}):
        return None  # auto: the model chooses, as in the app
    if scheme == "none":
        raise UserError.of("rhyme_group_needs_scheme", "rhyme_group")
    return find_rhyme_group(get_scheme(scheme), value, script)


# ---------------------------------------------------------------------------------------------- text
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
        raise UserError.of("not_text", field_name, what=what, kind=type(value).__name__)
    text = "".join(value.split())
    if allow_punctuation:
        text = text.strip("，。、；！？,.;!?")
    emoji = [c for c in text if _is_emoji(c)]
    if emoji:
        raise UserError.of("emoji", field_name, what=what, emoji="".join(emoji))
    if not all(is_cjk(c) for c in text):
        # each run of other characters as typed, in order, once: 「Farewell」, not 「F」「a」「r」…
        found = "".join(f"「{run}」" for run in dict.fromkeys(foreign_runs(value)))
        raise UserError.of("not_chinese", field_name, what=what, found=found)
    return text


def _acrostic(value, form: Form) -> str:
    text = _chinese_text(value, "acrostic", "the acrostic")
    if not text:
        raise UserError.of("acrostic_empty", "acrostic")
    if len(text) != form.line_count:
        raise UserError.of(
            "acrostic_length", "acrostic", given=len(text), form=form.chinese_name, lines=form.line_count
        )
    return text


def _first_line(value, form: Form) -> str:
    line = _chinese_text(value, "first_line", "the first line", True)
    if not line:
        raise UserError.of("first_line_empty", "first_line")
    if len(line) != form.chars_per_line:
        raise UserError.of(
            "first_line_length",
            "first_line",
            given=len(line),
            form=form.chinese_name,
            length=form.chars_per_line,
        )
    return line


def _title(value) -> str | None:
    if value is None or not str(value).strip():
        return None
    text = _chinese_text(value, "title", "the title")
    if len(text) > MAX_TITLE_INPUT_CHARS:
        raise UserError.of(
            "too_many_characters", "title", what="the title", given=len(text), most=MAX_TITLE_INPUT_CHARS
        )
    return text


def _keywords(keywords) -> list[str]:
    """The keywords as a list of traditional words."""
    if keywords is None:
        return []
    if isinstance(keywords, str):
        items = [k for k in _KEYWORD_SPLIT.split(keywords) if k]
    elif isinstance(keywords, (list, tuple)):
        items = [k for k in keywords if not (isinstance(k, str) and not k.strip())]
    else:
        raise UserError.of("keywords_not_words", "keywords")
    if len(items) > MAX_KEYWORDS:
        raise UserError.of("keywords_too_many", "keywords", most=MAX_KEYWORDS, given=len(items))
    words = []
    for item in items:
        word = _chinese_text(item, "keywords", "a keyword")
        if len(word) > MAX_KEYWORD_INPUT_CHARS:
            raise UserError.of(
                "keyword_too_long", "keywords", word=word, given=len(word), most=MAX_KEYWORD_INPUT_CHARS
            )
        words.append(word)
    return words_to_traditional(words)  # as the keywords read together (故鄉 里 keeps 里)


def _theme_keywords(theme) -> list[str]:
    if not isinstance(theme, str):
        raise UserError.of("not_text", "theme", what="the theme", kind=type(theme).__name__)
    if len(theme) > MAX_THEME_CHARS:
        raise UserError.of(
            "too_many_characters", "theme", what="the theme", given=len(theme), most=MAX_THEME_CHARS
        )
    emoji = [c for c in theme if _is_emoji(c)]
    if emoji:
        raise UserError.of("emoji", "theme", what="the theme", emoji="".join(emoji))
    if not any(is_cjk(c) for c in theme):
        raise UserError.of("theme_not_chinese", "theme")
    try:  # jieba is imported only when a theme is given (it takes a while to load)
        words = [w for w in theme_keywords(theme, k=4) if w]
    except ImportError:
        raise UserError.of("theme_unavailable", "theme") from None
    except UserError as error:
        raise UserError.of("theme_unreadable", "theme", reason=str(error)) from None
    words = words_to_traditional(["".join(c for c in w if is_cjk(c)) for w in words], context=theme)
    words = [w for w in words if w]
    if not words:
        raise UserError.of("theme_no_keywords", "theme")
    return words


# ---------------------------------------------------------------------------------------------- numbers
def _whole_number(value, field_name: str, what: str) -> int:
    """An int from an int, a whole float or a string of digits; UserError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value)
            else:
                raise ValueError
        except ValueError:
            raise UserError.of("not_whole_number", field_name, what=what, value=value) from None
    return value


def in_range(value: int, field_name: str, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise UserError.of("out_of_range", field_name, what=what, low=low, high=high, value=value)
    return value


def _integer(value, field_name: str, low: int, high: int, what: str) -> int:
    return in_range(_whole_number(value, field_name, what), field_name, low, high, what)


def _number(value, field_name: str, what: str) -> float:
    if isinstance(value, bool):
        raise UserError.of("not_number", field_name, what=what, value=value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError.of("not_number", field_name, what=what, value=value) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise UserError.of("not_finite", field_name, what=what, value=value)
    return number
