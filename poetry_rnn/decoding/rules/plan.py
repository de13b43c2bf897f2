"""The plan rule: while a couplet is written, its keyword is favoured until the poem contains it.

A soft preference, not a rule of verse: it excludes nothing, and adds a bonus to the log-weight of the
pieces that write the keyword (its first character while the couplet lacks the keyword, its second right
after the first), which the sampler adds only to pieces the other rules allow. Hard rules therefore always
hold; where the tone or rhyme rules leave no room for the keyword, the couplet is written without it.
The bonus works in the sampler's tempered log-weights (and is added to beam search's scores), never to a
candidate's score: reranking still sees the model's own log-probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from poetry_rnn.decoding.rules.base import NO_BONUSES, Preference
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.script import normalize_variants


class PlanState(NamedTuple):
    couplet: int  # the couplet being written (0-based)
    text: str  # the poem so far, normalised, lines separated by "|" (a keyword never spans two lines)


class PlanRule(Preference):
    """Favours couplet i's keyword `keywords[i]` (one or two characters, as the model writes them) by
    `bonus` (added to the log-weight of its pieces) while couplet i is written and the poem does not contain
    it. A keyword the poem already has, or a two-character one whose first character it has without the
    second, is not favoured: the bonus outweighs the penalty on a character the poem has, and would
    write it a second time (松阴 … 松阴, 秋风 … 秋夜)."""

    def __init__(
        self,
        tables: VocabularyTables,
        keywords: Sequence[str],
        chars_per_line: int,
        bonus: float,
        opening: float = 1.0,
    ):
        """opening: the share of `bonus` at the couplet's first character, rising evenly to all of it at
        its last: a bonus as large at every place writes most keywords at the first place they may stand."""
        self.keywords = [normalize_variants(word) for word in keywords]
        self.chars_per_line = chars_per_line
        self.bonus = bonus
        self._line_ends = (tables.comma_id, tables.period_id)
        self._chars = tables.chars
        last = 2 * chars_per_line - 1
        bonuses = [bonus * (opening + (1 - opening) * place / last) for place in range(last + 1)]
        # per couplet and place in it: the pieces that start the keyword, and those that complete it
        self._starting = [[self._favoured(tables, word, b) for b in bonuses] for word in self.keywords]
        self._completing = [
            [self._favoured(tables, word[1:], b) if len(word) > 1 else NO_BONUSES for b in bonuses]
            for word in self.keywords
        ]

    @staticmethod
    def _favoured(tables: VocabularyTables, word: str, bonus: float) -> Mapping[int, float]:
        """Pieces whose text starts the word (a one-character piece of its first character, or a longer
        piece that is a prefix of it or starts with it), each with the bonus."""
        pieces = {}
        for piece, _ in tables.ids_containing.get(word[0], ()):
            text = normalize_variants(tables.chars[piece])
            if text[0] == word[0] and (word.startswith(text) or text.startswith(word)):
                pieces[piece] = bonus
        return MappingProxyType(pieces)

    def start(self, state: DecodingState) -> None:
        state.rule_states[self] = PlanState(0, "")

    def favoured(self, state: DecodingState) -> Mapping[int, float]:
        own: PlanState = state.rule_states[self]
        couplet = own.couplet
        if couplet >= len(self.keywords) or not self.bonus:
            return NO_BONUSES
        word = self.keywords[couplet]
        if word in own.text:
            return NO_BONUSES
        place = (state.line % 2) * self.chars_per_line + state.position
        if len(word) > 1 and own.text.endswith(word[0]) and state.position > 0:
            return self._completing[couplet][place]
        if word[0] in own.text:
            return NO_BONUSES  # begun without its second character: a second try repeats the first
        if state.position > self.chars_per_line - len(word):
            return NO_BONUSES  # the keyword no longer fits in this line
        return self._starting[couplet][place]

    def advance(self, state: DecodingState, piece_id: int) -> None:
        own: PlanState = state.rule_states[self]
        if piece_id in self._line_ends:
            couplet = own.couplet + 1 if state.line % 2 == 1 else own.couplet  # a couplet's second line ended
            state.rule_states[self] = PlanState(couplet, own.text + "|")
            return
        chars = self._chars[piece_id]
        if chars:
            state.rule_states[self] = PlanState(own.couplet, own.text + normalize_variants(chars))
