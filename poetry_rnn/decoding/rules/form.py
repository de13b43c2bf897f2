"""The form rule: characters per line, line count, punctuation, then </s>."""

from __future__ import annotations

import torch

from poetry_rnn.decoding.rules.base import Rule
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables


class FormRule(Rule):
    """Characters per line, line count, ， after odd lines and 。 after even lines, then </s>; nothing else
    (no special pieces, no <unk>, no other punctuation). Keeps no state: the candidate's line and position
    say everything."""

    def __init__(self, tables: VocabularyTables, chars_per_line: int, line_count: int):
        self.tables = tables
        self.chars_per_line = chars_per_line
        self.line_count = line_count
        self.eos_only = tables.mask_of([tables.eos_id])
        self.comma_only = tables.mask_of([tables.comma_id])
        self.period_only = tables.mask_of([tables.period_id])

    def mask(self, state: DecodingState) -> torch.Tensor:
        if state.line >= self.line_count:
            return self.eos_only
        remaining = self.chars_per_line - state.position
        if remaining <= 0:
            return self.comma_only if state.line % 2 == 0 else self.period_only
        return self.tables.length_at_most[remaining]
