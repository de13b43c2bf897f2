"""The heard-line rule (中华新韵): a finished line must keep its pattern as a reader hears it in context.

While a line is written, the tone and rhyme rules use each character's own readings, where a true modern
polyphone (长 为 应) counts as either tone. Once the line is complete, its reading in context may settle
such a character the other way (相识 shí 平, 重重 chóng 平): this rule reads the whole line
(`prosody.heard.line_breaks`, the checker's own judgement) and keeps only the patterns it still fits. A line
that fits none is a dead end for that candidate (no piece is allowed after it), so the decoder never relies on
a reading no reader would use.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

import torch

from poetry_rnn.cache import BoundedCache
from poetry_rnn.decoding.rules.base import Rule
from poetry_rnn.decoding.rules.patterns import PatternChoice, PatternsLeft
from poetry_rnn.decoding.rules.rhyme import RhymeRule
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.prosody.heard import line_breaks
from poetry_rnn.prosody.modern import surprising_pairs
from poetry_rnn.prosody.patterns import (
    FREE_MARK,
    STANDARD,
    STRICT,
    TONE_OF_MARK,
    TONE_OFF,
    fixed_positions,
    relaxed_template,
)
from poetry_rnn.prosody.rhyme import PING, ZE, RhymeScheme
from poetry_rnn.script import simplified_alike

MAX_CACHED_LINES = 100_000  # distinct finished lines in their situation: keep memory bounded


class HeardState(NamedTuple):
    broken: bool  # the last finished line fits no pattern left as it is read: nothing may follow


LINE_KEPT = HeardState(False)
LINE_BROKEN = HeardState(True)


class HeardLineRule(Rule):
    """Each finished line read in context against the patterns (and rhyme groups) the candidate still
    fits; the patterns it breaks are dropped, and a line that breaks them all ends the candidate.

    `tone`: "strict" or "standard" as the tone rule (standard: positions 2, 4, 6 and the end, 孤平 and
    三平尾 still guarded, as the checker flags them at either level); "off": only the rhyme is heard.
    `rhyme`: the request's rhyme rule (its groups are narrowed to those the heard rhyme keeps), or None.
    """

    def __init__(
        self,
        tables: VocabularyTables,
        scheme: RhymeScheme,
        choice: PatternChoice,
        tone: str,
        rhyme: RhymeRule | None,
    ):
        if tone not in (STRICT, STANDARD, TONE_OFF):
            raise ValueError(f"unknown tone mode {tone!r}")
        self.tables = tables
        self.scheme = scheme
        self.choice = choice
        self.patterns = choice.patterns
        self.tone = tone
        self.rhyme = rhyme
        self.chars_per_line = choice.chars_per_line
        self.line_count = choice.line_count
        self._nothing = torch.zeros(tables.vocab_size, dtype=torch.bool)
        # (patterns left, line index, line, rhyme groups) → (patterns kept, rhyme groups kept)
        self._verdicts = BoundedCache[tuple[tuple[int, ...], tuple[str, ...]]](MAX_CACHED_LINES)
        # (previous character, tones allowed there, tones allowed here) → pieces steered off
        self._steering = BoundedCache[tuple[int, ...]](MAX_CACHED_LINES)
        self._tones_at = BoundedCache[frozenset[str]](MAX_CACHED_LINES)  # (patterns, line, position) → tones
        self._pairs: dict[str, tuple[tuple[str, str | None, str | None], ...]] | None = None
        self._by_simplified: dict[str, list[str]] = {}

    def start(self, state: DecodingState) -> None:
        self.choice.start(state)
        state.rule_states[self] = LINE_KEPT

    def shared_mask(self, state: DecodingState) -> tuple[torch.Tensor | None, Collection[int]]:
        if state.rule_states[self].broken:
            return self._nothing, ()
        return None, self._steered(state)

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        found, excluded = self.shared_mask(state)
        if found is None and excluded:
            found = torch.ones(self.tables.vocab_size, dtype=torch.bool)
            found[list(excluded)] = False
        return found

    # -- steering: cheap, before the line is finished -------------------------------------------------
    def _steered(self, state: DecodingState) -> tuple[int, ...]:
        """Pieces that would make a dictionary pair with the previous character reading one of the two in
        a tone its position cannot take (相 then 识 where 相 stands in a 仄 slot): the line would be refused
        once finished, so the candidate is steered off it now and need not die."""
        position = state.position
        if (
            self.tone == TONE_OFF
            or position == 0
            or position >= self.chars_per_line
            or state.line >= self.line_count
        ):
            return ()
        pairs = self._pairs_after().get(state.line_text[-1])
        if not pairs:  # most characters start no such pair
            return ()
        patterns = self.choice.left(state)
        before = self._allowed(patterns, state.line, position - 1)
        here = self._allowed(patterns, state.line, position)
        key = (state.line_text[-1], before, here)
        found = self._steering.get(key)
        if found is None:
            found = self._steering.put(
                key,
                tuple(
                    piece
                    for second, first_tone, second_tone in pairs
                    if (first_tone and first_tone not in before) or (second_tone and second_tone not in here)
                    for char in self._by_simplified[second]
                    for piece in self.tables.ids_starting_with.get(char, ())
                ),
            )
        return found

    def _pairs_after(self) -> dict[str, tuple[tuple[str, str | None, str | None], ...]]:
        """`modern.surprising_pairs` by the model's own characters (traditional for the shipped model), for
        pairs whose second character the model can write; made on first use."""
        if self._pairs is None:
            chars = sorted(c for c in self.tables.ids_starting_with if len(c) == 1)
            simple = simplified_alike("".join(chars))
            by_simplified: dict[str, list[str]] = {}
            for char, simplified in zip(chars, simple, strict=True):
                by_simplified.setdefault(simplified, []).append(char)
            self._by_simplified = by_simplified
            pairs = surprising_pairs()
            self._pairs = {
                char: tuple(p for p in pairs.get(simplified, ()) if p[0] in by_simplified)
                for char, simplified in zip(chars, simple, strict=True)
                if simplified in pairs
            }
        return self._pairs

    def _allowed(self, patterns: tuple[int, ...], line: int, position: int) -> frozenset[str]:
        """The tones some pattern left takes at `position` of `line` (both where any leaves it free)."""
        key = (patterns, line, position)
        found = self._tones_at.get(key)
        if found is None:
            tones: set[str] = set()
            for pattern in patterns:
                template = self._template(pattern, line)
                fixed = position in fixed_positions(template, STRICT)
                tones |= {TONE_OF_MARK[template[position]]} if fixed else {PING, ZE}
            found = self._tones_at.put(key, frozenset(tones))
        return found

    def _template(self, pattern: int, line: int) -> str:
        template = self.patterns[pattern].lines[line]
        if self.tone == STANDARD:
            return relaxed_template(template, STANDARD)
        if self.tone == TONE_OFF:
            return FREE_MARK * len(template)
        return template

    def judge(
        self, patterns: tuple[int, ...], line: int, text: str, groups: tuple[str, ...] | None
    ) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The patterns (of `patterns`) that line number `line`, `text`, keeps as heard, and of `groups` (the
        rhyme groups left; None without a rhyme rule) those its heard rhyme keeps."""
        key = (patterns, line, text, groups)
        found = self._verdicts.get(key)
        if found is not None:
            return found
        kept: list[int] = []
        rhymed: set[str] = set()
        heard_groups = self.scheme.line_rhyme_groups(text)[-1]
        for pattern in patterns:
            rhymes = groups is not None and line in self.patterns[pattern].rhyme_lines
            breaks = line_breaks(
                self.scheme,
                text,
                self._template(pattern, line),
                STANDARD if self.tone == TONE_OFF else STRICT,
                groups if rhymes else None,
            )
            if not breaks:
                kept.append(pattern)
                if rhymes:
                    rhymed |= heard_groups
        left = tuple(g for g in groups if g in rhymed or not rhymed) if groups is not None else ()
        return self._verdicts.put(key, (tuple(kept), left))

    def advance(self, state: DecodingState, piece_id: int) -> None:
        # Runs after the tone and rhyme rules' advance (built after them): their narrowing is in the state.
        chars = self.tables.chars[piece_id]
        if not chars or state.line >= self.line_count:
            return
        if state.position + len(chars) != self.chars_per_line:
            return
        groups = self.rhyme.groups_left(state) if self.rhyme is not None else None
        patterns = self.choice.left(state)
        kept, left = self.judge(patterns, state.line, state.line_text + chars, groups)
        if not kept:
            state.rule_states[self] = LINE_BROKEN
            return
        if kept != patterns:
            self.choice.keep(state, PatternsLeft(kept))
        if self.rhyme is not None and groups is not None and left != groups:
            self.rhyme.keep_groups(state, left)


__all__ = ["HeardLineRule", "HeardState"]
