"""Starting a run from a trained model (`--init-from`): its tokenizer and weights, widened when asked.

The run's architecture flags describe the model it trains; they must agree with the starting model except
for the hidden size, which may grow (poetry_rnn.model.grow) but not shrink. Dropout and the other
training-only settings are the run's own.
"""

from __future__ import annotations

from poetry_rnn.errors import UserError
from poetry_rnn.model import ModelConfig, PoetryLM
from poetry_rnn.model.grow import widen
from poetry_rnn.training.config import TrainConfig

MUST_MATCH = ("cell", "embedding_dim", "num_layers", "output_layer", "script")


def load_starting_model(config: TrainConfig) -> PoetryLM:
    """The model folder `config.init_from`, checked against the run's flags; refused with every mismatch."""
    try:
        base = PoetryLM.from_pretrained(config.init_from)
    except UserError as error:
        raise UserError(f"--init-from: {error}", field="init_from") from None
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
            + ". Give the model's values, or train from scratch without --init-from",
            field="init_from",
        )
    return base


def starting_weights(base: PoetryLM, model_config: ModelConfig) -> dict:
    """The state dict the run's model starts from: the base model's, widened to the run's hidden size."""
    if model_config.hidden_size == base.config.hidden_size:
        return base.state_dict()
    return widen(base, model_config.hidden_size).state_dict()
