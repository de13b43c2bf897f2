"""Do beam search and sampling write another poem for every prompt and seed? (issue 13)

    python scripts/eval_diversity.py [--model DIR] [--seeds 4] [--beam 4] [--beam-temperatures 0,0.5]
                                     [--json-out report.json]

A prompt suite (free, four titles, keywords, a theme; 五绝 and 七律) × seeds 1..N, one poem per (prompt, seed)
pair through the public API, in sampling mode (the defaults) and in beam mode (beam=4) at each stochastic
beam temperature asked for (0: the plain, deterministic beam; default: 0 and the shipped BEAM_TEMPERATURE).
Per mode:
- dup seeds: share of pairs whose poem is also another seed's poem for the same prompt;
- dup prompts: share of pairs whose poem is also a poem of another prompt (any seed, the same form);
- dup any: share of pairs whose poem is any other pair's;
- logprob: mean per-character log-probability of the poems under the model (GeneratedPoem.score: the
  characters the model chose, not those the rules dictated), the likelihood beam search is for.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from poetry_rnn.decoding import search  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402

FORMS = ("wujue", "qilv")
PROMPTS: tuple[dict, ...] = (
    {},
    {"title": "秋夜"},
    {"title": "送別"},
    {"title": "春江"},
    {"title": "山居"},
    {"keywords": ["雁", "霜"]},
    {"theme": "秋日登高望远，思念故乡亲人"},
)


@dataclass(frozen=True)
class Pair:
    form: str
    prompt: int  # index into PROMPTS
    seed: int


@dataclass
class DiversityReport:
    pairs: int
    duplicate_across_seeds: float  # share of pairs
    duplicate_across_prompts: float
    duplicate_any: float
    mean_logprob: float


def duplicate_shares(texts: dict[Pair, str]) -> tuple[float, float, float]:
    """Shares of pairs whose poem another pair also wrote: another seed of the same prompt, another prompt
    of the same form, any other pair."""
    holders: dict[str, list[Pair]] = defaultdict(list)
    for pair, text in texts.items():
        holders[text].append(pair)
    seeds = prompts = any_other = 0
    for pair, text in texts.items():
        others = [o for o in holders[text] if o != pair]
        seeds += any(o.form == pair.form and o.prompt == pair.prompt for o in others)
        prompts += any(o.form == pair.form and o.prompt != pair.prompt for o in others)
        any_other += bool(others)
    count = max(1, len(texts))
    return seeds / count, prompts / count, any_other / count


def measure(generator, mode: dict, seeds: Sequence[int]) -> DiversityReport:
    texts: dict[Pair, str] = {}
    scores: list[float] = []
    for form in FORMS:
        for index, prompt in enumerate(PROMPTS):
            for seed in seeds:
                poem = generator.generate(form=form, n=1, seed=seed, **prompt, **mode)[0]
                texts[Pair(form, index, seed)] = poem.text
                scores.append(poem.score)
    across_seeds, across_prompts, any_other = duplicate_shares(texts)
    return DiversityReport(
        pairs=len(texts),
        duplicate_across_seeds=across_seeds,
        duplicate_across_prompts=across_prompts,
        duplicate_any=any_other,
        mean_logprob=sum(scores) / len(scores),
    )


def _temperatures(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values):
        raise UserError(f"--beam-temperatures takes numbers ≥ 0 separated by commas, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds 1..N per prompt (default 4)")
    parser.add_argument("--beam", type=int, default=4, help="beam width of the beam modes (default 4)")
    parser.add_argument(
        "--beam-temperatures",
        default=f"0,{search.BEAM_TEMPERATURE:g}",
        help="stochastic beam temperatures to measure, comma-separated (0: plain beam)",
    )
    parser.add_argument("--json-out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    try:
        temperatures = _temperatures(args.beam_temperatures)
        if args.seeds < 2:
            raise UserError(f"--seeds must be at least 2 to compare seeds, got {args.seeds}")
        from poetry_rnn.generation.generator import PoetryGenerator

        generator = PoetryGenerator.from_pretrained(args.model)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    seeds = range(1, args.seeds + 1)
    shipped_temperature = search.BEAM_TEMPERATURE
    reports: dict[str, DiversityReport] = {"sample": measure(generator, {}, seeds)}
    try:
        for temperature in temperatures:
            search.BEAM_TEMPERATURE = temperature  # this run's stochastic beam temperature
            reports[f"beam{args.beam} t={temperature:g}"] = measure(generator, {"beam": args.beam}, seeds)
    finally:
        search.BEAM_TEMPERATURE = shipped_temperature
    print(f"{len(FORMS)} forms × {len(PROMPTS)} prompts × {args.seeds} seeds, one poem each")
    print(f"{'mode':<18}{'pairs':>6}{'dup seeds':>11}{'dup prompts':>13}{'dup any':>9}{'logprob':>9}")
    for name, report in reports.items():
        print(
            f"{name:<18}{report.pairs:>6}{report.duplicate_across_seeds:>11.1%}"
            f"{report.duplicate_across_prompts:>13.1%}{report.duplicate_any:>9.1%}"
            f"{report.mean_logprob:>9.3f}"
        )
    if args.json_out:
        document = {
            "model": args.model or "shipped model",
            "forms": list(FORMS),
            "prompts": list(PROMPTS),
            "seeds": list(seeds),
            "modes": {name: asdict(report) for name, report in reports.items()},
        }
        write_atomic(args.json_out, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
