"""Time `python -m poetry_rnn data` (load + clean + split + tokenize the whole corpus) cold and warm.

    python scripts/bench_data.py [--source ../shared/data/tang] [--tokenizer char|sentencepiece] [--keywords]

Cold: a fresh process with empty caches (a new temporary folder for both `datasets`' cache and ours).
Warm: the same command again, reading what the cold run cached. Wall-clock seconds of the whole process
(interpreter start and imports included), and the command's own figures. With --keywords, also the
keywords of every train poem (jieba), cold and warm.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_DIR.parent / "shared" / "data" / "tang"

KEYWORDS_RUN = """
import sys, time
started = time.perf_counter()
from poetry_rnn.corpus import load_corpus
from poetry_rnn.keywords import corpus_keywords
corpus = load_corpus(sys.argv[1], cache_dir=sys.argv[2])
loaded = time.perf_counter()
keywords = corpus_keywords(corpus.split("train"), cache_dir=sys.argv[2])
print(f"{len(keywords)} {time.perf_counter() - loaded:.2f}")
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=REPO_DIR, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(DEFAULT_SOURCE))
    parser.add_argument("--tokenizer", choices=("char", "sentencepiece"), default="char")
    parser.add_argument("--keywords", action="store_true", help="also time corpus keywords (jieba)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_data-") as cache:
        env = {
            **os.environ,
            "HF_DATASETS_CACHE": cache,
            "POETRY_RNN_CACHE": os.path.join(cache, "poetry_rnn"),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
        }
        command = [
            sys.executable, "-m", "poetry_rnn", "data", "--source", args.source,
            "--tokenizer", args.tokenizer, "--cache-dir", cache, "--json",
        ]  # fmt: skip
        results = {}
        for label in ("cold", "warm"):
            seconds, output = timed(command, env)
            report = json.loads(output)
            results[label] = seconds
            print(
                f"{label:<5} {seconds:6.2f} s wall  (command: {report['seconds']:.2f} s; load+clean "
                f"{report['seconds_load_clean']:.2f} s{' cached' if report.get('cached') else ''}, tokenize "
                f"{report['seconds_tokenize']:.2f} s; {report['kept']:,} poems, {report['tokens']:,} tokens, "
                f"vocabulary {report['vocab_size']:,})"
            )
        if args.keywords:
            for label in ("cold", "warm"):
                _, output = timed([sys.executable, "-c", KEYWORDS_RUN, args.source, cache], env)
                poems, seconds = output.split()
                print(f"keywords {label:<5} {float(seconds):6.2f} s for {int(poems):,} train poems")
    print(json.dumps({"tokenizer": args.tokenizer, **{k: round(v, 2) for k, v in results.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
