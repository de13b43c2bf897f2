"""Compare the decoding speed of this working tree with another git revision, in turns.

    python scripts/bench_ab.py BASE_REVISION [--rounds 4] [--repeats 21] [--json-out ab.json]

This machine's speed drifts by 15-30 % from hour to hour, more than most changes gain, so two runs of
bench_decode.py an hour apart compare nothing. Here the two versions take turns (base, this tree, base,
this tree, ...), each in a fresh process that loads its own package and its own shipped model and times
bench_decode.py's request (a strict 七律 with rhyme and acrostic, one thread) for one and for eight
candidates. The ratio of each round's pair is what counts; the report gives every round and the median
ratio. The base revision is checked out into a temporary git worktree, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_decode import REQUEST  # noqa: E402  (the request bench_decode times; both trees get it from here)

from poetry_rnn.files import write_atomic  # noqa: E402  (this tree's; the timing runs import their own)

# Run in a fresh interpreter with the tree to measure, the repeats and the request (JSON) as arguments:
# prints "ms_1 ms_8" (medians).
TIMING = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import torch
try:
    from poetry_rnn.generation import PoetryGenerator
except ImportError:  # a revision from before the generation package
    from poetry_rnn.generator import PoetryGenerator
torch.set_num_threads(1)
request = json.loads(sys.argv[3])
generator = PoetryGenerator.from_pretrained(sys.argv[1] + "/data/default_model")
generator.generate(seed=0, **request)
found = []
for batch in (1, 8):
    times = []
    for index in range(int(sys.argv[2])):
        started = time.perf_counter()
        # candidates named: the default grew from n to 8 (both trees must decode as many)
        generator.generate(candidates=batch, seed=100 + index, **request)
        times.append((time.perf_counter() - started) * 1000)
    found.append(statistics.median(times))
print(*found)
"""


def time_tree(tree: Path, repeats: int) -> tuple[float, float]:
    completed = subprocess.run(
        [sys.executable, "-c", TIMING, str(tree), str(repeats), json.dumps(REQUEST)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"timing {tree} failed:\n{completed.stderr[-2000:]}")
    one, eight = map(float, completed.stdout.split())
    return one, eight


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the git revision to compare with (a commit, tag or branch)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=21, help="requests per batch size in each run")
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be at least 1")

    with tempfile.TemporaryDirectory() as scratch:
        base_tree = Path(scratch) / "base"
        added = subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(base_tree), args.base],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if added.returncode != 0:
            raise SystemExit(f"cannot check out {args.base!r}: {added.stderr.strip()}")
        try:
            rounds = []
            for index in range(args.rounds):
                base, this = time_tree(base_tree, args.repeats), time_tree(REPO, args.repeats)
                rounds.append({"base_ms": base, "this_ms": this})
                print(
                    f"round {index + 1}: base {base[0]:6.1f} / {base[1]:6.1f} ms   "
                    f"this tree {this[0]:6.1f} / {this[1]:6.1f} ms   (1 / 8 candidates)"
                )
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)],
                capture_output=True, check=False,
            )  # fmt: skip

    ratios = {
        batch: statistics.median(r["this_ms"][column] / r["base_ms"][column] for r in rounds)
        for column, batch in enumerate((1, 8))
    }
    print(
        f"median ratio this tree / {args.base}: {ratios[1]:.3f} (1 candidate), {ratios[8]:.3f} (8 candidates)"
    )
    if args.json_out:
        report = {"base": args.base, "repeats": args.repeats, "rounds": rounds}
        report["median_ratio"] = {str(batch): round(ratio, 4) for batch, ratio in ratios.items()}
        write_atomic(args.json_out, json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
