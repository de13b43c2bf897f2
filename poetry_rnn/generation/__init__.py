"""Generation: the options of one request (`GenerationRequest`), their resolution against a model's
vocabulary, the generator that decodes them (`PoetryGenerator`), and the `generate` command."""

from poetry_rnn.generation.generator import GeneratedPoem, PoetryGenerator
from poetry_rnn.generation.request import GenerationRequest

__all__ = ["GeneratedPoem", "GenerationRequest", "PoetryGenerator"]
