"""poetry_rnn — Tang-style regulated verse from a small RNN with a decoder that keeps the rules."""

__version__ = "0.1.0"
