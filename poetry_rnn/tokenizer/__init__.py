"""Tokenizers behind one interface: characters (the default) and SentencePiece.

`base` holds the interface and the special pieces every kind shares, `char` and `sentencepiece_tokenizer`
the two kinds, `registry` builds or loads one by its kind. The modules of this package import each other
by their own names, never through this file, so there is no import circle.
"""

from poetry_rnn.tokenizer.base import FORM_TAGS, PUNCTUATION, SPECIALS, TOKENIZER_FILE, BaseTokenizer
from poetry_rnn.tokenizer.char import CharTokenizer
from poetry_rnn.tokenizer.registry import (
    TOKENIZER_CACHE_VERSION,
    TOKENIZER_KINDS,
    build_tokenizer,
    corpus_texts,
    load_tokenizer,
)
from poetry_rnn.tokenizer.sentencepiece_tokenizer import SentencePieceTokenizer

__all__ = [
    "FORM_TAGS",
    "PUNCTUATION",
    "SPECIALS",
    "TOKENIZER_CACHE_VERSION",
    "TOKENIZER_FILE",
    "TOKENIZER_KINDS",
    "BaseTokenizer",
    "CharTokenizer",
    "SentencePieceTokenizer",
    "build_tokenizer",
    "corpus_texts",
    "load_tokenizer",
]
