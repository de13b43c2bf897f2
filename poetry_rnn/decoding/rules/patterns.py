"""Which tone patterns a candidate may still follow: a state that the tone and rhyme rules share.

Several patterns of a form may stay possible (平起/仄起, 首句入韵 or not). The tone rule narrows them by the
tones chosen, the rhyme rule by whether the first line rhymes; both hold the same `PatternChoice`, under
which the candidate keeps the patterns left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.prosody.patterns import TonePattern


class PatternsLeft(NamedTuple):
    indices: tuple[int, ...]  # into PatternChoice.patterns


class PatternChoice:
    """The tone patterns a request allows; per candidate, those it still fits (PatternsLeft)."""

    def __init__(self, patterns: Sequence[TonePattern]):
        self.patterns = list(patterns)
        self.line_count = len(self.patterns[0].lines)
        self.chars_per_line = self.patterns[0].chars_per_line

    def start(self, state: DecodingState) -> None:
        """Every pattern (unless the other rule sharing the choice started it already)."""
        state.rule_states.setdefault(self, PatternsLeft(tuple(range(len(self.patterns)))))

    def left(self, state: DecodingState) -> tuple[int, ...]:
        """The indices (into `patterns`) of the patterns the candidate still fits."""
        return state.rule_states[self].indices

    def keep(self, state: DecodingState, left: PatternsLeft) -> None:
        """Narrow the candidate's patterns to `left` (a subset of those it had)."""
        state.rule_states[self] = left


def remaining_patterns(state: DecodingState) -> tuple[int, ...] | None:
    """The indices of the patterns a (finished) candidate still fits, or None where no rule chose one."""
    for value in state.rule_states.values():
        if isinstance(value, PatternsLeft):
            return value.indices
    return None
