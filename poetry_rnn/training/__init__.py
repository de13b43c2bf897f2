"""Training a PoetryLM: `config` (what a run is told, checked first), `data` (examples and batches),
`checkpoint` (the run folder: atomic checkpoints, metrics, curves), `schedule` (the learning rate) and
`loop` (the optimizer step and `train()`). The command line is `poetry_rnn.train`.
"""

from poetry_rnn.training.checkpoint import find_checkpoint
from poetry_rnn.training.config import TrainConfig, check_config
from poetry_rnn.training.loop import train

__all__ = ["TrainConfig", "check_config", "find_checkpoint", "train"]
