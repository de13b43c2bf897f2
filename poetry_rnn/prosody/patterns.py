"""Forms and tone patterns (平仄格式) of regulated verse, and the line-level tone rules.

Templates mark each position 平 (level), 仄 (oblique) or 中 (either, 可平可仄). The four line types follow
王力《诗词格律》, whose charts free position 1 (and 3 in seven-character lines) except where that
would break a rule. One deliberate difference: in the 孤平-prone line (五言 平平仄仄平, 七言 仄仄平平仄仄平)
positions 1 and 3 of the five-character core are 中 and the 孤平 rule governs them, so the accepted
拗救 form 仄平平仄平 passes while 仄平仄仄平 is 孤平.

Tones are "ping"/"ze" (see `rhyme.PING`/`rhyme.ZE`); a character's tones are a set, and a character
with both readings (看 思 過 …) fits either mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import product

from poetry_rnn.errors import UserError
from poetry_rnn.prosody.rhyme import PING, TONES, ZE
from poetry_rnn.script import to_simplified

PING_MARK, ZE_MARK, FREE_MARK = "平", "仄", "中"
TONE_OF_MARK = {PING_MARK: PING, ZE_MARK: ZE}

STRICT, STANDARD = "strict", "standard"
TONE_OFF = "off"  # a request's tone mode beside the two levels: only the line ends are ruled
STRICTNESS_LEVELS = (STRICT, STANDARD)


# ---------------------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Form:
    name: str  # wujue qijue wulv qilv
    chinese_name: str  # 五绝 七绝 五律 七律
    chars_per_line: int
    line_count: int

    @property
    def is_regulated(self) -> bool:
        """律诗 (eight lines; couplets 3–4 are parallel) as opposed to 绝句 (four lines)."""
        return self.line_count == 8


FORMS: dict[str, Form] = {
    "wujue": Form("wujue", "五绝", 5, 4),
    "qijue": Form("qijue", "七绝", 7, 4),
    "wulv": Form("wulv", "五律", 5, 8),
    "qilv": Form("qilv", "七律", 7, 8),
}

_FORM_ALIASES = {
    "五绝": "wujue", "五絕": "wujue", "五言绝句": "wujue", "五言絕句": "wujue",
    "七绝": "qijue", "七絕": "qijue", "七言绝句": "qijue", "七言絕句": "qijue",
    "五律": "wulv", "五言律诗": "wulv", "五言律詩": "wulv",
    "七律": "qilv", "七言律诗": "qilv", "七言律詩": "qilv",
}  # fmt: skip


def get_form(name: str) -> Form:
    """A form by name: wujue qijue wulv qilv, or 五绝 七绝 五律 七律 (traditional 五絕 … too)."""
    key = (name or "").strip()
    key = _FORM_ALIASES.get(key, key.lower())
    if key not in FORMS:
        allowed = ", ".join(f"{f.name} ({f.chinese_name})" for f in FORMS.values())
        raise UserError.of("form_unknown", "form", value=name, allowed=allowed)
    return FORMS[key]


def form_for(chars_per_line: int, line_count: int) -> Form | None:
    for form in FORMS.values():
        if form.chars_per_line == chars_per_line and form.line_count == line_count:
            return form
    return None


# 排律 (长律): a 律诗 drawn out to ten lines or more, in couplets, with every couplet but the first and the
# last parallel. The checker names and judges it; the generator does not write it.
PAILV_MIN_LINES = 10
PAILV = {5: "wupailv", 7: "qipailv"}


def is_pailv_length(line_count: int) -> bool:
    """Whether a poem of `line_count` lines has a 排律's: an even number from PAILV_MIN_LINES."""
    return line_count >= PAILV_MIN_LINES and line_count % 2 == 0


def checked_form_name(chars_per_line: int, line_count: int) -> str | None:
    """The form the checker judges a poem as: a generator form's name (wujue … qilv), wupailv or qipailv
    for a 排律, or None (no regular form)."""
    form = form_for(chars_per_line, line_count)
    if form is not None:
        return form.name
    if chars_per_line in PAILV and is_pailv_length(line_count):
        return PAILV[chars_per_line]
    return None


# ---------------------------------------------------------------------------------------------------
# Line types
# ---------------------------------------------------------------------------------------------------
# Named by the tone of the 2nd character (起) and of the last (收).
LINE_TYPES = ("平起平收", "平起仄收", "仄起平收", "仄起仄收")

# The regular (fully specified) line of each type.
REGULAR_LINES: dict[int, dict[str, str]] = {
    5: {
        "平起平收": "平平仄仄平",
        "平起仄收": "平平平仄仄",
        "仄起平收": "仄仄仄平平",
        "仄起仄收": "仄仄平平仄",
    },
    7: {
        "平起平收": "平平仄仄仄平平",
        "平起仄收": "平平仄仄平平仄",
        "仄起平收": "仄仄平平仄仄平",
        "仄起仄收": "仄仄平平平仄仄",
    },
}

# Templates with the 可平可仄 positions marked 中.
LINE_TEMPLATES: dict[int, dict[str, str]] = {
    5: {
        "平起平收": "中平中仄平",
        "平起仄收": "中平平仄仄",
        "仄起平收": "中仄仄平平",
        "仄起仄收": "中仄平平仄",
    },
    7: {
        "平起平收": "中平中仄仄平平",
        "平起仄收": "中平中仄平平仄",
        "仄起平收": "中仄中平中仄平",
        "仄起仄收": "中仄中平平仄仄",
    },
}

# Lines where 孤平 can arise: the five-character core 平平仄仄平.
GU_PING_TEMPLATES = frozenset({LINE_TEMPLATES[5]["平起平收"], LINE_TEMPLATES[7]["仄起平收"]})


# Lines outside the charts that regulated verse accepts (王力《诗词格律》), chart template → (form, name):
# 特拗: in 平平平仄仄 (七言 仄仄平平平仄仄) the third and fourth characters of the five-character core swap
# tones, 平平仄平仄; 三仄尾: the core's third is 仄 too, 平平仄仄仄 (three oblique tones at the end are no
# fault, unlike 三平尾). Either way the core's first character stays 平.
LINE_VARIANTS: dict[str, tuple[tuple[str, str], ...]] = {
    LINE_TEMPLATES[5]["平起仄收"]: (("平平仄平仄", "特拗"), ("平平仄仄仄", "三仄尾")),
    LINE_TEMPLATES[7]["仄起仄收"]: (("中仄平平仄平仄", "特拗"), ("中仄平平仄仄仄", "三仄尾")),
}
# 对句相救: in 仄仄平平仄 (七言 平平仄仄平平仄) the core's third and fourth characters may be 仄 (小拗,
# 大拗) when the next line, 平平仄仄平, takes 平 at its core's third character (平平平仄平; rescue_position).
RESCUABLE_POSITIONS: dict[str, tuple[int, ...]] = {
    LINE_TEMPLATES[5]["仄起仄收"]: (2, 3),
    LINE_TEMPLATES[7]["平起仄收"]: (4, 5),
}


def rescue_position(chars_per_line: int) -> int:
    """The position (0-based) of the next line whose 平 rescues a 拗 in RESCUABLE_POSITIONS."""
    return chars_per_line - 3


def _rescuing(template: str) -> str:
    """The second line of a couplet that rescues a 拗 of its first (平平仄仄平 → 平平平仄平)."""
    position = rescue_position(len(template))
    return template[:position] + PING_MARK + template[position + 1 :]


# Templates of a line in a 拗救 form: judged as written at any strictness (一三五不论 would undo the
# condition that makes them acceptable, e.g. the 平 that opens a 特拗 line or rescues a 拗).
LICENSED_TEMPLATES = frozenset(form for forms in LINE_VARIANTS.values() for form, _ in forms) | frozenset(
    _rescuing(LINE_TEMPLATES[n][t]) for n, t in ((5, "平起平收"), (7, "仄起平收"))
)


def line_type_name(starts_level: bool, ends_level: bool) -> str:
    return f"{'平' if starts_level else '仄'}起{'平' if ends_level else '仄'}收"


# ---------------------------------------------------------------------------------------------------
# Whole-poem patterns
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TonePattern:
    name: str  # e.g. "平起首句入韵"
    chars_per_line: int
    starts_level: bool  # 平起: the 2nd character of the first line is 平
    first_line_rhymes: bool  # 首句入韵
    line_types: tuple[str, ...]
    lines: tuple[str, ...]  # template per line, e.g. "中平中仄仄平平"
    rhyme_lines: tuple[int, ...]  # 0-based lines whose last character rhymes
    licence: str = (
        ""  # 特拗, 三仄尾 or 拗救 for a pattern whose first line takes that form (first_line_licences)
    )

    @property
    def line_count(self) -> int:
        return len(self.lines)


def pattern_name(starts_level: bool, first_line_rhymes: bool) -> str:
    return f"{'平' if starts_level else '仄'}起首句{'入' if first_line_rhymes else '不入'}韵"


# The parts of a tone pattern's name (平起首句入韵, 仄起首句不入韵（仄韵）) in English.
PATTERN_GLOSSES_EN = (
    ("平起", "level start"),
    ("仄起", "oblique start"),
    ("首句入韵", "first line rhymes"),
    ("首句不入韵", "first line unrhymed"),
    ("仄韵", "oblique rhyme"),
)


def pattern_in_english(pattern: str) -> str:
    """A tone pattern's name (either script) in English: 平起首句入韵 → "level start, first line rhymes"; ""
    for a name with no part it knows."""
    simplified = to_simplified(pattern)
    return ", ".join(english for chinese, english in PATTERN_GLOSSES_EN if chinese in simplified)


def line_starts(starts_level: bool, line_count: int) -> list[bool]:
    """Whether each line is 平起, following 对 (a couplet's lines oppose) and 粘 (a couplet's first line
    sticks to the previous line)."""
    starts = [starts_level]
    for index in range(1, line_count):
        starts.append(not starts[-1] if index % 2 == 1 else starts[-1])
    return starts


@lru_cache(maxsize=64)
def build_pattern(
    chars_per_line: int, line_count: int, starts_level: bool, first_line_rhymes: bool
) -> TonePattern:
    """The tone pattern for any number of lines (odd lines 0-based rhyme; line 0 too if 首句入韵)."""
    if chars_per_line not in LINE_TEMPLATES:
        raise UserError(
            f"tone patterns exist for 5- or 7-character lines, not {chars_per_line}", field="form"
        )
    types = []
    for index, starts in enumerate(line_starts(starts_level, line_count)):
        ends_level = index % 2 == 1 or (index == 0 and first_line_rhymes)
        types.append(line_type_name(starts, ends_level))
    rhyme_lines = tuple(i for i in range(line_count) if i % 2 == 1 or (i == 0 and first_line_rhymes))
    return TonePattern(
        name=pattern_name(starts_level, first_line_rhymes),
        chars_per_line=chars_per_line,
        starts_level=starts_level,
        first_line_rhymes=first_line_rhymes,
        line_types=tuple(types),
        lines=tuple(LINE_TEMPLATES[chars_per_line][t] for t in types),
        rhyme_lines=rhyme_lines,
    )


def tone_patterns(form: Form | str) -> list[TonePattern]:
    """The four patterns of a form: 平起/仄起 × 首句入韵 or not (入韵 first: the usual choice for 七言)."""
    form = get_form(form) if isinstance(form, str) else form
    return [
        build_pattern(form.chars_per_line, form.line_count, starts_level, rhymes)
        for starts_level in (True, False)
        for rhymes in (True, False)
    ]


def first_line_licences(pattern: TonePattern) -> list[TonePattern]:
    """`pattern` with its first line in an accepted form outside the chart, where it has one (for a given
    first line, so that a line the checker accepts is one the decoder continues): LINE_VARIANTS, or 拗 at
    RESCUABLE_POSITIONS with the second line rescuing it."""
    first = pattern.lines[0]
    found = [
        replace(pattern, lines=(form, *pattern.lines[1:]), licence=name)
        for form, name in LINE_VARIANTS.get(first, ())
    ]
    positions = RESCUABLE_POSITIONS.get(first, ())
    if positions and pattern.line_count > 1:
        opened = "".join(FREE_MARK if i in positions else mark for i, mark in enumerate(first))
        lines = (opened, _rescuing(pattern.lines[1]), *pattern.lines[2:])
        found.append(replace(pattern, lines=lines, licence="拗救"))
    return found


def get_pattern(form: Form | str, name: str) -> TonePattern:
    for pattern in tone_patterns(form):
        if pattern.name == name:
            return pattern
    names = ", ".join(p.name for p in tone_patterns(form))
    raise UserError(f"unknown tone pattern {name!r}; allowed: {names}", field="tone_pattern")


# ---------------------------------------------------------------------------------------------------
# Rules within a line
# ---------------------------------------------------------------------------------------------------
def as_tone_set(tones: str | Iterable[str]) -> frozenset[str]:
    """ "ping" → {"ping"}; an iterable of tones → a frozenset (validated)."""
    found = frozenset((tones,)) if isinstance(tones, str) else frozenset(tones)
    if not found <= set(TONES):
        raise ValueError(f"tones must be {PING!r} or {ZE!r}, got {sorted(found)}")
    return found


@lru_cache(maxsize=256)  # a few dozen (template, strictness) pairs; the checker asks per line
def fixed_positions(template: str, strictness: str = STRICT) -> tuple[int, ...]:
    """0-based positions whose tone is prescribed: every non-中 mark (strict), or only the 2nd, 4th,
    6th characters and the last (standard: 一三五不论，二四六分明)."""
    _check_strictness(strictness)
    if strictness == STRICT:
        return tuple(i for i, mark in enumerate(template) if mark != FREE_MARK)
    last = len(template) - 1
    return tuple(i for i, mark in enumerate(template) if mark != FREE_MARK and (i % 2 == 1 or i == last))


def relaxed_template(template: str, strictness: str) -> str:
    """The template with every position the strictness leaves free marked 中 (a 拗救 form's: as written)."""
    if template in LICENSED_TEMPLATES:
        return template
    fixed = set(fixed_positions(template, strictness))
    return "".join(mark if i in fixed else FREE_MARK for i, mark in enumerate(template))


def fits(mark: str, tones: Iterable[str]) -> bool:
    """Whether a character with `tones` fits `mark` (unknown characters and polyphones fit anything
    they might be)."""
    tones = as_tone_set(tones)
    return mark == FREE_MARK or not tones or TONE_OF_MARK[mark] in tones


def _can_be(tones: frozenset[str], tone: str) -> bool:
    return not tones or tone in tones


def gu_ping_position(template: str) -> int | None:
    """The position (0-based) a 孤平 line (`is_gu_ping`) should have 平 at: the five-character core's first
    (0 in 五言, 2 in 七言), which makes it 平平仄仄平 (its third would do too: 仄平平仄平, the 拗救 form);
    None for templates where 孤平 cannot arise."""
    if template not in GU_PING_TEMPLATES:
        return None
    return len(template) - 5


def is_gu_ping(template: str, line_tones: Sequence[Iterable[str]]) -> bool:
    """孤平: in a 平平仄仄平-type line, the five-character core has only one 平 besides the rhyme
    character, and not at its first or third character (仄平仄仄平; 七言 仄仄仄平仄仄平): a line that stays
    孤平 however its fixed positions are mended. A core whose only 平 is its first or third (平仄仄仄平,
    月照寒水凉 仄仄平仄平) breaks the fixed 平 at its second character, and that is its fault (王力: 孤平 is
    平平仄仄平 with the first character 仄). Only a sure 平-less reading counts: a polyphone may be 平."""
    if template not in GU_PING_TEMPLATES or len(line_tones) != len(template):
        return False
    core = [as_tone_set(t) for t in line_tones[-5:-1]]
    free_level = _can_be(core[0], PING) or _can_be(core[2], PING)
    return not free_level and sum(_can_be(t, PING) for t in core) <= 1


def is_san_ping_wei(template: str, line_tones: Sequence[Iterable[str]]) -> bool:
    """三平尾: a 平收 line whose last three characters are all (surely) 平."""
    if template[-1] != PING_MARK or len(line_tones) != len(template):
        return False
    return all(as_tone_set(t) == {PING} for t in line_tones[-3:])


def allowed_tones(
    template: str,
    position: int,
    previous_tones: Sequence[str | Iterable[str]] = (),
    strictness: str = STRICT,
) -> frozenset[str]:
    """Tones a character at `position` (0-based) may have, given the tones of the characters already
    chosen in the line (one set per position; a polyphone fits either; empty = unknown).

    strict: the template's fixed positions, and no choice that makes 孤平 or 三平尾 unavoidable.
    standard: only positions 2/4/6 (1-based) and the line end. Cached: the decoder calls this per step.
    """
    previous = tuple(as_tone_set(t) for t in previous_tones[:position])
    if len(previous) != position or not 0 <= position < len(template):
        raise ValueError(f"position {position} with {len(previous)} previous tones in template {template!r}")
    return _allowed_tones(template, position, previous, strictness)


@lru_cache(maxsize=65536)
def _allowed_tones(
    template: str, position: int, previous: tuple[frozenset[str], ...], strictness: str
) -> frozenset[str]:
    fixed = fixed_positions(template, strictness)
    allowed = set()
    for tone in TONES:
        if position in fixed and TONE_OF_MARK[template[position]] != tone:
            continue
        if strictness == STRICT and not _completable(template, previous + (frozenset((tone,)),)):
            continue
        allowed.add(tone)
    return frozenset(allowed)


def _completable(template: str, prefix: tuple[frozenset[str], ...]) -> bool:
    """Whether some reading of the chosen characters and some completion that obeys the template's
    fixed marks avoids 孤平 and 三平尾."""
    options: list[tuple[str, ...]] = []
    for index, mark in enumerate(template):
        allowed = TONES if mark == FREE_MARK else (TONE_OF_MARK[mark],)
        if index < len(prefix):
            chosen = prefix[index] or frozenset(TONES)
            allowed = tuple(t for t in TONES if t in chosen and t in allowed) or tuple(sorted(chosen))
        options.append(allowed)
    for tones in product(*options):
        sets = [frozenset((t,)) for t in tones]
        if not is_gu_ping(template, sets) and not is_san_ping_wei(template, sets):
            return True
    return False


def _check_strictness(strictness: str) -> None:
    if strictness not in STRICTNESS_LEVELS:
        raise UserError(
            f"unknown strictness {strictness!r}; allowed: {', '.join(STRICTNESS_LEVELS)}", field="strictness"
        )


def tone_marks(line_tones: Sequence[Iterable[str]]) -> str:
    """○ 平, ● 仄, ◐ either (polyphone), ？ unknown — one mark per character."""
    marks = []
    for tones in line_tones:
        tones = as_tone_set(tones)
        marks.append("◐" if len(tones) == 2 else "○" if tones == {PING} else "●" if tones == {ZE} else "？")
    return "".join(marks)
