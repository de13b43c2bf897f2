"""Do the poems of one request differ from each other? (issue 13: the app shows four side by side)

    python scripts/eval_request_variety.py [--model DIR] [--n 4] [--seeds 1,100] [--json-out report.json]

A prompt suite (free, four titles, keywords, a theme, an acrostic) × the four forms × the seeds, one request
of n poems each through the public API. Measures:
- requests with an echo: share of requests where one poem has a line of another, or that line but for one
  character (花落不知何处去 / 花落不知何处宿; `generator.echoed_line`, what decoding avoids);
- pairs with a shared line, pairs with an echo: over every two poems of a request;
- shared bigrams: mean Jaccard overlap of two poems' character bigrams;
- seconds a request: wall time, the whole suite on this machine (compare runs of the same minutes only).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402

FORMS = ("wujue", "qijue", "wulv", "qilv")
PROMPTS: tuple[dict, ...] = (
    {},
    {"title": "秋夜"},
    {"title": "送别"},
    {"title": "春江"},
    {"title": "山居"},
    {"keywords": ["雁", "霜"]},
    {"theme": "秋日登高望远，思念故乡亲人"},
    {"acrostic": "春夏秋冬"},  # as many heads as the form has lines: see acrostic_for
)
ACROSTICS = {4: "春江花月", 8: "春江花月夜色正明"}


@dataclass
class VarietyReport:
    requests: int
    pairs: int
    requests_with_echo: float  # share of requests
    pairs_sharing_a_line: float  # share of pairs
    pairs_with_echo: float
    shared_bigrams: float  # mean Jaccard overlap of a pair's bigrams
    seconds_per_request: float


def bigrams(lines: list[str]) -> set[str]:
    return {line[i : i + 2] for line in lines for i in range(len(line) - 1)}


def measure(
    generator,
    n: int,
    seeds: list[int],
    show: bool = False,
    forms: tuple[str, ...] = FORMS,
    prompts: tuple[dict, ...] = PROMPTS,
) -> VarietyReport:
    from poetry_rnn.generation.generator import echoed_line
    from poetry_rnn.prosody.patterns import get_form

    requests = pairs = with_echo = sharing = echoing = 0
    overlap = 0.0
    started = time.perf_counter()
    for form in forms:
        for prompt in prompts:
            if "acrostic" in prompt:
                prompt = {"acrostic": ACROSTICS[get_form(form).line_count]}
            for seed in seeds:
                poems = generator.generate(form=form, n=n, seed=seed, **prompt)
                requests += 1
                echoed = False
                for first, second in itertools.combinations(poems, 2):
                    pairs += 1
                    sharing += bool(set(first.lines) & set(second.lines))
                    line = echoed_line(first.lines, [second.lines])
                    echoing += line is not None
                    echoed |= line is not None
                    if line is not None and show:
                        print(f"{form} {prompt} seed {seed}: {line} / {' '.join(second.lines)}")
                    a, b = bigrams(first.lines), bigrams(second.lines)
                    overlap += len(a & b) / max(1, len(a | b))
                with_echo += echoed
    seconds = time.perf_counter() - started
    return VarietyReport(
        requests=requests,
        pairs=pairs,
        requests_with_echo=with_echo / max(1, requests),
        pairs_sharing_a_line=sharing / max(1, pairs),
        pairs_with_echo=echoing / max(1, pairs),
        shared_bigrams=overlap / max(1, pairs),
        seconds_per_request=seconds / max(1, requests),
    )


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or any(seed < 0 for seed in seeds):
        raise UserError(f"--seeds takes seeds ≥ 0 separated by commas, got {text!r}")
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--n", type=int, default=4, help="poems a request (default 4, the app's)")
    parser.add_argument("--seeds", default="1,100", help="request seeds, comma-separated (default 1,100)")
    parser.add_argument("--show", action="store_true", help="print each echo found")
    parser.add_argument("--json-out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    try:
        seeds = _seeds(args.seeds)
        if not 2 <= args.n <= 8:
            raise UserError(f"--n must be 2 to 8 (two poems to compare, the app's most), got {args.n}")
        from poetry_rnn.generation.generator import PoetryGenerator

        generator = PoetryGenerator.from_pretrained(args.model)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = measure(generator, args.n, seeds, show=args.show)
    print(f"{len(FORMS)} forms × {len(PROMPTS)} prompts × {len(seeds)} seeds, {args.n} poems a request")
    print(
        f"requests with an echo {report.requests_with_echo:.1%} of {report.requests}; "
        f"pairs sharing a line {report.pairs_sharing_a_line:.1%}, with an echo {report.pairs_with_echo:.1%} "
        f"of {report.pairs}; shared bigrams {report.shared_bigrams:.3f}; "
        f"{report.seconds_per_request:.2f} s a request"
    )
    if args.json_out:
        document = {"model": args.model or "shipped model", "n": args.n, "seeds": seeds, **asdict(report)}
        write_atomic(args.json_out, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
