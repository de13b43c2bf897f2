"""Per-model vocabulary tables: what each piece is, as boolean masks over the vocabulary.

Built once per model, so that a decoding step is a handful of tensor ops and never a Python loop over the
vocabulary. Works for any tokenizer with `piece_chars`: a piece may cover several characters
(SentencePiece); masks then describe the piece by all the characters it covers. The verse tables of a
rhyme scheme (scheme_tables) and the penalty rows of the rules' masks (penalties) hang off these tables,
built on first use, since all of them live as long as the model.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import torch

from poetry_rnn.cache import BoundedCache
from poetry_rnn.cleaning import LOST_CHARACTER
from poetry_rnn.decoding.penalties import MaskPenalties
from poetry_rnn.decoding.scheme_tables import SchemeTables, build_scheme_tables
from poetry_rnn.prosody.rhyme import get_scheme, is_cjk
from poetry_rnn.script import normalize_variants, to_simplified
from poetry_rnn.tokenizer.base import BaseTokenizer

COMMA, PERIOD = "，", "。"
MAX_SHARED_RULES = 256  # rule objects kept with their mask caches (acrostics come from users: bounded)

T = TypeVar("T")


@dataclass(eq=False)  # one model's tables: compared and hashed as the object (a key of `shared`)
class VocabularyTables:
    """Masks over a tokenizer's vocabulary. Scheme tables are built on first use (thread-safe)."""

    tokenizer: object
    vocab_size: int
    chars: list[str]  # piece → the characters it covers ("" for specials and punctuation)
    lengths: torch.Tensor  # [V] long: characters covered by a plain piece, 0 otherwise
    plain: torch.Tensor  # [V] bool: pieces made only of Chinese characters (what a line may contain)
    max_piece_len: int
    comma_id: int
    period_id: int
    eos_id: int
    length_at_most: dict[int, torch.Tensor]  # r → plain pieces of at most r characters
    length_exactly: dict[int, torch.Tensor]  # r → plain pieces of exactly r characters
    ids_of_text: dict[str, list[int]]  # character string → plain pieces covering exactly it
    ids_of_length: dict[int, list[int]]  # r → plain pieces of exactly r characters
    ids_starting_with: dict[str, list[int]]  # first character → plain pieces starting with it
    # Keyed by the normalised character (爲 and 為 are one character to the checker and to repetition):
    ids_ending_with: dict[str, list[int]]  # last character → plain pieces ending with it
    ids_containing: dict[str, list[tuple[int, int]]]  # character → (piece, occurrences) for repetition
    penalties: MaskPenalties | None = None  # set in __post_init__
    _schemes: dict[str, SchemeTables] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _shared: BoundedCache = field(default_factory=lambda: BoundedCache(MAX_SHARED_RULES))
    _twins: dict[str, frozenset[str]] | None = None

    def __post_init__(self) -> None:
        if self.penalties is None:
            self.penalties = MaskPenalties(self.vocab_size)

    @classmethod
    def build(cls, tokenizer: BaseTokenizer) -> VocabularyTables:
        size = tokenizer.vocab_size
        chars: list[str] = []
        specials = {tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id}
        pingshui = get_scheme("pingshui")
        for piece in range(size):
            text = "" if piece in specials else tokenizer.piece_chars(piece)
            # the corpus's mark for a lost character (囗) is no character to write, though a vocabulary may have
            # it; nor is a Japanese spelling (隠 for 隱), though the checker reads one
            writable = (
                text
                and all(is_cjk(c) and not pingshui.reads_as_foreign_spelling(c) for c in text)
                and LOST_CHARACTER not in text
            )
            chars.append(text if writable else "")
        lengths = torch.tensor([len(c) for c in chars], dtype=torch.long)
        plain = lengths > 0
        max_len = int(lengths.max()) if size else 0
        comma_id, period_id = tokenizer.piece_to_id(COMMA), tokenizer.piece_to_id(PERIOD)
        if tokenizer.piece_chars(comma_id) != COMMA or tokenizer.piece_chars(period_id) != PERIOD:
            raise ValueError("the tokenizer has no single pieces for ， and 。; it cannot write a poem body")
        ids_of_text: dict[str, list[int]] = defaultdict(list)
        starting: dict[str, list[int]] = defaultdict(list)
        ending: dict[str, list[int]] = defaultdict(list)
        containing: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for piece, text in enumerate(chars):
            if not text:
                continue
            ids_of_text[text].append(piece)
            starting[text[0]].append(piece)
            normal = normalize_variants(text)
            ending[normal[-1]].append(piece)
            for char in set(normal):
                containing[char].append((piece, normal.count(char)))
        return cls(
            tokenizer=tokenizer,
            vocab_size=size,
            chars=chars,
            lengths=lengths,
            plain=plain,
            max_piece_len=max_len,
            comma_id=comma_id,
            period_id=period_id,
            eos_id=tokenizer.eos_id,
            length_at_most={r: plain & (lengths <= r) for r in range(1, 8)},
            length_exactly={r: plain & (lengths == r) for r in range(1, 8)},
            ids_of_text=dict(ids_of_text),
            ids_of_length={
                r: [piece for piece, text in enumerate(chars) if len(text) == r]
                for r in range(1, max_len + 1)
            },
            ids_starting_with=dict(starting),
            ids_ending_with=dict(ending),
            ids_containing=dict(containing),
        )

    def mask_of(self, ids: Iterable[int]) -> torch.Tensor:
        mask = torch.zeros(self.vocab_size, dtype=torch.bool)
        if ids:
            mask[list(ids)] = True
        return mask

    def scheme(self, name: str) -> SchemeTables:
        tables = self._schemes.get(name)
        if tables is None:
            with self._lock:
                tables = self._schemes.get(name)
                if tables is None:
                    # a traditional vocabulary's 干 is 干 (平), as the checker reads a traditional poem
                    scheme = get_scheme(name).for_text("".join(self.chars))
                    tables = build_scheme_tables(scheme, self.chars, self.length_exactly[1], self.mask_of)
                    self._schemes[name] = tables
        return tables

    def simplified_twins(self, char: str) -> frozenset[str]:
        """The characters of this vocabulary (normalised) that are `char` once simplified, itself included:
        迴 and 回 are two characters to the model and one to a reader of simplified script (回), where the
        checker would call them one rhyme written twice (built on first use)."""
        if self._twins is None:
            with self._lock:
                if self._twins is None:
                    groups: dict[str, set[str]] = defaultdict(set)
                    for text in self.ids_of_text:
                        if len(text) == 1:
                            normal = normalize_variants(text)
                            groups[to_simplified(normal)].add(normal)
                    self._twins = {
                        member: frozenset(group)
                        for group in groups.values()
                        if len(group) > 1
                        for member in group
                    }
        return self._twins.get(char, frozenset((char,)))

    def shared(self, make: Callable[..., T], *args: Hashable, **kwargs: Hashable) -> T:
        """`make(*args, **kwargs)`, built once for the same `make` and equal arguments and kept for later
        requests:
        the tone, rhyme and acrostic rules cache their masks per situation, and the same mask objects at
        every request keep the penalty caches warm. The key is the constructor and all its arguments, so
        that a rule given a new argument can never be handed an old rule built without it. Bounded, since
        arguments come from users' requests."""
        key = (make, args, tuple(sorted(kwargs.items())))
        return self._shared.get_or_make(key, lambda: make(*args, **kwargs))
