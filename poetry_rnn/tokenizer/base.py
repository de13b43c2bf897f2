"""The interface every tokenizer has, and the special pieces they share.

Every tokenizer has the same special pieces, first in the vocabulary: padding, unknown, begin/end of a
poem body, one tag per form, and separators that introduce the title and the keywords. Pieces never
cross a line end, so each piece lies inside one line (or is one punctuation mark).

A tokenizer trained on several corpora also has one source tag per corpus (`<tang>`, `<song>`), last in
the vocabulary (they are only ever read, never written, so they belong in the output layer's rarest
cluster). The first is the primary source: the one generation and evaluation condition on. A tokenizer
without source tags (every model trained on one corpus) has no source in its prefix.

A tokenizer kind is a subclass with a `kind` name, `train(texts, **settings) -> (tokenizer, coverage)`,
`save(directory)` and `load(directory, document)`; `poetry_rnn.tokenizer.registry` finds it by that name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from poetry_rnn.errors import UserError

FORM_TAGS = {"wujue": "<wujue>", "qijue": "<qijue>", "wulv": "<wulv>", "qilv": "<qilv>", "other": "<other>"}
SPECIALS = ("<pad>", "<unk>", "<s>", "</s>", *FORM_TAGS.values(), "<title>", "<kw>")
PUNCTUATION = "，。？！；"
TOKENIZER_FILE = "tokenizer.json"
SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")
# names whose tag would read as another special piece
RESERVED_SOURCE_NAMES = frozenset({"pad", "unk", "s", "title", "kw", *FORM_TAGS})


def check_source_name(name: object, field: str = "source") -> str:
    """A corpus name usable as a source tag: lowercase letters, digits, '_' (e.g. tang, song)."""
    if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name) or name in RESERVED_SOURCE_NAMES:
        raise UserError(
            f"source name {name!r}: give 1-16 lowercase letters, digits or '_', starting with a letter "
            f"(e.g. tang, song), and none of {', '.join(sorted(RESERVED_SOURCE_NAMES))}",
            field=field,
        )
    return name


def source_tag(name: str) -> str:
    return f"<{name}>"


def source_tags(names: Sequence[str]) -> list[str]:
    """The tag pieces for these corpus names (checked, no repeats), in order."""
    names = [check_source_name(name) for name in names]
    if len(set(names)) != len(names):
        raise UserError(f"source names must differ, got {names}", field="source")
    return [source_tag(name) for name in names]


def trailing_sources(pieces: Sequence[str]) -> list[str]:
    """The source names of the tags that end a vocabulary (none for a single-corpus tokenizer)."""
    names: list[str] = []
    for piece in reversed(pieces[len(SPECIALS) :]):
        name = piece[1:-1] if piece.startswith("<") and piece.endswith(">") else ""
        if not SOURCE_NAME.fullmatch(name) or name in RESERVED_SOURCE_NAMES:
            break
        names.append(name)
    return names[::-1]


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
        self.sources: tuple[str, ...] = tuple(trailing_sources(self.pieces))
        self.source_ids = {name: self.index[source_tag(name)] for name in self.sources}
        self.special_ids = frozenset(range(len(SPECIALS))) | frozenset(self.source_ids.values())

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def form_id(self, form: str) -> int:
        return self.index[FORM_TAGS.get(form, "<other>")]

    @property
    def primary_source(self) -> str | None:
        """The source generation conditions on (the first); None for a single-corpus tokenizer."""
        return self.sources[0] if self.sources else None

    def source_prefix(self, source: str | None = None) -> list[int]:
        """The source tag's id as a one-piece prefix: `source`'s, or the primary one's when None. Empty
        for a tokenizer without source tags, whatever is asked: a single-corpus model has none."""
        if not self.sources:
            return []
        name = self.primary_source if source is None else source
        if name not in self.source_ids:
            raise UserError(
                f"unknown source {name!r}; this model knows {', '.join(self.sources)}", field="source"
            )
        return [self.source_ids[name]]

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
