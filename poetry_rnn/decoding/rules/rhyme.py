"""The rhyme rule: one level-tone rhyme group on the rhyme lines, no rhyme character twice."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

import torch

from poetry_rnn.cache import BoundedCache
from poetry_rnn.decoding.rules.base import Rule
from poetry_rnn.decoding.rules.patterns import PatternChoice, PatternsLeft
from poetry_rnn.decoding.scheme_tables import SchemeTables
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.script import normalize_variants

MAX_CACHED_SITUATIONS = 200_000  # the rhymes used make many situations: keep memory bounded


class RhymeState(NamedTuple):
    groups: tuple[str, ...]  # the rhyme groups still possible
    used: frozenset[str]  # rhyme characters written so far (normalised)


def rhyme_groups_left(state: DecodingState) -> tuple[str, ...]:
    """The rhyme groups a (finished) candidate still fits: its rhyme group first; () without a rhyme rule."""
    for value in state.rule_states.values():
        if isinstance(value, RhymeState):
            return value.groups
    return ()


class RhymeRule(Rule):
    """One level-tone rhyme group on the rhyme lines, no rhyme character twice.

    Several groups may stay possible until the first rhyme character is chosen (by the model's
    preference); the groups it belongs to are kept for the remaining rhyme lines. Where the first line's
    rhyming is still open (patterns of both kinds remain), its last character either rhymes or has an
    oblique reading; the choice settles the pattern. `first_line_borrows`: groups the first line may end
    in besides the rhyme groups without changing them (首句借邻韵, for a first line the user gave).
    """

    def __init__(
        self,
        tables: VocabularyTables,
        scheme: SchemeTables,
        choice: PatternChoice,
        rhyme_groups: Sequence[str],
        first_line_borrows: Sequence[str] = (),
    ):
        self.tables = tables
        self.scheme = scheme
        self.choice = choice
        self.patterns = choice.patterns
        self.initial_groups = tuple(rhyme_groups)
        self.first_line_borrows = tuple(g for g in first_line_borrows if g not in self.initial_groups)
        self.chars_per_line = choice.chars_per_line
        self.line_count = choice.line_count
        # (groups, characters left, every pattern rhymes, used) → mask, one object per situation
        self._masks = BoundedCache[torch.Tensor](MAX_CACHED_SITUATIONS)
        # (characters left, every pattern rhymes, used) → the pieces that would repeat a used rhyme
        self._used = BoundedCache[tuple[int, ...]](MAX_CACHED_SITUATIONS)
        # (patterns left, line) → (some pattern rhymes the line, every one does): a few dozen keys at most
        self._rhyming = BoundedCache[tuple[bool, bool]](MAX_CACHED_SITUATIONS)

    def start(self, state: DecodingState) -> None:
        self.choice.start(state)
        state.rule_states[self] = RhymeState(self.initial_groups, frozenset())

    def groups_left(self, state: DecodingState) -> tuple[str, ...]:
        """The rhyme groups the candidate may still rhyme in."""
        return state.rule_states[self].groups

    def keep_groups(self, state: DecodingState, groups: tuple[str, ...]) -> None:
        """Narrow the candidate's rhyme groups to `groups` (a subset of those it had), as another rule that
        reads the line (新韵 as heard) decides; the rule's state stays its own to change."""
        own = state.rule_states[self]
        state.rule_states[self] = RhymeState(groups, own.used)

    def _rhymes(self, state: DecodingState) -> tuple[bool, bool]:
        """(some remaining pattern rhymes this line, every remaining pattern does)."""
        patterns = self.choice.left(state)
        key = (patterns, state.line)
        found = self._rhyming.get(key)
        if found is None:
            flags = [state.line in self.patterns[p].rhyme_lines for p in patterns]
            found = self._rhyming.put(key, (any(flags), all(flags)))
        return found

    def _situation(self, state: DecodingState) -> tuple | None:
        """(rhyme groups, characters left in the line, whether every remaining pattern rhymes the line, rhyme
        characters used) where a piece may end a rhyming line; None where this rule has nothing to say."""
        remaining = self.chars_per_line - state.position
        if remaining <= 0 or remaining > self.tables.max_piece_len or state.line >= self.line_count:
            return None
        some, every = self._rhymes(state)
        if not some:
            return None
        own = state.rule_states[self]
        if state.line == 0 and self.first_line_borrows:
            return own.groups + self.first_line_borrows, remaining, every, own.used
        return own.groups, remaining, every, own.used

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        situation = self._situation(state)
        if situation is None:
            return None
        return self._mask(*situation)

    def shared_mask(self, state: DecodingState) -> tuple[torch.Tensor | None, Collection[int]]:
        situation = self._situation(state)
        if situation is None:
            return None, ()
        groups, remaining, every, used = situation
        return self._mask(groups, remaining, every, frozenset()), self._used_pieces(remaining, every, used)

    def _mask(self, groups: tuple, remaining: int, every: bool, used: frozenset) -> torch.Tensor:
        key = (groups, remaining, every, used)
        found = self._masks.get(key)
        if found is None:
            rhymes = torch.zeros(self.tables.vocab_size, dtype=torch.bool)
            for group in groups:
                rhymes |= self.scheme.group_last[group]
            ok = rhymes if every else rhymes | self.scheme.last_can_be_ze
            # Pieces that do not reach the line end are not judged here.
            found = ~self.tables.length_exactly[remaining] | ok
            found[list(self._used_pieces(remaining, every, used))] = False
            self._masks.put(key, found)
        return found

    def _used_pieces(self, remaining: int, every: bool, used: frozenset) -> tuple[int, ...]:
        """Pieces that would end the line on a rhyme character already used; where the first line may
        also not rhyme, only those that cannot be read oblique (the others may end it unrhymed)."""
        if not used:
            return ()
        key = (remaining, every, used)
        found = self._used.get(key)
        if found is None:
            chars = self.tables.chars
            found = self._used.put(
                key,
                tuple(
                    p
                    for char in used
                    for p in self.tables.ids_ending_with.get(char, ())
                    if chars[p]
                    and len(chars[p]) == remaining
                    and (every or not bool(self.scheme.last_can_be_ze[p]))
                ),
            )
        return found

    def advance(self, state: DecodingState, piece_id: int) -> None:
        chars = self.tables.chars[piece_id]
        if not chars or state.position + len(chars) != self.chars_per_line:
            return
        if state.line >= self.line_count:
            return
        some, every = self._rhymes(state)
        if not some:
            return
        own = state.rule_states[self]
        last = normalize_variants(chars[-1])
        groups = tuple(g for g in own.groups if chars[-1] in self.scheme.group_chars[g])
        if (
            state.line == 0
            and not groups
            and any(chars[-1] in self.scheme.group_chars[g] for g in self.first_line_borrows)
        ):
            groups = own.groups  # a borrowed first rhyme leaves the poem's group as it was
        if groups and last not in own.used:
            # 迴 after 回 is the same rhyme to a reader of simplified script: both are used
            state.rule_states[self] = RhymeState(groups, own.used | self.tables.simplified_twins(last))
        elif not every:  # the first line does not rhyme: keep only the patterns where it need not
            patterns = self.choice.left(state)
            kept = tuple(p for p in patterns if state.line not in self.patterns[p].rhyme_lines)
            self.choice.keep(state, PatternsLeft(kept))
