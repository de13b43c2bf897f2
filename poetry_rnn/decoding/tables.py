"""Per-model vocabulary tables: what each piece is, as boolean masks over the vocabulary.

Built once per model (and once per rhyme scheme), so that a decoding step is a handful of tensor ops and
never a Python loop over the vocabulary. Works for any tokenizer with `piece_chars`: a piece may cover
several characters (SentencePiece); masks then describe the piece by all the characters it covers.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from poetry_rnn.prosody.rhyme import PING, ZE, RhymeScheme, get_scheme, is_cjk
from poetry_rnn.script import normalize_variants

BOTH = frozenset((PING, ZE))
NO_TONE = frozenset()
COMMA, PERIOD = "，", "。"


def fits(tones: frozenset[str], allowed: frozenset[str]) -> bool:
    """Whether a character with `tones` may stand where `allowed` tones are allowed. A polyphone fits
    either tone (as the checker judges it); a character without a known tone only fits where the
    position is free (both tones allowed), since nothing could show that it obeys a fixed mark."""
    if not allowed:
        return False
    return bool(tones & allowed) if tones else allowed == BOTH


@dataclass
class SchemeTables:
    """Tone and rhyme facts of every piece under one rhyme scheme."""

    scheme: RhymeScheme
    piece_tones: list[tuple[frozenset[str], ...]]  # per piece: the tones of each character it covers
    # Single-character pieces that fit an allowed tone set: keys {ping}, {ze}, {ping, ze}.
    single_fit: dict[frozenset[str], torch.Tensor]
    # Multi-character plain pieces grouped by their characters' tones: (tones...) → mask of those pieces.
    multi_groups: dict[tuple[frozenset[str], ...], torch.Tensor]
    group_last: dict[str, torch.Tensor]  # rhyme group → pieces whose last character rhymes in it (平)
    last_can_be_ze: torch.Tensor  # pieces whose last character has an oblique reading
    group_chars: dict[str, frozenset[str]]  # rhyme group → characters of the vocabulary that rhyme in it


def penalty_of(mask: torch.Tensor) -> torch.Tensor:
    """A bool mask as an additive penalty: 0 where it allows a piece, -inf where it does not."""
    return torch.zeros(mask.shape[-1]).masked_fill_(~mask, float("-inf"))


class MaskPenalties:
    """Bool masks → additive penalties over the vocabulary (0 where every mask allows a piece, -inf where
    one does not), cached by the masks' identity. The search adds a penalty to the logits: one vectorised
    add, where a masked select over a scattered bool mask is ten times slower on a CPU. Constraints
    return the same cached mask objects for the same situation, so most lookups hit. An entry holds its
    masks, so an id in a key cannot be reused while the key exists; the cache is emptied when full.
    (No lock: dict get, set and clear are atomic under the GIL, and a lost entry is only recomputed.)"""

    def __init__(self, vocab_size: int, capacity: int = 512):
        self.vocab_size = vocab_size
        self.capacity = capacity
        self.none = torch.zeros(vocab_size)
        self._cache: dict[tuple[int, ...], tuple[tuple[torch.Tensor, ...], torch.Tensor]] = {}
        self._both: dict[tuple[int, ...], tuple[tuple[torch.Tensor, ...], torch.Tensor, int | None]] = {}
        self._extended: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self._flat: dict[tuple, tuple[Collection[int], torch.Tensor]] = {}

    def of(self, masks: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The penalty of the masks' intersection (read-only: shared). A combination seen before is one
        lookup; a new one is the sum of each mask's own (cached) penalty, so a mask that is new but lasts
        (the repetition rule's, per candidate) costs one conversion, not one per step."""
        if not masks:
            return self.none
        found = self._cache.get(tuple(map(id, masks)))
        if found is not None:
            return found[1]
        singles = []
        for mask in masks:
            entry = self._cache.get((id(mask),))
            if entry is None:
                singles.append(self._store((mask,), penalty_of(mask)))
            else:
                singles.append(entry[1])
        combined = singles[0]
        for single in singles[1:]:
            combined = combined + single
        if len(masks) > 1:
            self._store(masks, combined)
        return combined

    @staticmethod
    def only_piece(masks: tuple[torch.Tensor, ...]) -> int | None:
        """The one piece the masks' intersection allows, or None (none, or several): where the rules dictate
        the piece, the search needs neither the sampler nor the model's output. (Cached through `both`.)"""
        if not masks:
            return None
        allowed = masks[0]
        for mask in masks[1:]:
            allowed = allowed & mask
        ids = torch.nonzero(allowed).flatten()
        return int(ids[0]) if ids.numel() == 1 else None

    def both(self, masks: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, int | None]:
        """`of` and `only_piece` in one lookup (the search asks both for every candidate at every step)."""
        if not masks:
            return self.none, None
        key = tuple(map(id, masks))
        found = self._both.get(key)
        if found is None:
            if len(self._both) >= self.capacity:
                self._both.clear()
            found = self._both[key] = (masks, self.of(masks), self.only_piece(masks))
        return found[1], found[2]

    def extended(self, penalty: torch.Tensor, width: int, tail: tuple[float, ...]) -> torch.Tensor:
        """A penalty row's first `width` entries followed by the values `tail` (read-only, cached): what a
        sampler adds to a head of `width` pieces and len(tail) more entries (see StepPenalties.head)."""
        key = (id(penalty), width, tail)
        found = self._extended.get(key)
        if found is None:
            if len(self._extended) >= self.capacity:
                self._extended.clear()
            row = torch.cat([penalty[:width], torch.tensor(tail, dtype=penalty.dtype)])
            found = self._extended[key] = (penalty, row)
        return found[1]

    def flat_indices(self, pieces: Collection[int], width: int, row: int, stride: int) -> torch.Tensor:
        """Indices into a flattened [B, width...] tensor (row stride `stride`) of the pieces under `width`
        in row `row` (cached by the collection's identity: a candidate's soft-rule set lasts many steps)."""
        key = (id(pieces), width, row, stride)
        found = self._flat.get(key)
        if found is None:
            if len(self._flat) >= self.capacity:
                self._flat.clear()
            # through NumPy: torch.tensor() of a Python list costs ~15 µs on this CPU, np.array ~2 µs
            offset = row * stride
            indices = torch.from_numpy(np.array([offset + p for p in pieces if p < width], dtype=np.int64))
            found = self._flat[key] = (pieces, indices)
        return found[1]

    def _store(self, masks: tuple[torch.Tensor, ...], penalty: torch.Tensor) -> torch.Tensor:
        if len(self._cache) >= self.capacity:
            self._cache.clear()
        self._cache[tuple(map(id, masks))] = (masks, penalty)
        return penalty


class StepPenalties:
    """One step's rules for a batch as additive log-weights over the vocabulary (0 allowed, -inf not), kept in
    two parts until a sampler asks: per row a penalty row shared by every candidate in the same situation
    (the hard rules' shared masks, cached by MaskPenalties), and the few pieces blocked for that row alone
    (the soft rules': its repeated characters, a corpus line it would complete; the rhyme rule's: the rhymes
    it has used). A dense [B, V] tensor would cost copies of the whole vocabulary for every candidate at
    every step; the sampler mostly needs the shortlist's part."""

    def __init__(
        self,
        rows: Sequence[torch.Tensor],
        blocked: Sequence[Collection[int]],
        cache: MaskPenalties | None = None,
        dense: torch.Tensor | None = None,
    ):
        self.rows = list(rows)  # [V] each, read-only
        self.blocked = list(blocked)
        self.cache = cache
        self._dense = dense

    @classmethod
    def of(cls, dense: torch.Tensor) -> StepPenalties:
        """Penalties given as a dense [B, V] tensor."""
        return cls([], [], dense=dense)

    def dense(self) -> torch.Tensor:
        """[B, V], every rule applied."""
        if self._dense is None:
            self._dense = self.select(range(len(self.rows)))
        return self._dense

    def select(self, rows: Iterable[int]) -> torch.Tensor:
        """[R, V] for the given rows, every rule applied (a new tensor)."""
        rows = list(rows)
        if self._dense is not None:
            return self._dense.index_select(0, torch.tensor(rows, dtype=torch.long))
        selected = torch.stack([self.rows[row] for row in rows])
        for index, row in enumerate(rows):
            if self.blocked[row]:
                selected[index, list(self.blocked[row])] = float("-inf")
        return selected

    def span(self, row: int, start: int, end: int) -> torch.Tensor:
        """[end - start]: one row's penalties of the pieces start .. end - 1, every rule applied
        (read-only: may be a view of a shared row)."""
        if self._dense is not None:
            return self._dense[row, start:end]
        found = self.rows[row][start:end]
        blocked = [piece - start for piece in self.blocked[row] if start <= piece < end]
        if blocked:
            found = found.clone()
            found[blocked] = float("-inf")
        return found

    def head(self, width: int, tail: tuple[float, ...]) -> torch.Tensor:
        """[B, width + len(tail)]: the hard rules' penalties of the first `width` pieces, then `tail` (a
        sampler's extra entries), before `block` adds each row's blocked pieces. Read-only: may be a
        broadcast view."""
        if self._dense is not None:
            batch = self._dense.shape[0]
            return torch.cat([self._dense[:, :width], torch.tensor(tail).expand(batch, -1)], 1)
        cache = self.cache or MaskPenalties(self.rows[0].shape[-1])
        first = self.rows[0]
        if all(row is first for row in self.rows):  # every candidate in one situation: a broadcast view
            return cache.extended(first, width, tail).expand(len(self.rows), -1)
        return torch.stack([cache.extended(row, width, tail) for row in self.rows])

    def block(self, log_weights: torch.Tensor, width: int) -> None:
        """Set -inf in log_weights [B, >= width] at each row's blocked pieces among the first `width`."""
        if self._dense is not None:
            return  # already in the dense penalties
        cache = self.cache or MaskPenalties(0)
        stride = log_weights.stride(0)
        flat = [
            cache.flat_indices(blocked, width, row, stride)
            for row, blocked in enumerate(self.blocked)
            if blocked
        ]
        if flat:
            log_weights.view(-1).index_fill_(0, torch.cat(flat), float("-inf"))


@dataclass
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

    def __post_init__(self) -> None:
        if self.penalties is None:
            self.penalties = MaskPenalties(self.vocab_size)

    @classmethod
    def build(cls, tokenizer) -> VocabularyTables:
        size = tokenizer.vocab_size
        chars: list[str] = []
        specials = {tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id}
        for piece in range(size):
            text = "" if piece in specials else tokenizer.piece_chars(piece)
            chars.append(text if text and all(is_cjk(c) for c in text) else "")
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

    def mask_of(self, ids) -> torch.Tensor:
        mask = torch.zeros(self.vocab_size, dtype=torch.bool)
        if ids:
            mask[list(ids)] = True
        return mask

    def single_characters(self) -> set[str]:
        """Characters the model can write as a piece of their own."""
        return {text for text in self.chars if len(text) == 1}

    def scheme(self, name: str) -> SchemeTables:
        tables = self._schemes.get(name)
        if tables is None:
            with self._lock:
                tables = self._schemes.get(name)
                if tables is None:
                    tables = self._build_scheme(get_scheme(name))
                    self._schemes[name] = tables
        return tables

    def _build_scheme(self, scheme: RhymeScheme) -> SchemeTables:
        size = self.vocab_size
        tone_of: dict[str, frozenset[str]] = {}
        piece_tones: list[tuple[frozenset[str], ...]] = []
        for text in self.chars:
            for char in text:
                if char not in tone_of:
                    tone_of[char] = frozenset(scheme.tones(char))
            piece_tones.append(tuple(tone_of[c] for c in text))
        single = self.length_exactly[1]
        fit_rows = {key: [False] * size for key in (frozenset((PING,)), frozenset((ZE,)), BOTH)}
        multi: dict[tuple[frozenset[str], ...], list[int]] = defaultdict(list)
        group_rows: dict[str, list[int]] = defaultdict(list)
        group_chars: dict[str, set[str]] = defaultdict(set)
        ze_rows = [False] * size
        for piece, tones in enumerate(piece_tones):
            if not tones:
                continue
            if len(tones) == 1:
                for key, row in fit_rows.items():
                    row[piece] = fits(tones[0], key)
            else:
                multi[tones].append(piece)
            last = self.chars[piece][-1]
            ze_rows[piece] = ZE in tones[-1]
            for group in scheme.rhyme_groups(last):
                group_rows[group].append(piece)
                group_chars[group].add(last)
        return SchemeTables(
            scheme=scheme,
            piece_tones=piece_tones,
            single_fit={key: torch.tensor(row) & single for key, row in fit_rows.items()},
            multi_groups={key: self.mask_of(ids) for key, ids in multi.items()},
            group_last={g: self.mask_of(group_rows.get(g, ())) for g in scheme.level_groups},
            last_can_be_ze=torch.tensor(ze_rows),
            group_chars={g: frozenset(group_chars.get(g, ())) for g in scheme.level_groups},
        )
