"""The interface every tokenizer has, and the special pieces they share.

Every tokenizer has the same special pieces, first in the vocabulary: padding, unknown, begin/end of a
poem body, one tag per form, and separators that introduce the title and the keywords. Pieces never
cross a line end, so each piece lies inside one line (or is one punctuation mark).

A tokenizer kind is a subclass with a `kind` name, `train(texts, **settings) -> (tokenizer, coverage)`,
`save(directory)` and `load(directory, document)`; `poetry_rnn.tokenizer.registry` finds it by that name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from poetry_rnn.errors import UserError

FORM_TAGS = {"wujue": "<wujue>", "qijue": "<qijue>", "wulv": "<wulv>", "qilv": "<qilv>", "other": "<other>"}
SPECIALS = ("<pad>", "<unk>", "<s>", "</s>", *FORM_TAGS.values(), "<title>", "<kw>")
PUNCTUATION = "，。？！；"
TOKENIZER_FILE = "tokenizer.json"


class BaseTokenizer:
    kind = "base"

    def __init__(self, pieces: list[str]):
        if tuple(pieces[: len(SPECIALS)]) != SPECIALS:
            raise UserError(
                f"tokenizer vocabulary must start with the special pieces {SPECIALS}", field="tokenizer"
            )
        self.pieces = list(pieces)
        self.index = {piece: i for i, piece in enumerate(self.pieces)}
        if len(self.index) != len(self.pieces):
            raise UserError("tokenizer vocabulary has duplicate pieces", field="tokenizer")
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.index[p] for p in SPECIALS[:4])
        self.title_id = self.index["<title>"]
        self.keywords_id = self.index["<kw>"]
        self.special_ids = frozenset(range(len(SPECIALS)))

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def form_id(self, form: str) -> int:
        return self.index[FORM_TAGS.get(form, "<other>")]

    def id_to_piece(self, piece_id: int) -> str:
        return self.pieces[piece_id]

    def piece_to_id(self, piece: str) -> int:
        return self.index.get(piece, self.unk_id)

    def piece_chars(self, piece_id: int) -> str:
        """The text characters a piece covers ("" for special pieces)."""
        return "" if piece_id in self.special_ids else self.pieces[piece_id]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.piece_chars(i) for i in ids)

    def characters(self) -> set[str]:
        """Every single character some piece can write."""
        return {ch for i in range(self.vocab_size) for ch in self.piece_chars(i)}

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def encode_many(self, texts: list[str]) -> list[list[int]]:
        """`encode` for each text (subclasses do it faster)."""
        return [self.encode(text) for text in texts]

    def save(self, directory: str | os.PathLike) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: str | os.PathLike, document: dict) -> BaseTokenizer:
        """The tokenizer saved in `directory`; `document` is its parsed tokenizer.json."""
        raise NotImplementedError
