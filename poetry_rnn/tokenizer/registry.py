"""Tokenizers by kind: build one from a corpus (cached), or load the one a model folder holds."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic
from poetry_rnn.tokenizer.base import TOKENIZER_FILE, BaseTokenizer
from poetry_rnn.tokenizer.char import CharTokenizer
from poetry_rnn.tokenizer.sentencepiece_tokenizer import SentencePieceTokenizer

TOKENIZER_KINDS: dict[str, type[BaseTokenizer]] = {
    CharTokenizer.kind: CharTokenizer,
    SentencePieceTokenizer.kind: SentencePieceTokenizer,
}
TOKENIZER_CACHE_VERSION = 2  # bump when either tokenizer's training changes: cached ones are then retrained


def corpus_texts(corpus, split: str | None = "train") -> Iterator[str]:
    """The texts a tokenizer learns from: bodies and titles of one split (None: every split)."""
    for poem in corpus.poems:
        if split is None or poem.split == split:
            yield poem.body
            if poem.title:
                yield poem.title


def _train_tokenizer(
    kind: str, corpus, min_count: int, vocab_size: int, sources: Sequence[str]
) -> tuple[BaseTokenizer, float]:
    # each kind has one setting: the characters' frequency cut-off, or SentencePiece's vocabulary size
    if kind == CharTokenizer.kind:
        return CharTokenizer.train(corpus_texts(corpus), min_count=min_count, sources=sources)
    return TOKENIZER_KINDS[kind].train(corpus_texts(corpus), vocab_size=vocab_size, sources=sources)


def build_tokenizer(
    kind: str,
    corpus,
    min_count: int = 2,
    vocab_size: int = 8192,
    cache: bool = True,
    sources: Sequence[str] = (),
) -> tuple[BaseTokenizer, float]:
    """Train a tokenizer on the corpus's train split. Returns (tokenizer, character coverage).
    `sources`: the corpora's names when the corpus joins several (primary first), each given a tag.

    Cached beside the cleaned corpus (`corpus.cache_dir/tokenizers/`), keyed by the corpus fingerprint and
    the settings, so the same corpus gives the same tokenizer without training it again."""
    if kind not in TOKENIZER_KINDS:
        raise UserError(
            f"unknown tokenizer {kind!r}; choose {' or '.join(TOKENIZER_KINDS)}", field="tokenizer"
        )
    if kind == "char" and min_count < 1:
        raise UserError(f"min_count must be at least 1, got {min_count}", field="min_count")
    fingerprint = getattr(corpus, "fingerprint", "")
    root = getattr(corpus, "cache_dir", None)
    if not (cache and fingerprint and root):
        return _train_tokenizer(kind, corpus, min_count, vocab_size, sources)
    setting = min_count if kind == "char" else vocab_size
    tags = f"|{','.join(sources)}" if sources else ""  # (absent: single-corpus keys stay what they were)
    key = hashlib.sha256(
        f"{TOKENIZER_CACHE_VERSION}|{kind}|{setting}|{fingerprint}{tags}".encode()
    ).hexdigest()
    folder = Path(root) / "tokenizers" / f"{kind}-{key[:24]}"
    try:
        coverage = json.loads((folder / "coverage.json").read_text(encoding="utf-8"))["coverage"]
        return load_tokenizer(folder), float(coverage)
    except (OSError, ValueError, KeyError, TypeError, UserError):
        pass  # not cached yet, or damaged: train
    tokenizer, coverage = _train_tokenizer(kind, corpus, min_count, vocab_size, sources)
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
    if not isinstance(kind, str) or kind not in TOKENIZER_KINDS:
        raise UserError(f"{path}: unknown tokenizer kind {kind!r}", field="model")
    return TOKENIZER_KINDS[kind].load(directory, document)
