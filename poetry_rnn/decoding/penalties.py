"""Penalty rows: the rules of a step as additive log-weights over the vocabulary (0 allowed, -inf not).

The sampler adds a penalty row to the model's log-probabilities: one vectorised add, where selecting through
a scattered bool mask is far slower on a CPU. `MaskPenalties` turns the rules' masks into such rows (cached,
per model); `StepPenalties` carries one step's rows for a batch to the sampler.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import torch

from poetry_rnn.cache import BoundedCache


def penalty_of(mask: torch.Tensor) -> torch.Tensor:
    """A bool mask as an additive penalty: 0 where it allows a piece, -inf where it does not."""
    return torch.zeros(mask.shape[-1]).masked_fill_(~mask, float("-inf"))


class MaskPenalties:
    """Bool masks → additive penalties over the vocabulary (0 where every mask allows a piece, -inf where
    one does not). The rules return the same cached mask objects for the same situation, so most lookups
    hit.

    The caches are keyed by the masks' identity (id), not their contents: hashing a vocabulary-sized tensor
    would cost more than the conversion it saves. Every entry holds the objects whose ids make its key, so
    no id in a live key can be reused by another object."""

    def __init__(self, vocab_size: int, capacity: int = 512):
        self.vocab_size = vocab_size
        self.none = torch.zeros(vocab_size)
        # (ids of masks) → (the masks, the penalty of their intersection)
        self._of = BoundedCache[tuple[tuple[torch.Tensor, ...], torch.Tensor]](capacity)
        # (ids of masks) → (the masks, their penalty, the one piece they leave or None)
        self._both = BoundedCache[tuple[tuple[torch.Tensor, ...], torch.Tensor, int | None]](capacity)
        # (id of a penalty row, width, tail) → (the row, the row's head followed by the tail)
        self._extended = BoundedCache[tuple[torch.Tensor, torch.Tensor]](capacity)
        # (id of a piece collection, width, row, stride) → (the collection, its flat indices)
        self._flat = BoundedCache[tuple[Collection[int], torch.Tensor]](capacity)

    def of(self, masks: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The penalty of the masks' intersection (read-only: shared). A combination seen before is one
        lookup; a new one is the sum of each mask's own (cached) penalty, so a mask that is new but lasts
        costs one conversion, not one per step."""
        if not masks:
            return self.none
        found = self._of.get(tuple(map(id, masks)))
        if found is not None:
            return found[1]
        singles = []
        for mask in masks:
            entry = self._of.get((id(mask),))
            if entry is None:
                entry = self._of.put((id(mask),), ((mask,), penalty_of(mask)))
            singles.append(entry[1])
        combined = singles[0]
        for single in singles[1:]:
            combined = combined + single
        if len(masks) > 1:
            self._of.put(tuple(map(id, masks)), (masks, combined))
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
        """`of` and `only_piece` in one lookup (the plan asks both for every candidate at every step)."""
        if not masks:
            return self.none, None
        key = tuple(map(id, masks))
        found = self._both.get(key)
        if found is None:
            found = self._both.put(key, (masks, self.of(masks), self.only_piece(masks)))
        return found[1], found[2]

    def extended(self, penalty: torch.Tensor, width: int, tail: tuple[float, ...]) -> torch.Tensor:
        """A penalty row's first `width` entries followed by the values `tail` (read-only, cached): what a
        sampler adds to a head of `width` pieces and len(tail) more entries (see StepPenalties.head)."""
        key = (id(penalty), width, tail)
        found = self._extended.get(key)
        if found is None:
            row = torch.cat([penalty[:width], torch.tensor(tail, dtype=penalty.dtype)])
            found = self._extended.put(key, (penalty, row))
        return found[1]

    def flat_indices(self, pieces: Collection[int], width: int, row: int, stride: int) -> torch.Tensor:
        """Indices into a flattened [B, width...] tensor (row stride `stride`) of the pieces under `width`
        in row `row` (cached: a candidate's soft-rule set is one object for many steps)."""
        key = (id(pieces), width, row, stride)
        found = self._flat.get(key)
        if found is None:
            # through NumPy: building a tensor from a Python list is far slower than from an array
            offset = row * stride
            indices = torch.from_numpy(np.array([offset + p for p in pieces if p < width], dtype=np.int64))
            found = self._flat.put(key, (pieces, indices))
        return found[1]


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
        favoured: Sequence[Mapping[int, float]] | None = None,
    ):
        self.rows = list(rows)  # [V] each, read-only
        self.blocked = list(blocked)
        self.cache = cache
        self._dense = dense
        # per row, pieces with a bonus added to their log-weight (soft preferences), or None for none
        self.favoured = list(favoured) if favoured is not None else None

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
            if self.favoured is not None and self.favoured[row]:
                pieces = list(self.favoured[row])
                selected[index, pieces] += torch.tensor([self.favoured[row][p] for p in pieces])
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
        favoured = self.favoured[row] if self.favoured is not None else None
        inside = [piece for piece in favoured if start <= piece < end] if favoured else ()
        if inside:
            found = found.clone() if not blocked else found
            found[[p - start for p in inside]] += torch.tensor([favoured[p] for p in inside])
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
        """Set -inf in log_weights [B, >= width] at each row's blocked pieces among the first `width`, and add
        each row's bonuses: to a favoured piece among them, and (the largest bonus beyond `width`) to every
        entry after them, so that an entry standing for a tail cluster (sampler.sample_scores) stays an
        upper bound of its pieces' weights."""
        if self._dense is not None:
            return  # already in the dense penalties
        if self.favoured is not None:
            for row, favoured in enumerate(self.favoured):
                if not favoured:
                    continue
                head = [p for p in favoured if p < width]
                if head:
                    log_weights[row, head] += torch.tensor([favoured[p] for p in head])
                beyond = [favoured[p] for p in favoured if p >= width]
                if beyond and max(beyond) > 0:
                    log_weights[row, width:] += max(beyond)
        cache = self.cache or MaskPenalties(1)
        stride = log_weights.stride(0)
        flat = [
            cache.flat_indices(blocked, width, row, stride)
            for row, blocked in enumerate(self.blocked)
            if blocked
        ]
        if flat:
            log_weights.view(-1).index_fill_(0, torch.cat(flat), float("-inf"))
