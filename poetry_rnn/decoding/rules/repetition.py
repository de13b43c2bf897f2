"""The repetition rule: no character more than `max_repeat` times in a poem, and, within lines and couplets,
repetition only where verse repeats (issue 13).

With a `LineRepetition` (the generator's default) the rule also keeps, as real Tang verse does:
- a reduplication (叠词, 「蕭蕭」) only where it reads as one word: attested at that position of a line of
  that length in the train split, and not splitting a word beside it (「滿城城」: 滿城 is a word, 「依依舊」:
  依舊 is one; poetry_rnn/quality.py; without the table, anywhere, as before it);
- never two reduplications of the same character in a poem;
- no character twice in a line outside one reduplication (「高閣開樓閣」, 「滿城城」 are refused);
- in the second line of a couplet, no character of the first line except at the same position: the
  mirrored repetition parallel lines use (「江上…，江邊…」) stays; a rhyme or key word repeated elsewhere
  in the couplet does not (2.2 % of the train split's couplets do so).
Characters that are one once simplified (髮 and 發 are 发) count as one in a line and a couplet. Characters the
user gives (a first line, acrostic heads) are never blocked: a soft rule yields to a dictated piece, and the
given first line is not checked by soft rules. To find reduplications in a finished poem (a test, a
measure), use poetry_rnn.quality.reduplications rather than a loop of one's own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from poetry_rnn.decoding.rules.base import SoftRule
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.quality import ReduplicationSlots
from poetry_rnn.script import normalize_variants


@dataclass(frozen=True)
class LineRepetition:
    """The within-line and couplet part of the rule. slots: the attested reduplications (normalised
    characters); None allows a reduplication anywhere."""

    chars_per_line: int
    slots: ReduplicationSlots | None

    def may_double(self, line: str, position: int) -> bool:
        """Whether line[-1] may be written again at `position`: the slot is attested and the reduplication
        does not take its first character from a word with the one before it."""
        if self.slots is None:
            return True
        char = line[-1]
        before = line[-2] if len(line) > 1 else ""
        attested = (self.chars_per_line, position - 1, char) in self.slots
        return attested and before not in self.slots.words_before.get(char, ())

    def refused_after(self, line: str) -> frozenset[str]:
        """The characters that may not follow `line`: after a reduplication, those that begin a word with
        its character (「依依」 then not 「舊」)."""
        if self.slots is None or len(line) < 2 or line[-1] != line[-2]:
            return frozenset()
        return self.slots.words_after.get(line[-1], frozenset())


def _pieces_by_kind(
    tables: VocabularyTables,
) -> tuple[dict[str, list[int]], dict[str, list[int]], list[int]]:
    """One-character pieces by their normalised character (a character vocabulary has only these), the
    longer pieces by each character they contain (judged whole by RepetitionRule._fits), and the pieces
    that repeat a character within themselves. Built once per vocabulary (a pass over it)."""
    single: dict[str, list[int]] = {}
    longer: dict[str, list[int]] = {}
    for char, pieces in tables.ids_containing.items():
        for piece, _ in pieces:
            kind = single if len(tables.chars[piece]) == 1 else longer
            kind.setdefault(char, []).append(piece)
    self_repeating = [p for p, text in enumerate(tables.chars) if len(set(text)) < len(text)]
    return single, longer, self_repeating


class RepetitionState(NamedTuple):
    counts: Mapping[str, int]  # normalised character → times written (or reserved); never changed in place
    blocked: frozenset[int]  # pieces that would write a character once too often
    line: str = ""  # the line being written, normalised
    couplet_first: str = ""  # the couplet's first line (normalised) while its second is written, else ""
    doubled: frozenset[str] = frozenset()  # characters already reduplicated in the poem
    next_blocked: frozenset[int] = frozenset()  # `blocked` and the line's and couplet's pieces, for next


class RepetitionRule(SoftRule):
    """No character more than `max_repeat` times in a poem (None: no limit); with `lines`, the line and
    couplet rules of the module docstring. Soft: yields to a dictated piece.

    `reserved` maps a line to the character that a forcing rule will put at its start (an acrostic head):
    it counts from the beginning, so the model cannot use up a head character before its line."""

    def __init__(
        self,
        tables: VocabularyTables,
        max_repeat: int | None,
        reserved: dict[int, str] | None = None,
        lines: LineRepetition | None = None,
    ):
        super().__init__(tables)
        self.max_repeat = max_repeat
        self.reserved = dict(reserved or {})  # line → head character as the vocabulary writes it
        self.lines = lines
        self._comma_period = (tables.comma_id, tables.period_id)
        self._single, self._longer, self._self_repeating = tables.shared(_pieces_by_kind, tables)

    def start(self, state: DecodingState) -> None:
        own = RepetitionState({}, frozenset())
        for char in self.reserved.values():
            own = self._counted(own, normalize_variants(char))
        state.rule_states[self] = self._with_next(own)

    def blocked(self, state: DecodingState) -> Collection[int]:
        own = state.rule_states[self]
        head = self.reserved.get(state.line) if state.position == 0 else None
        if head is None:
            return own.next_blocked
        # At a reserved head, pieces starting with it are judged by the rest of their characters.
        starting = self.tables.ids_starting_with.get(head, ())
        judged = set(own.next_blocked).difference(starting)
        if self.max_repeat is not None:
            for piece in starting:
                tail = normalize_variants(self.tables.chars[piece])[1:]
                if any(own.counts.get(c, 0) + tail.count(c) > self.max_repeat for c in set(tail)):
                    judged.add(piece)
        return judged

    def advance(self, state: DecodingState, piece_id: int) -> None:
        own = state.rule_states[self]
        if piece_id in self._comma_period:
            if self.lines is not None:
                # the line just ended opens a couplet when it is the 1st, 3rd, ... line
                first = own.line if state.line % 2 == 0 else ""
                state.rule_states[self] = self._with_next(own._replace(line="", couplet_first=first))
            return
        chars = normalize_variants(self.tables.chars[piece_id])
        if not chars:
            return
        counted = chars
        head = self.reserved.get(state.line) if state.position == 0 else None
        if head is not None and chars[0] == normalize_variants(head):
            counted = chars[1:]  # the reserved head, counted at the start
        if counted:
            own = self._counted(own, counted)
        if self.lines is not None:
            line = own.line + chars
            doubled = own.doubled.union(
                line[i] for i in range(max(0, len(own.line) - 1), len(line) - 1) if line[i] == line[i + 1]
            )
            own = own._replace(line=line, doubled=doubled)
        state.rule_states[self] = self._with_next(own)

    def _counted(self, own: RepetitionState, chars: str) -> RepetitionState:
        if self.max_repeat is None:
            return own
        counts = dict(own.counts)
        newly_blocked = []
        for char in chars:
            counts[char] = counts.get(char, 0) + 1
        for char in set(chars):
            for piece, occurrences in self.tables.ids_containing.get(char, ()):
                if counts[char] + occurrences > self.max_repeat:
                    newly_blocked.append(piece)
        blocked = own.blocked.union(newly_blocked) if newly_blocked else own.blocked
        return own._replace(counts=counts, blocked=blocked)

    # ------------------------------------------------------------------------------ lines and couplets
    def _with_next(self, own: RepetitionState) -> RepetitionState:
        """The state with the pieces blocked at the next step (made once per advance, not per query)."""
        line, first = own.line, own.couplet_first
        position = len(line)
        nothing_to_judge = not line and not first and not self._self_repeating
        if self.lines is None or nothing_to_judge or position >= self.lines.chars_per_line:
            return own._replace(next_blocked=own.blocked)
        # one-character pieces: a character of the line, unless it would make the one reduplication a slot
        # allows here; a character of the couplet's first line, unless it stood at this position there
        last = line[-1] if line else ""
        doubling = (
            last
            and line.count(last) == 1
            and last not in own.doubled
            and self.lines.may_double(line, position)
        )
        mirrored = first[position] if position < len(first) else ""
        refused_chars = {c for c in line if not (doubling and c == last)}
        refused_chars.update(c for c in first if c != mirrored)
        refused_chars.update(self.lines.refused_after(line))
        # a character that is one of the line's once simplified (髮 and 發 are 发) repeats it on the page
        twins = self.tables.simplified_twins
        refused_chars.update(twin for c in line for twin in twins(c) if twin != c)
        refused_chars.update(twin for c in first if c != mirrored for twin in twins(c))
        refused = [piece for char in refused_chars for piece in self._single.get(char, ())]
        if self._longer or self._self_repeating:
            suspects = set(self._self_repeating)
            for char in set(line) | set(first) | self.lines.refused_after(line):
                suspects.update(self._longer.get(char, ()))
            chars = self.tables.chars
            refused += [
                piece for piece in suspects if not self._fits(line, first, position, chars[piece], own)
            ]
        return own._replace(next_blocked=own.blocked.union(refused) if refused else own.blocked)

    def _fits(self, line: str, first: str, position: int, text: str, own: RepetitionState) -> bool:
        """Whether `text` may follow `line` (normalised) at `position` under the line and couplet rules."""
        text = normalize_variants(text)
        if position + len(text) > self.lines.chars_per_line:
            return True  # the form rule refuses it; nothing to judge here
        written = line + text
        for offset, char in enumerate(text):
            at = position + offset
            if first and char in first and (at >= len(first) or first[at] != char):
                return False  # a character of the couplet's first line, not mirrored
            earlier = written[:at]
            if char in self.lines.refused_after(earlier):
                return False
            if char not in earlier:
                continue
            # only as the second of a reduplication: its one earlier occurrence just before it, the first
            # reduplication of that character in the poem, where it reads as a word
            if earlier.count(char) > 1 or earlier[-1] != char or char in own.doubled:
                return False
            if not self.lines.may_double(earlier, at):
                return False
        return True
