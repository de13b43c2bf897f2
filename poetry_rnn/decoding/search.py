"""Search: batched constrained sampling (temperature, top-k, top-p) and beam search.

Both walk the model one piece at a time for a whole batch of candidates and take the allowed pieces from a
`ConstraintSet`; they know nothing of verse. Both are generators that yield the candidate states after
every step (for streaming) and return the final states.

Scores: each candidate accumulates the log-probability of its pieces under the model's own, unconstrained
distribution (temperature 1), and is ranked by the mean over its pieces. The raw distribution, rather
than one renormalised over the allowed pieces, keeps the cost of the constraints in the score: where the
rules force the model far from what it would write, the candidate scores lower, which is what reranking
should see. Sampling itself draws from the allowed pieces only, renormalised.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import torch

from poetry_rnn.decoding.constraints import ConstraintSet
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.errors import UserError

FLOOR = -80.0  # lowest exponent the sampler computes (e^-80 ≈ 1.8e-35); see sample_pieces
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


def step_model(model, pieces: torch.Tensor, hidden):
    """One step for the batch: pieces [B] → (log-probabilities [B, V], state). Uses the model's single-step
    path when it has one (a direct cell call is faster than nn.GRU for one time step)."""
    if hasattr(model, "step"):
        return model.step(pieces, hidden)
    output, hidden = model(pieces.unsqueeze(1), hidden)
    return torch.log_softmax(output[:, -1].float(), dim=-1), hidden


def sample_pieces(
    log_weights: torch.Tensor,
    top_k: int,
    top_p: float,
    generator: torch.Generator,
    temperature: float = 1.0,
) -> torch.Tensor:
    """One piece per row, with probability ∝ exp(log_weights / temperature) (-inf = excluded) after top-k and
    top-p; -1 for a row where every piece is excluded.

    Top-p without sorting the vocabulary: draw from the whole distribution (inverse CDF) and accept the
    draw if the pieces strictly more probable than it hold less than top_p of the mass — that is, if it
    lies in the nucleus; otherwise draw again. Accepted draws follow the nucleus distribution exactly,
    and since the nucleus holds at least top_p of the mass, a row needs 1/top_p draws on average. A few
    passes over a row instead of a sort. Reproducible through `generator`."""
    ids = None
    vocab = log_weights.size(-1)
    if top_k and top_k < vocab:
        log_weights, ids = log_weights.topk(top_k, dim=-1)
    # Few, whole-row tensor ops: at batch 1 a decoding step is dominated by per-op overhead, not arithmetic.
    weights = log_weights - log_weights.amax(-1, keepdim=True)  # a row with nothing allowed: all NaN
    if temperature != 1.0:
        weights.mul_(1.0 / temperature)
    # exp() of -inf or of very negative numbers takes a slow path (2.5-8x the time of the whole row), so the
    # exponents are floored at FLOOR first. An excluded piece then weighs e^FLOOR instead of 0: all of them
    # together hold less than 1e-30 of the mass, and a draw that lands on one anyway is drawn again below.
    # (The best allowed piece weighs 1, so the allowed pieces keep their exact proportions down to e^FLOOR.)
    weights = weights.clamp_(min=FLOOR).exp_()
    cdf = weights.cumsum(-1)
    total = cdf[:, -1:]
    target = torch.rand(weights.size(0), 1, generator=generator) * total
    choice = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp_(max=weights.size(1) - 1)
    usable = (total > 0).squeeze(1)  # False for NaN rows
    redraw = torch.isneginf(log_weights.gather(1, choice.unsqueeze(1))).squeeze(1)  # practically never
    if top_p < 1.0:
        # accept a draw if the pieces strictly more probable than it hold less than top_p of the mass
        picked = weights.gather(1, choice.unsqueeze(1))
        redraw |= ((weights * (weights > picked)).sum(1, keepdim=True) >= top_p * total).squeeze(1)
    # rare: a draw falls outside the nucleus with probability <= 1 - top_p, on an excluded piece practically never
    for row in torch.nonzero(redraw & usable).flatten().tolist():
        choice[row] = _redraw(log_weights[row], weights[row], cdf[row], top_p, generator)
    if ids is not None:
        choice = ids.gather(1, choice.unsqueeze(1)).squeeze(1)
    return torch.where(usable, choice, -1)


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
    """Sample `batch` candidates at once (one model call per step for the whole batch)."""
    states = [start.copy() for _ in range(batch)]
    logprobs, hidden = run_prefix(model, prefix_ids, batch)
    for _ in range(max_steps):
        if deadline:
            deadline.check()
        penalties = constraints.penalties(states)  # 0 where allowed, -inf where not
        choice = sample_pieces(
            logprobs + penalties, options.top_k, options.top_p, generator, options.temperature
        )
        pieces = choice.tolist()
        for row in [row for row, piece in enumerate(pieces) if piece < 0]:
            # no allowed piece: soft rules may yield to a dictated piece, else the row dies
            penalty = constraints.dead_end_penalty(states[row])
            again = sample_pieces((logprobs[row] + penalty).unsqueeze(0), options.top_k, options.top_p,
                                  generator, options.temperature)  # fmt: skip
            pieces[row] = int(again[0]) if again[0] >= 0 else constraints.tables.eos_id
            choice[row] = pieces[row]
        chosen = logprobs.gather(1, choice.unsqueeze(1)).squeeze(1).tolist()
        for state, piece, logprob in zip(states, pieces, chosen, strict=True):
            if state.finished or state.dead:
                continue
            constraints.advance(state, piece)
            state.logprob += logprob
            state.steps += 1
        yield states
        if all(s.finished or s.dead for s in states):
            break
        logprobs, hidden = step_model(model, choice, hidden)
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
        totals = torch.tensor([b.logprob for b in beams]).unsqueeze(1) + logprobs
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
