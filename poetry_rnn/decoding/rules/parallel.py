"""The 对仗 rule: the second line of a parallel couplet faces its first line, character by character.

While a candidate writes the second line of a couplet that must be parallel (a 律诗's 颔联 and 颈联, and on
request a 绝句's last couplet), each piece must face the character at the same position of the first line:
pieces whose loose 对仗 score against it (prosody.parallel's learned table) is clearly too low are excluded,
as are characters of the first line (two lines sharing a character is a fault); a doubling mirrors the first
line's and only it (蕭蕭 faces 滾滾). A two-character word at the head of the line faces its partner as a
whole (DEFAULT_WORD_FLOOR). The line's last piece must bring the couplet's mean score up to the
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
from poetry_rnn.prosody.parallel import (
    SHARED_PENALTY,
    UNKNOWN_SCORE,
    ParallelTable,
    load_table,
    normalize_lines,
)
from poetry_rnn.quality import ReduplicationSlots
from poetry_rnn.script import normalize_variants, to_traditional

# A pair scoring below this does not face each other: about 85 % of the positions of the corpus's parallel
# couplets reach it, over half of its unparallel ones' do not. It judges characters, not words: a compound
# that faces as a whole (棠梨/細柳) can fail it, and of the test split's parallel middle couplets only 45 %
# (五言) and 29 % (七言) pass at every position, so it narrows the model's choice. Higher floors give more 工对 (generated middle
# couplets: 0.25 → 22 %, 0.4 → 51 %, the share of the Tang corpus's regular 律诗; 0.6 → 92 %) at no measurable
# cost to the model's score, but blind readers did not see more parallel couplets at 0.6 (a third of the
# generated middle couplets against under half at 0.4) and rated its 七律 lower (docs/evaluation, rounds b
# and c), and it drops about 3 % of candidates at a line end; so 0.4. A lower floor with a higher mean to
# reach gave fewer 工对 and more dead ends; a floor on two-character words (each character at least 0.2)
# let through 74 % / 56 % of the corpus's couplets but gave 25 % 工对.
DEFAULT_FLOOR = 0.4
# A two-character word at the head of the line (the first word of a 五言 line, the first two of a 七言 one)
# must face its partner as a whole, with a mean score of at least this: readers judge 对仗 by words, and
# a couplet whose every character clears DEFAULT_FLOOR can still pair a noun compound with a verb phrase
# (客來/衣向). 75 % of the valid split's regular middle couplets reach it at every head word, 31 % of its
# first couplets.
DEFAULT_WORD_FLOOR = 0.6
THRESHOLD_STEP = 0.01  # thresholds are rounded up to this, so that candidates share masks
# Kept per model: score vectors (float32) and (character, threshold) masks (bool), each vocabulary-sized.
MAX_VECTORS = 256
MAX_MASKS = 1024
# Before the last character, a piece must leave the couplet within reach of the threshold if each later
# character scored this much; a line that falls behind is caught up early rather than dying at its end.
DEFAULT_REACH = 1.0
# Scores are float32 here, float64 in the checker: a piece within this of a threshold is let through, and the
# couplet's own judgement at the line end decides.
EPSILON = 1e-5


def _rounded(threshold: float) -> float:
    """A threshold rounded up to THRESHOLD_STEP (never below what it was, so never below what is needed)."""
    return math.ceil(threshold / THRESHOLD_STEP - 1e-6) * THRESHOLD_STEP


def _by_class(vectors: np.ndarray) -> np.ndarray:
    """[pieces, classes] → [classes, pieces] float32, contiguous: a vector times it reads each row once."""
    return np.ascontiguousarray(vectors.T, dtype=np.float32)


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
        # class vectors of the table's characters (rows) and of each piece's first character (pieces)
        self._unit = np.zeros((len(keys), width))
        self._probabilities = np.zeros((len(keys), width))
        for row, key in enumerate(keys):
            for k, p in table.classes[key]:
                self._unit[row, k] = p
            for k, p in table.probabilities[key]:
                self._probabilities[row, k] = p
        self._compat_t = np.asarray(table.compat, dtype=np.float64).T.copy()
        # per piece, class by class (rows), in float32: a score vector is two products over the vocabulary
        piece_rows = np.array([self._row(text[0]) if text else -1 for text in tables.chars], dtype=np.int64)
        self.known_piece = piece_rows >= 0
        self._piece_unit = _by_class(np.where(self.known_piece[:, None], self._unit[piece_rows], 0.0))
        self._piece_probabilities = _by_class(
            np.where(self.known_piece[:, None], self._probabilities[piece_rows], 0.0)
        )
        pieces_of_row: dict[int, list[int]] = {}
        for piece, row in enumerate(piece_rows.tolist()):
            if row >= 0:
                pieces_of_row.setdefault(row, []).append(piece)
        partners: dict[str, list[int]] = {}
        for pair in table.pairs:
            a, b = pair[0], pair[1]
            if a in self._row_of and b in self._row_of:
                partners.setdefault(a, []).extend(pieces_of_row.get(self._row_of[b], ()))
                partners.setdefault(b, []).extend(pieces_of_row.get(self._row_of[a], ()))
        self._partners = {key: np.array(found, dtype=np.int64) for key, found in partners.items() if found}
        # an unknown piece scores UNKNOWN_SCORE against anything (its class vectors are zero: max with this)
        self._unknown_scores = np.where(self.known_piece, 0.0, UNKNOWN_SCORE).astype(np.float32)
        self._vectors = BoundedCache[np.ndarray](MAX_VECTORS)
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
        return self._row_of[key] if key is not None else -1

    def piece_scores(self, char: str) -> np.ndarray:
        """[V]: the loose score of each piece's first character facing `char` (cached per character)."""
        found = self._vectors.get(char)
        if found is not None:
            return found
        key = self.key(char)
        if key is None:
            found = np.full(len(self.known_piece), UNKNOWN_SCORE, dtype=np.float32)
        else:
            row = self._row_of[key]
            strict = self._unit[row].astype(np.float32) @ self._piece_unit
            partners = self._partners.get(key)
            if partners is not None:
                strict[partners] = 1.0
            weights = (self._compat_t @ self._probabilities[row]).astype(np.float32)
            found = np.maximum(strict, weights @ self._piece_probabilities, out=strict)
            np.maximum(found, self._unknown_scores, out=found)
        return self._vectors.put(char, found)

    def score(self, facing: str, char: str) -> float:
        """The loose score of `char` facing `facing` (0 for the same character, as in the checker)."""
        if normalize_variants(char) == normalize_variants(facing):
            return 0.0
        piece = self.tables.ids_of_text.get(char)
        if piece:
            return float(self.piece_scores(facing)[piece[0]])
        key, other = self.key(char), self.key(facing)
        if key is None or other is None:
            return UNKNOWN_SCORE
        return self.table.pair_scores(key, other)[0]

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
    return tables.shared(FacingScores, tables, load_table())


class ParallelState(NamedTuple):
    first: str  # the couplet's first line
    total: float  # the loose scores of the second line's characters so far (doubling counted as the checker)
    last_score: float  # the score of the last character written (a doubling raises it to 1)
    excluded: frozenset[int]  # pieces with a character of the first line


class ParallelRule(Rule):
    """The second lines `second_lines` (0-based) face their first lines (see the module docstring).

    Hard, with masks shared per (character, threshold); at an acrostic head (`head_lines`) the head is
    dictated, so the rule yields there and the rest of the line makes up for it: the head word's second
    character faces at DEFAULT_WORD_FLOOR (it cannot make up for a head that faces poorly, 人/和), the line's
    mean does; where both lines' heads are one character (岁/岁), it makes up for the checker's penalty too.
    """

    def __init__(
        self,
        tables: VocabularyTables,
        chars_per_line: int,
        second_lines: Sequence[int],
        heads: Sequence[Collection[str]] | None = None,
        floor: float = DEFAULT_FLOOR,
        word_floor: float = DEFAULT_WORD_FLOOR,
        reach: float = DEFAULT_REACH,
        slots: ReduplicationSlots | None = None,
    ):
        """heads: the acrostic's head characters per line (each a set of the characters it may be). slots: the
        attested reduplications (normalised), which a mirrored doubling must be one of (None: any)."""
        self.tables = tables
        self.facing = facing_scores(tables)
        self.chars_per_line = chars_per_line
        self.second_lines = frozenset(second_lines)
        self.floor = floor
        self.word_floor = word_floor
        self.reach = reach
        # the second characters of the two-character words every reading of the line begins with (落木|蕭蕭,
        # 白日|依山); the last three characters are read 2+1 or 1+2 and are judged character by character
        self._word_ends = frozenset(range(1, chars_per_line - 3, 2))
        heads = list(heads or ())
        self.head_lines = frozenset(line for line in self.second_lines if line < len(heads))
        # A head is dictated whatever the first line holds: the first line keeps clear of it, since the
        # two lines may not share a character; but where its own head is the same (年年有余岁岁平安: 岁/岁),
        # the two lines share it whatever they do, and the second line makes up for the checker's penalty.
        self._reserved: dict[int, frozenset[int]] = {}
        shared_heads = set()
        for line in self.head_lines:
            own = {normalize_variants(char) for char in heads[line - 1]}
            chars = {normalize_variants(char) for char in heads[line]}
            self._reserved[line - 1] = frozenset(
                piece for char in chars - own for piece, _ in tables.ids_containing.get(char, ())
            )
            if chars & own:
                shared_heads.add(line)
        # the checker's loose threshold on the mean over the line, as a total over its characters (and, for
        # a couplet whose heads are one character, its penalty for a shared character)
        self.needed = self.facing.table.loose_threshold * chars_per_line
        self._needed = {line: self.needed + SHARED_PENALTY * chars_per_line for line in shared_heads}
        self._line_ends = frozenset((tables.comma_id, tables.period_id))
        self._none = torch.zeros(tables.vocab_size, dtype=torch.bool)
        self._excluded = BoundedCache[frozenset[int]](4096)
        self._doubled = BoundedCache[torch.Tensor](1024)
        # Where the first line doubles at p + 1, the second must write at p a character that may double there:
        # per position p, the one-character pieces attested so (longer pieces left free), and the facing
        # masks narrowed by it (cached by the facing mask's identity, as the penalty rows are)
        self._mirrorable: dict[int, torch.Tensor] = {}
        if slots is not None:
            single = self.tables.lengths == 1
            for position in range(chars_per_line - 1):
                attested = [
                    piece
                    for char in slots.chars_at(chars_per_line, position)
                    for piece in self.tables.ids_of_text.get(char, ())
                ]
                self._mirrorable[position] = ~single | self.tables.mask_of(attested)
        self._narrowed = BoundedCache[tuple[torch.Tensor, torch.Tensor]](1024)

    def start(self, state: DecodingState) -> None:
        state.rule_states[self] = None

    def _short(self, own: ParallelState, line: int, position: int) -> float:
        """What the couplet still needs from the piece at `position`: at the end of the line, what it lacks
        of the threshold; earlier, what it would lack if every later character reached `reach`."""
        remaining = self.chars_per_line - position
        return self._needed.get(line, self.needed) - own.total - (remaining - 1) * self.reach

    def shared_mask(self, state: DecodingState) -> tuple[torch.Tensor | None, Collection[int]]:
        own = state.rule_states[self]
        if own is None:
            reserved = self._reserved.get(state.line, ())
            if state.line + 1 in self.second_lines and state.position in self._undoubled(state.line + 1):
                # A doubling here could not be mirrored: at the line's end it would need a doubled rhyme
                # (杳杳/蒼蒼: 0.5 % of the train split's middle couplets), after an acrostic head a doubled
                # head; either is mostly a dead end.
                previous = self.tables.ids_of_text.get(state.line_text[-1], ())
                return None, frozenset(reserved).union(previous)
            return None, reserved
        position = state.position
        if position >= self.chars_per_line:
            # the line is written: it ends only if the couplet is parallel (the checker's own judgement, so
            # that a spelling the vectors read differently cannot slip through)
            return (None, ()) if self._parallel(own.first, state.line_text) else (self._none, ())
        if position == 0 and state.line in self.head_lines:
            return None, ()
        first = own.first
        previous = state.line_text[-1] if position else ""
        short = self._short(own, state.line, position)
        if position and first[position] == first[position - 1]:
            # The first line doubles here (蕭蕭): the second must double too (滾滾), as every real middle
            # couplet does; the checker calls a reduplication facing none 不对.
            return self._repeating(previous), own.excluded
        floor = self.floor
        if position in self._word_ends:
            # the second character of a two-character word: the word faces as a whole (see DEFAULT_WORD_FLOOR)
            need = 2 * self.word_floor - own.last_score
            if position == 1 and state.line in self.head_lines:
                # after a dictated head the word's second character faces as a word's should, but need not
                # make up for a head that faces poorly (人/和, 萬/事: 0.1): above 1 nothing could
                need = min(need, self.word_floor)
            floor = max(floor, need)
        found = self.facing.mask(first[position], _rounded(max(floor, short)))
        if position + 1 < self.chars_per_line and first[position + 1] == first[position]:
            found = self._mirroring(found, position)
        if previous:  # a doubling only the second line has is no 对仗
            return found, own.excluded.union(self.tables.ids_of_text.get(previous, ()))
        return found, own.excluded

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        found, excluded = self.shared_mask(state)
        if not excluded:
            return found
        found = torch.ones(self.tables.vocab_size, dtype=torch.bool) if found is None else found.clone()
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
            score = self.facing.score(own.first[at], char)
            if at and own.first[at] == own.first[at - 1]:
                if char == previous:  # both doubled: 1 at both positions
                    total += 2.0 - last
                    last = 1.0
                else:  # only the first doubles (inside a longer piece): neither position faces
                    total -= last
                    last = 0.0
            else:
                total += score
                last = score
        state.rule_states[self] = own._replace(total=total, last_score=last)

    def _mirroring(self, found: torch.Tensor | None, position: int) -> torch.Tensor | None:
        """`found` less the pieces that could not be doubled at `position` + 1 (the first line doubles there):
        a mirror that cannot follow is a dead end one character later."""
        mirrorable = self._mirrorable.get(position)
        if mirrorable is None:
            return found
        if found is None:
            return mirrorable
        key = (id(found), position)
        cached = self._narrowed.get(key)
        if cached is None:  # the entry holds `found` too, so that its id cannot be reused while cached
            cached = self._narrowed.put(key, (found, found & mirrorable))
        return cached[1]

    def _undoubled(self, second_line: int) -> tuple[int, ...]:
        """Positions of a parallel couplet's first line that may not repeat the character before them."""
        return (1, self.chars_per_line - 1) if second_line in self.head_lines else (self.chars_per_line - 1,)

    def _repeating(self, char: str) -> torch.Tensor:
        """The pieces that repeat `char` (cached: the penalty rows are cached by the mask's identity)."""
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
