"""Measure the 对仗 analysis on the Tang corpus and the speed of `check --batch`, or generated 律诗.

    python scripts/eval_parallel.py [--split test] [--corpus ../shared/data/tang] [--speed 6000]
    python scripts/eval_parallel.py --generated [--seeds 3] [--n 4] [--model DIR] [--parallel yes|no]

On the split's 律诗 (8 lines of 5 or 7 characters): the share of middle couplets (lines 3–4, 5–6) judged
parallel (goal ≥ 85 %) and of first couplets (goal ≤ 35 %), for all of them and for the tonally regular
ones (the checker finds no 失粘/失对 and no 出韵/仄韵 at standard strictness: 律诗 in form, not 古体 of eight
lines). Then the share of the regular ones' parallel middle couplets that the decoder's 对仗 rule would let
a poet write, and the time of `python -m poetry_rnn check --batch - --json` on as many couplets.

With --generated: 律诗 from the model over every mode (free, acrostic, first line, title, theme) × both
schemes (平水韵, 新韵) × both forms (五律, 七律) × --seeds seeds, n poems each, at strict tone: the share of
middle couplets the checker judges parallel (goal ≥ 90 %) and of first couplets, the poems with any other
fault (goal: none; the checker's `faults`), the requests that returned fewer than n poems, the candidates
that died in decoding, and the time per request.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.prosody.check import analyze_lines  # noqa: E402
from poetry_rnn.prosody.parallel import judge_couplet, load_table  # noqa: E402

IRREGULAR = {"失粘", "失对", "出韵", "仄韵"}


def is_regular(lines) -> bool:
    analysis = analyze_lines(lines, strictness="standard")
    return not any(f.name in IRREGULAR for f in analysis.faults)


def rates(poems) -> dict:
    table = load_table()
    counts: Counter[str] = Counter()
    for poem in poems:
        lines = poem.lines
        for name, (a, b) in (("first", (0, 1)), ("middle", (2, 3)), ("middle", (4, 5)), ("last", (6, 7))):
            kind = table.kind(*table.scores(lines[a], lines[b]))
            counts[name] += 1
            counts[f"{name} parallel"] += kind != "不对"
            counts[f"{name} 工对"] += kind == "工对"
    out = {"poems": len(poems)}
    for name in ("middle", "first", "last"):
        total = counts[name] or 1
        out[name] = {
            "couplets": counts[name],
            "parallel": round(counts[f"{name} parallel"] / total, 4),
            "工对": round(counts[f"{name} 工对"] / total, 4),
        }
    return out


def batch_speed(poems, couplets: int) -> dict:
    """Time the CLI on `couplets` couplets (the split's couplets, repeated as needed), one per input line."""
    pairs = [(p.lines[i], p.lines[i + 1]) for p in poems for i in range(0, 8, 2)]
    pairs = (pairs * (couplets // len(pairs) + 1))[:couplets]
    payload = "".join(f"{a}，{b}。\n" for a, b in pairs)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "poetry_rnn", "check", "--batch", "-", "--json"],
        input=payload,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    errors = sum("error" in row for row in rows)
    return {"couplets": couplets, "seconds": round(seconds, 2), "rows": len(rows), "errors": errors}


def rule_admits(poems, model: str | None) -> dict:
    """The share of the split's parallel middle couplets whose second line the decoder's 对仗 rule lets
    through at every position (tones and rhyme aside): how far the rule narrows what a poet could write."""
    from poetry_rnn.decoding.constraint_set import ConstraintSet
    from poetry_rnn.decoding.rules.parallel import ParallelRule
    from poetry_rnn.decoding.vocabulary import VocabularyTables
    from poetry_rnn.model import default_model_dir
    from poetry_rnn.tokenizer.registry import load_tokenizer

    tokenizer = load_tokenizer(model or default_model_dir())
    tables = VocabularyTables.build(tokenizer)
    table = load_table()
    out = {}
    for width, name in ((5, "五言"), (7, "七言")):
        rule = ParallelRule(tables, width, [1])
        constraints = ConstraintSet(tables, [rule])
        admitted = total = 0
        for poem in poems:
            for i in (2, 4):
                first, second = poem.lines[i], poem.lines[i + 1]
                if len(first) != width or table.kind(*table.scores(first, second)) == "不对":
                    continue
                pieces = [*tokenizer.encode(first), tables.comma_id, *tokenizer.encode(second)]
                if tokenizer.unk_id in pieces:
                    continue
                state = constraints.new_state()
                passed = True
                for piece in pieces:
                    allowed = rule.mask(state)
                    if allowed is not None and not bool(allowed[piece]):
                        passed = False
                        break
                    constraints.advance(state, piece)
                total += 1
                admitted += passed
        out[name] = {"couplets": total, "admitted": round(admitted / (total or 1), 4)}
    return out


# ---------------------------------------------------------------------------------------------------
# Generated 律诗
# ---------------------------------------------------------------------------------------------------
ACROSTIC = "春江花月夜色正明"
TITLE = "秋夜懷友"
THEME = "春天的江南，细雨中思念远方的朋友"
MODES = ("free", "acrostic", "first line", "title", "theme")


def generation_suite(generator, seeds: int, n: int, parallel: bool | None) -> dict:
    """Generate the suite (see the module docstring) and measure it."""
    from poetry_rnn.generation import generator as generator_module

    dead = Counter()
    sample = generator_module.sample

    def counting_sample(*args, **kwargs):  # the candidates each round decoded and how many died
        states = yield from sample(*args, **kwargs)
        dead["candidates"] += len(states)
        dead["died"] += sum(s.dead for s in states)
        return states

    generator_module.sample = counting_sample
    counts: Counter[str] = Counter()
    by_mode: dict[str, Counter] = {mode: Counter() for mode in MODES}
    seconds = []
    try:
        for form in ("wulv", "qilv"):
            for scheme in ("pingshui", "xinyun"):
                for seed in range(seeds):
                    # a first line the model wrote itself under the same rules (another seed's poem)
                    free = generator.generate(form=form, rhyme_scheme=scheme, seed=1000 + seed)[0]
                    for mode in MODES:
                        options = {
                            "free": {},
                            "acrostic": {"acrostic": ACROSTIC},
                            "first line": {"first_line": free.lines[0]},
                            "title": {"title": TITLE},
                            "theme": {"theme": THEME},
                        }[mode]
                        started = time.perf_counter()
                        # n poems take seeds seed … seed + n − 1: spaced by n, no two requests share a poem
                        poems = generator.generate(
                            form=form, rhyme_scheme=scheme, n=n, seed=seed * n, parallel=parallel, **options
                        )
                        seconds.append(time.perf_counter() - started)
                        counts["requests"] += 1
                        counts["short requests"] += len(poems) < n
                        for poem in poems:
                            tally(poem, counts)
                            tally(poem, by_mode[mode])
    finally:
        generator_module.sample = sample
    report = {"parallel option": parallel, **summary(counts)}
    report["short requests"] = counts["short requests"]
    report["candidates died"] = f"{dead['died']}/{dead['candidates']}"
    seconds.sort()
    report["s per request"] = {"median": round(seconds[len(seconds) // 2], 3), "max": round(seconds[-1], 3)}
    report["by mode"] = {mode: summary(found)["middle parallel"] for mode, found in by_mode.items()}
    return report


def tally(poem, counts: Counter) -> None:
    verdicts = {c.line: c for c in poem.analysis.couplets}
    counts["poems"] += 1
    counts["faulty"] += bool(poem.analysis.faults) or not poem.ok
    counts["score"] += poem.score
    for line in (0, 2, 4):
        name = "first" if line == 0 else "middle"
        verdict = verdicts.get(line)
        counts[name] += 1
        counts[f"{name} parallel"] += bool(verdict and verdict.parallel)
        counts[f"{name} 工对"] += bool(verdict and verdict.kind == "工对")
        counts[f"{name} score"] += verdict.score if verdict else 0.0


def summary(counts: Counter) -> dict:
    out: dict = {"poems": counts["poems"], "poems with other faults": counts["faulty"]}
    for name in ("middle", "first"):
        total = counts[name] or 1
        out[f"{name} parallel"] = round(counts[f"{name} parallel"] / total, 4)
        out[f"{name} 工对"] = round(counts[f"{name} 工对"] / total, 4)
        out[f"{name} mean score"] = round(counts[f"{name} score"] / total, 3)
    out["mean model score"] = round(counts["score"] / (counts["poems"] or 1), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "tang"))
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--speed", type=int, default=6000, help="couplets for the batch timing (0: skip)")
    parser.add_argument(
        "--examples", type=int, default=0, help="print this many judged couplets of each kind"
    )
    parser.add_argument("--generated", action="store_true", help="measure generated 律诗 instead")
    parser.add_argument("--seeds", type=int, default=3, help="--generated: seeds per form, scheme and mode")
    parser.add_argument("--n", type=int, default=4, help="--generated: poems per request")
    parser.add_argument("--model", help="the model folder (default: the shipped model)")
    parser.add_argument(
        "--parallel", choices=("yes", "no"), help="--generated: the request's parallel option (default: auto)"
    )
    args = parser.parse_args(argv)
    if args.generated:
        import torch

        from poetry_rnn.generation.generator import PoetryGenerator

        torch.set_num_threads(1)  # as the app and bench_decode time it
        generator = PoetryGenerator.from_pretrained(args.model)
        parallel = {"yes": True, "no": False, None: None}[args.parallel]
        report = generation_suite(generator, args.seeds, args.n, parallel)
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    corpus = load_corpus(args.corpus)
    poems = corpus.split(args.split, ["wulv", "qilv"])
    regular = [p for p in poems if is_regular(p.lines)]
    report = {"split": args.split, "all 律诗": rates(poems), "regular 律诗": rates(regular)}
    started = time.perf_counter()
    for poem in poems:
        for i in range(0, 8, 2):
            judge_couplet(poem.lines[i], poem.lines[i + 1])
    per_couplet = (time.perf_counter() - started) / (4 * len(poems))
    report["judge_couplet_us"] = round(per_couplet * 1e6, 1)
    report["decoding rule admits"] = rule_admits(regular, args.model)
    if args.speed:
        report["batch"] = batch_speed(poems, args.speed)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    for poem in regular[: args.examples]:
        for i in (0, 2, 4):
            verdict = judge_couplet(poem.lines[i], poem.lines[i + 1])
            pairs = " ".join(f"{p.left}/{p.right}:{p.relation}{p.label}" for p in verdict.pairs)
            print(
                f"{i + 1}-{i + 2} {verdict.first}/{verdict.second} {verdict.kind} {verdict.score:.2f} {pairs}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
