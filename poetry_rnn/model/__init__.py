"""The language model and how it is run.

- `lm`: `ModelConfig` and `PoetryLM`, a plain recurrent language model (nn.Module).
- `checkpoint`: model folders (config, safetensors weights, tokenizer) saved, loaded and checked; the Hub.
- `stepper`: the decoding interface the search uses (`Stepper`, `StepScores`) and the float32 stepper.
- `int8`: the int8 stepper (int8 weights for the matrix products, a cache of prefixes).
- `loading`: a saved model with its tokenizer, and the stepper for a precision.
"""

from poetry_rnn.model.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    PretrainedModel,
    default_model_dir,
    read_config,
    read_weights,
    resolve_model_dir,
)
from poetry_rnn.model.int8 import FloatLinear, Int8Linear, Int8Stepper, fast_linear
from poetry_rnn.model.lm import ModelConfig, PoetryLM
from poetry_rnn.model.loading import PRECISIONS, load_pretrained, make_stepper, validate_precision
from poetry_rnn.model.stepper import (
    FloatStepper,
    State,
    Stepper,
    StepScores,
    adaptive_log_probs,
    gru_gates,
    lstm_gates,
    prefix_output,
)

__all__ = [
    "CONFIG_FILE",
    "PRECISIONS",
    "WEIGHTS_FILE",
    "FloatLinear",
    "FloatStepper",
    "Int8Linear",
    "Int8Stepper",
    "ModelConfig",
    "PoetryLM",
    "PretrainedModel",
    "State",
    "StepScores",
    "Stepper",
    "adaptive_log_probs",
    "default_model_dir",
    "fast_linear",
    "gru_gates",
    "load_pretrained",
    "lstm_gates",
    "make_stepper",
    "prefix_output",
    "read_config",
    "read_weights",
    "resolve_model_dir",
    "validate_precision",
]
