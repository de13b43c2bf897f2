"""Search: batched constrained sampling (temperature, top-k, top-p) and beam search.

Both walk the model one piece at a time for a whole batch of candidates and take the allowed pieces from a
`ConstraintSet` (one plan per step: dictated pieces, penalties, dead ends); they know nothing of verse. With
`SamplingOptions.select_lines`, sampling lets the likelier half of its candidates continue in place of the
others each time they all end one of the given lines (line selection). The sampler itself is in
`sampler`. Both are generators that yield the candidate states after every step (for streaming) and
return the final states.

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

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import torch

from poetry_rnn.decoding.constraint_set import ConstraintSet
from poetry_rnn.decoding.sampler import sample_pieces, sample_scores
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.errors import UserError
from poetry_rnn.model.stepper import Stepper, StepScores

BEAM_TEMPERATURE = 0.3  # stochastic beam search's, see beam_search; chosen by scripts/eval_diversity.py


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9
    # After these lines (counted from 1) the likelier half of the candidates continue in place of the others.
    select_lines: frozenset[int] = frozenset()


class Deadline:
    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise UserError.of("time_limit_passed", "time_limit", seconds=f"{self.seconds:g}")


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
    plan = constraints.plan(states)
    for _ in range(max_steps):
        if deadline:
            deadline.check()
        chosen = None
        dictated = plan.dictated
        if plan.every_piece_dictated:
            pieces = dictated
            choice = torch.tensor(pieces, dtype=torch.long)
        else:
            choice, chosen = sample_scores(
                scores, options.top_k, options.top_p, generator, options.temperature, plan.penalties
            )
            pieces = choice.tolist()
            for row, piece in enumerate(pieces):
                if dictated[row] is not None:
                    if piece != dictated[row]:  # finished rows, and a dictated piece a soft rule excludes
                        pieces[row] = choice[row] = dictated[row]
                elif piece < 0:
                    # no allowed piece: the plan says how to draw again (soft rules may yield to a
                    # dictated piece), or that the candidate dies
                    dead_end = plan.dead_end(row)
                    row_log_probs = scores.full(torch.tensor([row]))
                    again = int(sample_pieces(row_log_probs, options.top_k, options.top_p, generator,
                                              options.temperature, dead_end.penalty.unsqueeze(0))[0])  # fmt: skip
                    pieces[row] = choice[row] = again if again >= 0 else dead_end.fallback
                    chosen[row] = float(row_log_probs[0, pieces[row]])
                    if dead_end.dies:
                        states[row].dead = True  # dropped: its piece only closes the row
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
        if options.select_lines and _at_line_end(states, options.select_lines):
            rows = _line_survivors(states)
            if rows is not None:
                states = [states[row].copy() for row in rows]
                index = torch.tensor(rows, dtype=torch.long)
                hidden = stepper.select(hidden, index)
                choice = choice[index]
        plan = constraints.plan(states)
        if plan.every_piece_dictated:  # the next pieces are dictated: no output layer
            hidden = stepper.step(choice, hidden, project=False)[1]
        else:
            scores, hidden = stepper.step_scores(choice, hidden)
    for state in states:
        if not state.finished:
            state.dead = True  # ran out of steps: cannot happen with the form constraint, but never loop
    return states


def _at_line_end(states: list[DecodingState], lines: frozenset[int]) -> bool:
    """Every live candidate has just ended the same line, one of `lines` (true for one step only: the next
    piece starts the next line)."""
    live = [s for s in states if not (s.finished or s.dead)]
    if not live or live[0].position or live[0].line not in lines:
        return False
    return all(s.position == 0 and s.line == live[0].line for s in live)


def _line_survivors(states: list[DecodingState]) -> list[int] | None:
    """The row each row continues from: the likelier half of the live candidates (by mean log-probability)
    stay, and every other unfinished row, dead ones included, copies one of them, the likeliest first.
    None where fewer than two candidates live."""
    live = sorted(
        (row for row, s in enumerate(states) if not (s.finished or s.dead)),
        key=lambda row: -states[row].score(),
    )
    if len(live) < 2:
        return None
    keep = live[: (len(live) + 1) // 2]
    rows = list(range(len(states)))
    replaced = [row for row in rows if row not in keep and not states[row].finished]
    for number, row in enumerate(replaced):
        rows[row] = keep[number % len(keep)]
    return rows


def beam_search(
    stepper: Stepper,
    constraints: ConstraintSet,
    prefix_ids: Sequence[int],
    start: DecodingState,
    width: int,
    max_steps: int,
    deadline: Deadline | None = None,
    generator: torch.Generator | None = None,
    temperature: float | None = None,
) -> Generator[list[DecodingState], None, list[DecodingState]]:
    """Beam search under the constraints; returns finished states, best first by length-normalised score.

    Without `generator`: the plain beam, by total log-probability (deterministic). With it: stochastic beam
    search (Kool, Van Hoof and Welling 2019, "Stochastic Beams and Where to Find Them"): each candidate is
    ranked by a Gumbel-perturbed key instead, and the beam holds `width` poems sampled without replacement
    from the model's distribution over the allowed pieces at `temperature` (renormalised at each step);
    lower temperatures bring it near the plain beam, so the poems stay likely while each seed draws its
    own. The search draws only from `generator`: the same seed gives the same poems. `temperature`:
    BEAM_TEMPERATURE by default; 0 gives the plain beam."""
    temperature = BEAM_TEMPERATURE if temperature is None else temperature
    if temperature <= 0:
        generator = None  # the limit of the stochastic beam as the temperature falls: the plain beam
    beams = [start.copy()]
    logprobs, hidden = stepper.prefix(prefix_ids, 1)
    # stochastic only: each beam's log-probability under the sampling distribution, and its perturbed key
    # (the root's may be any constant)
    sampled = torch.zeros(1, dtype=torch.float64)
    keys = torch.zeros(1, dtype=torch.float64)
    finished: list[DecodingState] = []
    for _ in range(max_steps):
        if deadline:
            deadline.check()
        step = constraints.allowed(beams)
        alive = torch.tensor([not (b.dead or row in step.dead_ends) for row, b in enumerate(beams)])
        usable = step.masks & alive.unsqueeze(1)
        # a dictated piece (the only one allowed) is not scored, as in `sample`
        dictated = step.masks.sum(1, keepdim=True) == 1
        # soft preferences (a plan's keyword) shift the scores the beam ranks by, not the poem's log-probability
        biased = logprobs if step.bonuses is None else logprobs + step.bonuses
        if generator is None:
            so_far = torch.tensor([b.logprob for b in beams]).unsqueeze(1)
            totals = so_far + biased.masked_fill(dictated, 0.0)
            totals = totals.masked_fill(~usable, float("-inf"))
        else:
            # in float64: a 律诗's keys reach a few hundred, where float32 would tie children a step apart
            local = torch.log_softmax(biased.double().masked_fill(~usable, float("-inf")) / temperature, 1)
            children = (sampled.unsqueeze(1) + local).masked_fill(~usable, float("-inf"))
            totals = perturbed_keys(children, keys, generator).masked_fill(~usable, float("-inf"))
        flat = totals.flatten()
        k = min(width, int(torch.isfinite(flat).sum()))
        if k == 0:
            break
        indices = flat.topk(k).indices
        vocab = logprobs.size(1)
        next_beams, rows, pieces, next_sampled, next_keys = [], [], [], [], []
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
                if generator is not None:
                    next_sampled.append(float(children[row, piece]))
                    next_keys.append(float(totals[row, piece]))
        yield next_beams or finished
        if not next_beams or len(finished) >= width:
            break
        beams = next_beams
        if generator is not None:
            sampled = torch.tensor(next_sampled, dtype=torch.float64)
            keys = torch.tensor(next_keys, dtype=torch.float64)
        index = torch.tensor(rows, dtype=torch.long)
        logprobs, hidden = stepper.step(torch.tensor(pieces, dtype=torch.long), stepper.select(hidden, index))
    return sorted(finished, key=lambda s: -s.score())


def perturbed_keys(children: torch.Tensor, parents: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Stochastic beam search's keys [B, V] for the children of B beams: each child's log-probability
    (`children`, -inf where not allowed) plus Gumbel noise, shifted so that the largest key among a beam's
    children equals that beam's own key (`parents` [B]; a Gumbel conditioned on its maximum). Top-k by
    these keys then samples sequences without replacement, level by level. Rows with no finite child give
    NaN or -inf: the caller masks them."""
    uniform = torch.rand(children.shape, generator=generator, dtype=children.dtype)
    gumbel = children - torch.log(-torch.log(uniform.clamp_(min=torch.finfo(children.dtype).tiny)))
    largest = gumbel.max(dim=1, keepdim=True).values
    parent = parents.unsqueeze(1)
    # −log(exp(−parent) − exp(−largest) + exp(−gumbel)), in the numerically stable form of Kool et al.
    shift = parent - gumbel + torch.log1p(-torch.exp(gumbel - largest))
    return parent - torch.relu(shift) - torch.log1p(torch.exp(-shift.abs()))
