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
import sys
from dataclasses import fields
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.training.config import CHOICES, TrainConfig
from poetry_rnn.training.loop import train

# What each option does, for --help (TrainConfig's comments say why it exists)
HELP = {
    "source": "the corpus: a chinese-poetry folder, a JSON file or a prepared .json.xz / .json.gz (default: ../shared/data/tang)",
    "extra_sources": "more corpora to co-train on, name=location[,name=location] (e.g. song=../shared/data/song); "
    "each poem is tagged with its corpus, validation stays on --source",
    "source_name": "the tag of --source's poems when there are extra sources; generation writes with it",
    "primary_repeat": "each epoch sees --source's train poems this many times (against a larger extra corpus)",
    "init_from": "start from this trained model folder instead of random weights: its tokenizer, and its "
    "architecture and dropout wherever no flag gives them",
    "out": "the run's folder: checkpoint/ (model, optimizer and progress, for --resume), best/, "
    "train_config.json, metrics.jsonl, curves.png, summary.json",
    "tokenizer": "characters, or sentencepiece pieces",
    "script": "train on the corpus's traditional characters, or converted to simplified",
    "min_count": "a character seen fewer times becomes <unk>",
    "sp_vocab_size": "sentencepiece vocabulary size",
    "cell": "the recurrent cell",
    "embedding_dim": "size of a character's embedding",
    "hidden_size": "units per recurrent layer",
    "num_layers": "recurrent layers",
    "dropout": "dropout on the embeddings, between stacked layers and before the output",
    "embedding_dropout": "share of the vocabulary whose embeddings are dropped from each batch",
    "locked_dropout": "one dropout mask per sequence for all its steps, on the embeddings and before the "
    "output (between stacked layers the GRU draws a new mask each step; none on the recurrent weights)",
    "output_layer": "adaptive softmax (cheapest), tied to the embeddings, or a full softmax",
    "keywords": "condition each poem on its jieba keywords (what title and theme generation need)",
    "train_forms": "all poems of the train split, or only 五绝 七绝 五律 七律",
    "batch_tokens": "at most this many tokens a batch (rows × the longest row, padding included; per process under torchrun)",
    "max_len": "longer poems are cut to this many tokens",
    "lr": "peak learning rate (AdamW)",
    "weight_decay": "AdamW weight decay of the matrices",
    "warmup_steps": "steps of linear warm-up before the cosine decay (at most a tenth of the schedule)",
    "min_lr_ratio": "the cosine decay ends at lr × this",
    "clip": "gradient norm clipping",
    "epochs": "at most this many passes over the train split",
    "max_minutes": "time budget; the learning-rate schedule is fitted to it (0: by epochs)",
    "budget_clock": "wall time, or this process's CPU time (comparable runs on a shared machine)",
    "patience": "epochs without a better validation perplexity before stopping",
    "checkpoint_minutes": "write a checkpoint at least this often (also every epoch and on Ctrl-C)",
    "seed": "random seed (data order, initial weights, dropout)",
    "threads": "CPU threads (0: PyTorch's choice)",
    "device": "auto, cpu, cuda, cuda:N or mps",
    "valid_limit": "validate on at most this many poems (0: the whole valid split)",
    "max_steps": "stop after this many optimizer steps (0: no limit)",
    "max_tokens": "stop after this many training tokens; the schedule is fitted to it (0: no limit)",
}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON file with any of the options below (flags override it)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoint, with the settings it started with",
    )
    for item in fields(TrainConfig):
        flags = ["--" + item.name.replace("_", "-")]
        if item.name == "extra_sources":
            flags.append("--extra-source")  # the singular reads better with one corpus
        default = f" (default: {item.default!r})" if "default:" not in HELP[item.name] else ""
        help_text = (HELP[item.name] + default).replace("%", "%%")
        if item.type in ("bool", bool):
            parser.add_argument(
                *flags, type=true_or_false, default=None, metavar="true|false", help=help_text
            )
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(item.type), str)
            parser.add_argument(
                *flags, type=kind, default=None, choices=CHOICES.get(item.name), help=help_text
            )


def true_or_false(text: str) -> bool:
    """A yes/no flag's value; any other word is refused (argparse names the flag), never read as false."""
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false (allowed: true, false, yes, no, 1, 0)")


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
    asked = [item.name for item in fields(TrainConfig) if getattr(args, item.name) is not None]
    try:
        summary = train(config, resume=args.resume, asked=asked)
    except UserError as error:
        # the message names the option as the config does (hidden_size): name the flag too
        flag = "--" + (error.field or "").replace("_", "-")
        if error.field in {item.name for item in fields(TrainConfig)} and str(error).startswith(
            f"{error.field} "
        ):
            raise UserError(f"{flag}: {error}", field=error.field) from None
        raise
    if summary.get("finished") == "signal":  # stopped, checkpointed: not done, so a script must not go on
        print(f"stopped by a signal; `--resume --out {config.out}` continues the run", file=sys.stderr)
        return 130
    return 0
