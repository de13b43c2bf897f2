"""Blind evaluation: rating sheets that mix generated and real Tang poems (`sheet`), readers' ratings
(`ratings`) and what they add up to (`summary`). The command lines are scripts/blind_*.py."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from poetry_rnn.errors import UserError


def run_command(args: argparse.Namespace, handlers: dict[str, Callable[[argparse.Namespace], int]]) -> int:
    """Run the chosen subcommand; a UserError is one line on stderr and exit status 2, not a traceback."""
    try:
        return handlers[args.command](args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def code_version() -> str:
    """The checkout's commit (and '+changes' when its tree differs), to name the decoder that wrote an arm;
    "unknown" outside a git checkout."""
    checkout = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=checkout).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")
