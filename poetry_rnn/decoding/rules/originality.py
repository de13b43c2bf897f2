"""The originality rule: no line may equal a line of the training corpus."""

from __future__ import annotations

from collections.abc import Collection

from poetry_rnn.decoding.originality import CorpusLines
from poetry_rnn.decoding.rules.base import SoftRule
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables


class OriginalityRule(SoftRule):
    """Blocks the pieces that would complete a corpus line. Keeps no state: the line so far says it all.
    Soft: yields where a forcing rule dictates the piece."""

    def __init__(self, tables: VocabularyTables, corpus_lines: CorpusLines, chars_per_line: int):
        super().__init__(tables)
        self.corpus_lines = corpus_lines
        self.chars_per_line = chars_per_line

    def blocked(self, state: DecodingState) -> Collection[int]:
        remaining = self.chars_per_line - state.position
        if remaining <= 0 or remaining > self.tables.max_piece_len:
            return ()
        prefix = state.line_text
        width = self.chars_per_line
        candidates = self.tables.ids_of_length.get(remaining, ())
        endings = self.corpus_lines.completions(prefix, width, limit=len(candidates))
        if endings is not None:
            blocked = [p for ending in endings for p in self.tables.ids_of_text.get(ending, ())]
        else:  # a short prefix matches many lines: test the few pieces that would end the line instead
            blocked = [p for p in candidates if prefix + self.tables.chars[p] in self.corpus_lines]
        return blocked
