"""From a model folder to decoding: the model with its tokenizer, and the stepper for a precision."""

from __future__ import annotations

import logging
import os

from poetry_rnn.errors import UserError
from poetry_rnn.model.int8 import Int8Stepper
from poetry_rnn.model.lm import PoetryLM
from poetry_rnn.model.stepper import FloatStepper, Stepper
from poetry_rnn.tokenizer import BaseTokenizer

PRECISIONS = ("fp32", "int8")  # inference precision of the matrix products (see poetry_rnn.model.int8)


def validate_precision(precision) -> str:
    if precision not in PRECISIONS:
        raise UserError.of("precision_unknown", "precision", allowed=", ".join(PRECISIONS), value=precision)
    return precision


def load_pretrained(directory: str | os.PathLike) -> tuple[PoetryLM, BaseTokenizer]:
    """The model (eval mode) and its tokenizer, from a folder or a Hub repo id; every file checked."""
    model = PoetryLM.from_pretrained(directory)
    return model, model.tokenizer


def make_stepper(model: PoetryLM, precision: str = "fp32") -> Stepper:
    """The stepper that decodes `model` at `precision` ("fp32" or "int8"). Without int8 kernels on this
    platform the fp32 stepper is returned, with a warning: the model still works, only slower."""
    if validate_precision(precision) == "int8":
        try:
            return Int8Stepper(model)
        except RuntimeError as error:
            logging.getLogger(__name__).warning("int8 inference unavailable (%s); using fp32", error)
    return FloatStepper(model)
