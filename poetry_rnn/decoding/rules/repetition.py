"""The repetition rule: no character more than `max_repeat` times in a poem."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import NamedTuple

from poetry_rnn.decoding.rules.base import SoftRule
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.script import normalize_variants


class RepetitionState(NamedTuple):
    counts: Mapping[str, int]  # normalised character → times written (or reserved); never changed in place
    blocked: frozenset[int]  # pieces that would write a character once too often


class RepetitionRule(SoftRule):
    """No character more than `max_repeat` times in a poem. Soft: yields to a dictated piece.

    `reserved` maps a line to the character that a forcing rule will put at its start (an acrostic head):
    it counts from the beginning, so the model cannot use up a head character before its line."""

    def __init__(self, tables: VocabularyTables, max_repeat: int, reserved: dict[int, str] | None = None):
        super().__init__(tables)
        self.max_repeat = max_repeat
        self.reserved = dict(reserved or {})  # line → head character as the vocabulary writes it

    def start(self, state: DecodingState) -> None:
        own = RepetitionState({}, frozenset())
        for char in self.reserved.values():
            own = self._counted(own, normalize_variants(char))
        state.rule_states[self] = own

    def blocked(self, state: DecodingState) -> Collection[int]:
        own = state.rule_states[self]
        head = self.reserved.get(state.line) if state.position == 0 else None
        if head is None:
            return own.blocked
        # At a reserved head, pieces starting with it are judged by the rest of their characters.
        starting = self.tables.ids_starting_with.get(head, ())
        judged = set(own.blocked).difference(starting)
        for piece in starting:
            tail = normalize_variants(self.tables.chars[piece])[1:]
            if any(own.counts.get(c, 0) + tail.count(c) > self.max_repeat for c in set(tail)):
                judged.add(piece)
        return judged

    def advance(self, state: DecodingState, piece_id: int) -> None:
        chars = normalize_variants(self.tables.chars[piece_id])
        head = self.reserved.get(state.line) if state.position == 0 else None
        if head is not None and chars and chars[0] == normalize_variants(head):
            chars = chars[1:]  # the reserved head, counted at the start
        if chars:
            state.rule_states[self] = self._counted(state.rule_states[self], chars)

    def _counted(self, own: RepetitionState, chars: str) -> RepetitionState:
        counts = dict(own.counts)
        newly_blocked = []
        for char in chars:
            counts[char] = counts.get(char, 0) + 1
        for char in set(chars):
            for piece, occurrences in self.tables.ids_containing.get(char, ()):
                if counts[char] + occurrences > self.max_repeat:
                    newly_blocked.append(piece)
        blocked = own.blocked.union(newly_blocked) if newly_blocked else own.blocked
        return RepetitionState(counts, blocked)
