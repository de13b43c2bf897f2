"""Line selection (`select_lines`) against free sampling, or any decoders side by side, on prompts apart
from the evaluation suites.

    python scripts/eval_line_selection.py [--model DIR] [--poems 400] [--options JSON]
    python scripts/eval_line_selection.py --arm lines='{}' --arm beam8='{"beam": 8}' --poems 200

Writes one poem a request through the public API, the same requests and seeds for every arm: by default
two arms, `selected` (the defaults: after each line the likelier half of the 8 candidates continue in place
of the others) and `free` (select_lines=False); `--arm NAME=JSON` (repeatable) names the arms instead, each
its generate() options over `--options`. The prompts are those of scripts/build_overused_phrases.py
--measure (the four forms in turn, every other one under a title from the Tang train split). Reports for
each arm: the chosen poem's mean log-probability a piece under the model (what selection raises), how many
requests its poem is likelier in than the first arm's, distinct-2 over the poems, the share of poems with a
phrase the model overuses (as poetry_rnn.quality measures it against the train split), the share of
characters repeating an earlier one in the poem, and the median time a request (one thread).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from blind_eval import parse_arms, parse_options  # noqa: E402
from build_overused_phrases import MEASURE_SEED, prompts  # noqa: E402

from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.decoding.originality import default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.quality import PhraseShares, distinct_n, overused_phrases, phrases_of, repeated_share  # noqa: E402


def write(generator, requests: list[dict], options: dict) -> list[dict]:
    """One poem a request: its lines, mean log-probability a piece and milliseconds."""
    found = []
    for request in requests:
        started = time.perf_counter()
        poem = generator.generate(**request, **options)[0]
        found.append({"lines": poem.lines, "score": poem.score, "ms": 1000 * (time.perf_counter() - started)})
    return found


def summary(poems: list[dict], reference: PhraseShares) -> dict:
    lines = [poem["lines"] for poem in poems]
    overused = overused_phrases(lines, reference)
    return {
        "mean_logprob": statistics.mean(poem["score"] for poem in poems),
        "distinct_2": distinct_n(lines, 2),
        "overused_phrase_poems": sum(bool(phrases_of(poem) & overused.keys()) for poem in lines) / len(lines),
        "repeated_characters": statistics.mean(repeated_share(poem) for poem in lines),
        "median_ms": statistics.median(poem["ms"] for poem in poems),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--corpus", help="Tang corpus folder (default: ../shared/data/tang)")
    parser.add_argument("--poems", type=int, default=400, help="requests (default 400)")
    parser.add_argument(
        "--options", default="{}", help="extra generate() options for every arm, e.g. '{\"candidates\": 16}'"
    )
    parser.add_argument(
        "--arm",
        action="append",
        default=[],
        help="NAME=JSON: an arm with these generate() options (over --options); repeat. "
        "Default: selected='{\"select_lines\": true}' and free='{\"select_lines\": false}'",
    )
    args = parser.parse_args(argv)
    from poetry_rnn.generation.generator import PoetryGenerator

    torch.set_num_threads(1)
    try:
        if args.poems < 20:
            raise UserError("--poems must be at least 20")
        options = parse_options(args.options)
        arm_options = (
            parse_arms(args.arm, options)
            if args.arm
            else {"selected": options | {"select_lines": True}, "free": options | {"select_lines": False}}
        )
        corpus = load_corpus(str(args.corpus or default_corpus_source()))
        reference = PhraseShares.from_corpus(corpus)
        generator = PoetryGenerator.from_pretrained(args.model)
        requests = [
            dict(request, script="traditional") for request in prompts(corpus, args.poems, MEASURE_SEED)
        ]
        arms = {name: write(generator, requests, arm) for name, arm in arm_options.items()}
    except (UserError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    first = next(iter(arms))
    print(f"{len(requests)} requests, options {options or 'defaults'}; likelier: than {first}'s poem")
    print(
        f"{'':<10}{'log-prob':>9}{'likelier':>9}{'distinct-2':>11}{'overused':>10}{'repeated':>10}{'ms':>7}"
    )
    for name, poems in arms.items():
        found = summary(poems, reference)
        likelier = sum(p["score"] > f["score"] for p, f in zip(poems, arms[first], strict=True))
        print(
            f"{name:<10}{found['mean_logprob']:>9.3f}{likelier:>9}{found['distinct_2']:>11.3f}"
            f"{found['overused_phrase_poems']:>10.1%}{found['repeated_characters']:>10.1%}{found['median_ms']:>7.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
