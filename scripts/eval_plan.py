"""How well poems follow their plan, and what following it costs in fluency, by the plan rule's bonus.

    python scripts/eval_plan.py [--bonuses 0,1,2,3] [--seeds 4] [--n 8]

For a fixed suite of requests (titles, themes and free requests with a plan drawn from the corpus, every
form) and each bonus, it writes `--n` candidates per request and seed with the shipped model and reports,
over all candidates (before reranking picks one): the share of couplets that contain their keyword, and
the model's mean log-probability per chosen character (the candidates' `score`: the model's own
distribution, without the bonus). With bonus 0 the plan is made but not favoured: how often poems meet it
by themselves. Also the share for the poem reranking puts first, and how often a keyword that is met opens
its couplet (a bonus too large writes every keyword at the first place it may stand; in the test split's
poems, a plan keyword found in a couplet opens it in the share printed first), and the share of poems that
write a character of their plan twice (a bonus that chases a keyword the poem already has repeats it).
Every formal rule is checked for every candidate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import poetry_rnn.generation.constraints as constraints_module  # noqa: E402
from poetry_rnn.generation import PoetryGenerator  # noqa: E402
from poetry_rnn.generation.plan import load_table  # noqa: E402
from poetry_rnn.script import normalize_variants, to_traditional  # noqa: E402

SUITE = [
    {"form": "qijue", "title": "送别"},
    {"form": "qilv", "title": "秋夜"},
    {"form": "wulv", "title": "登高"},
    {"form": "wujue", "title": "江上"},
    {"form": "qilv", "title": "春望"},
    {"form": "wulv", "title": "山居"},
    {"form": "qijue", "theme": "边塞将士思念家乡"},
    {"form": "wulv", "theme": "雨后的江南春天"},
    {"form": "qijue", "plan": "draw"},
    {"form": "wulv", "plan": "draw"},
    {"form": "qilv", "plan": "draw"},
    {"form": "wujue", "plan": "draw"},
]


def reference_opening() -> float:
    """In the test split's regular poems: of the plan keywords a couplet contains, the share that open it."""
    from poetry_rnn.cleaning import FORMS
    from poetry_rnn.corpus import load_corpus

    table = load_table()
    words = [w for w in table.keywords if len(w) <= 2]
    opening = []
    for poem in load_corpus(str(REPO.parent / "shared" / "data" / "tang")).split("test", FORMS):
        lines = [normalize_variants(line) for line in poem.lines]
        for first, second in zip(lines[::2], lines[1::2], strict=True):
            opening += [first.startswith(w) for w in words if w in first or w in second]
    return sum(opening) / len(opening)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bonuses", default="0,1,2,3", help="comma-separated bonuses to compare")
    parser.add_argument("--opening", type=float, help="share of the bonus at a couplet's first character")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per request")
    parser.add_argument("--n", type=int, default=8, help="candidates per request and seed")
    parser.add_argument("--beam", type=int, default=0, help="beam width (beam search instead of sampling)")
    args = parser.parse_args(argv)
    generator = PoetryGenerator.from_pretrained()
    if args.opening is not None:
        constraints_module.PLAN_OPENING = args.opening
    print(f"opening share of the bonus {constraints_module.PLAN_OPENING:g}")
    print(f"{len(SUITE)} requests × {args.seeds} seeds × {args.n} candidates")
    print(f"test split: a plan keyword met in a couplet opens it in {reference_opening():.1%}")
    print(
        "bonus  couplets with keyword  first-ranked  keyword opens  plan char twice  log-prob/char  all rules  "
        "seconds"
    )
    for bonus in [float(b) for b in args.bonuses.split(",")]:
        constraints_module.PLAN_BONUS = bonus
        started = time.perf_counter()
        followed, first, scores, faults, opening, twice = [], [], [], 0, [], []
        for request in SUITE:
            for seed in range(1, args.seeds + 1):
                # every candidate of one search (line selection would decode n poems one by one)
                poems = generator.generate(n=args.n, seed=seed, beam=args.beam, select_lines=False, **request)
                for rank, poem in enumerate(poems):
                    faults += not poem.ok
                    followed += poem.plan_followed
                    lines = [to_traditional(line) for line in poem.lines]
                    opening += [
                        normalize_variants(lines[2 * i]).startswith(normalize_variants(to_traditional(word)))
                        for i, (word, met) in enumerate(zip(poem.plan, poem.plan_followed, strict=True))
                        if met
                    ]
                    body = normalize_variants("".join(lines))
                    plan_chars = set(normalize_variants(to_traditional("".join(poem.plan))))
                    twice.append(any(body.count(char) > 1 for char in plan_chars))
                    scores.append(poem.score)
                    if rank == 0:
                        first += poem.plan_followed
        print(
            f"{bonus:5.1f}  {sum(followed) / len(followed):21.1%}  {sum(first) / len(first):12.1%}  "
            f"{sum(opening) / max(1, len(opening)):13.1%}  {sum(twice) / len(twice):15.1%}  "
            f"{statistics.fmean(scores):13.3f}  {'100 %' if not faults else f'{faults} faults':>9}  "
            f"{time.perf_counter() - started:7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
