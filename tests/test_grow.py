"""Widening a trained model (poetry_rnn.model.grow): the wider copy predicts exactly what the original does,
its new units can learn, and it only grows."""

from __future__ import annotations

import pytest
import torch

from poetry_rnn.errors import UserError
from poetry_rnn.model import ModelConfig, PoetryLM
from poetry_rnn.model.grow import widen


def _model(cell: str, output_layer: str, num_layers: int, seed: int = 3) -> PoetryLM:
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=3000, cell=cell, output_layer=output_layer, num_layers=num_layers,
                         hidden_size=40, embedding_dim=24, dropout=0.1)  # fmt: skip
    return PoetryLM(config).eval()


@pytest.mark.parametrize(
    "cell, output_layer, num_layers",
    [
        ("gru", "adaptive", 1),
        ("gru", "adaptive", 2),
        ("lstm", "full", 2),
        ("gru", "tied", 1),
        ("lstm", "adaptive", 3),
    ],
)
def test_the_wider_model_predicts_what_the_original_does(cell, output_layer, num_layers):
    model = _model(cell, output_layer, num_layers)
    wider = widen(model, 72)
    assert wider.config.hidden_size == 72 and wider.config.num_layers == num_layers
    assert sum(p.numel() for p in wider.parameters()) > sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in wider.parameters()) == wider.config.parameter_count()
    inputs = torch.randint(0, 3000, (3, 25))
    with torch.no_grad():
        expected, expected_state = model(inputs)
        got, state = wider(inputs)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    # the old units carry the same state; the new ones are live, not zero
    hidden, wider_hidden = (expected_state[0], state[0]) if cell == "lstm" else (expected_state, state)
    torch.testing.assert_close(wider_hidden[..., :40], hidden, atol=1e-5, rtol=1e-5)
    assert wider_hidden[..., 40:].abs().mean() > 1e-3


def test_the_new_units_learn():
    wider = widen(_model("gru", "adaptive", 1), 64).train()
    inputs = torch.randint(0, 3000, (4, 20))
    wider.loss(inputs[:, :-1], inputs[:, 1:]).backward()
    # what reads the new units starts at zero but gets a gradient, so training finds uses for them
    head = wider.adaptive.head.weight
    assert torch.count_nonzero(head[:, 40:]) == 0
    assert head.grad[:, 40:].abs().sum() > 0


def test_the_original_is_left_alone_and_the_same_size_is_a_copy():
    model = _model("gru", "adaptive", 1)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    same = widen(model, 40)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]) and torch.equal(same.state_dict()[name], tensor)


@pytest.mark.parametrize("size", [39, 0, "64"])
def test_a_model_is_never_narrowed(size):
    with pytest.raises(UserError, match="can only be widened: it has 40 hidden units"):
        widen(_model("gru", "adaptive", 1), size)
