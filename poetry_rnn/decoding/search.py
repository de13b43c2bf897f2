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

import math
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import torch

from poetry_rnn.decoding.constraints import ConstraintSet
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.errors import UserError
from poetry_rnn.model import StepScores

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


def _expand_state(hidden, batch: int):
    if isinstance(hidden, tuple):
        return tuple(h.expand(-1, batch, -1).contiguous() for h in hidden)
    return hidden.expand(-1, batch, -1).contiguous()


def _select_state(hidden, index: torch.Tensor):
    if isinstance(hidden, tuple):
        return tuple(h.index_select(1, index) for h in hidden)
    return hidden.index_select(1, index)


def run_prefix(model, prefix_ids: Sequence[int], batch: int):
    """Feed the conditioning prefix once and copy the result to `batch` rows: (log-probabilities [B, V],
    state)."""
    inputs = torch.tensor([list(prefix_ids)], dtype=torch.long)
    output, hidden = model(inputs)
    return torch.log_softmax(output[:, -1].float(), dim=-1).expand(batch, -1), _expand_state(hidden, batch)


def step_model(model, pieces: torch.Tensor, hidden, project: bool = True):
    """One step for the batch: pieces [B] → (log-probabilities [B, V], state); with project=False only the
    state (the log-probabilities are None: the next piece is dictated). Uses the model's single-step path
    when it has one (a direct cell call is faster than nn.GRU for one time step)."""
    if hasattr(model, "step"):
        return model.step(pieces, hidden, project=project)
    output, hidden = model(pieces.unsqueeze(1), hidden)
    return (torch.log_softmax(output[:, -1].float(), dim=-1) if project else None), hidden


def step_scores(model, pieces: torch.Tensor, hidden) -> tuple[StepScores, object]:
    """One step for the batch with its log-probabilities as StepScores (tail clusters on demand, where the
    model has them)."""
    if hasattr(model, "step_scores"):
        return model.step_scores(pieces, hidden)
    logprobs, hidden = step_model(model, pieces, hidden)
    return StepScores(logprobs), hidden


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
    penalties: torch.Tensor | None = None,
) -> tuple[torch.Tensor, list[float]]:
    """As `sample_pieces` over the whole distribution (scores.full()), computing the tail clusters only for
    the rows that need them; returns the pieces and their log-probabilities (-inf for a row of -1).

    The draw comes from a proposal in which each tail cluster c stands for its pieces with one entry of
    weight U_c = P(c)^(1/t) (times n_c^(1-1/t) for t > 1): no less than its pieces' total weight M_c, nor
    than any one of them. A shortlist piece x has its true weight w_x there, and the nucleus test (is the
    mass of the pieces heavier than x under top_p of the total?) is often settled by bounds alone: the
    clusters' pieces add at most M_c <= U_c to the total, and to the heavier mass only where U_c > w_x.
    A draw the bounds cannot settle, or a draw of a cluster, takes the row's tails: the cluster stands for
    one of its pieces with probability M_c / U_c (drawn by weight within it), else the row draws again.
    Each round thus accepts every piece with probability proportional to its weight in the nucleus, as
    drawing from the whole distribution does: the same distribution, exactly. With the shipped model about
    one row in seven needs its tails."""
    if not scores.tails or top_k:
        full = scores.full()
        choice = sample_pieces(full, top_k, top_p, generator, temperature, penalties)
        found = full.gather(1, choice.clamp(min=0).unsqueeze(1)).squeeze(1)
        return choice, torch.where(choice >= 0, found, -math.inf).tolist()
    head, shortlist = scores.head, scores.shortlist
    inverse = 1.0 / temperature
    shifts = _cluster_bound_shifts(scores.cutoffs, temperature)
    log_weights = torch.empty_like(head)
    if penalties is not None:
        torch.add(
            penalties[:, :shortlist], head[:, :shortlist], alpha=inverse, out=log_weights[:, :shortlist]
        )
    else:
        torch.mul(head[:, :shortlist], inverse, out=log_weights[:, :shortlist])
    torch.add(head[:, shortlist:] * inverse, torch.tensor(shifts), out=log_weights[:, shortlist:])
    weights = log_weights.clamp_(min=FLOOR).exp_()  # as in sample_pieces
    cdf = weights.cumsum(-1)
    total = cdf[:, -1:]
    target = torch.rand(weights.size(0), 1, generator=generator).mul_(total)
    choice = torch.searchsorted(cdf, target, right=True).clamp_(max=weights.size(1) - 1)
    picked = weights.gather(1, choice)
    facts = [total, cdf[:, shortlist - 1 : shortlist], head.gather(1, choice), choice.float(), picked]
    if top_p < 1.0:
        # in units of the draw's weight: every entry heavier than the draw, and the clusters among them
        heavier = torch.nn.functional.threshold(weights / picked, 1.0, 0.0)
        facts += [heavier.sum(1, keepdim=True), heavier[:, shortlist:].sum(1, keepdim=True)]
    choice = choice.squeeze(1)
    proposal = _Proposal(weights, cdf, shortlist, top_p, generator)
    chosen: list[float] = []
    settle: dict[int, int | None] = {}  # row → its draw, to settle with the row's tails (None: draw again)
    for row, (row_total, head_total, log_prob, drawn, *test) in enumerate(torch.cat(facts, 1).tolist()):
        chosen.append(log_prob)
        drawn = int(drawn)
        if not (TRUSTED <= head_total and row_total < math.inf):
            settle[row] = None  # too little allowed mass in the shortlist to trust the floor
            continue
        verdict = proposal.verdict(drawn, *test, head_total, row_total)
        if verdict is REJECT:
            drawn, verdict = proposal.draw_again(row, head_total, row_total)
            if verdict is ACCEPT:
                choice[row] = drawn
                chosen[row] = float(head[row, drawn])
        if verdict is not ACCEPT:
            settle[row] = drawn if verdict is UNSETTLED else None
    if settle:
        rows = list(settle)
        index = torch.tensor(rows)
        full = scores.full(index)
        if penalties is not None:
            allowed = torch.add(penalties.index_select(0, index), full, alpha=inverse)
        else:
            allowed = full * inverse
        for position, row in enumerate(rows):
            drawn = settle[row]
            bound = None
            if drawn is not None and drawn >= shortlist:  # the proposal's weight of the cluster's entry
                bound = max(float(head[row, drawn]) * inverse + shifts[drawn - shortlist], FLOOR)
            piece = _settle(allowed[position], scores.cutoffs, drawn, bound, top_p, generator)
            choice[row] = piece
            chosen[row] = float(full[position, piece]) if piece >= 0 else -math.inf
    return choice, chosen


ACCEPT, REJECT, UNSETTLED = "accept", "reject", "unsettled"


class _Proposal:
    """The nucleus test of `sample_scores` for a draw from the proposal, by bounds."""

    def __init__(self, weights, cdf, shortlist: int, top_p: float, generator: torch.Generator):
        self.weights, self.cdf, self.shortlist = weights, cdf, shortlist
        self.top_p, self.generator = top_p, generator

    def verdict(self, drawn: int, picked: float, *heavy: float) -> str:
        """heavy: (entries heavier than the draw, clusters among them) in units of its weight, then the
        shortlist's and the proposal's totals (only the totals without top-p)."""
        if drawn >= self.shortlist:
            return UNSETTLED
        if picked <= FLOOR_WEIGHT:
            return REJECT  # the floor of an excluded piece: a null draw
        if self.top_p >= 1.0:
            return ACCEPT
        heavier_units, cluster_units, head_total, row_total = heavy
        shortlist_heavier = (heavier_units - cluster_units) * picked
        # clusters heavier than the draw add at most U_c to the heavier mass and at least 0 to the total;
        # (1 - top_p) U_c is what that can cost the test at worst
        if shortlist_heavier < self.top_p * head_total - (1 - self.top_p) * cluster_units * picked:
            return ACCEPT
        if shortlist_heavier >= self.top_p * row_total:  # even if the clusters' pieces weigh U_c each
            return REJECT
        return UNSETTLED

    def draw_again(self, row: int, head_total: float, row_total: float) -> tuple[int | None, str]:
        """Draw again from a row's proposal until a verdict other than REJECT (or MAX_DRAWS of them)."""
        weights, cdf = self.weights[row], self.cdf[row]
        for _ in range(MAX_DRAWS):
            target = torch.rand(1, generator=self.generator) * row_total
            drawn = min(int(torch.searchsorted(cdf, target, right=True)), weights.numel() - 1)
            picked = float(weights[drawn])
            heavy = ()
            if self.top_p < 1.0 and drawn < self.shortlist:
                heavier = torch.nn.functional.threshold(weights / picked, 1.0, 0.0)
                heavy = (float(heavier.sum()), float(heavier[self.shortlist :].sum()), head_total, row_total)
            verdict = self.verdict(drawn, picked, *heavy) if heavy else self.verdict(drawn, picked)
            if verdict is REJECT and picked <= FLOOR_WEIGHT:
                return None, UNSETTLED  # settled with the row's tails (None: draw again there)
            if verdict is not REJECT:
                return drawn, verdict
        return None, UNSETTLED


def _cluster_bound_shifts(cutoffs: Sequence[int], temperature: float) -> list[float]:
    """Per tail cluster, the log of the factor that makes its entry an upper bound of its pieces' total
    weight: for t > 1, sum p_i^(1/t) <= n^(1-1/t) over a cluster's n conditional probabilities; a
    relative margin of 1e-4 keeps rounding from breaking the bound where one piece holds all the cluster."""
    exponent = max(0.0, 1.0 - 1.0 / temperature)
    return [math.log(end - start) * exponent + 1e-4 for start, end in zip(cutoffs, cutoffs[1:], strict=False)]


def _settle(
    allowed_log: torch.Tensor,
    cutoffs: Sequence[int],
    drawn: int | None,
    bound: float | None,
    top_p: float,
    generator: torch.Generator,
) -> int:
    """Finish a round of `sample_scores` for one row with its whole distribution (allowed_log: [V] log-weights,
    -inf excluded): `drawn` is a cluster's entry (whose proposal log-weight is `bound`), a shortlist piece
    whose nucleus test the bounds left open, or None (draw again)."""
    best = float(allowed_log.max())
    if math.isnan(best) or best == -math.inf:
        return -1
    if best == math.inf:
        return int(allowed_log.argmax())
    weights = (allowed_log - best).clamp_(min=FLOOR).exp_().masked_fill_(torch.isneginf(allowed_log), 0.0)
    if bound is not None:  # a cluster's entry: one of its pieces with probability M_c / U_c, else a null draw
        cluster = drawn - cutoffs[0]
        start, end = cutoffs[cluster], cutoffs[cluster + 1]
        members = weights[start:end]
        cdf = members.cumsum(0)
        mass = float(cdf[-1])
        drawn = None
        target = float(torch.rand(1, generator=generator)) * math.exp(bound - best)
        if target < mass:  # the same uniform draw picks the piece: given target < mass, it is uniform there
            drawn = start + min(
                int(torch.searchsorted(cdf, torch.tensor([target]), right=True)), end - start - 1
            )
    if drawn is not None and weights[drawn] > 0:
        picked = weights[drawn]
        if top_p >= 1.0 or float((weights * (weights > picked)).sum()) < top_p * float(weights.sum()):
            return drawn
    return _redraw(allowed_log, weights, weights.cumsum(0), top_p, generator)


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
    model,
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
    logprobs, hidden = run_prefix(model, prefix_ids, batch)
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
            hidden = step_model(model, choice, hidden, project=False)[1]
        else:
            scores, hidden = step_scores(model, choice, hidden)
    for state in states:
        if not state.finished:
            state.dead = True  # ran out of steps: cannot happen with the form constraint, but never loop
    return states


def beam_search(
    model,
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
    logprobs, hidden = run_prefix(model, prefix_ids, 1)
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
        logprobs, hidden = step_model(
            model, torch.tensor(pieces, dtype=torch.long), _select_state(hidden, index)
        )
    return sorted(finished, key=lambda s: -s.score())
