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

# Top-p looks at the best 32, then 256, then 2048 pieces, and sorts the vocabulary only when those hold
# less than p of the probability (a trained model's nucleus is usually small).
NUCLEUS_STEPS = (32, 256, 2048)


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
    """Feed the conditioning prefix once and copy the result to `batch` rows: (last logits [B, V], state)."""
    inputs = torch.tensor([list(prefix_ids)], dtype=torch.long)
    logits, hidden = model(inputs)
    return logits[:, -1].expand(batch, -1), _expand_state(hidden, batch)


def step_model(model, pieces: torch.Tensor, hidden):
    """One step for the batch: pieces [B] → (logits [B, V], state). Uses the model's single-step path
    when it has one (a direct cell call is faster than nn.GRU for one time step)."""
    if hasattr(model, "step"):
        return model.step(pieces, hidden)
    logits, hidden = model(pieces.unsqueeze(1), hidden)
    return logits[:, -1], hidden


def candidate_pieces(
    scores: torch.Tensor, top_k: int, top_p: float
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The pieces sampling may pick: (log-weights [B, K], their ids [B, K]), best first; ids None = the
    whole vocabulary. Top-k first, then the smallest best-first set holding probability top_p.

    Top-p avoids sorting the whole vocabulary when it can (see NUCLEUS_STEPS)."""
    vocab = scores.size(-1)
    if top_k and top_k < vocab:
        values, indices = scores.topk(top_k, dim=-1)
        normaliser = torch.logsumexp(values, dim=-1, keepdim=True)
    elif top_p < 1.0:
        normaliser = torch.logsumexp(scores, dim=-1, keepdim=True)
        for k in (*NUCLEUS_STEPS, vocab):
            k = min(k, vocab)
            values, indices = scores.topk(k, dim=-1) if k < vocab else scores.sort(dim=-1, descending=True)
            if k == vocab or bool(((values - normaliser).exp().sum(-1) >= top_p).all()):
                break
    else:
        return scores, None
    if top_p < 1.0:
        probs = (values - normaliser).exp()
        before = probs.cumsum(-1) - probs  # mass of the better pieces; the best piece always stays
        values = values.masked_fill(before >= top_p, float("-inf"))
    return values, indices


def draw(log_weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row with probability ∝ exp(log_weights) (-inf excluded), by the Gumbel-max trick:
    argmax(w - log(-log U)). One pass over the row, reproducible through `generator`, and cheaper than
    torch.multinomial on a CPU."""
    uniform = torch.rand(log_weights.shape, generator=generator).clamp_(min=1e-12)
    return (log_weights - (-uniform.log()).log()).argmax(-1)


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
    logits, hidden = run_prefix(model, prefix_ids, batch)
    for _ in range(max_steps):
        if deadline:
            deadline.check()
        logprobs = torch.log_softmax(logits.float(), dim=-1)  # logits may already be log-probs: fine
        allowed = constraints.masks(states)
        scores = (logprobs / options.temperature).masked_fill(~allowed, float("-inf"))
        log_weights, ids = candidate_pieces(scores, options.top_k, options.top_p)
        choice = draw(log_weights, generator)
        if ids is not None:
            choice = ids.gather(1, choice.unsqueeze(1)).squeeze(1)
        chosen = logprobs.gather(1, choice.unsqueeze(1)).squeeze(1).tolist()
        pieces = choice.tolist()
        for state, piece, logprob in zip(states, pieces, chosen, strict=True):
            if state.finished or state.dead:
                continue
            constraints.advance(state, piece)
            state.logprob += logprob
            state.steps += 1
        yield states
        if all(s.finished or s.dead for s in states):
            break
        logits, hidden = step_model(model, choice, hidden)
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
    logits, hidden = run_prefix(model, prefix_ids, 1)
    finished: list[DecodingState] = []
    for _ in range(max_steps):
        if deadline:
            deadline.check()
        logprobs = torch.log_softmax(logits.float(), dim=-1)
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
        logits, hidden = step_model(
            model, torch.tensor(pieces, dtype=torch.long), _select_state(hidden, index)
        )
    return sorted(finished, key=lambda s: -s.score())
