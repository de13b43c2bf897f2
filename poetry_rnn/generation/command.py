"""`python -m poetry_rnn generate`: poems from the command line.

    python -m poetry_rnn generate --form qilv --acrostic 春江花月夜色正明 --rhyme pingshui --tone strict \
        --n 8 --seed 1 --json

One flag per GenerationRequest field, built from the request's own field list (its help texts and how
each is spelled on the command line), plus the flags that choose the model and the output.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from poetry_rnn.format import line_end_mark
from poetry_rnn.generation.generator import DEFAULT_PRECISION, PoetryGenerator
from poetry_rnn.generation.request import GenerationRequest, option_fields, option_flag
from poetry_rnn.prosody.analysis import PARALLEL_KINDS_EN
from poetry_rnn.prosody.parallel import CoupletVerdict, couplet_names
from poetry_rnn.prosody.patterns import pattern_in_english
from poetry_rnn.refusals import respell_options

__all__ = ["configure_parser", "couplet_verdicts", "flag_of", "in_cli_terms", "request_options", "run"]


def flag_of(field: str) -> str:
    """The flag that sets a request field (the CLI names it in a refusal)."""
    return option_flag(field)


def in_cli_terms(message: str) -> str:
    """A refusal as the command line says it: the request's options (tone=off, first_line_rhymes) as its
    flags (--tone off, --first-line-rhymes)."""
    names = [option.name for option in option_fields()]
    return respell_options(message, names, lambda name, value: flag_of(name) + (f" {value}" if value else ""))


def configure_parser(parser: argparse.ArgumentParser) -> None:
    for option in option_fields():
        spec = option.metadata
        if spec.get("off_switch") or spec.get("on_switch"):
            parser.add_argument(
                flag_of(option.name), dest=option.name, action="store_true", help=spec["help"]
            )
            continue
        parser.add_argument(
            flag_of(option.name),
            dest=option.name,
            type=spec.get("type"),
            choices=spec.get("choices"),
            metavar=None if spec.get("choices") else flag_of(option.name)[2:].upper().replace("-", "_"),
            default=option.default,
            help=spec["help"],
        )
    parser.add_argument("--model", help="model folder (default: data/default_model or $POETRY_RNN_MODEL)")
    parser.add_argument(
        "--precision",
        choices=("int8", "fp32"),
        help="model inference precision (default: $POETRY_RNN_PRECISION or " + DEFAULT_PRECISION + ")",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per poem per line")


def request_options(args: argparse.Namespace) -> dict:
    """The request's fields as the parsed command line gives them (keyword arguments of GenerationRequest)."""
    options = {}
    for option in option_fields():
        value = getattr(args, option.name)
        spec = option.metadata
        if spec.get("off_switch"):
            value = not value
        elif "values" in spec and value is not None:
            value = spec["values"][value]
        options[option.name] = value
    return options


# the verdicts' names said once in English beside them
PARALLEL_KEY = ", ".join(f"{kind} {english}" for kind, english in PARALLEL_KINDS_EN.items())


def couplet_verdicts(couplets: Sequence[CoupletVerdict], line_count: int) -> str:
    """Each couplet's name, verdict and score: `首联 不对 0.41  颔联 工对 0.82  颈联 宽对 0.61  尾联 …`."""
    names = couplet_names(line_count)
    return "  ".join(
        f"{names[c.line // 2] if c.line // 2 < len(names) else c.line + 1} {c.kind} {c.score:.2f}"
        for c in couplets
    )


def run(args: argparse.Namespace) -> int:
    generator = PoetryGenerator.from_pretrained(args.model, precision=args.precision)
    poems = generator.generate(GenerationRequest(**request_options(args)))
    for rank, poem in enumerate(poems, 1):
        if args.json:
            record = poem.to_dict()
            record.pop("analysis")
            record["faults"] = [f.to_dict() for f in poem.analysis.faults]
            record["couplets"] = [c.to_dict() for c in poem.analysis.couplets]
            record["parallel_faults"] = [f.to_dict() for f in poem.analysis.parallel_faults]
            print(json.dumps(record, ensure_ascii=False))
            continue
        # the result's labels are in the poem's script (平起首句入韻, 對仗 for a traditional poem)
        # the app's 自然度: the model's mean log-probability a character, nearer 0 more natural to it
        head = [f"#{rank}", f"自然度 fluency {poem.score:.2f}"]
        if poem.pattern:
            gloss = pattern_in_english(poem.pattern)
            head.append(poem.pattern + (f" ({gloss})" if gloss else ""))
        head += [poem.rhyme_group_label] if poem.rhyme_group_label else []
        head.append(f"seed {poem.seed}")
        print("  ".join(head))
        for index, line in enumerate(poem.analysis.lines):
            print(f"  {line.text}{line_end_mark(index)}  {line.tone_marks}")
        if poem.analysis.couplets:
            verdicts = couplet_verdicts(poem.analysis.couplets, len(poem.lines))
            print("  " + poem.in_script(f"对仗 parallelism ({PARALLEL_KEY})  {verdicts}"))
        if poem.plan:
            print("  plan: " + " · ".join(poem.plan))
        print("  " + poem.verdict())
        for licence in poem.analysis.licences:  # a given first line in 特拗, 三仄尾 or 拗 form
            print(f"  {licence['kind']} licence: {licence['note']}")
        print()
    return 0
