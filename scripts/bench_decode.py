"""Decoding speed on one CPU thread: a strict 七律 with rhyme and acrostic through the public API.

    python scripts/bench_decode.py [--model DIR] [--precision int8|fp32] [--repeats 15] [--json-out bench.json]
                                   [--breakdown]

Reports (medians over --repeats seeds, after one warm-up call that builds the tables):
- ms for one poem from one candidate and from 8 candidates decoded as one batch (with line selection, the
  default) and reranked;
- the same number of steps sampled without any constraint (same model, prefix and sampler), and the
  constraints' overhead over it, for 1 and 8 candidates;
- where the time goes: the decoding loop vs. the final check of each poem with the 格律 checker (and the
  8-candidate overhead without that check, which explains the poems but constrains nothing);
- per-step time beside a memory bound: the bytes of the weights one step reads (every weight but the
  embedding table, of which only the batch's rows are read, and the adaptive softmax's tail clusters, which
  the sampler computes only for the rows that need them), divided by the memory bandwidth measured with a
  large tensor copy;
- with --breakdown, where an 8-candidate request's time goes (model steps and their int8 products, the
  sampler and its rows that compute a tail cluster, the rules, the final checker pass).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from poetry_rnn.decoding.sampler import sample_scores  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.format import conditioning_ids  # noqa: E402
from poetry_rnn.generation.generator import PoetryGenerator  # noqa: E402
from poetry_rnn.generation.request import DEFAULT_TEMPERATURE as TEMPERATURE  # noqa: E402
from poetry_rnn.generation.request import DEFAULT_TOP_P as TOP_P  # noqa: E402
from poetry_rnn.model import Int8Stepper, StepScores  # noqa: E402

REQUEST = dict(form="qilv", acrostic="春江花月夜色正明", rhyme_scheme="pingshui", tone="strict")
STEPS = 8 * (7 + 1) + 1  # 56 characters, 8 punctuation marks, </s>


def median_ms(function, repeats: int) -> float:
    return interleaved_median_ms([function], repeats)[0]


def interleaved_median_ms(functions, repeats: int) -> list[float]:
    """Median ms of each function, the functions taking turns (a, b, a, b, ...) so that a drift in the
    machine's speed weighs on all of them alike: their ratio is what the overhead figure needs."""
    times: list[list[float]] = [[] for _ in functions]
    for index in range(repeats):
        for function, found in zip(functions, times, strict=True):
            started = time.perf_counter()
            function(index)
            found.append((time.perf_counter() - started) * 1000)
    return [statistics.median(found) for found in times]


def unconstrained(generator: PoetryGenerator, batch: int, seed: int) -> None:
    """Sample STEPS pieces for `batch` rows with no constraint: the baseline the overhead is measured on
    (the same model, sampler, temperature and top-p as the generator's defaults)."""
    stepper, tokenizer = generator.stepper, generator.tokenizer
    random = torch.Generator().manual_seed(seed)
    prefix = conditioning_ids(tokenizer, form=REQUEST["form"])
    with torch.inference_mode():
        logprobs, hidden = stepper.prefix(prefix, batch)
        scores = StepScores(logprobs)
        for _ in range(STEPS):
            # the decoder's sampler (tail clusters on demand), returning the log-probabilities it scores by
            choice, _ = sample_scores(scores, 0, TOP_P, random, TEMPERATURE)
            scores, hidden = stepper.step_scores(choice, hidden)


def breakdown_ms(generator: PoetryGenerator, repeats: int) -> dict[str, float]:
    """Where the time of an 8-candidate request goes: the median over requests of the ms in each phase,
    its functions wrapped with a timer for the measurement (the wrappers cost a little: see the total
    beside). Products and rows computing a cluster are parts of the model steps and of the sampler."""
    from collections import Counter

    from poetry_rnn import model as model_module
    from poetry_rnn.decoding import constraint_set, sampler, search
    from poetry_rnn.generation import generator as generator_module

    phases = [
        ("model steps", type(generator.stepper), "step_scores"),
        ("model steps", type(generator.stepper), "step"),
        ("  of which int8 products", model_module.Int8Linear, "__call__"),
        ("sampler", search, "sample_scores"),  # the name the search loop calls
        ("  of which rows computing a cluster", sampler._LazyRow, "finish"),
        ("rules (plan)", constraint_set.ConstraintSet, "plan"),
        ("rules (advance)", constraint_set.ConstraintSet, "advance"),
        ("final checker pass", generator_module, "analyze_lines"),
    ]
    spent: Counter[str] = Counter()
    depth: Counter[str] = Counter()

    def timed(label, function):
        def wrapper(*args, **kwargs):
            depth[label] += 1  # a phase that calls itself counts once
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth[label] -= 1
                if not depth[label]:
                    spent[label] += time.perf_counter() - started

        return wrapper

    originals = [(owner, name, getattr(owner, name)) for _, owner, name in phases]
    try:
        for label, owner, name in phases:
            setattr(owner, name, timed(label, getattr(owner, name)))
        requests = []
        for index in range(repeats):
            spent.clear()
            started = time.perf_counter()
            generator.generate(n=8, candidates=8, seed=100 + index, **REQUEST)
            spent["total (with the timers)"] = time.perf_counter() - started
            requests.append(dict(spent))
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
    labels = [*dict.fromkeys(label for label, _, _ in phases), "total (with the timers)"]
    return {
        label: round(statistics.median(found.get(label, 0.0) for found in requests) * 1000, 2)
        for label in labels
    }


def memory_bandwidth_gbps() -> float:
    source = torch.ones(64 * 1024 * 1024)  # 256 MB of float32
    target = torch.empty_like(source)
    target.copy_(source)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        target.copy_(source)
        best = min(best, time.perf_counter() - started)
    return 2 * source.numel() * 4 / best / 1e9  # read + write


def weights_read_per_step(generator: PoetryGenerator) -> int:
    if isinstance(generator.stepper, Int8Stepper):  # the products' own count: int8 or float32 each
        return generator.stepper.weight_bytes_per_step()
    total = 0
    for name, parameter in generator.model.named_parameters():
        if name.startswith(("embedding.", "adaptive.tail.")):
            continue  # only the batch's rows are read; tail clusters only for the rows that need them
        total += parameter.numel() * parameter.element_size()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: data/default_model or $POETRY_RNN_MODEL)")
    parser.add_argument(
        "--precision", choices=("int8", "fp32"), help="model precision (default: the generator's default)"
    )
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json-out")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time the phases of an 8-candidate request"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    started = time.perf_counter()
    generator = PoetryGenerator.from_pretrained(args.model, precision=args.precision)
    generator.generate(seed=0, **REQUEST)  # warm-up: tables, caches, corpus lines
    cold_seconds = time.perf_counter() - started

    precision = generator.stepper.precision
    results: dict = {
        "model": str(generator.model_dir),
        "precision": precision,
        "request": REQUEST,
        "threads": 1,
        "steps": STEPS,
    }
    results["cold_start_s"] = round(cold_seconds, 2)
    for batch in (1, 8):
        constrained, baseline = interleaved_median_ms(
            [
                lambda i, b=batch: generator.generate(candidates=b, seed=100 + i, **REQUEST),
                lambda i, b=batch: unconstrained(generator, b, 100 + i),
            ],
            args.repeats,
        )
        results[f"constrained_ms_{batch}"] = round(constrained, 2)
        results[f"unconstrained_ms_{batch}"] = round(baseline, 2)
        results[f"overhead_{batch}"] = round(constrained / baseline - 1, 4)

    # Where the time goes for 8 candidates: decode loop vs. the checker's final analysis of each poem.
    from poetry_rnn.generation.generator import analyze_lines  # the checker as the generator calls it

    poems = generator.generate(n=8, seed=7, select_lines=False, **REQUEST)  # eight poems of one search
    check_ms = median_ms(
        lambda i: [analyze_lines(p.lines, "pingshui", "strict") for p in poems], args.repeats
    )
    results["final_check_ms_8"] = round(check_ms, 2)
    # The same overhead without that pass: the checker explains each finished poem, it constrains nothing.
    decoding_ms = results["constrained_ms_8"] - check_ms
    results["decoding_overhead_8"] = round(decoding_ms / results["unconstrained_ms_8"] - 1, 4)

    bandwidth = memory_bandwidth_gbps()
    weight_bytes = weights_read_per_step(generator)
    results["memory_bandwidth_gbps"] = round(bandwidth, 2)
    results["weights_read_per_step_mb"] = round(weight_bytes / 1e6, 2)
    results["memory_bound_ms_per_step"] = round(weight_bytes / (bandwidth * 1e9) * 1000, 4)
    for batch in (1, 8):
        results[f"ms_per_step_{batch}"] = round(results[f"constrained_ms_{batch}"] / STEPS, 4)
        results[f"unconstrained_ms_per_step_{batch}"] = round(results[f"unconstrained_ms_{batch}"] / STEPS, 4)

    print(
        f"model {results['model']} ({precision}) · strict 七律, 平水韵, acrostic · 1 thread · median of {args.repeats}"
    )
    print(f"cold start (load + tables + first poem batch)  {results['cold_start_s']:.2f} s")
    for batch in (1, 8):
        goal = "  (goal ≤ 300 ms, issue 13)" if batch == 8 else ""  # strict 七律, 8 candidates reranked
        print(
            f"{batch} candidate{'s' if batch > 1 else ' '}  constrained {results[f'constrained_ms_{batch}']:8.1f} ms"
            f"{goal}  unconstrained {results[f'unconstrained_ms_{batch}']:8.1f} ms  "
            f"overhead of the rules {results[f'overhead_{batch}']:+.1%}"
        )
    print(
        f"final checker pass over 8 poems  {results['final_check_ms_8']:.1f} ms; overhead without it "
        f"{results['decoding_overhead_8']:+.1%}"
    )
    print(
        f"per step: {results['ms_per_step_1']:.3f} ms (1), {results['ms_per_step_8']:.3f} ms (8); unconstrained "
        f"{results['unconstrained_ms_per_step_1']:.3f} / {results['unconstrained_ms_per_step_8']:.3f} ms; memory bound "
        f"{results['memory_bound_ms_per_step']:.3f} ms ({results['weights_read_per_step_mb']:.1f} MB of weights at "
        f"{results['memory_bandwidth_gbps']:.1f} GB/s)"
    )
    if args.breakdown:
        results["breakdown_ms_8"] = breakdown_ms(generator, args.repeats)
        print("where an 8-candidate request's time goes (ms):")
        for label, value in results["breakdown_ms_8"].items():
            print(f"  {label:36s} {value:7.1f}")
    if args.json_out:
        write_atomic(args.json_out, json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
