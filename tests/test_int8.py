"""int8 inference (Int8Stepper): the gate arithmetic matches torch's cells, int8 outputs stay close
to fp32 on random and on the shipped model, and the generator's constraints hold at either precision."""

from __future__ import annotations

import random

import pytest
import torch

from poetry_rnn.errors import UserError
from poetry_rnn.generation.generator import PoetryGenerator
from poetry_rnn.model import (
    FloatStepper,
    Int8Linear,
    Int8Stepper,
    ModelConfig,
    PoetryLM,
    default_model_dir,
    gru_gates,
    lstm_gates,
    make_stepper,
    read_weights,
)
from poetry_rnn.prosody.check import analyze


def small_model(cell: str, output_layer: str, seed: int = 0) -> PoetryLM:
    torch.manual_seed(seed)
    config = ModelConfig(
        vocab_size=120,
        cell=cell,
        embedding_dim=24,
        hidden_size=40,
        num_layers=2,
        dropout=0.0,
        output_layer=output_layer,
        cutoffs=(30, 80),
    )
    model = PoetryLM(config).eval()
    with torch.no_grad():  # sharper than the default init, so the distributions are far from uniform
        for name, parameter in model.named_parameters():
            if not name.startswith("embedding."):  # N(0, 1) already
                parameter.mul_(2.0)
    return model


def test_gate_arithmetic_matches_torch_cells():
    torch.manual_seed(1)
    x, h, c = torch.randn(5, 16), torch.randn(5, 24), torch.randn(5, 24)
    w_ih, w_hh, b_ih, b_hh = torch.randn(72, 16), torch.randn(72, 24), torch.randn(72), torch.randn(72)
    expected = torch.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
    got = gru_gates(x @ w_ih.T + b_ih, h @ w_hh.T + b_hh, h)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)

    w_ih, w_hh, b_ih, b_hh = torch.randn(96, 16), torch.randn(96, 24), torch.randn(96), torch.randn(96)
    expected_h, expected_c = torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    got_h, got_c = lstm_gates(x @ w_ih.T + b_ih, h @ w_hh.T + b_hh, c)
    torch.testing.assert_close(got_h, expected_h, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_c, expected_c, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_step_without_the_output_layer_gives_the_same_state(cell, precision):
    stepper = make_stepper(small_model(cell, "adaptive"), precision)
    inputs = torch.randint(0, 120, (3, 6))
    with torch.no_grad():
        full_state = skipped_state = None
        for t in range(inputs.shape[1]):
            log_probs, full_state = stepper.step(inputs[:, t], full_state)
            nothing, skipped_state = stepper.step(inputs[:, t], skipped_state, project=False)
            assert log_probs.shape == (3, 120) and nothing is None
    for expected, got in zip(
        full_state if cell == "lstm" else [full_state],
        skipped_state if cell == "lstm" else [skipped_state],
        strict=True,
    ):
        assert torch.equal(expected, got)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("output_layer", ["adaptive", "tied", "full"])
def test_step_scores_are_the_steps_log_probabilities(output_layer, precision):
    stepper = make_stepper(small_model("gru", output_layer), precision)
    inputs = torch.randint(0, 120, (4, 5))
    with torch.no_grad():
        state = scores_state = None
        for t in range(inputs.shape[1]):
            log_probs, state = stepper.step(inputs[:, t], state)
            scores, scores_state = stepper.step_scores(inputs[:, t], scores_state)
            torch.testing.assert_close(scores.full(), log_probs, atol=1e-5, rtol=1e-5)
            rows = torch.tensor([3, 1])
            torch.testing.assert_close(scores.full(rows), log_probs[rows], atol=1e-5, rtol=1e-5)
            for cluster, (start, end) in enumerate(zip(scores.cutoffs, scores.cutoffs[1:], strict=False)):
                # one row of one cluster, as the lazy sampler asks for it (NumPy on the int8 path)
                found = torch.as_tensor(scores.cluster(cluster, 2))
                torch.testing.assert_close(found, log_probs[2, start:end], atol=1e-5, rtol=1e-5)
            assert torch.equal(scores_state, state)
    # the head holds the shortlist's pieces and one entry per tail cluster (a full softmax: everything)
    expected_head = 30 + 2 if output_layer == "adaptive" else 120
    assert scores.head.shape == (4, expected_head) and bool(scores.tails) == (output_layer == "adaptive")
    torch.testing.assert_close(scores.head.exp().sum(-1), torch.ones(4), atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_prefix_log_probs_are_the_forward_pass_and_cached_copies(cell, monkeypatch):
    monkeypatch.setattr("poetry_rnn.model.int8.MAX_CACHED_PREFIXES", 2)
    stepper = Int8Stepper(small_model(cell, "adaptive"))
    prefixes = [(3, 4, 5), (6, 7), (8,)]
    with torch.no_grad():
        expected = {}
        for prefix in prefixes:
            output, state = stepper.forward(torch.tensor([prefix]))
            expected[prefix] = (torch.log_softmax(output[:, -1], -1), state)
    # the second round, in reverse, finds the last two in the cache, then refills the one the bound evicted
    for order in (prefixes, prefixes[::-1]):
        for prefix in order:
            log_probs, state = stepper.prefix(list(prefix), 1)
            torch.testing.assert_close(log_probs, expected[prefix][0])
            found, wanted = (
                (state, expected[prefix][1]) if cell == "lstm" else ((state,), (expected[prefix][1],))
            )
            for found_part, wanted_part in zip(found, wanted, strict=True):
                torch.testing.assert_close(found_part, wanted_part)
                with torch.inference_mode():
                    found_part.add_(1.0)  # a caller's state is its own: the cached one stays as it was
    assert len(stepper.prefixes) == 2
    # the least recently used went first
    assert [p for p in prefixes if p in stepper.prefixes] == [prefixes[0], prefixes[1]]


def test_prefix_cache_under_concurrent_requests(monkeypatch):
    # the app decodes several requests at once: a cache of 2 for 5 prefixes evicts all the time
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr("poetry_rnn.model.int8.MAX_CACHED_PREFIXES", 2)
    stepper = Int8Stepper(small_model("gru", "adaptive"))
    prefixes = [(3,), (4, 5), (6, 7, 8), (9, 10), (11,)]
    with torch.no_grad():
        expected = {p: torch.log_softmax(stepper.forward(torch.tensor([p]))[0][:, -1], -1) for p in prefixes}

    def requests(seed: int) -> int:
        order = random.Random(seed).choices(prefixes, k=200)
        for prefix in order:
            log_probs, _ = stepper.prefix(prefix, 1)
            torch.testing.assert_close(log_probs, expected[prefix])
        return len(order)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(requests, range(8))) == 1600  # every call returned, none raised
    assert len(stepper.prefixes) == 2


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("output_layer", ["adaptive", "tied", "full"])
def test_int8_step_and_forward_close_to_fp32(cell, output_layer):
    model = small_model(cell, output_layer)
    inputs = torch.randint(0, 120, (3, 12))
    with torch.no_grad():
        reference, reference_state = model(inputs)
        reference = torch.log_softmax(reference, dim=-1)
        steps, state = [], None
        for t in range(inputs.shape[1]):
            log_probs, state = FloatStepper(model).step(inputs[:, t], state)
            steps.append(log_probs)
        torch.testing.assert_close(torch.stack(steps, 1), reference, atol=1e-4, rtol=1e-4)  # fp32 paths agree

        stepper = make_stepper(model, "int8")
        assert stepper.precision == "int8"
        quantized, quantized_state = stepper.forward(inputs)
        quantized = torch.log_softmax(quantized, dim=-1)
        quantized_steps, state = [], None
        for t in range(inputs.shape[1]):
            log_probs, state = stepper.step(inputs[:, t], state)
            quantized_steps.append(log_probs)
        quantized_steps = torch.stack(quantized_steps, 1)

    for output in (quantized, quantized_steps):
        assert not torch.equal(output, reference)  # the int8 path is really taken
        kl = (reference.exp() * (reference - output)).sum(-1)
        assert kl.max() < 0.02
        assert (output.exp() - reference.exp()).abs().max() < 0.05
        # probabilities still sum to one, and the most likely token rarely changes
        torch.testing.assert_close(output.exp().sum(-1), torch.ones(3, 12), atol=1e-4, rtol=0)
        assert (output.argmax(-1) == reference.argmax(-1)).float().mean() >= 0.9
    states = zip(
        reference_state if cell == "lstm" else [reference_state],
        quantized_state if cell == "lstm" else [quantized_state],
        strict=True,
    )
    for expected, got in states:
        assert (got - expected).abs().max() < 0.1

    with torch.no_grad():  # the model itself still gives the exact fp32 numbers
        torch.testing.assert_close(torch.log_softmax(model(inputs)[0], -1), reference)


def test_training_and_saved_weights_are_unaffected(tmp_path):
    model = small_model("gru", "adaptive")
    inputs, targets = torch.randint(0, 120, (2, 9)), torch.randint(0, 120, (2, 9))
    expected_loss = model(inputs, targets=targets)
    Int8Stepper(model)
    torch.testing.assert_close(model(inputs, targets=targets), expected_loss)  # loss stays fp32
    model.train()
    assert model(inputs)[0].shape == (2, 9, 120)
    model.save_pretrained(tmp_path)
    from safetensors.torch import load_file

    saved = load_file(tmp_path / "model.safetensors")
    assert set(saved) == set(model.state_dict())
    assert all(tensor.dtype == torch.float32 for tensor in saved.values())


def test_a_model_saved_in_int8_decodes_with_the_int8_values_it_stored(tmp_path):
    """An int8 weights file is read back as float (value × row scale); Int8Linear, which makes every int8
    product of the stepper (of these matrices or rows stacked from them), quantizes each row by the same
    scale, so decoding uses exactly the stored values, not a second rounding of them."""
    from safetensors.torch import load_file

    torch.manual_seed(3)
    model = PoetryLM(ModelConfig(vocab_size=300, embedding_dim=64, hidden_size=96, cutoffs=(100, 200)))
    model.save_pretrained(tmp_path, int8=True)
    stored = load_file(tmp_path / "model.safetensors")
    read_back = read_weights(tmp_path, model)
    matrices = [name for name in stored if stored[name].dtype == torch.int8]
    assert "rnn.weight_hh_l0" in matrices and "adaptive.head.weight" in matrices
    for name in matrices:
        packed = Int8Linear(read_back[name]).packed
        assert torch.equal(torch.ops.quantized.linear_unpack(packed)[0].int_repr(), stored[name]), name


@pytest.fixture(scope="module")
def shipped_model() -> PoetryLM:
    directory = default_model_dir()
    if not (directory / "model.safetensors").is_file():
        pytest.skip(f"no shipped model at {directory}")
    return PoetryLM.from_pretrained(directory)


def test_shipped_model_int8_matches_fp32_on_a_real_poem(shipped_model):
    tokenizer = shipped_model.tokenizer
    body = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
    ids = [tokenizer.form_id("wujue"), tokenizer.bos_id, *tokenizer.encode(body), tokenizer.eos_id]
    inputs, targets = torch.tensor([ids[:-1]]), torch.tensor(ids[1:])
    with torch.no_grad():
        reference = torch.log_softmax(shipped_model(inputs)[0][0], -1)
        stepper = Int8Stepper(shipped_model)
        quantized = stepper.forward(inputs)[0][0]
        state, steps = None, []
        for token in ids[:-1]:
            log_probs, state = stepper.step(torch.tensor([token]), state)
            steps.append(log_probs[0])
    for output in (quantized, torch.stack(steps)):
        nll, reference_nll = (
            -output.gather(1, targets[:, None]).mean(),
            -reference.gather(1, targets[:, None]).mean(),
        )
        assert abs(float(nll / reference_nll) - 1) < 0.01
        kl = (reference.exp() * (reference - output)).sum(-1)
        assert float(kl.max()) < 0.01
        assert (output.argmax(-1) == reference.argmax(-1)).float().mean() >= 0.9
        likely = reference > -6  # tokens a sampler could draw (p > 0.25 %): their log-probs barely move
        assert (output - reference)[likely].abs().max() < 0.3


@pytest.fixture(scope="module")
def int8_generator(tiny_model_dir) -> PoetryGenerator:
    return PoetryGenerator.from_pretrained(tiny_model_dir, precision="int8")


@pytest.mark.parametrize("form", ["wujue", "qilv"])
def test_int8_generator_poems_keep_every_rule(int8_generator, form):
    assert int8_generator.stepper.precision == "int8"
    poems = int8_generator.generate(
        form=form, n=3, seed=11, acrostic="春江花月夜色正明"[: 4 if form == "wujue" else 8]
    )
    assert len(poems) == 3
    for poem in poems:
        analysis = analyze(poem.text, "pingshui", "strict")
        assert analysis.ok, analysis.format()
        assert analysis.form == form


def test_int8_generator_is_deterministic_with_a_seed(int8_generator):
    first = [p.text for p in int8_generator.generate(form="qijue", n=2, seed=5)]
    second = [p.text for p in int8_generator.generate(form="qijue", n=2, seed=5)]
    assert first == second


def test_precision_from_environment_and_bad_values(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("POETRY_RNN_PRECISION", "int8")
    assert PoetryGenerator.from_pretrained(tiny_model_dir).stepper.precision == "int8"
    assert PoetryGenerator.from_pretrained(tiny_model_dir, precision="fp32").stepper.precision == "fp32"
    monkeypatch.setenv("POETRY_RNN_PRECISION", "int4")
    with pytest.raises(UserError) as error:
        PoetryGenerator.from_pretrained(tiny_model_dir)
    assert error.value.field == "precision" and "int4" in str(error.value)


def test_without_int8_kernels_the_fp32_stepper_decodes_with_a_warning(monkeypatch, caplog):
    def no_kernels(model):
        raise RuntimeError("no quantized engine on this platform")

    monkeypatch.setattr("poetry_rnn.model.loading.Int8Stepper", no_kernels)
    model = small_model("gru", "adaptive")
    stepper = make_stepper(model, "int8")
    assert isinstance(stepper, FloatStepper) and stepper.precision == "fp32"
    assert "int8 inference unavailable" in caplog.text
    with pytest.raises(UserError) as error:
        make_stepper(model, "int4")
    assert error.value.field == "precision"
