"""`python -m poetry_rnn train`: train a PoetryLM (the loop itself is `poetry_rnn.training`).

    python -m poetry_rnn train --out runs/gru512 --max-minutes 40
    python -m poetry_rnn train --extra-sources song=../shared/data/song --out runs/tang-song ...  (co-training:
        every poem tagged <tang> or <song>; generation writes with <tang>; validation on Tang only)
    torchrun --nproc_per_node=2 -m poetry_rnn train --out runs/ddp ...   (data-parallel, same script)

Every field of `TrainConfig` is a flag (`--hidden-size 384`), or an entry of a `--config` JSON file.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.training.config import TrainConfig
from poetry_rnn.training.loop import train


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON file with any of the options below (flags override it)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    for item in fields(TrainConfig):
        flags = ["--" + item.name.replace("_", "-")]
        if item.name == "extra_sources":
            flags.append("--extra-source")  # the singular reads better with one corpus
        if item.type in ("bool", bool):
            parser.add_argument(
                *flags, type=lambda v: v.lower() in ("1", "true", "yes"), default=None, metavar="true|false"
            )
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(item.type), str)
            parser.add_argument(*flags, type=kind, default=None)


def run(args: argparse.Namespace) -> int:
    values = {}
    if args.config:
        try:
            values = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UserError(f"--config {args.config}: {error}", field="config") from None
        if not isinstance(values, dict):
            raise UserError(f"--config {args.config}: expected a JSON object of options", field="config")
        unknown = set(values) - {f.name for f in fields(TrainConfig)}
        if unknown:
            raise UserError(f"--config {args.config}: unknown options {sorted(unknown)}", field="config")
    for item in fields(TrainConfig):
        value = getattr(args, item.name)
        if value is not None:
            values[item.name] = value
    config = TrainConfig(**values)
    if config.cell not in ("gru", "lstm"):
        raise UserError("--cell must be gru or lstm", field="cell")
    train(config, resume=args.resume)
    return 0
