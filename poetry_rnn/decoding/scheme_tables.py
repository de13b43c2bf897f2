"""Verse tables: the tone and rhyme facts of every piece of a vocabulary under one rhyme scheme.

Built once per vocabulary and scheme (VocabularyTables.scheme), so that the tone and rhyme rules combine
ready masks instead of looking up characters at every step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

from poetry_rnn.prosody.rhyme import PING, ZE, RhymeScheme

BOTH = frozenset((PING, ZE))


def fits_allowed(tones: frozenset[str], allowed: frozenset[str]) -> bool:
    """Whether a character with `tones` may stand where `allowed` tones are allowed. A polyphone fits
    either tone (as the checker judges it); a character without a known tone only fits where the
    position is free (both tones allowed), since nothing could show that it obeys a fixed mark."""
    if not allowed:
        return False
    return bool(tones & allowed) if tones else allowed == BOTH


@dataclass(eq=False)  # compared and hashed as the object (a key of VocabularyTables.shared)
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


def build_scheme_tables(
    scheme: RhymeScheme,
    chars: Sequence[str],
    single: torch.Tensor,
    mask_of: Callable[[Iterable[int]], torch.Tensor],
) -> SchemeTables:
    """The tables of a vocabulary whose pieces cover `chars` ("" for specials and punctuation); `single`
    marks its single-character plain pieces, `mask_of` turns piece ids into a vocabulary mask."""
    size = len(chars)
    tone_of: dict[str, frozenset[str]] = {}
    piece_tones: list[tuple[frozenset[str], ...]] = []
    for text in chars:
        for char in text:
            if char not in tone_of:
                tone_of[char] = frozenset(scheme.tones(char))
        piece_tones.append(tuple(tone_of[c] for c in text))
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
                row[piece] = fits_allowed(tones[0], key)
        else:
            multi[tones].append(piece)
        last = chars[piece][-1]
        ze_rows[piece] = ZE in tones[-1]
        for group in scheme.rhyme_groups(last):
            group_rows[group].append(piece)
            group_chars[group].add(last)
    return SchemeTables(
        scheme=scheme,
        piece_tones=piece_tones,
        single_fit={key: torch.tensor(row) & single for key, row in fit_rows.items()},
        multi_groups={key: mask_of(ids) for key, ids in multi.items()},
        group_last={g: mask_of(group_rows.get(g, ())) for g in scheme.level_groups},
        last_can_be_ze=torch.tensor(ze_rows),
        group_chars={g: frozenset(group_chars.get(g, ())) for g in scheme.level_groups},
    )
