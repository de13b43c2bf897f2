"""Search: batched constrained sampling (temperature, top-k, top-p) and beam search.

Both walk the model one piece at a time for a whole batch of candidates and take the allowed pieces from a
`ConstraintSet`; they know nothing of verse. Both are generators that yield the candidate states after
every step (for streaming) and return the final states.

Scores: each candidate accumulates the log-probability of its pieces under the model's own, unconstrained
distribution (temperature 1), and is ranked by the mean over its pieces. The raw distribution, rather
than one renormalised over the allowed pieces, keeps the cost of the constraints in the score: where the
rules force the model far from what it would write, the candidate scores lower, which is what reranking
should see. Sampling itself draws from the allowed pieces only, renormalised. A piece the rules dictate
(the only one allowed: punctuation, an acrostic head, a given first line) is not scored: no candidate
chose it, and where every candidate's next piece is dictated, `sample` skips the sampler and the model's
output layer for that step.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from poetry_rnn.decoding.constraints import ConstraintSet
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.tables import StepPenalties
from poetry_rnn.errors import UserError
from poetry_rnn.model.stepper import Stepper, StepScores

FLOOR = -80.0  # lowest exponent the sampler computes (e^-80 ≈ 1.8e-35); see sample_pieces
FLOOR_WEIGHT = math.exp(FLOOR) * (1 + 1e-6)  # a draw this light landed on the floor: drawn again exactly
TRUSTED = math.exp(FLOOR + 20)  # a row total below this may be mostly floored excluded pieces
MAX_DRAWS = 64  # top-p rejection sampling: draws per row before falling back to the best piece


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9


class Deadline:
    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise UserError(
                f"generation took longer than the time limit of {self.seconds:g} s; "
                "ask for fewer candidates or a smaller beam",
                field="time_limit",
            )


def sample_pieces(
    log_weights: torch.Tensor,
    top_k: int,
    top_p: float,
    generator: torch.Generator,
    temperature: float = 1.0,
    penalties: torch.Tensor | None = None,
) -> torch.Tensor:
    """One piece per row, with probability ∝ exp(log_weights / temperature) over the pieces that
    `penalties` (0 or -inf, added to log_weights) leave, after top-k and top-p; -1 for a row where every
    piece is excluded.

    Top-p without sorting the vocabulary: draw from the whole distribution (inverse CDF) and accept the
    draw if the pieces strictly more probable than it hold less than top_p of the mass — that is, if it
    lies in the nucleus; otherwise draw again. Accepted draws follow the nucleus distribution exactly,
    and since the nucleus holds at least top_p of the mass, a row needs 1/top_p draws on average. A few
    passes over a row instead of a sort. Reproducible through `generator`."""
    if penalties is not None:
        # (lw + p) / t = lw / t + p for a penalty of 0 or -inf: one fused pass instead of two
        allowed_log = torch.add(penalties, log_weights, alpha=1.0 / temperature)
    elif temperature != 1.0:
        allowed_log = log_weights * (1.0 / temperature)
    else:
        allowed_log = log_weights
    ids = None
    if top_k and top_k < allowed_log.size(-1):
        allowed_log, ids = allowed_log.topk(top_k, dim=-1)
    # Few whole-row passes: a row is ~7k floats, and each pass costs 5-15 µs at batch 1 and 15-100 µs at
    # batch 8 on a small CPU. The exponents are used as they are (a model's log-probabilities are <= 0, so
    # nothing overflows), floored at FLOOR: exp() of -inf or of very negative numbers takes a slow path
    # (2.5-8x the time of the whole row). An excluded piece then weighs e^FLOOR instead of 0, a negligible
    # mass next to any allowed piece above TRUSTED; a row where that does not hold, or where the draw lands
    # on the floor or the sum overflows, is drawn again exactly by _sample_row (rare).
    weights = allowed_log.clamp(min=FLOOR).exp_()
    cdf = weights.cumsum(-1)
    total = cdf[:, -1:]
    target = torch.rand(weights.size(0), 1, generator=generator).mul_(total)
    choice = torch.searchsorted(cdf, target, right=True).clamp_(max=weights.size(1) - 1)
    picked = weights.gather(1, choice)
    facts = [total, picked]
    if top_p < 1.0:
        # Mass of the pieces strictly heavier than the draw, in units of the draw's weight: one threshold
        # pass. The draw is in the nucleus if that mass is under top_p of the total.
        facts.append(torch.nn.functional.threshold(weights / picked, 1.0, 0.0).sum(1, keepdim=True))
    choice = choice.squeeze(1)
    for row, (row_total, row_picked, *heavier) in enumerate(torch.cat(facts, 1).tolist()):
        if not (TRUSTED <= row_total < math.inf) or row_picked <= FLOOR_WEIGHT:
            choice[row] = _sample_row(allowed_log[row], top_p, generator)
        elif heavier and heavier[0] * row_picked >= top_p * row_total:  # outside the nucleus
            choice[row] = _redraw(allowed_log[row], weights[row], cdf[row], top_p, generator)
    if ids is not None:
        choice = torch.where(choice >= 0, ids.gather(1, choice.clamp(min=0).unsqueeze(1)).squeeze(1), -1)
    return choice


def sample_scores(
    scores: StepScores,
    top_k: int,
    top_p: float,
    generator: torch.Generator,
    temperature: float = 1.0,
    penalties: StepPenalties | torch.Tensor | None = None,
) -> tuple[torch.Tensor, list[float]]:
    """As `sample_pieces` over the whole distribution (scores.full()), computing a tail cluster only for
    the rows that need it; returns the pieces and their log-probabilities (-inf for a row of -1).

    The draw comes from a proposal in which each tail cluster c stands for its pieces with one entry of
    weight U_c = P(c)^(1/t) (times n_c^(1-1/t) for t > 1): no less than its pieces' total weight M_c, nor
    than any one of them. A shortlist piece x has its true weight w_x there, and the nucleus test (is the
    mass of the pieces heavier than x under top_p of the total?) is often settled by bounds alone: a
    cluster's pieces add at most M_c <= U_c to the total, and to the heavier mass only where U_c > w_x.
    A draw of a cluster's entry computes that cluster for the row (see _LazyRow): the entry stands for one
    of its pieces with probability M_c / U_c (drawn by weight within it), else the row draws again, now
    with the entry at its exact weight M_c; a test the bounds cannot settle computes the clusters it
    depends on. Each round accepts every piece with probability proportional to its weight in the
    nucleus, as drawing from the whole distribution does: the same distribution, exactly. With the
    shipped model about 12 % of rows compute a cluster."""
    if isinstance(penalties, torch.Tensor):
        penalties = StepPenalties.of(penalties)
    if not scores.tails or top_k:
        full = scores.full()
        dense = None if penalties is None else penalties.dense()
        choice = sample_pieces(full, top_k, top_p, generator, temperature, dense)
        found = full.gather(1, choice.clamp(min=0).unsqueeze(1)).squeeze(1)
        return choice, torch.where(choice >= 0, found, -math.inf).tolist()
    head, shortlist = scores.head, scores.shortlist
    inverse = 1.0 / temperature
    shifts = _cluster_bound_shifts(tuple(scores.cutoffs), temperature)
    # one add: the shortlist's pieces get their penalties, the clusters' entries their bound's shift
    if penalties is not None:
        log_weights = torch.add(penalties.head(shortlist, shifts), head, alpha=inverse)
        penalties.block(log_weights, shortlist)
    else:
        log_weights = torch.add(_free_head(shortlist, shifts), head, alpha=inverse)
    weights = log_weights.clamp_(min=FLOOR).exp_()  # as in sample_pieces
    cdf = weights.cumsum(-1)
    target = torch.rand(weights.size(0), 1, generator=generator).mul_(cdf[:, -1:])
    choice = torch.searchsorted(cdf, target, right=True).clamp_(max=weights.size(1) - 1)
    picked = weights.gather(1, choice)
    totals = cdf.index_select(1, _columns(shortlist - 1, weights.size(1) - 1))
    facts = [totals, head.gather(1, choice), choice.float(), picked]
    if top_p < 1.0:
        # in units of the draw's weight: every entry heavier than the draw, and the clusters among them
        heavier = torch.nn.functional.threshold(weights / picked, 1.0, 0.0)
        facts += [heavier.sum(1, keepdim=True), heavier[:, shortlist:].sum(1, keepdim=True)]
    choice = choice.squeeze(1)
    chosen: list[float] = []
    arrays = None
    for row, (head_total, row_total, log_prob, drawn, picked_weight, *heavy) in enumerate(
        torch.cat(facts, 1).tolist()
    ):
        chosen.append(log_prob)
        drawn = int(drawn)
        if not (TRUSTED <= head_total and row_total < math.inf):
            # too little allowed mass in the shortlist to trust the floor: the row's whole distribution
            choice[row], chosen[row] = _whole_row(scores, penalties, row, inverse, top_p, generator)
            continue
        if drawn < shortlist and picked_weight > FLOOR_WEIGHT:
            if top_p >= 1.0:
                continue
            heavier_units, cluster_units = heavy
            shortlist_heavier = (heavier_units - cluster_units) * picked_weight
            relevant_bounds = cluster_units * picked_weight
            if surely_in_nucleus(shortlist_heavier, head_total, relevant_bounds, top_p):
                continue
        if arrays is None:  # NumPy views of the whole batch, once: a row of them is then free
            arrays = weights.numpy(), cdf.numpy()
        lazy = _LazyRow(
            scores, penalties, row, arrays[0][row], arrays[1][row], head_total, inverse, top_p, generator
        )
        piece, log_prob = lazy.finish(drawn)
        choice[row], chosen[row] = piece, log_prob
    return choice, chosen


ACCEPT, REJECT, UNSETTLED = "accept", "reject", "unsettled"


def surely_in_nucleus(heavier: float, mass: float, relevant_bounds: float, top_p: float) -> bool:
    """Whether a draw is in the nucleus whatever the clusters not computed hold: `heavier` and `mass` are
    the known weight above the draw and in total, `relevant_bounds` the sum of U_c over the clusters not
    computed that may hold heavier pieces (U_c > the draw's weight). Such a cluster adds some M_c <= U_c to
    the total and at most M_c to the heavier mass, which moves `heavier - top_p * mass` up by at most
    (1 - top_p) U_c; the other clusters only add to the total."""
    return heavier < top_p * mass - (1 - top_p) * relevant_bounds


class _LazyRow:
    """One row of `sample_scores` whose first draw was not settled: it draws again from the proposal as
    long as needed, computing a tail cluster (its pieces' exact weights) only when a draw lands on its entry
    or a nucleus test depends on it; a computed cluster's entry weighs its exact M_c from then on.

    Works on NumPy views of the row: a row takes a few dozen scalar-sized steps, and a NumPy call costs a
    fraction of a tensor op's dispatch."""

    def __init__(self, scores, penalties, row, weights, cdf, head_total, inverse, top_p, generator):
        self.scores, self.penalties, self.row = scores, penalties, row
        shortlist = scores.shortlist
        self.head_weights = weights[:shortlist]
        self.head_cdf = cdf[:shortlist]
        self.head_total = head_total
        self.bounds = weights[shortlist:].tolist()  # U_c as the proposal weighed it
        self.inverse, self.top_p, self.generator = inverse, top_p, generator
        self.uniforms: list[float] = []
        self.known: dict[int, tuple[np.ndarray, float, np.ndarray]] = {}
        self.cdfs: dict[int, np.ndarray] = {}

    def finish(self, first: int) -> tuple[int, float]:
        """The piece and its log-probability; `first` is the first draw (a piece or a cluster's entry)."""
        shortlist = self.scores.shortlist
        drawn: int | None = first
        if first >= shortlist:  # the entry was drawn: where in it is uniform over [0, U_c)
            cluster = first - shortlist
            drawn = self._in_cluster(cluster, self._uniform() * self.bounds[cluster])
        elif self.head_weights[first] <= FLOOR_WEIGHT:
            drawn = None  # an excluded piece's floor: a null draw
        for _ in range(MAX_DRAWS):
            if drawn is not None:
                verdict = self.verdict(drawn)
                while verdict is UNSETTLED:
                    self._compute_needed(self.weight(drawn))
                    verdict = self.verdict(drawn)
                if verdict is ACCEPT:
                    return drawn, self.log_prob(drawn)
            drawn = self.draw()
        # after MAX_DRAWS null or rejected draws (practically never): the row's whole distribution
        return _whole_row(self.scores, self.penalties, self.row, self.inverse, self.top_p, self.generator)

    def _uniform(self) -> float:
        if not self.uniforms:
            self.uniforms = torch.rand(8, generator=self.generator, dtype=torch.float64).tolist()
        return self.uniforms.pop()

    def draw(self) -> int | None:
        """One draw from the proposal: a piece, or None (a null draw: an excluded piece's floor, or the
        part of a cluster's entry beyond its pieces' weight)."""
        entries = [self.known[c][1] if c in self.known else bound for c, bound in enumerate(self.bounds)]
        target = self._uniform() * (self.head_total + sum(entries))
        if target < self.head_total:
            piece = min(int(np.searchsorted(self.head_cdf, target, side="right")), len(self.head_cdf) - 1)
            return piece if self.head_weights[piece] > FLOOR_WEIGHT else None
        target -= self.head_total
        cluster = 0
        while cluster < len(entries) - 1 and target >= entries[cluster]:
            target -= entries[cluster]
            cluster += 1
        return self._in_cluster(cluster, target)

    def _in_cluster(self, cluster: int, offset: float) -> int | None:
        """The piece at `offset` into a cluster's entry, or None beyond its pieces' weight."""
        weights, mass, _ = self._compute(cluster)
        if offset >= mass:
            return None
        cdf = self.cdfs.get(cluster)
        if cdf is None:  # only for a draw inside the pieces' weight: most draws of an entry are null
            cdf = self.cdfs[cluster] = np.cumsum(weights)
        index = min(int(np.searchsorted(cdf, offset, side="right")), len(cdf) - 1)
        return self.scores.cutoffs[cluster] + index if weights[index] > 0 else None

    def verdict(self, piece: int) -> str:
        """The nucleus test of a drawn piece by what is known: exact for the shortlist and the computed
        clusters; a cluster not computed adds at most U_c to the total, and to the heavier mass only if
        U_c > w (its pieces weigh at most U_c each), so (1 - top_p) U_c is the most it can cost the test."""
        if self.top_p >= 1.0:
            return ACCEPT
        weight = self.weight(piece)
        # the mass above the draw as a dot product with the mask: no gathered copy (a third of the time)
        heavier = float(self.head_weights @ (self.head_weights > weight))
        mass, relevant, unknown = self.head_total, 0.0, 0.0
        for cluster, bound in enumerate(self.bounds):
            if cluster in self.known:
                weights, cluster_mass, _ = self.known[cluster]
                heavier += float(weights @ (weights > weight))
                mass += cluster_mass
            else:
                unknown += bound
                relevant += bound if bound > weight else 0.0
        if surely_in_nucleus(heavier, mass, relevant, self.top_p):
            return ACCEPT
        if heavier >= self.top_p * (mass + unknown):
            return REJECT
        return UNSETTLED

    def _compute_needed(self, weight: float) -> None:
        """Compute the clusters an unsettled test depends on: those that may hold heavier pieces, or, if
        none, every cluster not computed yet."""
        missing = [c for c in range(len(self.bounds)) if c not in self.known]
        relevant = [c for c in missing if self.bounds[c] > weight]
        for cluster in relevant or missing:
            self._compute(cluster)

    def _compute(self, cluster: int) -> tuple[np.ndarray, float, np.ndarray]:
        """The cluster's exact weights for the row (excluded pieces at 0), their total, and the pieces'
        log-probabilities."""
        found = self.known.get(cluster)
        if found is None:
            start, end = self.scores.cutoffs[cluster], self.scores.cutoffs[cluster + 1]
            log_probs = self.scores.cluster(cluster, self.row)
            allowed = log_probs * self.inverse
            if self.penalties is not None:
                allowed += self.penalties.span(self.row, start, end).numpy()
            weights = np.exp(allowed)  # NumPy's exp has no slow path for -inf (torch's has)
            found = self.known[cluster] = (weights, float(weights.sum()), log_probs)
        return found

    def weight(self, piece: int) -> float:
        if piece < self.scores.shortlist:
            return float(self.head_weights[piece])
        cluster = self._cluster_of(piece)
        return float(self.known[cluster][0][piece - self.scores.cutoffs[cluster]])

    def log_prob(self, piece: int) -> float:
        if piece < self.scores.shortlist:
            return float(self.scores.head[self.row, piece])
        cluster = self._cluster_of(piece)
        return float(self.known[cluster][2][piece - self.scores.cutoffs[cluster]])

    def _cluster_of(self, piece: int) -> int:
        return next(c for c in range(len(self.bounds)) if piece < self.scores.cutoffs[c + 1])


def _whole_row(
    scores: StepScores,
    penalties: StepPenalties | None,
    row: int,
    inverse: float,
    top_p: float,
    generator: torch.Generator,
) -> tuple[int, float]:
    """One row drawn exactly from its whole distribution (every cluster computed): the piece (-1 if none
    is allowed) and its log-probability."""
    full = scores.full(torch.tensor([row]))[0]
    if penalties is None:
        allowed = full * inverse
    else:
        allowed = torch.add(penalties.select([row])[0], full, alpha=inverse)
    piece = _sample_row(allowed, top_p, generator)
    return piece, float(full[piece]) if piece >= 0 else -math.inf


@functools.lru_cache(maxsize=64)
def _columns(*columns: int) -> torch.Tensor:
    return torch.tensor(columns, dtype=torch.long)


@functools.lru_cache(maxsize=64)
def _free_head(width: int, shifts: tuple[float, ...]) -> torch.Tensor:
    """What sample_scores adds to the head without penalties: 0 for the shortlist, then the shifts."""
    return torch.cat([torch.zeros(width), torch.tensor(shifts)])


@functools.lru_cache(maxsize=64)
def _cluster_bound_shifts(cutoffs: tuple[int, ...], temperature: float) -> tuple[float, ...]:
    """Per tail cluster, the log of the factor that makes its entry an upper bound of its pieces' total
    weight: for t > 1, sum p_i^(1/t) <= n^(1-1/t) over a cluster's n conditional probabilities; a
    relative margin of 1e-4 keeps rounding from breaking the bound where one piece holds all the cluster."""
    exponent = max(0.0, 1.0 - 1.0 / temperature)
    sizes = [end - start for start, end in zip(cutoffs, cutoffs[1:], strict=False)]
    return tuple(math.log(size) * exponent + 1e-4 for size in sizes)


def _sample_row(log_weights: torch.Tensor, top_p: float, generator: torch.Generator) -> int:
    """The careful draw for one row: the maximum subtracted, excluded pieces at weight 0; -1 if every
    piece is excluded."""
    best = float(log_weights.max())
    if math.isnan(best) or best == -math.inf:
        return -1
    if best == math.inf:
        return int(log_weights.argmax())
    weights = (log_weights - best).clamp_(min=FLOOR).exp_().masked_fill_(torch.isneginf(log_weights), 0.0)
    return _redraw(log_weights, weights, weights.cumsum(0), top_p, generator)


def _redraw(
    log_weights: torch.Tensor,
    weights: torch.Tensor,
    cdf: torch.Tensor,
    top_p: float,
    generator: torch.Generator,
) -> int:
    """Draw again for one row until the draw is an allowed piece in the nucleus (as in `sample_pieces`)."""
    total = float(cdf[-1])
    for _ in range(MAX_DRAWS):
        target = torch.rand(1, generator=generator) * total
        pick = min(int(torch.searchsorted(cdf, target, right=True)), weights.numel() - 1)
        if torch.isneginf(log_weights[pick]):
            continue
        if top_p >= 1.0 or float((weights * (weights > weights[pick])).sum()) < top_p * total:
            return pick
    return int(log_weights.argmax())  # practically never; the best piece is allowed and in the nucleus


def sample(
    stepper: Stepper,
    constraints: ConstraintSet,
    prefix_ids: Sequence[int],
    start: DecodingState,
    batch: int,
    options: SamplingOptions,
    generator: torch.Generator,
    max_steps: int,
    deadline: Deadline | None = None,
) -> Generator[list[DecodingState], None, list[DecodingState]]:
    """Sample `batch` candidates at once (one model call per step for the whole batch).

    Where the rules dictate every candidate's next piece (punctuation, an acrostic head, a given first
    line), it is taken without sampling and without the model's output layer for it; such pieces are not
    scored (they are no choice of the candidate's)."""
    states = [start.copy() for _ in range(batch)]
    logprobs, hidden = stepper.prefix(prefix_ids, batch)
    scores = StepScores(logprobs)
    dictated, penalties = constraints.plan(states)
    for _ in range(max_steps):
        if deadline:
            deadline.check()
        chosen = None
        if penalties is None:  # every piece dictated
            pieces = dictated
            choice = torch.tensor(pieces, dtype=torch.long)
        else:
            choice, chosen = sample_scores(
                scores, options.top_k, options.top_p, generator, options.temperature, penalties
            )
            pieces = choice.tolist()
            for row, piece in enumerate(pieces):
                if dictated[row] is not None:
                    if piece != dictated[row]:  # finished rows, and a dictated piece a soft rule excludes
                        pieces[row] = choice[row] = dictated[row]
                elif piece < 0:
                    # no allowed piece: soft rules may yield to a dictated piece, else the row dies
                    penalty = constraints.dead_end_penalty(states[row])
                    row_log_probs = scores.full(torch.tensor([row]))
                    again = int(sample_pieces(row_log_probs, options.top_k, options.top_p, generator,
                                              options.temperature, penalty.unsqueeze(0))[0])  # fmt: skip
                    pieces[row] = choice[row] = again if again >= 0 else constraints.tables.eos_id
                    chosen[row] = float(row_log_probs[0, pieces[row]])
        for row, (state, piece) in enumerate(zip(states, pieces, strict=True)):
            if state.finished or state.dead:
                continue
            constraints.advance(state, piece)
            if chosen is not None and dictated[row] is None:
                state.logprob += chosen[row]
                state.steps += 1
        yield states
        if all(s.finished or s.dead for s in states):
            break
        dictated, penalties = constraints.plan(states)
        if penalties is None:  # the next pieces are dictated: no output layer
            hidden = stepper.step(choice, hidden, project=False)[1]
        else:
            scores, hidden = stepper.step_scores(choice, hidden)
    for state in states:
        if not state.finished:
            state.dead = True  # ran out of steps: cannot happen with the form constraint, but never loop
    return states


def beam_search(
    stepper: Stepper,
    constraints: ConstraintSet,
    prefix_ids: Sequence[int],
    start: DecodingState,
    width: int,
    max_steps: int,
    deadline: Deadline | None = None,
) -> Generator[list[DecodingState], None, list[DecodingState]]:
    """Beam search under the constraints, by total log-probability; returns finished states, best first
    by length-normalised score."""
    beams = [start.copy()]
    logprobs, hidden = stepper.prefix(prefix_ids, 1)
    finished: list[DecodingState] = []
    for _ in range(max_steps):
        if deadline:
            deadline.check()
        allowed = constraints.masks(beams)
        alive = torch.tensor([not b.dead for b in beams])
        # a dictated piece (the only one allowed) is not scored, as in `sample`
        dictated = allowed.sum(1, keepdim=True) == 1
        scored = logprobs.masked_fill(dictated, 0.0)
        totals = torch.tensor([b.logprob for b in beams]).unsqueeze(1) + scored
        totals = totals.masked_fill(~allowed | ~alive.unsqueeze(1), float("-inf"))
        flat = totals.flatten()
        k = min(width, int(torch.isfinite(flat).sum()))
        if k == 0:
            break
        values, indices = flat.topk(k)
        vocab = logprobs.size(1)
        next_beams, rows, pieces = [], [], []
        for flat_index in indices.tolist():
            row, piece = divmod(flat_index, vocab)
            state = beams[row].copy()
            constraints.advance(state, piece)
            if not dictated[row]:
                state.logprob += float(logprobs[row, piece])
                state.steps += 1
            if state.finished:
                finished.append(state)
            elif not state.dead:
                next_beams.append(state)
                rows.append(row)
                pieces.append(piece)
        yield next_beams or finished
        if not next_beams or len(finished) >= width:
            break
        beams = next_beams
        index = torch.tensor(rows, dtype=torch.long)
        logprobs, hidden = stepper.step(torch.tensor(pieces, dtype=torch.long), stepper.select(hidden, index))
    return sorted(finished, key=lambda s: -s.score())
