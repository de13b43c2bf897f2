"""One season a poem: once the prompt or the poem names a season, the other seasons' names are disfavoured.

Readers of the blind rounds found spring and autumn in one scene. Tang poets name two of 春夏秋冬 in one
regular poem rarely (2 % of the test split's poems, mostly 春 and 秋 as "the years"); the shipped model
did so three times as often (poetry_rnn.quality measures both). The model forgets, four lines on, which
season its first couplet set.

A soft preference, not a rule of verse: the piece that names another season loses SEASON_PENALTY from its
log-weight in the sampler (and its score in beam search), never from the candidate's score, so "幾春秋"
stays possible where nothing else fits. A season the prompt names (「秋夜」) or sets (「九日」, a given first
line's 西风) counts from the start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from poetry_rnn.decoding.rules.base import Preference
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.quality import SEASONS, seasons_named
from poetry_rnn.script import to_traditional

__all__ = ["SEASONS", "SEASON_PENALTY", "SeasonRule", "seasons_asked", "seasons_named"]

SEASON_PENALTY = 3.0  # e^-3: one named season in twenty where the poem would have named it

# Words of a request that set its season without naming it: festivals, and a few images no other season
# has. Read in the prompt only (title, keywords, plan, a given first line), not in the poem as it is
# written: after a given first line with 西风 落叶 黄叶 菊 砧 红叶 and no 秋, Tang poems name 春 later in 7 %,
# the rate of poems whose title names another season; 九日 and 重阳 poems name 春 in 2 %. A plan of 九日,
# 重阳, 茱萸, 菊 set no season, and the model wrote 楼上春风九日来.
SEASON_WORDS = {  # traditional; a request's texts are read in traditional script
    "秋": ("九日", "重陽", "茱萸", "菊", "中秋", "七夕", "西風", "落葉", "黃葉", "紅葉", "砧"),
    "春": ("寒食", "清明", "上巳", "東風", "杏花", "鶯"),
    "冬": ("除夕", "臘"),
}


def seasons_asked(texts: Iterable[str]) -> frozenset[str]:
    """The seasons a request's texts (either script) name, or set by a festival or an image of SEASON_WORDS."""
    texts = [to_traditional(text) for text in texts]
    implied = {
        season for season, words in SEASON_WORDS.items() for text in texts for word in words if word in text
    }
    return seasons_named(texts) | implied


class SeasonRule(Preference):
    """Disfavours the other seasons' names once one is named; `named` are the prompt's seasons."""

    def __init__(
        self, tables: VocabularyTables, named: frozenset[str] = frozenset(), penalty: float = SEASON_PENALTY
    ):
        self.named = named
        pieces = {season: [piece for piece, _ in tables.ids_containing.get(season, ())] for season in SEASONS}
        self._chars = tables.chars
        # for every set of seasons named so far (16 of them), the pieces of the others with the penalty
        self._disfavoured = {
            seen: MappingProxyType(
                {piece: -penalty for season in SEASONS if season not in seen for piece in pieces[season]}
                if seen
                else {}
            )
            for seen in (frozenset(c for i, c in enumerate(SEASONS) if mask >> i & 1) for mask in range(16))
        }

    def start(self, state: DecodingState) -> None:
        state.rule_states[self] = self.named

    def favoured(self, state: DecodingState) -> Mapping[int, float]:
        return self._disfavoured[state.rule_states[self]]

    def advance(self, state: DecodingState, piece_id: int) -> None:
        chars = self._chars[piece_id]
        if chars and any(season in chars for season in SEASONS):
            seen: frozenset[str] = state.rule_states[self]
            state.rule_states[self] = seen | seasons_named([chars])
