"""The tone rule: 平仄 along the tone patterns a candidate still fits."""

from __future__ import annotations

from typing import NamedTuple

import torch

from poetry_rnn.cache import BoundedCache
from poetry_rnn.decoding.rules.base import Rule
from poetry_rnn.decoding.rules.patterns import PatternChoice, PatternsLeft
from poetry_rnn.decoding.scheme_tables import BOTH, SchemeTables, fits_allowed
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.prosody.patterns import (
    STANDARD,
    STRICT,
    TONE_OF_MARK,
    TONE_OFF,
    allowed_tones,
    relaxed_template,
)

# Situations recur for every candidate, but the tones so far make many of them: keep memory bounded.
MAX_CACHED_SITUATIONS = 200_000


class ToneState(NamedTuple):
    line_tones: tuple[frozenset[str], ...]  # the tones of the characters of the current line so far


LINE_START = ToneState(())


class ToneRule(Rule):
    """Tones along the chosen pattern. Several patterns may stay possible (see PatternChoice): the mask
    allows what fits any of them, and each choice keeps only the patterns it fits, so the model's own
    preference picks the pattern.

    mode "strict": every fixed mark, 孤平 and 三平尾 guarded (prosody.patterns.allowed_tones);
    "standard": characters 2, 4, 6 and the line end, 孤平 and 三平尾 still guarded (the checker flags them
    at either level); "off": only the line ends (平 on rhyme lines, 仄 elsewhere), so the rhyme is unambiguous.
    """

    def __init__(self, tables: VocabularyTables, scheme: SchemeTables, choice: PatternChoice, mode: str):
        if mode not in (STRICT, STANDARD, TONE_OFF):
            raise ValueError(f"unknown tone mode {mode!r}")
        self.tables = tables
        self.scheme = scheme
        self.choice = choice
        self.patterns = choice.patterns
        self.mode = mode
        self.chars_per_line = choice.chars_per_line
        self.line_count = choice.line_count
        # (patterns left, line, position, tones so far) → mask
        self._cache = BoundedCache[torch.Tensor](MAX_CACHED_SITUATIONS)
        # what decides a mask (allowed tone sets, fitting tone groups) → the mask: a few dozen exist
        self._masks = BoundedCache[torch.Tensor](MAX_CACHED_SITUATIONS)
        # (template, position, tones before, piece tones) → whether the piece fits
        self._fits = BoundedCache[bool](MAX_CACHED_SITUATIONS)
        # (patterns left, line, position, tones before, piece tones) → (the patterns the piece fits, the tone
        # state after it): a piece advances every candidate in one situation alike, so the two state values
        # are made once and shared, not built per candidate and step
        self._advanced = BoundedCache[tuple[PatternsLeft, ToneState]](MAX_CACHED_SITUATIONS)

    def start(self, state: DecodingState) -> None:
        self.choice.start(state)
        state.rule_states[self] = LINE_START

    def allowed(self, template: str, position: int, previous: tuple) -> frozenset[str]:
        """Tones allowed at `position` of a line with `template`, after characters with `previous` tones."""
        if self.mode == STRICT:
            return allowed_tones(template, position, previous, STRICT)
        if self.mode == STANDARD:
            # Standard positions, with the strict guard against 孤平/三平尾 on the relaxed template.
            return allowed_tones(relaxed_template(template, STANDARD), position, previous, STRICT)
        if position == len(template) - 1:
            return frozenset((TONE_OF_MARK[template[-1]],))
        return BOTH

    def _piece_fits(self, template: str, position: int, previous: tuple, tones: tuple) -> bool:
        key = (template, position, previous, tones)
        found = self._fits.get(key)
        if found is None:  # a handful of situations recur for every candidate: decide each once
            found = True
            for offset, char_tones in enumerate(tones):
                if not fits_allowed(char_tones, self.allowed(template, position + offset, previous)):
                    found = False
                    break
                previous = previous + (char_tones,)
            self._fits.put(key, found)
        return found

    def _compute(self, templates: set[str], position: int, previous: tuple) -> torch.Tensor:
        """The union over templates of the pieces that fit. Masks are shared by what decides them (the
        allowed tone sets, the fitting multi-character tone groups), so at most a few dozen exist."""
        singles, multis = set(), set()
        for template in templates:
            singles.add(self.allowed(template, position, previous))
            remaining = len(template) - position
            for tones in self.scheme.multi_groups:
                if len(tones) <= remaining and self._piece_fits(template, position, previous, tones):
                    multis.add(tones)
        key = (frozenset(singles), frozenset(multis))
        found = self._masks.get(key)
        if found is None:
            found = torch.zeros(self.tables.vocab_size, dtype=torch.bool)
            for allowed in singles:
                if allowed:
                    found |= self.scheme.single_fit[allowed]
            for tones in multis:
                found |= self.scheme.multi_groups[tones]
            self._masks.put(key, found)
        return found

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        line, position = state.line, state.position
        if line >= self.line_count or position >= self.chars_per_line:
            return None
        patterns = self.choice.left(state)
        previous = state.rule_states[self].line_tones
        key = (patterns, line, position, previous)
        found = self._cache.get(key)
        if found is None:
            templates = {self.patterns[p].lines[line] for p in patterns}
            found = self._cache.put(key, self._compute(templates, position, previous))
        return found

    def advance(self, state: DecodingState, piece_id: int) -> None:
        tones = self.scheme.piece_tones[piece_id]
        if not tones:  # punctuation: a new line starts
            state.rule_states[self] = LINE_START
            return
        line, position = state.line, state.position
        previous = state.rule_states[self].line_tones
        if line >= self.line_count:
            state.rule_states[self] = ToneState(previous + tones)
            return
        patterns = self.choice.left(state)
        key = (patterns, line, position, previous, tones)
        found = self._advanced.get(key)
        if found is None:  # the patterns the piece fits: decided once per situation
            kept = tuple(
                p
                for p in patterns
                if self._piece_fits(self.patterns[p].lines[line], position, previous, tones)
            )
            found = self._advanced.put(key, (PatternsLeft(kept), ToneState(previous + tones)))
        left, own = found
        self.choice.keep(state, left)
        state.rule_states[self] = own
