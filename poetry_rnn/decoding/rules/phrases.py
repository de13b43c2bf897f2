"""Overused phrases: the stock formulas a model writes far more often than the poets it learned from.

A model sampled at a low temperature sharpens onto its favourite phrases: with the shipped model 「不知何處」
stands in one poem of twenty against one Tang poem of eight hundred (poetry_rnn.quality measures it). The
table of such phrases is made per model by generating with it (scripts/build_overused_phrases.py) and
lies beside its weights; each phrase has a penalty, about the log of how much more often the model wrote it
than the Tang poets did.

A soft preference, not a rule of verse: it excludes nothing. Where a line so far ends with all but the last
character of a listed phrase, the piece that would complete it gets the phrase's penalty subtracted from its
log-weight in the sampler (and from its score in beam search), never from the candidate's score, as the
plan's bonus is added. Only one-character pieces are matched: a tokenizer with longer pieces leaves those
alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from poetry_rnn.decoding.rules.base import NO_BONUSES, Preference
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.files import write_atomic
from poetry_rnn.script import normalize_variants

log = logging.getLogger(__name__)

TABLE_FILE = "overused_phrases.json"  # in a model's folder
TABLE_FORMAT = 1
MAX_PENALTY = 4.0  # e^-4: a phrase still possible where the rules leave little else


class OverusedPhraseRule(Preference):
    """Disfavours the piece that would complete a listed phrase by the phrase's penalty."""

    def __init__(self, tables: VocabularyTables, penalties: Mapping[str, float]):
        # (the phrase less its last character) → {piece of that last character: −penalty}
        found: dict[str, dict[int, float]] = {}
        for phrase, penalty in penalties.items():
            phrase = normalize_variants(phrase)
            completing = found.setdefault(phrase[:-1], {})
            for piece in tables.ids_ending_with.get(phrase[-1], ()):
                if len(tables.chars[piece]) == 1:
                    completing[piece] = min(completing.get(piece, 0.0), -min(penalty, MAX_PENALTY))
        self._completing = {start: MappingProxyType(pieces) for start, pieces in found.items() if pieces}
        self._starts = sorted({len(start) for start in self._completing})

    def favoured(self, state: DecodingState) -> Mapping[int, float]:
        text = state.line_text
        matched = [
            self._completing[start]
            for length in self._starts
            if length <= len(text) and (start := normalize_variants(text[-length:])) in self._completing
        ]
        if not matched:
            return NO_BONUSES
        if len(matched) == 1:
            return matched[0]
        merged: dict[int, float] = {}  # a phrase and a longer one ending alike: the stronger penalty
        for pieces in matched:
            for piece, value in pieces.items():
                merged[piece] = min(merged.get(piece, 0.0), value)
        return merged


def read_table(model_dir: Path | None) -> dict[str, float] | None:
    """The model's phrase penalties, or None where its folder has no table (or an unreadable one: logged)."""
    if model_dir is None:
        return None
    path = Path(model_dir) / TABLE_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != TABLE_FORMAT:
            raise ValueError(f"format {document.get('format')!r}, expected {TABLE_FORMAT}")
        phrases = document["phrases"]
        table = {str(phrase): float(penalty) for phrase, penalty in phrases.items()}
        if not all(len(phrase) >= 2 and penalty >= 0 for phrase, penalty in table.items()):
            raise ValueError("a phrase shorter than two characters or a negative penalty")
        return table
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.warning("overused phrases not avoided: %s is unreadable (%s)", path, error)
        return None


def write_table(model_dir: Path, phrases: Mapping[str, float], about: Mapping[str, object]) -> Path:
    """Write the table into the model's folder (atomically): `about` says how it was made."""
    path = Path(model_dir) / TABLE_FILE
    document = {
        "format": TABLE_FORMAT,
        **about,
        "phrases": {phrase: round(penalty, 3) for phrase, penalty in phrases.items()},
    }
    write_atomic(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    return path
