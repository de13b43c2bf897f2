"""The learning-rate schedule: a linear warm-up, then a cosine down to a floor, over the run's steps, or,
for a time-budgeted run, over the steps its measured speed allows in the budget (refitted as it goes)."""

from __future__ import annotations

import math

from poetry_rnn.training.config import TrainConfig

# a time-budgeted run fits its cosine schedule to the budget at this step (or, in a budget too short for
# that, once this share of it has passed and at least FIRST_FIT_MIN_STEPS were taken), then refits it this
# often through the first half of the budget
SCHEDULE_FIT_STEPS = 100
FIRST_FIT_SHARE = 0.05
FIRST_FIT_MIN_STEPS = 10


def warmup_steps(config: TrainConfig, total_steps: int) -> int:
    """The warm-up's length for a schedule of `total_steps`: at most a tenth of it, so that a short run
    reaches its peak learning rate too."""
    return min(config.warmup_steps, total_steps // 10)


def learning_rate(config: TrainConfig, step: int, total_steps: int, warmup: int | None = None) -> float:
    """Linear warm-up over `warmup` steps (default `warmup_steps`), then a cosine down to lr × min_lr_ratio
    at `total_steps`."""
    warmup = warmup_steps(config, total_steps) if warmup is None else warmup
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def fit_schedule(state: dict, budget: float) -> None:
    """Fit the cosine schedule's length (`state["total_steps"]`) to a time budget of `budget` seconds from
    the measured speed. First at step SCHEDULE_FIT_STEPS from the speed so far, then every
    SCHEDULE_FIT_STEPS steps through the first half of the budget from the speed since that first fit: the
    first steps run slower (start-up, a machine busy with something else), and a schedule fitted to them
    alone ends long before the budget does. Never beyond the epochs' steps (`state["step_bound"]`); after
    half the budget the schedule stays as it is. Kept in `state`, so a resumed run follows it."""
    step, seconds = state["step"], state["seconds"]
    bound = state.setdefault("step_bound", state["total_steps"])
    anchor = state.get("schedule_anchor")
    if anchor is None:
        by_time = int(step * budget / max(seconds, 1e-9))
        state["schedule_anchor"] = [step, seconds]
    elif seconds < budget / 2 and step > anchor[0] and seconds > anchor[1]:
        steps_a_second = (step - anchor[0]) / (seconds - anchor[1])
        by_time = step + int((budget - seconds) * steps_a_second)
    else:
        return
    state["total_steps"] = max(step + 1, min(bound, by_time))
    # The warm-up keeps the length it started with, so that a refit does not cut it short (the learning rate
    # would double in a step), unless the run is too short for it: then it ends halfway, or here.
    warmup = state.get("warmup")
    if warmup is not None and state["total_steps"] < 2 * warmup:
        state["warmup"] = max(min(warmup, step + 1), state["total_steps"] // 2)


def schedule_fit_due(state: dict, budget: float) -> bool:
    """Whether a time-budgeted run fits its schedule after this step (see fit_schedule)."""
    if state["step"] % SCHEDULE_FIT_STEPS == 0:
        return True
    first = "schedule_anchor" not in state
    return first and state["step"] >= FIRST_FIT_MIN_STEPS and state["seconds"] >= FIRST_FIT_SHARE * budget


def schedule_steps(config: TrainConfig, examples: list[list[int]], batches_an_epoch: int) -> int:
    """The cosine schedule's length in steps: the epochs', or the step or token budget's when sooner (a
    schedule longer than the run would stop it before the learning rate has come down, or even warmed up)."""
    steps = batches_an_epoch * config.epochs
    if config.max_steps:
        steps = min(steps, config.max_steps)
    if config.max_tokens:
        tokens_a_batch = sum(map(len, examples)) / batches_an_epoch
        steps = min(steps, int(config.max_tokens / tokens_a_batch) + 1)
    return steps
