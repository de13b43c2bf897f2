"""Tokenizers behind one interface: characters (the default) and SentencePiece.

Every tokenizer has the same special pieces, first in the vocabulary: padding, unknown, begin/end of a
poem body, one tag per form, and separators that introduce the title and the keywords. Pieces never
cross a line end, so each piece lies inside one line (or is one punctuation mark).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import repeat
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic
from poetry_rnn.script import VARIANTS

FORM_TAGS = {"wujue": "<wujue>", "qijue": "<qijue>", "wulv": "<wulv>", "qilv": "<qilv>", "other": "<other>"}
SPECIALS = ("<pad>", "<unk>", "<s>", "</s>", *FORM_TAGS.values(), "<title>", "<kw>")
PUNCTUATION = "，。？！；"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CACHE_VERSION = 2  # bump when either tokenizer's training changes: cached ones are then retrained


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
    def train(cls, texts: Iterable[str], min_count: int = 2) -> tuple[CharTokenizer, float]:
        counts = Counter("".join(texts))
        kept = sorted(
            (ch for ch, n in counts.items() if n >= min_count and ch not in PUNCTUATION),
            key=lambda ch: (-counts[ch], ch),
        )
        covered = sum(counts[ch] for ch in kept) + sum(counts[p] for p in PUNCTUATION)
        coverage = covered / max(1, sum(counts.values()))
        return cls([*SPECIALS, *PUNCTUATION, *kept]), coverage

    def save(self, directory: str | os.PathLike) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        document = {"kind": self.kind, "pieces": self.pieces}
        write_atomic(Path(directory) / TOKENIZER_FILE, json.dumps(document, ensure_ascii=False))


def corpus_texts(corpus, split: str | None = "train") -> Iterator[str]:
    """The texts a tokenizer learns from: bodies and titles of one split (None: every split)."""
    for poem in corpus.poems:
        if split is None or poem.split == split:
            yield poem.body
            if poem.title:
                yield poem.title


def _train_tokenizer(kind: str, corpus, min_count: int, vocab_size: int):
    if kind == "char":
        return CharTokenizer.train(corpus_texts(corpus), min_count=min_count)
    from poetry_rnn.sentencepiece_tokenizer import SentencePieceTokenizer

    return SentencePieceTokenizer.train(corpus_texts(corpus), vocab_size=vocab_size)


def build_tokenizer(kind: str, corpus, min_count: int = 2, vocab_size: int = 8192, cache: bool = True):
    """Train a tokenizer on the corpus's train split. Returns (tokenizer, character coverage).

    Cached beside the cleaned corpus (`corpus.cache_dir/tokenizers/`), keyed by the corpus fingerprint and
    the settings, so the same corpus gives the same tokenizer without training it again."""
    if kind not in ("char", "sentencepiece"):
        raise UserError(f"unknown tokenizer {kind!r}; choose char or sentencepiece", field="tokenizer")
    if kind == "char" and min_count < 1:
        raise UserError(f"min_count must be at least 1, got {min_count}", field="min_count")
    fingerprint = getattr(corpus, "fingerprint", "")
    root = getattr(corpus, "cache_dir", None)
    if not (cache and fingerprint and root):
        return _train_tokenizer(kind, corpus, min_count, vocab_size)
    setting = min_count if kind == "char" else vocab_size
    key = hashlib.sha256(f"{TOKENIZER_CACHE_VERSION}|{kind}|{setting}|{fingerprint}".encode()).hexdigest()
    folder = Path(root) / "tokenizers" / f"{kind}-{key[:24]}"
    try:
        coverage = json.loads((folder / "coverage.json").read_text(encoding="utf-8"))["coverage"]
        return load_tokenizer(folder), float(coverage)
    except (OSError, ValueError, KeyError, TypeError, UserError):
        pass  # not cached yet, or damaged: train
    tokenizer, coverage = _train_tokenizer(kind, corpus, min_count, vocab_size)
    try:
        tokenizer.save(folder)
        write_atomic(folder / "coverage.json", json.dumps({"coverage": coverage}))  # written last: complete
    except OSError:
        pass  # a read-only cache only costs time
    return tokenizer, coverage


def load_tokenizer(directory: str | os.PathLike) -> BaseTokenizer:
    path = Path(directory) / TOKENIZER_FILE
    if not path.is_file():
        raise UserError(f"{path}: tokenizer file missing", field="model")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid JSON ({error})", field="model") from None
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("pieces"), list)
        or not all(isinstance(p, str) for p in document["pieces"])
    ):
        raise UserError(f"{path}: expected an object with a list of string 'pieces'", field="model")
    kind = document.get("kind")
    if kind == "char":
        return CharTokenizer(document["pieces"])
    if kind == "sentencepiece":
        from poetry_rnn.sentencepiece_tokenizer import SentencePieceTokenizer

        return SentencePieceTokenizer.load(directory, document)
    raise UserError(f"{path}: unknown tokenizer kind {kind!r}", field="model")
