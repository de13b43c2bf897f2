"""`python -m poetry_rnn evaluate`: character perplexity of a model on a corpus, as `poetry_rnn.perplexity`
defines it (comparable across tokenizers and systems)."""

from __future__ import annotations

import argparse
import json
import time

import torch

from poetry_rnn.cleaning import FORMS
from poetry_rnn.errors import UserError
from poetry_rnn.perplexity import (
    BODIES,
    corpus_bodies,
    evaluation_bodies,
    is_near_copy,
    score_bodies,
    train_lines,
)
from poetry_rnn.prepared import is_prepared, read_prepared

FORM_NAMES = (*FORMS, "other")  # the four regular forms, and "other" for any other shape


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument(
        "--data",
        default=None,
        help="any source the loader takes, or a prepared corpus file (default: ../shared/data/tang)",
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=("train", "valid", "test", "all"),
        help="which split (default: test)",
    )
    parser.add_argument(
        "--forms", default="regular", help="'regular' (the four forms), 'all', or a comma list"
    )
    parser.add_argument(
        "--bodies",
        default="clean",
        choices=BODIES,
        help="clean: the cleaned bodies the model trains on (default); raw: as the files have them, variant "
        "glyphs and notes included (poetry_rnn.perplexity)",
    )
    parser.add_argument("--columns", help="column mapping, e.g. body=content")
    parser.add_argument("--limit", type=int, default=0, help="score at most this many poems (0 = all)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument(
        "--precision", default="fp32", choices=("fp32", "int8"), help="inference precision of the model"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def parse_forms(text: str) -> tuple[str, ...] | None:
    """--forms: "regular" (the four forms), "all" (None: any), or a comma list of form names."""
    if text == "regular":
        return FORMS
    if text == "all":
        return None
    forms = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in forms if name not in FORM_NAMES]
    if unknown or not forms:
        raise UserError(
            f"--forms: unknown form {', '.join(unknown) or repr(text)}; give regular, all, or a comma list "
            f"of {', '.join(FORM_NAMES)}",
            field="forms",
        )
    return forms


def run(args: argparse.Namespace) -> int:
    from poetry_rnn.corpus import default_source, parse_columns
    from poetry_rnn.model import PoetryLM, default_model_dir, make_stepper

    if args.threads < 0 or args.limit < 0:
        flag = "--threads" if args.threads < 0 else "--limit"
        raise UserError(
            f"{flag} must be 0 (no limit, PyTorch's choice) or more, got {min(args.threads, args.limit)}"
        )
    forms = parse_forms(args.forms)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model_dir = args.model or default_model_dir()
    model = PoetryLM.from_pretrained(model_dir)
    stepper = make_stepper(model, args.precision)
    data = args.data or default_source()
    # a prepared file (a GPU box without the raw corpus): its cleaned poems, or the raw bodies it carries
    if is_prepared(data):
        corpus, _keywords, held = read_prepared(data)
        if args.split not in held or set(forms or ()) != set(FORMS):
            raise UserError(
                f"{data} holds the regular-form valid and test bodies only; "
                f"asked for split {args.split}, forms {args.forms}",
                field="data",
            )
        bodies = corpus_bodies(corpus, args.split) if args.bodies == "clean" else held[args.split]
    else:
        bodies = evaluation_bodies(
            data, None if args.split == "all" else args.split, forms, parse_columns(args.columns), args.bodies
        )
    if args.limit:
        bodies = bodies[: args.limit]
    if not bodies:  # a perplexity of nothing is no figure
        raise UserError(f"no poems to score in {data} (split {args.split}, forms {args.forms})", field="data")
    scored = score_bodies(model, model.tokenizer, bodies, forward=stepper.forward)
    result = scored.as_dict()
    if args.split in ("valid", "test") and args.bodies == "clean":
        # held-out poems that nearly copy a train poem, and the figures without them
        if is_prepared(data):
            known = {line for poem in corpus.poems if poem.split == "train" for line in poem.lines}
        else:
            known = train_lines(data, parse_columns(args.columns))
        unseen = [not is_near_copy(body, known) for body, _form in bodies]
        rest = scored.subset(unseen).as_dict()
        result.update(
            {
                "near_copies_of_train": unseen.count(False),
                "char_ppl_unseen": rest["char_ppl"],
                "hanzi_ppl_unseen": rest["hanzi_ppl"],
            }
        )
    result.update(
        {
            "model": str(model_dir),
            "precision": stepper.precision,
            "split": args.split,
            "bodies": args.bodies,
            "forms": args.forms,
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
    if model.tokenizer.primary_source:  # a model of several corpora reads its primary's tag first
        result["source"] = model.tokenizer.primary_source
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:<14}{value}")
    return 0
