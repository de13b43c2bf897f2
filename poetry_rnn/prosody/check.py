"""The 格律 checker: tones, rhyme, 对仗 and named faults of a poem (the CLI is `check_command`).

Each line gets the line type (平起平收 …) that fits it best; the types are chosen together so that the
poem's total of faults is smallest, counting broken 粘/对 between lines. That choice also names the
whole-poem pattern (平起/仄起, 首句入韵 or not). Every couplet of lines of 5 or 7 characters gets a 对仗
verdict (`parallel`); a 律诗 whose lines 3–4 or 5–6 are not parallel gets a 对仗 fault, kept apart from
the 格律 faults in `parallel_faults` so that `ok` (and the generator's judgement) still means 合律.
"""

from __future__ import annotations

from collections.abc import Sequence

from poetry_rnn.errors import UserError
from poetry_rnn.format import render_body
from poetry_rnn.prosody.analysis import (
    FAULT_NAMES_EN,
    PARALLEL_FAULT,
    Analysis,
    CharAnalysis,
    Fault,
    LineAnalysis,
    languages,
    with_note,
)
from poetry_rnn.prosody.heard import tone_breaks
from poetry_rnn.prosody.licences import Licence, rescuable, te_ao_opening_fault
from poetry_rnn.prosody.origins import written_in_traditional
from poetry_rnn.prosody.parallel import CoupletVerdict, judge_lines, middle_couplet_faults, stolen_spring
from poetry_rnn.prosody.patterns import (
    LINE_TEMPLATES,
    LINE_VARIANTS,
    PING_MARK,
    RESCUABLE_POSITIONS,
    STRICT,
    STRICTNESS_LEVELS,
    TONE_OF_MARK,
    checked_form_name,
    fits,
    fixed_positions,
    gu_ping_position,
    line_type_name,
    pattern_in_english,
    pattern_name,
    rescue_position,
)
from poetry_rnn.prosody.poem_text import MISSING, split_lines
from poetry_rnn.prosody.reading_notes import rare_reading_note, reading_note, rhyme_reading_note
from poetry_rnn.prosody.rhyme import PING, ZE, RhymeScheme, get_scheme
from poetry_rnn.prosody.rhyme_faults import (
    entering_tone_note,
    oblique_rhyme_faults,
    oblique_rhyme_group,
    rhyme_faults,
    rhymes_obliquely_in,
    unread_notes,
)
from poetry_rnn.prosody.shape import intended_line_length, shape_faults
from poetry_rnn.prosody.tones import tones_in_english
from poetry_rnn.script import to_traditional

MAX_INPUT_CHARS = 5000  # raw text, before anything else is done with it
MAX_POEM_CHARS = 400  # Chinese characters: a 七律 has 56; this leaves room for long 排律


# ---------------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------------
def analyze(text: str, scheme: str | RhymeScheme = "pingshui", strictness: str = STRICT) -> Analysis:
    """Analyse the 格律 of a poem (simplified or traditional; punctuation and line breaks optional)."""
    rhyme_scheme = scheme if isinstance(scheme, RhymeScheme) else get_scheme(scheme)
    if strictness not in STRICTNESS_LEVELS:
        raise UserError.of(
            "strictness_unknown", "strictness", value=strictness, allowed=", ".join(STRICTNESS_LEVELS)
        )
    if not isinstance(text, str):
        raise UserError.of("not_text", "text", what="the poem", kind=type(text).__name__)
    if len(text) > MAX_INPUT_CHARS:
        raise UserError.of("check_input_too_long", "text", given=len(text), most=MAX_POEM_CHARS)
    lines, notes = split_lines(text)
    total = sum(len(line) for line in lines)
    if total == 0:
        raise UserError.of("check_no_chinese", "text")
    if total > MAX_POEM_CHARS:
        raise UserError.of("check_poem_too_long", "text", given=total, most=MAX_POEM_CHARS)
    return _Analyzer(lines, rhyme_scheme, strictness, notes).run()


def analyze_lines(
    lines: Sequence[str], scheme: str | RhymeScheme = "pingshui", strictness: str = STRICT
) -> Analysis:
    """As `analyze`, for a poem already split into lines of Chinese characters only, as the decoder writes
    them: no text to parse and clean (a fifth of the time of `analyze` on a 七律)."""
    if not lines or not all(lines) or sum(map(len, lines)) > MAX_POEM_CHARS:
        raise ValueError(f"expected 1 to {MAX_POEM_CHARS} characters in non-empty lines, got {lines!r}")
    if strictness not in STRICTNESS_LEVELS:
        raise ValueError(f"unknown strictness {strictness!r}; allowed: {', '.join(STRICTNESS_LEVELS)}")
    rhyme_scheme = scheme if isinstance(scheme, RhymeScheme) else get_scheme(scheme)
    return _Analyzer(list(lines), rhyme_scheme, strictness, []).run()


class _Analyzer:
    def __init__(self, lines: list[str], scheme: RhymeScheme, strictness: str, notes: list[str]):
        self.lines = lines
        joined = "".join(lines)
        self.scheme = scheme.for_text(joined)  # a traditional poem's 干 is 干 (平), not also 幹 (仄)
        self.strictness = strictness
        self.notes = notes
        # rhyme group labels in the poem's script: 下平七阳 for a simplified poem, 下平七陽 for a traditional one
        # (judged as the readings are, by the characters only one script writes: 閒 爲 裏 are traditional too)
        if written_in_traditional(joined, scheme.characters):
            self.script = "traditional"
        else:
            self.script = "simplified" if to_traditional(joined) != joined else None
        # each line read as a whole: 平水韵 per character; 中华新韵 the modern reading in context
        self.tones = [list(self.scheme.line_tones(line)) for line in lines]
        self.last_groups = [
            self.scheme.line_rhyme_groups(line)[-1] if line else frozenset() for line in lines
        ]
        self.chars_per_line = intended_line_length(lines)
        self.has_templates = self.chars_per_line in LINE_TEMPLATES
        self.valid = [len(line) == self.chars_per_line and self.has_templates for line in lines]
        # a poem rhyming in an oblique group (江雪: 绝 灭 雪) takes the 仄韵 patterns: its rhyme lines end 仄,
        # the others 平, with 粘对 as ever; its rhyme is judged once, for the whole poem (a 古绝, not a 律绝)
        self.oblique = oblique_rhyme_group(self.scheme, lines)
        self._judged: dict[tuple[int, str], list[Fault]] = {}
        # (line, chart template) → the 拗救 that makes the line 合律 there (see _judge_line)
        self._licences: dict[tuple[int, str], Licence] = {}

    def run(self) -> Analysis:
        faults: list[Fault] = []
        shape, notes = shape_faults(self.lines, self.chars_per_line, self.has_templates)
        faults += shape
        self.notes += notes
        best = None
        for first_line_rhymes in self._first_line_options():
            candidate = self._evaluate(first_line_rhymes)
            if best is None or candidate[0] < best[0]:
                best = candidate
        assert best is not None
        _, first_line_rhymes, starts, line_faults, rhyme = best
        faults += line_faults
        rhyme_lines = self._rhyme_lines(first_line_rhymes)
        if not self.has_templates and len(self.lines) > 1:
            # prose, or lines of neither 5 nor 7 characters: no rhyme group to name, no 出韵 to find
            faults = [f for f in faults if f.name not in ("出韵", "重韵", "仄韵")]
            rhyme_lines, rhyme = set(), {**rhyme, "groups": []}
            self.notes.append(
                "各句既非五言也非七言，不按近体诗判押韵平仄 "
                "(the lines are neither 5 nor 7 characters long: rhyme and tones are not judged)"
            )
        analysed_lines = []
        licences = [rhyme["borrowed"]] if rhyme["borrowed"] else []
        for index, line in enumerate(self.lines):
            template = self._template(index, starts[index], first_line_rhymes) if self.valid[index] else None
            licence = self._licences.get((index, template)) if template else None
            if licence:
                licences.append(licence.describe(index, line, self.lines))
            shown = licence.template if licence else template  # a 特拗 line shows the form it takes
            excused = licence.positions if licence else ()
            chars = []
            for position, char in enumerate(line):
                tones = self.tones[index][position]
                required = shown[position] if shown else None
                fitting = required is None or position in excused or fits(required, tones)
                chars.append(CharAnalysis(char, sorted(tones), required, fitting))
            analysed_lines.append(
                LineAnalysis(
                    text=line,
                    chars=chars,
                    line_type=line_type_name(starts[index], template[-1] == PING_MARK) if template else None,
                    template=shown,
                    rhymes=index in rhyme_lines,
                )
            )
        readings = self._readings(analysed_lines, faults)
        lost = [(i, k) for i, line in enumerate(self.lines) for k, c in enumerate(line) if c == MISSING]
        if lost:
            where = "、".join(f"第{i + 1}句第{k + 1}字" for i, k in lost)
            where_en = ", ".join(f"line {i + 1} character {k + 1}" for i, k in lost)
            self.notes.append(f"{where}缺（{MISSING}），不判 ({where_en} lost ({MISSING}), not judged)")
        self.notes += unread_notes(self.scheme, self.lines, self.tones)
        rescue_note = self._rescuable_alone(starts, first_line_rhymes, faults)
        if rescue_note:
            self.notes.append(rescue_note)
        entering = entering_tone_note(self.scheme, self.lines, self.tones, faults)
        if entering:
            self.notes.append(entering)
        # a poem is of a form when its lines are of that form's length, but for one typed wrong (将进酒's
        # lines of 7 and 10 characters are no 七律)
        off_length = sum(not valid for valid in self.valid)
        form = checked_form_name(self.chars_per_line, len(self.lines)) if off_length <= 1 else None
        faults.sort(
            key=lambda f: (f.line if f.line is not None else -1, f.index if f.index is not None else -1)
        )
        groups = rhyme["groups"]
        # a pattern is the whole poem's: a single line has a line type only
        judged = self.has_templates and self.valid[0] and len(self.lines) > 1
        pattern = pattern_name(starts[0], first_line_rhymes) if judged else None
        if pattern and self.oblique is not None:
            pattern += "（仄韵）"
        nearest = self._nearest_note(pattern, faults)
        if nearest:
            self.notes.append(nearest)
        couplets = self._couplets()
        spring = stolen_spring(couplets, form)
        return Analysis(
            text=render_body(self.lines),
            scheme=self.scheme.name,
            form=form,
            chars_per_line=self.chars_per_line,
            pattern=pattern,
            lines=analysed_lines,
            rhyme_groups=groups,
            rhyme_group_labels=[self.scheme.group_label(g, self.script) for g in groups],
            script=self.script,
            faults=faults,
            notes=self.notes,
            strictness=self.strictness,
            couplets=couplets,
            parallel_faults=[
                Fault(PARALLEL_FAULT, line, None, message)
                for line, message in middle_couplet_faults(couplets, form)
            ],
            readings=readings,
            licences=[*licences, spring] if spring else licences,
        )

    def _readings(self, analysed: list[LineAnalysis], faults: list[Fault]) -> list[dict]:
        """The reading used where it matters (`RhymeScheme.reading_note`): a ◐ character at a fixed position,
        under 中华新韵 a character of two-tone readings at a fault (its message names it too), and a rhyme
        character read as its phrases mostly read it (`rhyme_reading_note`: 还 huán)."""
        found: dict[tuple[int, int], str] = {}
        for index, line in enumerate(analysed):
            note = rhyme_reading_note(self.scheme, line.text) if line.rhymes else None
            if note:
                found[(index, len(line.text) - 1)] = note
            if not line.template:
                continue
            for position in fixed_positions(line.template, self.strictness):
                if len(self.tones[index][position]) == 2:
                    tone = TONE_OF_MARK[line.template[position]]
                    note = reading_note(self.scheme, line.text, position, tone)
                    if note:
                        found[(index, position)] = note
        if self.scheme.reads_in_context:
            for fault in faults:
                if fault.line is None or fault.index is None or fault.name in ("出韵", "重韵"):
                    continue
                note = reading_note(self.scheme, self.lines[fault.line], fault.index)
                if note:
                    found[(fault.line, fault.index)] = note
                    fault.message = with_note(fault.message, note)
        for fault in faults:  # 平水韵: a fault the rhyme book's rare reading (不 平, 空 仄) would excuse
            if fault.line is None or fault.index is None or fault.name == "重韵":
                continue
            if fault.name == "出韵" and (self.oblique or PING in self.tones[fault.line][fault.index]):
                continue  # its rare reading could not rhyme: 仄 (深 among 真 rhymes), or 平 in a 仄韵 poem
            text = self.lines[fault.line]
            span = range(len(text) - 3, len(text)) if fault.name == "三平尾" else (fault.index,)
            for position in span:
                note = rare_reading_note(self.scheme, text[position])
                if note and (fault.line, position) not in found:
                    found[(fault.line, position)] = note
                    if f"[{languages(note)[0]}]" not in fault.message:  # 雲沈沈: one note for both 沈
                        fault.message = with_note(fault.message, note)
        return [
            {"line": line, "index": position, "char": self.lines[line][position], "note": note}
            for (line, position), note in sorted(found.items())
        ]

    def _nearest_note(self, pattern: str | None, faults: list[Fault]) -> str | None:
        """For a 4- or 8-line poem that breaks its pattern: the nearest pattern and what breaks it."""
        if pattern is None or len(self.lines) not in (4, 8) or not all(self.valid):
            return None
        broken = [f for f in faults if f.line is not None and f.name not in ("字数", "句数")]
        if not broken:
            return None

        def char(fault: Fault, chinese: bool) -> str:
            if fault.index is None:
                return ""
            found = self.lines[fault.line][fault.index]
            return f"「{found}」" if chinese else f" ({found})"

        places = "、".join(f"第{f.line + 1}句{f.name}{char(f, True)}" for f in broken)
        english = ", ".join(
            f"{FAULT_NAMES_EN.get(f.name, f.name).lower()} in line {f.line + 1}{char(f, False)}"
            for f in broken
        )
        gloss = pattern_in_english(pattern)
        return (
            f"最近的格式：{pattern}；不合处：{places} "
            f"(nearest pattern: {pattern}{f' ({gloss})' if gloss else ''}; what breaks it: {english})"
        )

    def _couplets(self) -> list[CoupletVerdict]:
        if len(self.lines) < 2 or not all(len(line) in (5, 7) for line in self.lines):
            return []
        return [v for v in judge_lines(self.lines) if v is not None]

    # -- pattern choice -----------------------------------------------------------------------------
    def _first_line_options(self) -> list[bool]:
        # On a tie: a first line ending surely 平 rhymes, surely 仄 does not; a polyphone that rhymes with
        # the even lines (征 in a 庚 poem) rhymes; otherwise the usual choice (七言 首句入韵, 五言 不入韵).
        last = self.tones[0][-1] if self.lines and self.lines[0] else frozenset()
        rhyming_tone = ZE if self.oblique is not None else PING
        if last == {rhyming_tone}:
            return [True, False]
        if last and rhyming_tone not in last:
            return [False, True]
        if self.oblique is not None:
            rhymes = bool(last) and rhymes_obliquely_in(self.scheme, self.lines[0][-1], self.oblique)
            return [rhymes, not rhymes]
        even_ends = [groups for groups in self.last_groups[1::2] if groups]
        if last and even_ends and self.last_groups[0] & frozenset.intersection(*even_ends):
            return [True, False]
        return [True, False] if self.chars_per_line == 7 else [False, True]

    def _rhyme_lines(self, first_line_rhymes: bool) -> set[int]:
        return {i for i in range(len(self.lines)) if i % 2 == 1 or (i == 0 and first_line_rhymes)}

    def _template(self, index: int, starts_level: bool, first_line_rhymes: bool) -> str:
        rhymes = index % 2 == 1 or (index == 0 and first_line_rhymes)
        ends_level = rhymes != (self.oblique is not None)  # 仄韵: the rhyme lines end 仄
        return LINE_TEMPLATES[self.chars_per_line][line_type_name(starts_level, ends_level)]

    def _evaluate(self, first_line_rhymes: bool):
        """Best line types for this first-line choice: dynamic programming over lines with the state
        "this line is 平起", costing tone faults within lines plus 失粘/失对 between them."""
        rhyme_faults, rhyme = self._rhyme_faults(first_line_rhymes)
        count = len(self.lines)
        line_costs = []
        for index in range(count):
            options = {}
            for starts in (True, False):
                faults = (
                    self._line_faults(index, self._template(index, starts, first_line_rhymes))
                    if self.valid[index]
                    else []
                )
                options[starts] = faults
            line_costs.append(options)
        # cost = (number of faults, number of 粘/对 faults): on equal totals prefer following 粘对. Each entry
        # keeps its cost, the previous line's choice (the path is read back at the end) and the first line's.
        table: list[dict[bool, tuple[tuple[int, int], bool | None, bool]]] = []
        for index in range(count):
            row = {}
            for starts in (True, False):
                own = len(line_costs[index][starts])
                if index == 0:
                    row[starts] = ((own, 0), None, starts)
                    continue
                best = None
                for previous_starts, (cost, _, first) in table[-1].items():
                    link = self._breaks_link(index, previous_starts, starts)
                    total = (cost[0] + own + link, cost[1] + link)
                    if best is None or total < best[0]:
                        best = (total, previous_starts, first)
                row[starts] = best
            table.append(row)
        # Ties between 平起 and 仄起 go to the one the second character suggests.
        suggested = self._suggested_start()
        last = min(table[-1], key=lambda starts: (table[-1][starts][0], table[-1][starts][2] != suggested))
        starts = [last]
        for index in range(count - 1, 0, -1):
            starts.append(table[index][starts[-1]][1])
        starts.reverse()
        # 粘/对 as heard: a line is 平起 by its 2nd character where that tone is sure (the nearest pattern's
        # line type otherwise). A 2nd character that breaks a link is named by 失粘/失对, not 不协平仄.
        heard = [self._heard_start(index, starts[index]) for index in range(count)]
        # a 2nd character with no reading (们 in 平水韵: not judged) breaks no link: it cannot be heard
        read = [self.valid[index] and bool(self.tones[index][1]) for index in range(count)]
        links = [
            i
            for i in range(1, count)
            if read[i - 1] and read[i] and self._breaks_link(i, heard[i - 1], heard[i])
        ]
        linked = {line for i in links for line in (i - 1, i)}
        faults = [
            fault
            for index in range(count)
            for fault in line_costs[index][starts[index]]
            if not (fault.index == 1 and fault.name == "不协平仄" and index in linked)
        ]
        # A broken link is put on the character that goes against the pattern: the later line's, unless
        # it fits and the earlier one does not (白山依山尽: 山, not 河; 恨别 read bié breaks both its links).
        faults += [
            self._link_fault(i, heard[i - 1] != starts[i - 1] and heard[i] == starts[i]) for i in links
        ]
        faults += rhyme_faults
        return (len(faults), len(links)), first_line_rhymes, starts, faults, rhyme

    def _heard_start(self, index: int, chosen: bool) -> bool:
        second = self.tones[index][1] if self.valid[index] else frozenset()
        return chosen if len(second) != 1 else second == {PING}

    def _suggested_start(self) -> bool:
        if not self.lines or len(self.lines[0]) < 2:
            return True
        return self.tones[0][1] != frozenset({ZE})

    def _breaks_link(self, index: int, previous_starts: bool, starts: bool) -> bool:
        """失对 within a couplet (lines 2k, 2k+1 must differ in 起), 失粘 across couplets (line 2k must
        match line 2k-1). Lines of the wrong length are not judged."""
        if not (self.valid[index] and self.valid[index - 1]):
            return False
        return (starts == previous_starts) if index % 2 == 1 else (starts != previous_starts)

    def _link_fault(self, index: int, earlier_breaks: bool) -> Fault:
        """The fault of a broken link into line `index` (see _breaks_link), built only for the path chosen,
        named at line `index` or, where `earlier_breaks`, at the line before it."""
        at, other = (index - 1, index) if earlier_breaks else (index, index - 1)
        zh_side, en_side = ("下句", "the next line") if earlier_breaks else ("上句", "the line before")
        own, theirs = self.lines[at][1], self.lines[other][1]
        head = f"第{at + 1}句第2字「{own}」与{zh_side}第2字「{theirs}」"
        own_en = f"line {at + 1}, 2nd character {own} ({tones_in_english(self.tones[at][1])})"
        theirs_en = f"{theirs} ({tones_in_english(self.tones[other][1])}) in {en_side}, line {other + 1}"
        if index % 2 == 1:
            return Fault(
                "失对",
                at,
                1,
                f"{head}同声，出句对句应平仄相对 "
                f"({own_en}, and {theirs_en}: the two lines of a couplet should oppose in tone (对))",
            )
        return Fault(
            "失粘",
            at,
            1,
            f"{head}平仄不同，应相粘 ({own_en}, but {theirs_en}: the two should match in tone (粘))",
        )

    def _line_faults(self, index: int, template: str) -> list[Fault]:
        # Both first-line choices judge the other lines against the same templates: judge each pair once.
        key = (index, template)
        found = self._judged.get(key)
        if found is None:
            found = self._judged[key] = self._judge_line(index, template)
        return found

    def _judge_line(self, index: int, template: str) -> list[Fault]:
        """The line's tone faults against `template`, none where a 拗救 the tradition accepts explains them:
        an accepted form of the line (LINE_VARIANTS: 特拗, 三仄尾), or a 拗 the next line rescues
        (RESCUABLE_POSITIONS)."""
        faults = self._tone_faults(index, template, self.strictness)
        if not faults:
            return faults
        for form, name in LINE_VARIANTS.get(template, ()):
            against_form = self._tone_faults(index, form, STRICT)
            if not against_form:
                self._licences[(index, template)] = Licence(name, form, ())
                return []
            opening = len(form) - 5
            if name == "特拗" and [(f.name, f.index) for f in against_form] == [("不协平仄", opening)]:
                # strict holds 王力's condition; standard's 一三五不论 frees the opening as in any line
                if self.strictness == STRICT:
                    return [te_ao_opening_fault(index, self.lines[index], form)]
                self._licences[(index, template)] = Licence(name, form, (opening,))
                return []
        if self._rescued(index, template) and rescuable(template, faults):
            excused = tuple(f.index for f in faults if f.index is not None)
            self._licences[(index, template)] = Licence("拗救", template, excused)
            return []
        # 半拗 (小拗): only the core's third character 仄 in 仄仄平平仄, which may go unrescued (王力:
        # 小拗可救可不救; 李白 此地一为别，孤蓬万里征)
        minor = RESCUABLE_POSITIONS.get(template, ())[:1]
        if minor and [(f.name, f.index) for f in faults] == [("不协平仄", minor[0])]:
            self._licences[(index, template)] = Licence("半拗", template, minor)
            return []
        return faults

    def _rescuable_alone(
        self, starts: list[bool], first_line_rhymes: bool, faults: list[Fault]
    ) -> str | None:
        """For a single line whose only faults a next line could rescue (对句相救): a note saying how."""
        if len(self.lines) != 1 or not self.valid[0] or not faults:
            return None
        if not rescuable(self._template(0, starts[0], first_line_rhymes), faults):
            return None
        rescue = rescue_position(self.chars_per_line) + 1
        return (
            f"此句之拗，对句第{rescue}字用平声可救（对句相救），合律 (a next line with a level character "
            f"{rescue} would rescue this, 对句相救)"
        )

    def _rescued(self, index: int, template: str) -> bool:
        """Whether line `index` (of `template`) opens a couplet whose second line takes 平 at rescue_position
        and is itself 合律 as the line that answers it: a rescuing line with its own fault (黄河东山流, 三平尾)
        rescues nothing."""
        following = index + 1
        if index % 2 or following >= len(self.lines) or not self.valid[following]:
            return False
        if PING not in self.tones[following][rescue_position(self.chars_per_line)]:
            return False
        answer = LINE_TEMPLATES[self.chars_per_line][line_type_name(template[1] != PING_MARK, True)]
        return not self._line_faults(following, answer)

    def _tone_faults(self, index: int, template: str, strictness: str) -> list[Fault]:
        line = self.lines[index]
        # a 平韵 poem's rhyme position is judged by the rhyme check (出韵), a 仄韵 poem's by its tone
        rhyme_position = len(template) - 1 if template[-1] == PING_MARK and self.oblique is None else None
        breaks = tone_breaks(template, self.tones[index], strictness, rhyme_position)
        faults: list[Fault] = []
        explained: set[int] = set()  # positions a 三平尾 or 孤平 fault already names
        if breaks.san_ping_wei:
            # at the tail's fixed 仄 that the line breaks (篱边着一花: 一, not the free 着), else its first
            start = len(template) - 3
            position = next((p for p in breaks.tone_positions if p >= start), start)
            explained.update(range(start, len(template)))
            faults.append(
                Fault(
                    "三平尾",
                    index,
                    position,
                    f"第{index + 1}句末三字「{line[-3:]}」皆平，第{position + 1}字「{line[position]}」宜仄 "
                    f"(line {index + 1} ends in three level tones, {line[-3:]}; character {position + 1}, "
                    f"{line[position]}, should be oblique, 仄)",
                )
            )
        if breaks.gu_ping:
            # 孤平 is judged on a line's last five characters (a 七言 line's first two do not count)
            core_zh, core_en = ("后五字", ", last five characters") if len(template) == 7 else ("", "")
            position = gu_ping_position(template)
            assert position is not None
            explained.add(position)
            faults.append(
                Fault(
                    "孤平",
                    index,
                    position,
                    f"第{index + 1}句{core_zh}除韵脚外只有一个平声字，第{position + 1}字「{line[position]}」宜平 "
                    f"(line {index + 1}{core_en}: one level tone besides the rhyme; character {position + 1}, "
                    f"{line[position]}, should be level, 平)",
                )
            )
        for position in breaks.tone_positions:
            if position in explained:
                continue
            mark = template[position]
            faults.append(
                Fault(
                    "不协平仄",
                    index,
                    position,
                    f"第{index + 1}句第{position + 1}字「{line[position]}」应{mark} "
                    f"(line {index + 1}, character {position + 1}, {line[position]}, should be "
                    f"{'level' if mark == PING_MARK else 'oblique'})",
                )
            )
        return faults

    # -- rhyme ----------------------------------------------------------------------------------------
    def _rhyme_faults(self, first_line_rhymes: bool) -> tuple[list[Fault], dict]:
        positions = sorted(self._rhyme_lines(first_line_rhymes))
        if self.oblique is not None:
            faults = oblique_rhyme_faults(
                self.scheme, self.lines, positions, self.oblique, Fault, self.script
            )
            return faults, {"groups": [self.oblique], "borrowed": None}
        last_tones = [tones[-1] if tones else frozenset() for tones in self.tones]
        faults, groups, borrowed = rhyme_faults(
            self.scheme, self.lines, last_tones, self.last_groups, positions, Fault, self.script
        )
        return faults, {"groups": groups, "borrowed": borrowed}
