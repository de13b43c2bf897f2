"""Generation requests: the options of one request (`GenerationRequest`), their resolution against a
model's vocabulary, and the `generate` command. The generator itself is poetry_rnn.generator."""

from poetry_rnn.generation.request import GenerationRequest

__all__ = ["GenerationRequest"]
