"""A character the poem already has is disfavoured: a presence penalty, as text generators have one.

The repetition rule (repetition.py) sets the hard limits: no character more than `max_repeat` times, none
twice in a line outside a reduplication. Within them the shipped model still reuses characters across
lines nearly three times as often as Tang poets: without this rule 6.8 % of a generated poem's characters
repeat an earlier one, 2.4 % of a real one's (poetry_rnn.quality, `repeated_characters`); 「秋」 stands twice
in 13 % of generated poems, in 0.4 % of real ones. Readers call it lazy repetition.

A soft preference, not a rule of verse: a piece with a character the poem already has loses `penalty` from
its log-weight in the sampler (and its score in beam search), never from the candidate's score. The second
character of a reduplication (蕭蕭) repeats the one before it by definition, so right after a character that
character is left alone: the repetition rule says where a reduplication may stand.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from poetry_rnn.decoding.rules.base import NO_BONUSES, Preference
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.script import normalize_variants


class ReuseState(NamedTuple):
    used: frozenset[str]  # the poem's characters so far, normalised
    every: Mapping[int, float]  # the pieces of all of them, with the penalty
    next: Mapping[int, float]  # what `favoured` gives now: `every`, less the character just written


def pieces_by_character(tables: VocabularyTables) -> Mapping[str, tuple[int, ...]]:
    """Each character's pieces (those that contain it): built once per vocabulary (VocabularyTables.shared)."""
    return MappingProxyType(
        {char: tuple(piece for piece, _ in found) for char, found in tables.ids_containing.items()}
    )


class ReuseRule(Preference):
    """Disfavours, by `penalty`, every piece with a character the poem already has, or will have: the
    `reserved` characters count as the poem's from its start (an acrostic's heads, which a line written
    before its head would spend: 明月照秋光，月轮…)."""

    def __init__(self, tables: VocabularyTables, penalty: float, reserved: tuple[str, ...] = ()):
        self.penalty = penalty
        self._pieces = tables.shared(pieces_by_character, tables)
        self._chars = tables.chars
        self._line_ends = (tables.comma_id, tables.period_id)
        used = frozenset(normalize_variants("".join(reserved)))
        every = NO_BONUSES
        if used:
            every = MappingProxyType(
                {piece: -penalty for char in used for piece in self._pieces.get(char, ())}
            )
        self._start = ReuseState(used, every, every)

    def start(self, state: DecodingState) -> None:
        state.rule_states[self] = self._start

    def favoured(self, state: DecodingState) -> Mapping[int, float]:
        return state.rule_states[self].next

    def advance(self, state: DecodingState, piece_id: int) -> None:
        own: ReuseState = state.rule_states[self]
        if piece_id in self._line_ends:  # a new line: no character before the next one to reduplicate
            state.rule_states[self] = own._replace(next=own.every)
            return
        text = normalize_variants(self._chars[piece_id])
        if not text:
            return
        new = [char for char in dict.fromkeys(text) if char not in own.used]
        every = own.every
        if new:
            grown = dict(every)
            for char in new:
                grown.update((piece, -self.penalty) for piece in self._pieces.get(char, ()))
            every = MappingProxyType(grown)
        last = text[-1]
        if last in new and len(new) == 1:
            following = own.every  # everything before, without the character just written
        else:
            following = MappingProxyType(
                {
                    piece: value
                    for piece, value in every.items()
                    if last not in normalize_variants(self._chars[piece])
                }
            )
        state.rule_states[self] = ReuseState(own.used.union(new), every, following)
