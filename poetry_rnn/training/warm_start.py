"""Starting a run from a trained model (`--init-from`): its tokenizer and weights, widened when asked.

A setting the user leaves alone is the starting model's: its architecture and the dropout it was trained
with. One the user gives must agree with the model, except the hidden size, which may grow
(poetry_rnn.model.grow) but not shrink, and the dropout settings (a fine-tune may regularise more). The other
training settings (learning rate, budget) are the run's.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields, replace

from poetry_rnn.errors import UserError
from poetry_rnn.model import ModelConfig, PoetryLM
from poetry_rnn.model.grow import widen
from poetry_rnn.training.config import TrainConfig

MUST_MATCH = ("cell", "embedding_dim", "num_layers", "output_layer", "script")
TAKEN_FROM_MODEL = (*MUST_MATCH, "hidden_size", "dropout", "embedding_dropout", "locked_dropout")


def load_starting_model(config: TrainConfig, asked: Collection[str] = ()) -> tuple[PoetryLM, TrainConfig]:
    """The model folder `config.init_from`, and the run's settings with the model's wherever the user gave
    none (`asked` names the settings given; one still at its default counts as not given); settings that
    do not fit the model are refused, every mismatch named."""
    try:
        base = PoetryLM.from_pretrained(config.init_from)
    except UserError as error:
        raise UserError(f"--init-from: {error}", field="init_from") from None
    defaults = {item.name: item.default for item in fields(TrainConfig)}
    model_settings = {name: getattr(base.config, name) for name in TAKEN_FROM_MODEL}
    model_settings["tokenizer"] = base.tokenizer.kind
    config = replace(
        config,
        **{
            name: value
            for name, value in model_settings.items()
            if name not in asked and getattr(config, name) == defaults[name]
        },
    )
    mismatches = [
        f"{name} {getattr(config, name)!r} (the model has {getattr(base.config, name)!r})"
        for name in MUST_MATCH
        if getattr(config, name) != getattr(base.config, name)
    ]
    if config.hidden_size < base.config.hidden_size:
        mismatches.append(
            f"hidden_size {config.hidden_size} (the model has {base.config.hidden_size}; it can grow, not shrink)"
        )
    if config.tokenizer != base.tokenizer.kind:
        mismatches.append(f"tokenizer {config.tokenizer!r} (the model's is {base.tokenizer.kind!r})")
    if mismatches:
        raise UserError(
            f"--init-from {config.init_from}: the run's settings do not fit the model: "
            + "; ".join(mismatches)
            + ". Leave these out to take the model's, or train from scratch without --init-from",
            field="init_from",
        )
    return base, config


def starting_weights(base: PoetryLM, model_config: ModelConfig) -> dict:
    """The state dict the run's model starts from: the base model's, widened to the run's hidden size."""
    if model_config.hidden_size == base.config.hidden_size:
        return base.state_dict()
    return widen(base, model_config.hidden_size).state_dict()
