"""Reranking finished candidates for sense: fluency under the model, plus relevance to the title and theme.

    rank_score = score + RELEVANCE_WEIGHT * relevance + PARALLEL_WEIGHT * parallel + PLAN_WEIGHT * plan

- score: the candidate's mean log-probability per chosen piece while it was decoded (search.py), what
  candidates were ranked by before;
- relevance (only where the request has a title or keywords): how much more likely the conditioning makes
  the poem, per piece, log P(body | form, title, keywords) − log P(body | form), the pointwise mutual
  information of poem and prompt. Fluent but generic poems (「不知何處是」, which fit any title) score
  near 0; poems that take up the title score above it. Both log-probabilities are computed on the whole
  body after any given first line (every piece and </s>: the same pieces under both prefixes), with both
  prefixes' rows for all finished candidates walked through the stepper as one batch;
- parallel (only where couplets are written parallel): the mean strict 对仗 score of those couplets;
- plan (only with a plan): the share of couplets that contain their keyword.

RELEVANCE_WEIGHT is modest on purpose: among 8 sampled candidates of one request (shipped model) the score
spans about 0.5–1.0 nats a piece and the relevance about 0.1–0.3 (from −0.03 to +0.26), so a weight of 1
lets relevance decide between candidates of similar fluency without letting an on-topic but broken
candidate win. The blind evaluation (docs/evaluation/) is where it should be tuned.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from poetry_rnn.model.stepper import State, Stepper, StepScores, expand_state

RELEVANCE_WEIGHT = 1.0
# Where couplets are written parallel, their mean strict 对仗 score (0..1, prosody.parallel) is added at this
# weight: every candidate's couplets already pass the checker, and among similarly fluent candidates the
# one whose couplets face word for word (工对) is the one readers see as parallel. At 0.5 a strictly
# parallel candidate (about 0.9) gains about 0.2 nats a piece over a loosely parallel one (about 0.5),
# less than the fluency spread of one request's candidates.
PARALLEL_WEIGHT = 0.5
PLAN_WEIGHT = 0.3  # per share of couplets with their keyword: all four couplets outweigh 0.3 nats a piece
ROWS_PER_BATCH = 32  # candidates walked together (twice as many rows: one per prefix)


def rank_score(
    score: float,
    relevance: float | None,
    parallel: float | None = None,
    weight: float = RELEVANCE_WEIGHT,
    plan: float | None = None,
) -> float:
    """score + weight × relevance (with a title or keywords) + PARALLEL_WEIGHT × the couplets' strict 对仗
    score (where couplets are written parallel) + PLAN_WEIGHT × the share of couplets that contain their
    plan's keyword (with a plan)."""
    ranked = score if relevance is None else score + weight * relevance
    ranked = ranked if parallel is None else ranked + PARALLEL_WEIGHT * parallel
    return ranked if plan is None else ranked + PLAN_WEIGHT * plan


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
        for start in range(0, len(bodies), ROWS_PER_BATCH):
            chunk = bodies[start : start + ROWS_PER_BATCH]
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
    distributions and states), the 2 × len(bodies) rows walked together. Step by step with the stepper's
    StepScores rather than one `forward`: an adaptive softmax then computes a tail cluster only for the rows
    whose next piece lies in it, where `forward` projects every position onto the whole vocabulary (about
    five times the time for 8 七律 candidates)."""
    rows = len(bodies)
    width = max(len(body) for body in bodies)
    targets = torch.full((2 * rows, width), pad_id, dtype=torch.long)
    for row, body in enumerate(bodies):
        targets[row, : len(body)] = targets[rows + row, : len(body)] = torch.tensor(list(body))
    lengths = torch.tensor([len(body) for body in bodies] * 2)
    valid = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)
    first = torch.cat([conditioned[0].expand(rows, -1), plain[0].expand(rows, -1)])  # [2R, V]
    picked = [first.gather(1, targets[:, :1]).squeeze(1)]
    state = _concat_states(expand_state(conditioned[1], rows), expand_state(plain[1], rows))
    for position in range(1, width):
        scores, state = stepper.step_scores(targets[:, position - 1], state)
        picked.append(_target_log_probs(scores, targets[:, position]))
    # where(), not a product: a pad's log-probability may be -inf, and -inf * 0 is NaN
    sums = torch.where(valid, torch.stack(picked, dim=1), 0.0).sum(1).tolist()
    return sums[:rows], sums[rows:]


def _target_log_probs(scores: StepScores, targets: torch.Tensor) -> torch.Tensor:
    """log P(targets[row]) for each row of one step [B]: a tail cluster computed only for its rows."""
    if not scores.tails:
        return scores.head.float().gather(1, targets.unsqueeze(1)).squeeze(1)
    shortlist = scores.shortlist
    found = scores.head.gather(1, targets.clamp(max=shortlist - 1).unsqueeze(1)).squeeze(1).float()
    for cluster, tail in enumerate(scores.tails):
        low, high = scores.cutoffs[cluster], scores.cutoffs[cluster + 1]
        rows = torch.nonzero((targets >= low) & (targets < high)).flatten()
        if len(rows) == 0:
            continue
        tail_log_probs = torch.log_softmax(torch.as_tensor(tail(rows)).float(), dim=-1)
        within = tail_log_probs.gather(1, (targets[rows] - low).unsqueeze(1)).squeeze(1)
        found[rows] = within + scores.head[rows, shortlist + cluster].float()
    return found


def _concat_states(first: State, second: State) -> State:
    if isinstance(first, tuple):
        return tuple(torch.cat([a, b], dim=1) for a, b in zip(first, second, strict=True))
    return torch.cat([first, second], dim=1)
