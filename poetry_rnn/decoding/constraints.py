"""Decoding constraints: small logits processors, each enforcing one rule through a vocabulary mask.

Each constraint answers, for one candidate's `DecodingState`, which pieces may come next (a bool mask over
the vocabulary, or None for "no restriction") and updates its own slots when a piece is chosen. A
`ConstraintSet` combines them for a batch: the search loop knows no verse rule.

Hard constraints (form, tone, rhyme, acrostic, first line) always hold. Soft ones (repetition,
originality) yield only where a hard constraint dictates the piece (an acrostic head or a given first
line that repeats a character); elsewhere an empty mask is a dead end and the candidate is dropped.
Masks are cached per situation (tone pattern, position, tones so far …), so a step costs a few tensor ops.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch

from poetry_rnn.decoding.originality import CorpusLines
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.tables import BOTH, SchemeTables, StepPenalties, VocabularyTables, fits, penalty_of
from poetry_rnn.prosody.patterns import (
    FREE_MARK,
    STANDARD,
    STRICT,
    TONE_OF_MARK,
    TonePattern,
    allowed_tones,
    fixed_positions,
)
from poetry_rnn.script import normalize_variants

# Slots shared between constraints: the tone patterns still possible for the candidate (indices into the
# request's pattern list). The tone constraint narrows them by tones, the rhyme constraint by whether
# the first line rhymes.
PATTERNS = "patterns"
MAX_CACHED_SITUATIONS = 200_000


class Constraint:
    """Base class. `soft` constraints may yield at forced steps; `forcing` ones dictate pieces."""

    soft = False
    forcing = False

    def start(self, state: DecodingState) -> None:
        """Initialise this constraint's slots in a fresh state."""

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        """Pieces allowed next (bool [V]); None = no restriction. Returned tensors are never mutated."""
        return None

    def forces(self, state: DecodingState) -> bool:
        """Whether this constraint dictates the next piece (only meaningful for forcing constraints)."""
        return False

    def blocked(self, state: DecodingState) -> Collection[int]:
        """Soft constraints: the pieces this rule excludes next (empty: none). A soft rule blocks a few
        pieces of one candidate, so the search takes them as a list rather than a mask."""
        return ()

    def shared_mask(self, state: DecodingState) -> tuple[torch.Tensor | None, Collection[int]]:
        """Hard constraints: the rule as a mask shared by every state in the same situation, and the few
        pieces it excludes on top of that for this state (`mask` is the two together). The search caches
        penalties by the masks' identity, so a rule whose mask would differ per candidate keeps that part
        out of it."""
        return self.mask(state), ()

    def advance(self, state: DecodingState, piece_id: int) -> None:
        """Update slots after `piece_id` was chosen (before `state.advance`). Copy-on-write: never mutate
        a slot value in place, so that forked states (beam search) can share them."""


class SoftConstraint(Constraint):
    """A rule that blocks a few pieces per candidate (`blocked`); its mask is built from them on demand."""

    soft = True

    def __init__(self, tables: VocabularyTables):
        self.tables = tables

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        blocked = self.blocked(state)
        if not blocked:
            return None
        allowed = torch.ones(self.tables.vocab_size, dtype=torch.bool)
        allowed[list(blocked)] = False
        return allowed


class FormConstraint(Constraint):
    """Characters per line, line count, ， after odd lines and 。 after even lines, then </s>; nothing else
    (no special pieces, no <unk>, no other punctuation)."""

    def __init__(self, tables: VocabularyTables, chars_per_line: int, line_count: int):
        self.tables = tables
        self.chars_per_line = chars_per_line
        self.line_count = line_count
        self.eos_only = tables.mask_of([tables.eos_id])
        self.comma_only = tables.mask_of([tables.comma_id])
        self.period_only = tables.mask_of([tables.period_id])

    def mask(self, state: DecodingState) -> torch.Tensor:
        if state.line >= self.line_count:
            return self.eos_only
        remaining = self.chars_per_line - state.position
        if remaining <= 0:
            return self.comma_only if state.line % 2 == 0 else self.period_only
        return self.tables.length_at_most[remaining]


def relaxed_template(template: str, strictness: str) -> str:
    """The template with every position the strictness leaves free marked 中."""
    fixed = set(fixed_positions(template, strictness))
    return "".join(mark if i in fixed else FREE_MARK for i, mark in enumerate(template))


class ToneConstraint(Constraint):
    """Tones along the chosen pattern. Several patterns may stay possible (平起/仄起, 首句入韵 or not): the
    mask allows what fits any of them, and each choice keeps only the patterns it fits, so the model's
    own preference picks the pattern.

    mode "strict": every fixed mark, 孤平 and 三平尾 guarded (prosody.patterns.allowed_tones);
    "standard": characters 2, 4, 6 and the line end, 孤平 and 三平尾 still guarded (the checker flags them
    at either level); "off": only the line ends (平 on rhyme lines, 仄 elsewhere), so the rhyme is unambiguous.
    """

    def __init__(
        self, tables: VocabularyTables, scheme: SchemeTables, patterns: Sequence[TonePattern], mode: str
    ):
        if mode not in (STRICT, STANDARD, "off"):
            raise ValueError(f"unknown tone mode {mode!r}")
        self.tables = tables
        self.scheme = scheme
        self.patterns = list(patterns)
        self.mode = mode
        self.chars_per_line = self.patterns[0].chars_per_line
        self._cache: dict = {}  # (patterns, line, position, tones so far) → mask
        self._masks: dict = {}  # what decides a mask → the mask
        self._fits: dict = {}  # (template, position, tones before, piece tones) → whether the piece fits
        self._kept: dict = {}  # (patterns, line, position, tones before, piece tones) → patterns it fits

    def start(self, state: DecodingState) -> None:
        state.slots.setdefault(PATTERNS, tuple(range(len(self.patterns))))
        state.slots["line_tones"] = ()

    def allowed(self, template: str, position: int, previous: tuple) -> frozenset[str]:
        """Tones allowed at `position` of a line with `template`, after characters with `previous` tones."""
        if self.mode == STRICT:
            return allowed_tones(template, position, previous, STRICT)
        if self.mode == STANDARD:
            # Standard positions, with the strict guard against 孤平/三平尾 on the relaxed template.
            return allowed_tones(relaxed_template(template, STANDARD), position, previous, STRICT)
        if position == len(template) - 1:
            return frozenset((TONE_OF_MARK[template[-1]],))
        return BOTH

    def _piece_fits(self, template: str, position: int, previous: tuple, tones: tuple) -> bool:
        key = (template, position, previous, tones)
        found = self._fits.get(key)
        if found is None:  # a handful of situations recur for every candidate: decide each once
            found = True
            for offset, char_tones in enumerate(tones):
                if not fits(char_tones, self.allowed(template, position + offset, previous)):
                    found = False
                    break
                previous = previous + (char_tones,)
            if len(self._fits) >= MAX_CACHED_SITUATIONS:
                self._fits.clear()
            self._fits[key] = found
        return found

    def _compute(self, templates: set[str], position: int, previous: tuple) -> torch.Tensor:
        """The union over templates of the pieces that fit. Masks are shared by what decides them (the
        allowed tone sets, the fitting multi-character tone groups), so at most a few dozen exist."""
        singles, multis = set(), set()
        for template in templates:
            singles.add(self.allowed(template, position, previous))
            remaining = len(template) - position
            for tones in self.scheme.multi_groups:
                if len(tones) <= remaining and self._piece_fits(template, position, previous, tones):
                    multis.add(tones)
        key = (frozenset(singles), frozenset(multis))
        found = self._masks.get(key)
        if found is None:
            found = torch.zeros(self.tables.vocab_size, dtype=torch.bool)
            for allowed in singles:
                if allowed:
                    found |= self.scheme.single_fit[allowed]
            for tones in multis:
                found |= self.scheme.multi_groups[tones]
            self._masks[key] = found
        return found

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        line, position = state.line, state.position
        if line >= len(self.patterns[0].lines) or position >= self.chars_per_line:
            return None
        key = (state.slots[PATTERNS], line, position, state.slots["line_tones"])
        found = self._cache.get(key)
        if found is None:
            templates = {self.patterns[p].lines[line] for p in state.slots[PATTERNS]}
            found = self._compute(templates, position, state.slots["line_tones"])
            if len(self._cache) >= MAX_CACHED_SITUATIONS:
                self._cache.clear()  # keys only point at shared masks, but keep memory bounded anyway
            self._cache[key] = found
        return found

    def advance(self, state: DecodingState, piece_id: int) -> None:
        tones = self.scheme.piece_tones[piece_id]
        if not tones:  # punctuation: a new line starts
            state.slots["line_tones"] = ()
            return
        line, position, previous = state.line, state.position, state.slots["line_tones"]
        if line < len(self.patterns[0].lines):
            patterns = state.slots[PATTERNS]
            key = (patterns, line, position, previous, tones)
            kept = self._kept.get(key)
            if kept is None:  # the patterns the piece fits: decided once per situation
                kept = tuple(
                    p
                    for p in patterns
                    if self._piece_fits(self.patterns[p].lines[line], position, previous, tones)
                )
                if len(self._kept) >= MAX_CACHED_SITUATIONS:
                    self._kept.clear()
                self._kept[key] = kept
            state.slots[PATTERNS] = kept
        state.slots["line_tones"] = previous + tones


class RhymeConstraint(Constraint):
    """One level-tone rhyme group on the rhyme lines, no rhyme character twice.

    Several groups may stay possible until the first rhyme character is chosen (by the model's
    preference); the groups it belongs to are kept for the remaining rhyme lines. Where the first line's
    rhyming is still open (patterns of both kinds remain), its last character either rhymes or has an
    oblique reading; the choice settles the pattern.
    """

    def __init__(
        self,
        tables: VocabularyTables,
        scheme: SchemeTables,
        patterns: Sequence[TonePattern],
        rhyme_groups: Sequence[str],
    ):
        self.tables = tables
        self.scheme = scheme
        self.patterns = list(patterns)
        self.initial_groups = tuple(rhyme_groups)
        self.chars_per_line = self.patterns[0].chars_per_line
        self._cache: dict = {}
        self._used_cache: dict = {}
        self._rhyming_cache: dict = {}

    def start(self, state: DecodingState) -> None:
        state.slots.setdefault(PATTERNS, tuple(range(len(self.patterns))))
        state.slots["rhyme_groups"] = self.initial_groups
        state.slots["rhymes_used"] = frozenset()

    def _rhyming(self, state: DecodingState) -> tuple[bool, bool]:
        """(some remaining pattern rhymes this line, every remaining pattern does)."""
        key = (state.slots[PATTERNS], state.line)
        found = self._rhyming_cache.get(key)
        if found is None:
            flags = [state.line in self.patterns[p].rhyme_lines for p in state.slots[PATTERNS]]
            found = self._rhyming_cache[key] = (any(flags), all(flags))  # a few dozen keys at most
        return found

    def _situation(self, state: DecodingState) -> tuple | None:
        """(rhyme groups, characters left in the line, whether every remaining pattern rhymes the line, rhyme
        characters used) where a piece may end a rhyming line; None where this rule has nothing to say."""
        remaining = self.chars_per_line - state.position
        if (
            remaining <= 0
            or remaining > self.tables.max_piece_len
            or state.line >= len(self.patterns[0].lines)
        ):
            return None
        some, every = self._rhyming(state)
        if not some:
            return None
        return state.slots["rhyme_groups"], remaining, every, state.slots["rhymes_used"]

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        situation = self._situation(state)
        if situation is None:
            return None
        return self._mask(*situation)

    def shared_mask(self, state: DecodingState) -> tuple[torch.Tensor | None, Collection[int]]:
        situation = self._situation(state)
        if situation is None:
            return None, ()
        groups, remaining, every, used = situation
        return self._mask(groups, remaining, every, frozenset()), self._used_pieces(remaining, every, used)

    def _mask(self, groups: tuple, remaining: int, every: bool, used: frozenset) -> torch.Tensor:
        key = (groups, remaining, every, used)  # one mask object per situation
        found = self._cache.get(key)
        if found is None:
            rhymes = torch.zeros(self.tables.vocab_size, dtype=torch.bool)
            for group in groups:
                rhymes |= self.scheme.group_last[group]
            ok = rhymes if every else rhymes | self.scheme.last_can_be_ze
            # Pieces that do not reach the line end are not judged here.
            found = ~self.tables.length_exactly[remaining] | ok
            found[list(self._used_pieces(remaining, every, used))] = False
            if len(self._cache) >= MAX_CACHED_SITUATIONS:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _used_pieces(self, remaining: int, every: bool, used: frozenset) -> tuple[int, ...]:
        """Pieces that would end the line on a rhyme character already used; where the first line may
        also not rhyme, only those that cannot be read oblique (the others may end it unrhymed)."""
        if not used:
            return ()
        key = (remaining, every, used)
        found = self._used_cache.get(key)
        if found is None:
            chars = self.tables.chars
            found = tuple(
                p
                for char in used
                for p in self.tables.ids_ending_with.get(char, ())
                if chars[p]
                and len(chars[p]) == remaining
                and (every or not bool(self.scheme.last_can_be_ze[p]))
            )
            if len(self._used_cache) >= MAX_CACHED_SITUATIONS:
                self._used_cache.clear()
            self._used_cache[key] = found
        return found

    def advance(self, state: DecodingState, piece_id: int) -> None:
        chars = self.tables.chars[piece_id]
        if not chars or state.position + len(chars) != self.chars_per_line:
            return
        if state.line >= len(self.patterns[0].lines):
            return
        some, every = self._rhyming(state)
        if not some:
            return
        last = normalize_variants(chars[-1])
        groups = tuple(g for g in state.slots["rhyme_groups"] if chars[-1] in self.scheme.group_chars[g])
        if groups and last not in state.slots["rhymes_used"]:
            state.slots["rhyme_groups"] = groups
            state.slots["rhymes_used"] = state.slots["rhymes_used"] | {last}
        elif not every:  # the first line does not rhyme: keep only the patterns where it need not
            state.slots[PATTERNS] = tuple(
                p for p in state.slots[PATTERNS] if state.line not in self.patterns[p].rhyme_lines
            )


class AcrosticConstraint(Constraint):
    """Each line starts with the given head; a head stands for every character of the vocabulary that it
    may be written as (a simplified 发 admits 發 and 髮)."""

    forcing = True

    def __init__(self, tables: VocabularyTables, heads: Sequence[set[str]]):
        self.heads = [
            tables.mask_of([p for char in head for p in tables.ids_starting_with.get(char, ())])
            for head in heads
        ]

    def forces(self, state: DecodingState) -> bool:
        return state.position == 0 and state.line < len(self.heads)

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        return self.heads[state.line] if self.forces(state) else None


class RepetitionConstraint(SoftConstraint):
    """No character more than `max_repeat` times in a poem.

    `reserved` maps a line to the character that a forcing constraint will put at its start (an acrostic
    head): it counts from the beginning, so the model cannot use up a head character before its line."""

    def __init__(self, tables: VocabularyTables, max_repeat: int, reserved: dict[int, str] | None = None):
        super().__init__(tables)
        self.max_repeat = max_repeat
        self.reserved = dict(reserved or {})  # line → head character as the vocabulary writes it

    def start(self, state: DecodingState) -> None:
        state.slots["char_counts"] = {}
        state.slots["repeat_blocked"] = frozenset()
        for char in self.reserved.values():
            self._count(state, normalize_variants(char))

    def blocked(self, state: DecodingState) -> Collection[int]:
        blocked = state.slots["repeat_blocked"]
        head = self.reserved.get(state.line) if state.position == 0 else None
        if head is None:
            return blocked
        # At a reserved head, pieces starting with it are judged by the rest of their characters.
        starting = self.tables.ids_starting_with.get(head, ())
        counts = state.slots["char_counts"]
        judged = set(blocked).difference(starting)
        for piece in starting:
            tail = normalize_variants(self.tables.chars[piece])[1:]
            if any(counts.get(c, 0) + tail.count(c) > self.max_repeat for c in set(tail)):
                judged.add(piece)
        return judged

    def advance(self, state: DecodingState, piece_id: int) -> None:
        chars = normalize_variants(self.tables.chars[piece_id])
        head = self.reserved.get(state.line) if state.position == 0 else None
        if head is not None and chars and chars[0] == normalize_variants(head):
            chars = chars[1:]  # the reserved head, counted at the start
        if chars:
            self._count(state, chars)

    def _count(self, state: DecodingState, chars: str) -> None:
        counts = dict(state.slots["char_counts"])
        newly_blocked = []
        for char in chars:
            counts[char] = counts.get(char, 0) + 1
        for char in set(chars):
            for piece, occurrences in self.tables.ids_containing.get(char, ()):
                if counts[char] + occurrences > self.max_repeat:
                    newly_blocked.append(piece)
        state.slots["char_counts"] = counts
        if newly_blocked:
            state.slots["repeat_blocked"] = state.slots["repeat_blocked"].union(newly_blocked)


class OriginalityConstraint(SoftConstraint):
    """No line may equal a line of the training corpus: block the pieces that would complete one."""

    def __init__(self, tables: VocabularyTables, corpus_lines: CorpusLines, chars_per_line: int):
        super().__init__(tables)
        self.corpus_lines = corpus_lines
        self.chars_per_line = chars_per_line

    def blocked(self, state: DecodingState) -> Collection[int]:
        remaining = self.chars_per_line - state.position
        if remaining <= 0 or remaining > self.tables.max_piece_len:
            return ()
        prefix = state.line_text
        width = self.chars_per_line
        candidates = self.tables.ids_of_length.get(remaining, ())
        endings = self.corpus_lines.completions(prefix, width, limit=len(candidates))
        if endings is not None:
            blocked = [p for ending in endings for p in self.tables.ids_of_text.get(ending, ())]
        else:  # a short prefix matches many lines: test the few pieces that would end the line instead
            blocked = [p for p in candidates if prefix + self.tables.chars[p] in self.corpus_lines]
        return blocked


class ConstraintSet:
    """All constraints of one request, applied to a batch of candidate states."""

    def __init__(self, tables: VocabularyTables, constraints: Sequence[Constraint]):
        self.tables = tables
        self.hard = [c for c in constraints if not c.soft]
        self.soft = [c for c in constraints if c.soft]
        self.forcing = [c for c in constraints if c.forcing]
        self.constraints = self.hard + self.soft
        # those that keep state (the others' advance does nothing: no call per candidate and step)
        self.advancing = [c for c in self.constraints if type(c).advance is not Constraint.advance]
        self.all_allowed = torch.ones(tables.vocab_size, dtype=torch.bool)
        self.eos_only = tables.mask_of([tables.eos_id])
        self.eos_penalty = penalty_of(self.eos_only)

    def new_state(self) -> DecodingState:
        state = DecodingState()
        for constraint in self.constraints:
            constraint.start(state)
        return state

    def _masks_of(self, state: DecodingState) -> tuple[torch.Tensor, ...]:
        # Most constraints say "no restriction" at most steps: only the masks that exist are combined.
        return tuple(
            found for constraint in self.constraints if (found := constraint.mask(state)) is not None
        )

    def _yielded_mask(self, state: DecodingState) -> torch.Tensor | None:
        """For a state with no allowed piece: the hard rules' mask if a forcing constraint dictates the piece
        (soft rules yield to it) and it allows something; otherwise None, and the state is marked dead."""
        hard = self.all_allowed
        for constraint in self.hard:
            found = constraint.mask(state)
            if found is not None:
                hard = hard & found
        if any(c.forces(state) for c in self.forcing) and bool(hard.any()):
            return hard
        state.dead = True
        return None

    def masks(self, states: Sequence[DecodingState]) -> torch.Tensor:
        """Allowed pieces for each state (bool [B, V]). States with no allowed piece are marked dead;
        finished and dead states get </s> only (their steps are ignored)."""
        rows: list[torch.Tensor] = []
        for state in states:
            if state.finished or state.dead:
                rows.append(self.eos_only)
                continue
            row = self.all_allowed
            for found in self._masks_of(state):
                row = row & found
            rows.append(row)
        allowed = torch.stack(rows)
        empty = ~allowed.any(1)
        if bool(empty.any()):
            for index in torch.nonzero(empty).flatten().tolist():
                yielded = self._yielded_mask(states[index])
                allowed[index] = self.eos_only if yielded is None else yielded
        return allowed

    def _rules(
        self, state: DecodingState
    ) -> tuple[tuple[torch.Tensor, ...], Collection[int], Collection[int]]:
        """For a live state: the hard rules' shared masks (only those that restrict something), the pieces
        the hard rules exclude on top of them, and the pieces the soft rules block."""
        # plain loops: this runs for every candidate at every step, and generator expressions cost more
        hard = []
        excluded: Collection[int] = ()
        for constraint in self.hard:
            found, more = constraint.shared_mask(state)
            if found is not None:
                hard.append(found)
            if more:
                excluded = more if not excluded else set(excluded).union(more)
        blocked: Collection[int] = ()
        for constraint in self.soft:
            found = constraint.blocked(state)
            if found:
                blocked = found if not blocked else set(blocked).union(found)
        return tuple(hard), excluded, blocked

    def plan(self, states: Sequence[DecodingState]) -> tuple[list[int | None], StepPenalties | None]:
        """What the search needs for the next step: per state the piece the rules dictate (punctuation, an
        acrostic head, a given first line; </s> once finished or dead) or None, and the penalties for the
        sampler, or None where every state's piece is dictated (no sampling, and the model's output layer
        can be skipped for the step before).

        The penalties are the rules of `masks` as additive log-weights (0 allowed, -inf not; see
        StepPenalties). A row whose pieces are all excluded is left so (all -inf): the sampler reports it
        and asks `dead_end_penalty`, which costs nothing at the steps without one."""
        dictated: list[int | None] = []
        rows: list[torch.Tensor] = []
        blocked_rows: list[Collection[int]] = []
        cache = self.tables.penalties
        for state in states:
            if state.finished or state.dead:
                dictated.append(self.tables.eos_id)
                rows.append(self.eos_penalty)
                blocked_rows.append(())
                continue
            hard, excluded, blocked = self._rules(state)
            penalty, only = cache.both(hard)  # the one piece the shared masks leave, if one
            # A piece a soft rule blocks is dictated only where a forcing constraint dictates it (soft rules
            # yield there, as in dead_end_penalty); otherwise the sampler is left to find the dead end.
            if only is not None and (
                only in excluded or (only in blocked and not any(c.forces(state) for c in self.forcing))
            ):
                only = None
            dictated.append(only)
            rows.append(penalty)
            blocked_rows.append(set(blocked).union(excluded) if excluded and blocked else excluded or blocked)
        if all(piece is not None for piece in dictated):
            return dictated, None
        return dictated, StepPenalties(rows, blocked_rows, cache)

    def dead_end_penalty(self, state: DecodingState) -> torch.Tensor:
        """Penalty row for a state that had no allowed piece: the hard rules only where soft ones yield to a
        dictated piece, else </s> only (and the state is marked dead)."""
        yielded = self._yielded_mask(state)
        if yielded is None:
            return self.eos_penalty
        return penalty_of(yielded)

    def advance(self, state: DecodingState, piece_id: int) -> None:
        if state.finished or state.dead:
            return
        for constraint in self.advancing:
            constraint.advance(state, piece_id)
        if piece_id == self.tables.eos_id:
            state.finished = True
            state.ids.append(piece_id)
            return
        is_line_end = piece_id in (self.tables.comma_id, self.tables.period_id)
        state.advance(piece_id, self.tables.chars[piece_id], is_line_end)
