"""The 对仗 rule: the second line of a parallel couplet faces its first line, character by character.

While a candidate writes the second line of a couplet that must be parallel (a 律诗's 颔联 and 颈联, and on
request a 绝句's last couplet), each piece must face the character at the same position of the first line:
pieces whose loose 对仗 score against it (prosody.parallel's learned table) is clearly too low are excluded,
as are characters of the first line (two lines sharing a character is a fault) and a doubling that does not
mirror the first line's (蕭蕭 faces 滾滾). The line's last piece must bring the couplet's mean score up to the
checker's threshold, so every couplet that ends is one the checker calls parallel; a candidate that cannot
get there is a dead end, and the generator's next round replaces it.

The scores of every piece against a character are one vector (FacingScores, built once per model from the
table's class vectors), and masks are cached per (character, threshold): the first line is fixed for the
whole second line, so every candidate in the same situation shares them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import NamedTuple

import numpy as np
import torch

from poetry_rnn.cache import BoundedCache
from poetry_rnn.decoding.rules.base import Rule
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.prosody.parallel import UNKNOWN_SCORE, ParallelTable, load_table, normalize_lines
from poetry_rnn.script import normalize_variants, to_traditional

# A pair scoring below this faces nothing: one in twenty positions of the corpus's parallel couplets scores
# lower, most positions of its unparallel ones do.
DEFAULT_FLOOR = 0.25
THRESHOLD_STEP = 0.01  # thresholds are rounded up to this, so that candidates share masks
MAX_MASKS = 4096  # (character, threshold) masks kept per model: a vocabulary-sized bool tensor each
EPSILON = 1e-9  # the checker's threshold is reached, not missed by a rounding error


class FacingScores:
    """Per model: how well each piece faces a given character, as loose 对仗 scores over the vocabulary.

    The table's loose score of two characters is max(strict, compat): strict the dot product of their unit
    class vectors (1 for a pair attested as facing), compat their class probabilities weighted by how well
    the classes face each other. Both are matrix products over all characters at once, equal to
    ParallelTable.pair_scores pair by pair. A piece of several characters scores its first one here; the
    rule judges such pieces character by character."""

    def __init__(self, tables: VocabularyTables, table: ParallelTable):
        self.tables = tables
        self.table = table
        keys = list(table.classes)
        self._row_of = {key: row for row, key in enumerate(keys)}
        width = len(table.compat)
        unknown = len(keys)  # the last row: a character the table does not know
        self._unit = np.zeros((unknown + 1, width))
        self._probabilities = np.zeros((unknown + 1, width))
        for row, key in enumerate(keys):
            for k, p in table.classes[key]:
                self._unit[row, k] = p
            for k, p in table.probabilities[key]:
                self._probabilities[row, k] = p
        self._compat = np.asarray(table.compat, dtype=np.float64)
        partners: dict[str, list[int]] = {}
        for pair in table.pairs:
            a, b = pair[0], pair[1]
            if a in self._row_of and b in self._row_of:
                partners.setdefault(a, []).append(self._row_of[b])
                partners.setdefault(b, []).append(self._row_of[a])
        self._partners = {key: np.array(rows, dtype=np.int64) for key, rows in partners.items()}
        self._unknown_row = unknown
        # each piece's first character as a table row (the unknown row for specials and punctuation too)
        self.piece_rows = np.array(
            [self._row(text[0]) if text else unknown for text in tables.chars], dtype=np.int64
        )
        self.known_piece = self.piece_rows != unknown
        self._vectors = BoundedCache[np.ndarray](2048)
        self._masks = BoundedCache[torch.Tensor](MAX_MASKS)

    def key(self, char: str) -> str | None:
        """The table's spelling of a character the model writes (variants normalised; a simplified character
        looked up as traditional), or None if the table does not know it."""
        normal = normalize_variants(char)
        if normal in self._row_of:
            return normal
        converted = to_traditional(char)
        return converted if converted in self._row_of else None

    def _row(self, char: str) -> int:
        key = self.key(char)
        return self._row_of[key] if key is not None else len(self._row_of)

    def char_scores(self, char: str) -> np.ndarray:
        """[table characters + 1]: the loose score of each table character facing `char` (last: unknown)."""
        found = self._vectors.get(char)
        if found is not None:
            return found
        key = self.key(char)
        if key is None:
            found = np.full(self._unknown_row + 1, UNKNOWN_SCORE)
        else:
            row = self._row_of[key]
            strict = self._unit @ self._unit[row]
            partners = self._partners.get(key)
            if partners is not None:
                strict[partners] = 1.0
            compat = self._probabilities @ (self._compat.T @ self._probabilities[row])
            found = np.maximum(strict, compat)
            found[self._unknown_row] = UNKNOWN_SCORE
        return self._vectors.put(char, found)

    def score(self, facing: str, char: str) -> float:
        """The loose score of `char` facing `facing` (0 for the same character, as in the checker)."""
        if normalize_variants(char) == normalize_variants(facing):
            return 0.0
        return float(self.char_scores(facing)[self._row(char)])

    def piece_scores(self, char: str) -> np.ndarray:
        """[V]: the score of each piece's first character facing `char`."""
        return self.char_scores(char)[self.piece_rows]

    def mask(self, char: str, threshold: float) -> torch.Tensor:
        """Pieces whose first character scores at least `threshold` facing `char` (cached, shared)."""
        key = (char, threshold)
        found = self._masks.get(key)
        if found is None:
            scores = self.piece_scores(char)
            found = self._masks.put(key, torch.from_numpy(scores >= threshold - EPSILON) & self.tables.plain)
        return found


def facing_scores(tables: VocabularyTables) -> FacingScores:
    """The model's FacingScores over the shipped table (built once per model)."""
    return tables.shared(("parallel-facing",), lambda: FacingScores(tables, load_table()))


class ParallelState(NamedTuple):
    first: str  # the couplet's first line
    total: float  # the loose scores of the second line's characters so far (doubling counted as the checker)
    last_score: float  # the score of the last character written (a doubling raises it to 1)
    excluded: frozenset[int]  # pieces with a character of the first line


class ParallelRule(Rule):
    """The second lines `second_lines` (0-based) face their first lines (see the module docstring).

    Hard, with masks shared per (character, threshold); at an acrostic head (`head_lines`) the head is
    dictated, so the rule yields there and the rest of the line makes up for it."""

    def __init__(
        self,
        tables: VocabularyTables,
        chars_per_line: int,
        second_lines: Sequence[int],
        head_lines: Collection[int] = (),
        floor: float = DEFAULT_FLOOR,
    ):
        self.tables = tables
        self.facing = facing_scores(tables)
        self.chars_per_line = chars_per_line
        self.second_lines = frozenset(second_lines)
        self.head_lines = frozenset(head_lines)
        self.floor = floor
        # the checker's loose threshold on the mean over the line, as a total over its characters
        self.needed = self.facing.table.loose_threshold * chars_per_line
        self._line_ends = frozenset((tables.comma_id, tables.period_id))
        self._none = torch.zeros(tables.vocab_size, dtype=torch.bool)
        self._excluded = BoundedCache[frozenset[int]](4096)
        self._doubled = BoundedCache[torch.Tensor](1024)

    def start(self, state: DecodingState) -> None:
        state.rule_states[self] = None

    def _threshold(self, own: ParallelState, position: int) -> float:
        """What the piece at `position` must score: the floor, and at the end of the line what the couplet
        still needs (earlier, what it needs if every later character scored 1)."""
        remaining = self.chars_per_line - position
        short = self.needed - own.total - (remaining - 1)
        threshold = max(self.floor, short)
        return math.ceil(threshold / THRESHOLD_STEP - 1e-6) * THRESHOLD_STEP

    def shared_mask(self, state: DecodingState) -> tuple[torch.Tensor | None, Collection[int]]:
        own = state.rule_states[self]
        if own is None:
            return None, ()
        position = state.position
        if position >= self.chars_per_line:
            # the line is written: it ends only if the couplet is parallel (the checker's own judgement, so
            # that a spelling the vectors read differently cannot slip through)
            return (None, ()) if self._parallel(own.first, state.line_text) else (self._none, ())
        if position == 0 and state.line in self.head_lines:
            return None, ()
        first = own.first
        previous = state.line_text[-1] if position else ""
        if position and first[position] == first[position - 1]:
            # the first line doubles here (蕭蕭): the second must double too, and score 1 at both positions
            gain = 2.0 - own.last_score
            remaining = self.chars_per_line - position - 1
            if own.total + gain + remaining < self.needed - EPSILON:
                return self._none, ()
            return self._only(previous), own.excluded
        found = self.facing.mask(first[position], self._threshold(own, position))
        if previous:  # a doubling only the second line has is no 对仗
            return found, own.excluded.union(self.tables.ids_of_text.get(previous, ()))
        return found, own.excluded

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        found, excluded = self.shared_mask(state)
        if found is None or not excluded:
            return found
        found = found.clone()
        found[list(excluded)] = False
        return found

    def advance(self, state: DecodingState, piece_id: int) -> None:
        own = state.rule_states[self]
        if piece_id in self._line_ends:
            # a line ends: the next one faces it if it is a parallel couplet's second line
            if state.line + 1 in self.second_lines:
                first = state.line_text
                state.rule_states[self] = ParallelState(first, 0.0, 0.0, self._excluded_by(first))
            elif own is not None:
                state.rule_states[self] = None
            return
        if own is None:
            return
        text = self.tables.chars[piece_id]
        if not text:
            return
        position = state.position
        total, last = own.total, own.last_score
        for offset, char in enumerate(text):
            at = position + offset
            if at >= len(own.first):
                break
            previous = (
                state.line_text[-1] if at == position and position else text[offset - 1] if offset else ""
            )
            if at and own.first[at] == own.first[at - 1] and char == previous:
                total += 2.0 - last  # both doubled: 1 at both positions
                last = 1.0
            else:
                last = self.facing.score(own.first[at], char)
                total += last
        state.rule_states[self] = own._replace(total=total, last_score=last)

    def _only(self, char: str) -> torch.Tensor:
        """The pieces that write `char` alone (cached: the penalty rows are cached by the mask's identity)."""
        found = self._doubled.get(char)
        if found is None:
            found = self._doubled.put(char, self.tables.mask_of(self.tables.ids_of_text.get(char, ())))
        return found

    def _excluded_by(self, first: str) -> frozenset[int]:
        """The pieces containing a character of `first` (cached per line: every candidate that wrote the
        same first line shares it)."""
        found = self._excluded.get(first)
        if found is None:
            containing = self.tables.ids_containing
            found = frozenset(
                p for char in set(normalize_variants(first)) for p, _ in containing.get(char, ())
            )
            self._excluded.put(first, found)
        return found

    def _parallel(self, first: str, second: str) -> bool:
        table = self.facing.table
        if len(first) != len(second):
            return False
        return table.kind(*table.scores(*normalize_lines([first, second]))) != "不对"
