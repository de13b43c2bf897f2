"""Reranking finished candidates for sense: fluency under the model, plus relevance to the title and theme.

    rank_score = score + RELEVANCE_WEIGHT * relevance

- score: the candidate's mean log-probability per chosen piece while it was decoded (search.py), what
  candidates were ranked by before;
- relevance (only where the request has a title or keywords): how much more likely the conditioning makes
  the poem, per piece, log P(body | form, title, keywords) − log P(body | form), the pointwise mutual
  information of poem and prompt. Fluent but generic poems (「不知何處是」, which fit any title) score
  near 0; poems that take up the title score above it. Both terms are computed on the whole body after
  any given first line (every piece and </s>: the same pieces under both prefixes), in one batched forward
  of the stepper over the finished candidates.

RELEVANCE_WEIGHT is modest on purpose: among 8 sampled candidates of one request (shipped model) the score
spans about 0.5–1.0 nats a piece and the relevance about 0.1–0.3 (from −0.03 to +0.26), so a weight of 1
lets relevance decide between candidates of similar fluency without letting an on-topic but broken
candidate win. The blind evaluation (docs/evaluation/) is where it should be tuned.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from poetry_rnn.model.stepper import State, Stepper, expand_state

RELEVANCE_WEIGHT = 1.0
ROWS_PER_FORWARD = 16  # candidates per forward: the output [rows, pieces, vocabulary] stays a few MB


def rank_score(score: float, relevance: float | None, weight: float = RELEVANCE_WEIGHT) -> float:
    return score if relevance is None else score + weight * relevance


def relevance_scores(
    stepper: Stepper,
    conditioned_prefix: Sequence[int],
    form_prefix: Sequence[int],
    bodies: Sequence[Sequence[int]],
    pad_id: int,
) -> list[float]:
    """Per body: (log P(body | conditioned_prefix) − log P(body | form_prefix)) / pieces of the body."""
    if not bodies:
        return []
    with torch.inference_mode():
        conditioned = stepper.prefix_output(conditioned_prefix)
        plain = stepper.prefix_output(form_prefix)
        found: list[float] = []
        for start in range(0, len(bodies), ROWS_PER_FORWARD):
            chunk = bodies[start : start + ROWS_PER_FORWARD]
            with_prompt, without = _log_likelihoods(stepper, conditioned, plain, chunk, pad_id)
            found += [
                (a - b) / max(1, len(body)) for a, b, body in zip(with_prompt, without, chunk, strict=True)
            ]
    return found


def _log_likelihoods(
    stepper: Stepper,
    conditioned: tuple[torch.Tensor, State],
    plain: tuple[torch.Tensor, State],
    bodies: Sequence[Sequence[int]],
    pad_id: int,
) -> tuple[list[float], list[float]]:
    """Summed log-probabilities of each body after each of the two prefixes (their first-piece
    distributions and states), the 2 × len(bodies) rows in one forward."""
    rows = len(bodies)
    width = max(len(body) for body in bodies)
    targets = torch.full((rows, width), pad_id, dtype=torch.long)
    for row, body in enumerate(bodies):
        targets[row, : len(body)] = torch.tensor(list(body), dtype=torch.long)
    valid = torch.arange(width).unsqueeze(0) < torch.tensor([len(b) for b in bodies]).unsqueeze(1)
    targets2, valid2 = targets.repeat(2, 1), valid.repeat(2, 1)
    first = torch.cat([conditioned[0].expand(rows, -1), plain[0].expand(rows, -1)])  # [2R, V]
    picked = [first.gather(1, targets2[:, :1])]
    if width > 1:
        state = _concat_states(expand_state(conditioned[1], rows), expand_state(plain[1], rows))
        output, _ = stepper.forward(targets2[:, :-1], state)
        log_probs = torch.log_softmax(output.float(), dim=-1)
        picked.append(log_probs.gather(2, targets2[:, 1:].unsqueeze(2)).squeeze(2))
    # where(), not a product: a pad's log-probability may be -inf, and -inf * 0 is NaN
    sums = torch.where(valid2, torch.cat(picked, dim=1), 0.0).sum(1).tolist()
    return sums[:rows], sums[rows:]


def _concat_states(first: State, second: State) -> State:
    if isinstance(first, tuple):
        return tuple(torch.cat([a, b], dim=1) for a, b in zip(first, second, strict=True))
    return torch.cat([first, second], dim=1)
