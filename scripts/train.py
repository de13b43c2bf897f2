"""Train a PoetryLM: a thin wrapper around `python -m poetry_rnn train` (same flags)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runs from a checkout without installing

from poetry_rnn.cli import main  # noqa: E402

raise SystemExit(main(["train", *sys.argv[1:]]))
