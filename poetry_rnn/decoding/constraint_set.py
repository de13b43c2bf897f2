"""The rules of one request applied to a batch of candidates: one plan per step for the search.

The search asks one question per step, `plan(states)`, and gets a `StepPlan`: the piece the rules dictate
for each candidate (punctuation, an acrostic head, </s> once finished), the penalties for the sampler, and,
for a candidate the sampler finds with no allowed piece, what to do about that dead end (`StepPlan.dead_end`).
So the search loop knows no rule, no rule's state and no special piece. Beam search asks `allowed(states)`,
the same rules as a mask per candidate. No query changes a state: the search drops a dead candidate itself,
as the plan says.

Rules come in three kinds (decoding/rules/base.py says how each answers):
- hard rules always hold, as a mask of the pieces allowed (`mask`/`shared_mask`): form, tone, rhyme,
  acrostic, the line as a Mandarin reader hears it (新韵) and the 对仗 of the couplets asked parallel;
- soft rules block a few pieces per candidate (`blocked`) and yield only where a forcing rule dictates the
  piece (an acrostic head that repeats a character): repetition and originality; elsewhere a candidate
  left with no piece is a dead end and is dropped;
- preferences exclude nothing: they add a bonus (or, negative, a penalty) to a few pieces' log-weights
  (`favoured`; StepPenalties carries them to the sampler, beam search adds them to its scores): the plan's
  keyword, the model's overused phrases, one season a poem and characters already used.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import torch

from poetry_rnn.decoding.penalties import StepPenalties, penalty_of
from poetry_rnn.decoding.rules.base import Rule, check_rule_kind
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables


@dataclass(frozen=True)
class DeadEnd:
    """What to do with a candidate that had no allowed piece: draw again with `penalty` ([V]; where the soft
    rules yield to a dictated piece, the hard rules alone; else only the end of the poem); `fallback` is
    the piece to write if that draw finds nothing. `dies`: the candidate cannot go on and is dropped (its
    piece then only closes the row)."""

    penalty: torch.Tensor
    fallback: int
    dies: bool


class StepPlan:
    """The rules' answer for one step of a batch.

    dictated: per candidate the piece the rules dictate (the only one allowed), or None.
    penalties: the sampler's penalties (StepPenalties), or None where every piece is dictated (no sampling,
        and the model's output layer can be skipped for the step before).
    A candidate whose pieces are all excluded is left so in the penalties (all -inf), since finding that
    out would cost a pass over the vocabulary per candidate: the sampler reports it, and `dead_end(row)`
    says what to do then."""

    __slots__ = ("dictated", "penalties", "_states", "_rules")

    def __init__(
        self,
        dictated: list[int | None],
        penalties: StepPenalties | None,
        states: Sequence[DecodingState],
        rules: ConstraintSet,
    ):
        self.dictated = dictated
        self.penalties = penalties
        self._states = states
        self._rules = rules

    @property
    def every_piece_dictated(self) -> bool:
        return self.penalties is None

    def dead_end(self, row: int) -> DeadEnd:
        """What to do about candidate `row` having no allowed piece (the states must not have advanced
        since the plan was made)."""
        return self._rules.dead_end(self._states[row])


@dataclass(frozen=True)
class AllowedPieces:
    """The rules as masks for a batch (beam search): `masks` [B, V] bool; `dead_ends` the rows that had no
    allowed piece (their mask allows only </s>; the candidates cannot go on); `bonuses` [B, V] the soft
    preferences to add to the scores the beam is chosen by (None: none)."""

    masks: torch.Tensor
    dead_ends: frozenset[int]
    bonuses: torch.Tensor | None = None


class ConstraintSet:
    """All rules of one request, applied to a batch of candidate states."""

    def __init__(self, tables: VocabularyTables, rules: Sequence[Rule]):
        self._tables = tables
        for rule in rules:
            check_rule_kind(rule)
        self._hard = [r for r in rules if not r.soft]
        self._soft = [r for r in rules if r.soft]
        self._forcing = [r for r in rules if r.forcing]
        self._favouring = [r for r in self._soft if type(r).favoured is not Rule.favoured]
        self.rules = self._hard + self._soft
        # those that keep state (the others' advance does nothing: no call per candidate and step)
        self._advancing = [r for r in self.rules if type(r).advance is not Rule.advance]
        self._all_allowed = torch.ones(tables.vocab_size, dtype=torch.bool)
        self._eos_only = tables.mask_of([tables.eos_id])
        self._eos_penalty = penalty_of(self._eos_only)
        self._line_ends = (tables.comma_id, tables.period_id)

    def new_state(self) -> DecodingState:
        state = DecodingState()
        for rule in self.rules:
            rule.start(state)
        return state

    def refusing_rule(self, state: DecodingState, piece: int) -> Rule | None:
        """The first hard rule that does not allow `piece` next, or None (for checking given text)."""
        for rule in self._hard:
            allowed = rule.mask(state)
            if allowed is not None and not bool(allowed[piece]):
                return rule
        return None

    # ------------------------------------------------------------------------------------ sampling
    def plan(self, states: Sequence[DecodingState]) -> StepPlan:
        """What the search needs for the next step (see StepPlan). The penalties are the rules of `allowed`
        as additive log-weights (0 allowed, -inf not)."""
        dictated: list[int | None] = []
        rows: list[torch.Tensor] = []
        blocked_rows: list[Collection[int]] = []
        favoured_rows: list[Mapping[int, float]] = []
        cache = self._tables.penalties
        eos_id = self._tables.eos_id
        for state in states:
            if state.finished or state.dead:
                dictated.append(eos_id)
                rows.append(self._eos_penalty)
                blocked_rows.append(())
                favoured_rows.append({})
                continue
            hard, excluded, blocked = self._rules_of(state)
            penalty, only = cache.both(hard)  # the one piece the shared masks leave, if one
            # A piece a soft rule blocks is dictated only where a forcing rule dictates it (soft rules yield
            # there, as in dead_end); otherwise the sampler is left to find the dead end.
            if only is not None and (
                only in excluded or (only in blocked and not any(r.forces(state) for r in self._forcing))
            ):
                only = None
            dictated.append(only)
            rows.append(penalty)
            blocked_rows.append(set(blocked).union(excluded) if excluded and blocked else excluded or blocked)
            favoured_rows.append(self._favoured(state) if only is None and self._favouring else {})
        if all(piece is not None for piece in dictated):
            return StepPlan(dictated, None, states, self)
        favoured = favoured_rows if any(favoured_rows) else None
        return StepPlan(dictated, StepPenalties(rows, blocked_rows, cache, favoured=favoured), states, self)

    def _favoured(self, state: DecodingState) -> Mapping[int, float]:
        """The soft preferences' bonuses for a live state (summed where two favour one piece)."""
        found: Mapping[int, float] = {}
        for rule in self._favouring:
            more = rule.favoured(state)
            if more:
                found = (
                    more if not found else {p: found.get(p, 0.0) + more.get(p, 0.0) for p in {*found, *more}}
                )
        return found

    def _rules_of(
        self, state: DecodingState
    ) -> tuple[tuple[torch.Tensor, ...], Collection[int], Collection[int]]:
        """For a live state: the hard rules' shared masks (only those that restrict something), the pieces
        the hard rules exclude on top of them, and the pieces the soft rules block."""
        # plain loops: this runs for every candidate at every step, and generator expressions cost more
        hard = []
        excluded: Collection[int] = ()
        for rule in self._hard:
            found, more = rule.shared_mask(state)
            if found is not None:
                hard.append(found)
            if more:
                excluded = more if not excluded else set(excluded).union(more)
        blocked: Collection[int] = ()
        for rule in self._soft:
            found = rule.blocked(state)
            if found:
                blocked = found if not blocked else set(blocked).union(found)
        return tuple(hard), excluded, blocked

    def dead_end(self, state: DecodingState) -> DeadEnd:
        """For a state with no allowed piece: the hard rules alone if a forcing rule dictates the piece (soft
        rules yield to it) and they allow something; otherwise only </s>, and the candidate dies."""
        yielded = self._yielded_mask(state)
        if yielded is None:
            return DeadEnd(self._eos_penalty, self._tables.eos_id, dies=True)
        return DeadEnd(penalty_of(yielded), self._tables.eos_id, dies=False)

    def _yielded_mask(self, state: DecodingState) -> torch.Tensor | None:
        hard = self._all_allowed
        for rule in self._hard:
            found = rule.mask(state)
            if found is not None:
                hard = hard & found
        if any(r.forces(state) for r in self._forcing) and bool(hard.any()):
            return hard
        return None

    # ------------------------------------------------------------------------------------ beam search
    def allowed(self, states: Sequence[DecodingState]) -> AllowedPieces:
        """Allowed pieces for each state as masks. Finished and dead states, and dead ends, get </s> only;
        a state with no allowed piece keeps the hard rules where soft ones yield (see dead_end)."""
        rows: list[torch.Tensor] = []
        bonuses = None
        for index, state in enumerate(states):
            if state.finished or state.dead:
                rows.append(self._eos_only)
                continue
            favoured = self._favoured(state) if self._favouring else {}
            if favoured:
                if bonuses is None:
                    bonuses = torch.zeros(len(states), self._tables.vocab_size)
                bonuses[index, list(favoured)] = torch.tensor(list(favoured.values()))
            row = self._all_allowed
            for rule in self.rules:
                found = rule.mask(state)
                if found is not None:
                    row = row & found
            rows.append(row)
        masks = torch.stack(rows)
        empty = ~masks.any(1)
        dead_ends = []
        if bool(empty.any()):
            for index in torch.nonzero(empty).flatten().tolist():
                yielded = self._yielded_mask(states[index])
                if yielded is None:
                    dead_ends.append(index)
                masks[index] = self._eos_only if yielded is None else yielded
        return AllowedPieces(masks, frozenset(dead_ends), bonuses)

    # ------------------------------------------------------------------------------------ advancing
    def advance(self, state: DecodingState, piece_id: int) -> None:
        """Write `piece_id` into a live state: every rule's state, then the text (nothing once finished or
        dead)."""
        if state.finished or state.dead:
            return
        for rule in self._advancing:
            rule.advance(state, piece_id)
        if piece_id == self._tables.eos_id:
            state.finished = True
            state.ids.append(piece_id)
            return
        state.advance(piece_id, self._tables.chars[piece_id], piece_id in self._line_ends)
