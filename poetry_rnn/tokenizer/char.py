"""Characters as pieces: one piece a character, the default tokenizer."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path

from poetry_rnn.files import write_atomic
from poetry_rnn.script import VARIANTS
from poetry_rnn.tokenizer.base import PUNCTUATION, SPECIALS, TOKENIZER_FILE, BaseTokenizer, source_tags


class CharTokenizer(BaseTokenizer):
    """One piece a character. Characters rarer than the cut-off map to `<unk>`."""

    kind = "char"

    def __init__(self, pieces: list[str]):
        super().__init__(pieces)
        # Each character, and each variant spelling of one (爲 for 為), to its id.
        self._char_ids = {p: i for i, p in enumerate(self.pieces) if len(p) == 1}
        for variant, standard in VARIANTS.items():
            if variant not in self._char_ids and standard in self._char_ids:
                self._char_ids[variant] = self._char_ids[standard]

    def encode(self, text: str) -> list[int]:
        return list(map(self._char_ids.get, text, repeat(self.unk_id)))

    def encode_many(self, texts: list[str]) -> list[list[int]]:
        ids = self.encode("".join(texts))  # one pass in C over all the text, then cut it up again
        out, start = [], 0
        for text in texts:
            out.append(ids[start : start + len(text)])
            start += len(text)
        return out

    @classmethod
    def train(
        cls, texts: Iterable[str], min_count: int = 2, sources: Sequence[str] = ()
    ) -> tuple[CharTokenizer, float]:
        """Pieces: the specials, punctuation, every character seen `min_count` times (most frequent first:
        the adaptive output layer's clusters follow the ids), then one tag per source if several."""
        tags = source_tags(sources)
        counts = Counter("".join(texts))
        kept = sorted(
            (ch for ch, n in counts.items() if n >= min_count and ch not in PUNCTUATION),
            key=lambda ch: (-counts[ch], ch),
        )
        covered = sum(counts[ch] for ch in kept) + sum(counts[p] for p in PUNCTUATION)
        coverage = covered / max(1, sum(counts.values()))
        return cls([*SPECIALS, *PUNCTUATION, *kept, *tags]), coverage

    def save(self, directory: str | os.PathLike) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        document = {"kind": self.kind, "pieces": self.pieces}
        write_atomic(Path(directory) / TOKENIZER_FILE, json.dumps(document, ensure_ascii=False))

    @classmethod
    def load(cls, directory: str | os.PathLike, document: dict) -> CharTokenizer:
        return cls(document["pieces"])
