"""A small randomly initialised model, for tests (and scripts/fuzz_test.py) that need a model but not a good one."""

from __future__ import annotations

import torch

from poetry_rnn.model import ModelConfig, PoetryLM
from poetry_rnn.tokenizer import BaseTokenizer


def tiny_model_for_tests(tokenizer: BaseTokenizer, cell: str = "gru", seed: int = 0) -> PoetryLM:
    torch.manual_seed(seed)
    model = PoetryLM(
        ModelConfig(
            vocab_size=tokenizer.vocab_size,
            cell=cell,
            embedding_dim=32,
            hidden_size=48,
            num_layers=1,
            dropout=0.0,
            sources=tokenizer.sources,  # a co-trained tokenizer's tags belong in the config too
        )
    )
    model.tokenizer = tokenizer
    return model.eval()
