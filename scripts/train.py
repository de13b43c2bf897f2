"""Train a PoetryLM: a thin wrapper around `python -m poetry_rnn train` (same flags)."""

import sys

from poetry_rnn.cli import main

raise SystemExit(main(["train", *sys.argv[1:]]))
