"""What the 格律 checker finds: faults, each character's and line's analysis, the whole `Analysis` and its
readable report (the `check` command's text output)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from poetry_rnn.prosody.parallel import CoupletVerdict
from poetry_rnn.prosody.patterns import STRICT, pattern_in_english, tone_marks
from poetry_rnn.prosody.rhyme import get_scheme
from poetry_rnn.prosody.rhyme_faults import neutral_tone
from poetry_rnn.script import to_traditional

FAULT_GLOSSES: dict[str, str] = {
    "字数": "wrong number of characters in a line",
    "句数": "wrong number of lines",
    "出韵": "rhyme character outside the poem's rhyme group",
    "重韵": "the same rhyme character used twice",
    "仄韵": "the poem rhymes in an oblique (仄) group: old-style verse (古绝, 古体), not regulated verse",
    "失粘": "broken adhesion (粘): the line's 2nd character should match the previous line's",
    "失对": "broken opposition (对): the line's 2nd character should oppose its partner's",
    "孤平": "lone level tone: only one 平 besides the rhyme character",
    "三平尾": "three level tones at the end of the line",
    "不协平仄": "tone mismatch at a fixed position",
    "对仗": "a middle couplet of a 律诗 (lines 3–4 or 5–6) is not parallel",
}
# Each fault's short English name, for English pages and notes.
FAULT_NAMES_EN = {
    "字数": "Line length",
    "句数": "Line count",
    "出韵": "Out of rhyme",
    "重韵": "Repeated rhyme",
    "仄韵": "Oblique rhyme",
    "失粘": "Broken adhesion",
    "失对": "Broken opposition",
    "孤平": "Lone level tone",
    "三平尾": "Three level tones at the end",
    "不协平仄": "Tone mismatch",
    "对仗": "Couplet not parallel",
}
# Each licence (an accepted departure from the pattern) in English.
LICENCE_NAMES_EN = {
    "拗救": "departure and rescue",
    "特拗": "special inversion",
    "半拗": "minor departure",
    "三仄尾": "three oblique tones at the end",
    "邻韵": "neighbouring rhyme group",
    "偷春格": "parallel first couplet in place of the second",
}
# A couplet's 对仗 verdict in English.
PARALLEL_KINDS_EN = {"工对": "strict parallel", "宽对": "loose parallel", "不对": "not parallel"}
# What each fault is about, so that a caller can judge the rules it asked for (the generator with tone
# "off" judges shape and rhyme only); a new fault needs its kind here (tests check it).
FAULT_KINDS: dict[str, str] = {
    "字数": "shape", "句数": "shape",
    "出韵": "rhyme", "重韵": "rhyme", "仄韵": "rhyme",
    "失粘": "tone", "失对": "tone", "孤平": "tone", "三平尾": "tone", "不协平仄": "tone",
    "对仗": "parallel",
}  # fmt: skip


def faults_of(*kinds: str) -> frozenset[str]:
    """The names of the faults of these kinds ("shape", "rhyme", "tone", "parallel")."""
    return frozenset(name for name, kind in FAULT_KINDS.items() if kind in kinds)


SINGLE_LINE_NOTE = (
    "只有一句，按单句判，不定全诗格式 (a single line: judged against the line types, no poem pattern)"
)
PARALLEL_FAULT = "对仗"  # reported in Analysis.parallel_faults, not in Analysis.faults


def pattern_in_script(pattern: str, script: str | None) -> str:
    """A pattern's name (written in simplified, as the rules name it) in a traditional poem's script."""
    return to_traditional(pattern) if script == "traditional" else pattern


def languages(message: str) -> tuple[str, str]:
    """(Chinese, English) of a checker text, which is written 'Chinese (English)'; a text with no English
    part (「长」读cháng (平), 「看」取平（平仄两读）) is the same in both."""
    if message.endswith(")"):
        depth = 0
        for at in range(len(message) - 1, 0, -1):  # the "(" that the last ")" closes
            depth += {")": 1, "(": -1}.get(message[at], 0)
            if depth == 0:
                chinese, english = message[: at - 1], message[at + 1 : -1]
                if message[at - 1] == " " and re.search("[A-Za-z]", english):
                    return chinese, english
                break
    return message, message


def with_note(message: str, note: str) -> str:
    """A 'Chinese (English)' message with a bracketed note after each language's text, so that either
    language reads whole on its own."""
    chinese, english = languages(message)
    note_chinese, note_english = languages(note)
    if chinese == english:
        return f"{message} [{note_chinese}]"
    return f"{chinese} [{note_chinese}] ({english} [{note_english}])"


def counted(count: int, noun: str) -> str:
    """`count` English `noun`s, singular for one: "1 line", "3 lines"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class Fault:
    name: str  # one of FAULT_GLOSSES
    line: int | None  # 0-based; None for whole-poem faults (句数)
    index: int | None  # 0-based character in the line; None for whole-line faults
    message: str  # Chinese, then English

    @property
    def gloss(self) -> str:
        return FAULT_GLOSSES[self.name]

    def to_dict(self) -> dict:
        chinese, english = languages(self.message)
        return {
            **asdict(self),
            "gloss": self.gloss,
            "name_en": FAULT_NAMES_EN[self.name],
            "message_zh": chinese,
            "message_en": english,
        }


@dataclass
class CharAnalysis:
    char: str
    tones: list[str]  # "ping"/"ze"; both for a polyphone; empty if the character is not in the table
    required: str | None  # 平 仄 中 from the line template; None when the line has no template
    fits: bool  # unknown characters and polyphones fit

    @property
    def polyphone(self) -> bool:  # 多音 with both tones: fits either position
        return len(self.tones) == 2


@dataclass
class LineAnalysis:
    text: str
    chars: list[CharAnalysis]
    line_type: str | None  # 平起平收 … as matched; None for a line of the wrong length
    template: str | None  # e.g. "中仄平平仄"
    rhymes: bool  # a rhyme line (its last character rhymes)

    @property
    def tone_marks(self) -> str:
        return tone_marks([c.tones for c in self.chars])


@dataclass
class Analysis:
    text: str  # the poem as lines joined with ，/。
    scheme: str  # pingshui | xinyun
    form: str | None  # wujue qijue wulv qilv, or None when the shape is none of them
    chars_per_line: int
    pattern: str | None  # e.g. "仄起首句不入韵"
    lines: list[LineAnalysis]
    rhyme_groups: list[str]  # the level-tone group(s) shared by the rhyme characters
    rhyme_group_labels: list[str]
    faults: list[Fault]
    notes: list[str] = field(default_factory=list)
    strictness: str = STRICT
    couplets: list[CoupletVerdict] = field(default_factory=list)  # each with .line, its first line
    parallel_faults: list[Fault] = field(default_factory=list)  # 对仗 of a 律诗; not counted by `ok`
    # where a character's readings differ in tone, the one used: {line, index, char, note}
    readings: list[dict] = field(default_factory=list)
    # what the poem does outside the charts that the tradition accepts (特拗, 拗救: 对句相救, 邻韵: a first
    # line's rhyme borrowed from a neighbouring group): {line, kind, positions, note}
    licences: list[dict] = field(default_factory=list)
    # the script the poem is written in, as judged by its characters: traditional, simplified or None
    # (undecided); labels shown with it are in that script
    script: str | None = None

    @property
    def ok(self) -> bool:
        return not self.faults

    def __repr__(self) -> str:  # short: the whole report is `format()`, every field `to_dict()`
        # each fault by name and line (counted from 1)
        faults = [
            fault.name if fault.line is None else f"{fault.name}@{fault.line + 1}" for fault in self.faults
        ]
        return (
            f"Analysis(text={self.text!r}, form={self.form!r}, pattern={self.pattern!r}, "
            f"rhyme_groups={self.rhyme_groups!r}, ok={self.ok}, faults={faults})"
        )

    def __str__(self) -> str:
        return self.format()

    def faults_named(self, name: str) -> list[Fault]:
        return [f for f in self.faults if f.name == name]

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "scheme": self.scheme,
            "strictness": self.strictness,
            "form": self.form,
            "chars_per_line": self.chars_per_line,
            "pattern": self.pattern,
            "ok": self.ok,
            "rhyme_groups": self.rhyme_groups,
            "rhyme_group_labels": self.rhyme_group_labels,
            "lines": [
                {
                    "text": line.text,
                    "line_type": line.line_type,
                    "template": line.template,
                    "rhymes": line.rhymes,
                    "tone_marks": line.tone_marks,
                    "chars": [{**asdict(c), "polyphone": c.polyphone} for c in line.chars],
                }
                for line in self.lines
            ],
            "faults": [f.to_dict() for f in self.faults],
            "notes": self.notes,
            "couplets": [c.to_dict() for c in self.couplets],
            "parallel_faults": [f.to_dict() for f in self.parallel_faults],
            "readings": self.readings,
            "licences": self.licences,
            "script": self.script,
        }

    def format(self) -> str:
        """Readable report: the poem with ○ 平 ● 仄 ◐ either ？ unknown, then the faults."""
        return format_analysis(self)


_FORM_LABELS = {  # the English names as refusals and the app's form choice give them
    "wujue": "五言绝句 (wujue, 5×4 jueju)",
    "qijue": "七言绝句 (qijue, 7×4 jueju)",
    "wulv": "五言律诗 (wulv, 5×8 lüshi)",
    "qilv": "七言律诗 (qilv, 7×8 lüshi)",
    "wupailv": "五言排律 (wupailv, 5-character pailü)",
    "qipailv": "七言排律 (qipailv, 7-character pailü)",
}


def format_analysis(analysis: Analysis) -> str:
    """Readable report: the poem with ○ 平 ● 仄 ◐ either ？ unknown, then the faults, 对仗 and notes."""
    scheme = get_scheme(analysis.scheme)
    if len(analysis.lines) == 1:
        form = "单句 (a single line)"
    else:
        form = _FORM_LABELS.get(analysis.form or "", "非近体常式 (not a standard form)")
    head = f"{scheme.chinese_name} ({analysis.scheme}) · {form}"
    if analysis.pattern:
        gloss = pattern_in_english(analysis.pattern)
        head += f" · {pattern_in_script(analysis.pattern, analysis.script)}" + (
            f" ({gloss})" if gloss else ""
        )
    out = [head, ""]
    width = max((len(line.text) for line in analysis.lines), default=0)
    for number, line in enumerate(analysis.lines, 1):
        pad = "　" * (width - len(line.text))
        row = f"{number:>2}  {line.text}{pad}  {line.tone_marks}{' ' * (width - len(line.text))}"
        if line.template:
            row += f"  {line.line_type} {line.template}"
        if line.rhymes and line.chars:
            row += f"  韵「{line.chars[-1].char}」"
        out.append(row)
    out.append("")
    legend = "○ 平 level  ● 仄 oblique  ◐ 多音 either  ？ 未收 not in the table"
    if any(neutral_tone(scheme, line.text, k) for line in analysis.lines for k in range(len(line.chars))):
        legend = legend.replace("？ 未收 not in the table", "？ 未收或轻声 not in the table, or neutral tone")
    out.append(legend)
    if any(line.template for line in analysis.lines):
        out.append(
            "格式 the line's pattern (after its type, 平起平收 …): 平 level  仄 oblique  中 either tone"
        )
    if analysis.rhyme_groups:
        groups = "、".join(analysis.rhyme_group_labels)
        out.append(f"韵部 rhyme group: {groups}")
    out.append("")
    unjudged = sum(1 for line in analysis.lines for c in line.chars if not c.tones)
    neutral = sum(  # 中华新韵's neutral-tone particles (的 了 吗): read, but of no tone class
        1 for line in analysis.lines for k in range(len(line.chars)) if neutral_tone(scheme, line.text, k)
    )
    parallel = len(analysis.parallel_faults)
    if analysis.ok:
        # 合律 (`ok`) speaks of tones and rhyme only: with 对仗 faults to come it must not read "no faults"
        chinese, english = (
            ("格律（平仄、押韵）", "no faults of tone or rhyme") if parallel else ("合律：", "no faults")
        )
        if unjudged:
            unread = unjudged - neutral
            chinese += "所判之字未见问题，" + "，".join(
                ([f"{unread} 字未收未判"] if unread else []) + ([f"{neutral} 字轻声未判"] if neutral else [])
            )
            english += " among the characters judged; " + ", ".join(
                ([f"{unread} not in the table, not judged"] if unread else [])
                + ([f"{neutral} in the neutral tone, not judged"] if neutral else [])
            )
        else:
            chinese += "未见问题"
            english += "" if parallel else " found"
        if parallel:
            chinese += f"；另有对仗问题 {parallel} 处"
            english += f"; {counted(parallel, '对仗 fault')} below"
        out.append(f"{chinese} — {english}{':' if parallel else '.'}")
    else:
        extra = f"；另有对仗问题 {parallel} 处，见下 (+{parallel} 对仗 below)" if parallel else ""
        out.append(f"问题 faults ({len(analysis.faults)}){extra}:")
        for fault in analysis.faults:
            out.append(f"  - {fault.name} ({fault.gloss}): {fault.message}")
    if analysis.couplets:
        out.append("对仗 parallelism (word pairs: 工 strict, 宽 loose, 不 not facing):")
        for couplet in analysis.couplets:
            pairs = " ".join(f"{p.left}/{p.right}（{p.relation}）" for p in couplet.pairs)
            kind = f"{couplet.kind} {PARALLEL_KINDS_EN[couplet.kind]}"
            out.append(f"  {couplet.line + 1}–{couplet.line + 2}  {kind} {couplet.score:.2f}  {pairs}")
    for fault in analysis.parallel_faults:
        out.append(f"  - {fault.name} ({fault.gloss}): {fault.message}")
    for licence in analysis.licences:
        english = LICENCE_NAMES_EN.get(licence["kind"])
        out.append(f"{licence['kind']} licence{f' ({english})' if english else ''}: {licence['note']}")
    if analysis.readings:
        notes = [languages(reading["note"]) for reading in analysis.readings]
        chinese, english = "；".join(zh for zh, _ in notes), "; ".join(en for _, en in notes)
        out.append(f"读音 {chinese}" + (f" (readings used: {english})" if english != chinese else ""))
    for note in analysis.notes:
        out.append(f"注 note: {note}")
    return "\n".join(out)
