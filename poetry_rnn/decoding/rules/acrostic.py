"""The acrostic rule (藏头): each line starts with its given head."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from poetry_rnn.decoding.rules.base import Rule
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables


class AcrosticRule(Rule):
    """Each line starts with the given head; a head stands for every character of the vocabulary that it
    may be written as (a simplified 发 admits 發 and 髮). It dictates the head: soft rules yield to it."""

    forcing = True

    def __init__(self, tables: VocabularyTables, heads: Sequence[set[str]]):
        self.heads = [
            tables.mask_of([p for char in head for p in tables.ids_starting_with.get(char, ())])
            for head in heads
        ]

    def forces(self, state: DecodingState) -> bool:
        return state.position == 0 and state.line < len(self.heads)

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        return self.heads[state.line] if self.forces(state) else None
