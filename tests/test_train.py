"""The training loop's parts on real data: batching, the learning-rate schedule, atomic checkpoints, the
files a run writes, option files, refusals of bad input, and `evaluate --json` on the trained model.

Data: tests/data/poet.tang.small.json, 200 real Tang poems (170 train, 16 valid, 14 test by the hash
split). Model: GRU 1x32, embeddings 16 — a run of two epochs takes a few seconds.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from process_state import kept_process_state  # noqa: E402

from poetry_rnn.cli import main as cli_main  # noqa: E402
from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.model import ModelConfig, PoetryLM  # noqa: E402
from poetry_rnn.tokenizer import build_tokenizer  # noqa: E402
from poetry_rnn.training import TrainConfig, train  # noqa: E402
from poetry_rnn.training import data as training_data  # noqa: E402
from poetry_rnn.training import loop as train_module  # noqa: E402
from poetry_rnn.training.checkpoint import (  # noqa: E402
    find_checkpoint,
    load_checkpoint,
    replace_folder,
    save_best,
    save_checkpoint,
)
from poetry_rnn.training.data import collate, encode_poems, epoch_examples, make_batches  # noqa: E402
from poetry_rnn.training.schedule import (  # noqa: E402
    fit_schedule,
    learning_rate,
    schedule_fit_due,
    schedule_steps,
    warmup_steps,
)

SMALL_CORPUS = Path(__file__).resolve().parent / "data" / "poet.tang.small.json"
TINY = {"hidden_size": 32, "embedding_dim": 16, "num_layers": 1, "threads": 1, "device": "cpu"}


@pytest.fixture(autouse=True)
def _restore_process_state():
    with kept_process_state():
        yield


def tiny_config(out: Path, **changes) -> TrainConfig:
    values = {"source": str(SMALL_CORPUS), "out": str(out), "batch_tokens": 160, "epochs": 2,
              "warmup_steps": 10, "seed": 11, **TINY, **changes}  # fmt: skip
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(str(SMALL_CORPUS), use_cache=False)


@pytest.fixture(scope="module")
def examples(corpus) -> list[list[int]]:
    tokenizer, _ = build_tokenizer("char", corpus, cache=False)
    encoded = encode_poems(corpus.split("train"), tokenizer, None)
    return epoch_examples(encoded, tokenizer, seed=1, epoch=0, max_len=200)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "tiny"
    with kept_process_state():
        summary = train(tiny_config(out))
    assert summary["finished"] == "epochs" and summary["epochs"] == 2
    return out


# ------------------------------------------------------------------------------------------ batches
def test_the_fixture_is_real_and_split(corpus):
    splits = corpus.report["splits"]
    assert corpus.report["kept"] == 200
    assert splits["train"] >= 150 and splits["valid"] >= 8 and splits["test"] >= 8


def _check_batches(examples: list[list[int]], batch_tokens: int, most_padding: float) -> None:
    batches = make_batches(examples, batch_tokens, random.Random(3))
    indices = sorted(i for batch in batches for i in batch)
    assert indices == list(range(len(examples)))  # every example, once
    real = sum(map(len, examples))
    padded = sum(len(batch) * max(len(examples[i]) for i in batch) for batch in batches)
    assert (padded - real) / real < most_padding, f"{(padded - real) / real:.2%} padding"
    for batch in batches:
        width = max(len(examples[i]) for i in batch)
        assert len(batch) == 1 or len(batch) * width <= batch_tokens


@pytest.mark.parametrize("batch_tokens", [64, 160, 512])
def test_make_batches_covers_every_example_once_with_little_padding(examples, batch_tokens):
    # 170 poems: batches of 512 tokens already mix lengths (18 batches for the whole split)
    _check_batches(examples, batch_tokens, 0.05)


def test_make_batches_on_the_whole_corpus_pads_under_one_percent(corpus_dir):
    corpus = load_corpus(str(corpus_dir))
    tokenizer, _ = build_tokenizer("char", corpus)
    encoded = encode_poems(corpus.split("train"), tokenizer, None)
    examples = epoch_examples(encoded, tokenizer, seed=1, epoch=0, max_len=200)
    for batch_tokens in (6144, 16384):  # the default, and a GPU-sized batch
        _check_batches(examples, batch_tokens, 0.01)


def test_make_batches_order_is_reproducible_and_shuffled(examples):
    first = make_batches(examples, 512, random.Random(5))
    assert first == make_batches(examples, 512, random.Random(5))
    other = make_batches(examples, 512, random.Random(6))
    assert first != other
    lengths = [max(len(examples[i]) for i in batch) for batch in first]
    assert lengths != sorted(lengths) and lengths != sorted(lengths, reverse=True)


def test_collate_masks_padding_and_shifts_targets():
    inputs, targets = collate([[5, 6, 7, 8], [9, 10]], pad_id=0)
    assert inputs.tolist() == [[5, 6, 7], [9, 0, 0]]
    assert targets.tolist() == [[6, 7, 8], [10, -100, -100]]


@pytest.mark.parametrize("output_layer", ["adaptive", "full"])
def test_the_loss_trains_under_mixed_precision(output_layer):
    """Training on a GPU runs the model under autocast; the CPU's bfloat16 autocast takes the same code path
    (the adaptive layer once failed there, mixing a low-precision buffer with float32 results)."""
    torch.manual_seed(0)
    model = PoetryLM(
        ModelConfig(vocab_size=3000, embedding_dim=16, hidden_size=32, output_layer=output_layer)
    )
    inputs = torch.randint(0, 3000, (2, 12))
    targets = torch.randint(0, 3000, (2, 12))
    targets[1, 8:] = -100
    full_precision = model.loss(inputs, targets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model.loss(inputs, targets)
    assert mixed.dtype == torch.float32
    assert math.isclose(float(mixed.detach()), float(full_precision.detach()), rel_tol=0.02)
    mixed.backward()
    assert all(p.grad is not None for p in model.rnn.parameters())


@pytest.mark.parametrize("output_layer", ["adaptive", "full"])
def test_the_loss_per_position_is_one_a_target_and_zero_where_ignored(output_layer):
    torch.manual_seed(0)
    model = PoetryLM(
        ModelConfig(vocab_size=5000, embedding_dim=16, hidden_size=32, output_layer=output_layer)
    ).eval()
    inputs = torch.randint(0, 5000, (2, 6))
    targets = torch.randint(0, 5000, (2, 6))
    targets[0, 4:] = -100
    each = model.loss(inputs, targets, reduction="none")
    assert (
        each.shape == (12,)
        and int((each == 0).sum()) == 2
        and bool((each[targets.reshape(-1) != -100] > 0).all())
    )
    assert torch.allclose(each.sum(), model.loss(inputs, targets, reduction="sum"))


def test_a_hidden_size_that_leaves_an_adaptive_cluster_no_units_is_refused():
    # 12 // 4**2 == 0: every character from id 4000 up would share one probability
    with pytest.raises(UserError, match="hidden_size 12 is too small for 2 adaptive clusters.*≥ 16"):
        ModelConfig(vocab_size=5000, embedding_dim=8, hidden_size=12)
    assert ModelConfig(vocab_size=5000, embedding_dim=8, hidden_size=16).hidden_size == 16
    assert ModelConfig(vocab_size=3000, embedding_dim=8, hidden_size=12).hidden_size == 12  # one cluster


# ------------------------------------------------------------------------------------------ schedule
def test_learning_rate_warms_up_then_follows_a_cosine_to_the_floor():
    config = TrainConfig(lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    total = 110
    rates = [learning_rate(config, step, total) for step in range(130)]
    assert rates[0] == pytest.approx(1e-4)
    assert rates[9] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(rates[:9], rates[1:10], strict=True))  # linear warm-up
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False))  # then never rising
    assert rates[60] == pytest.approx(1e-4 + (1e-3 - 1e-4) / 2)  # half way: the cosine's midpoint
    assert rates[110] == pytest.approx(1e-4) and rates[129] == pytest.approx(1e-4)  # the floor, and it stays


def test_a_step_budget_is_the_schedules_length_and_its_warm_up_a_tenth_at_most(examples):
    config = TrainConfig(lr=1e-3, warmup_steps=200, epochs=10, max_steps=30)
    assert schedule_steps(config, examples, batches_an_epoch=44) == 30
    assert schedule_steps(TrainConfig(epochs=10), examples, batches_an_epoch=44) == 440
    # a 30-step run warms up in 3 steps, reaches the peak and comes down to the floor at its end
    rates = [learning_rate(config, step, 30) for step in range(30)]
    assert max(rates) == pytest.approx(1e-3) and rates.index(max(rates)) == 2
    assert rates[-1] < 0.05 * 1e-3 + config.lr * config.min_lr_ratio


def test_a_short_run_records_its_last_steps_loss(tmp_path):
    out = tmp_path / "short"
    assert train(tiny_config(out, epochs=1, max_steps=3))["steps"] == 3
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["step"], r["epoch"]) for r in records] == [("train", 3, 1), ("valid", 3, 1)]


# ------------------------------------------------------------------------------------------ checkpoints
def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path, finished_run):
    model = PoetryLM.from_pretrained(finished_run / "best")
    save_best(tmp_path, model)
    before = (tmp_path / "best" / "model.safetensors").read_bytes()

    def half_written(staging: Path) -> None:
        (staging / "config.json").write_text("{}")
        raise OSError("disk full")

    with pytest.raises(OSError):
        replace_folder(tmp_path / "best", half_written)
    assert (tmp_path / "best" / "model.safetensors").read_bytes() == before
    assert PoetryLM.from_pretrained(tmp_path / "best").config == model.config


def _model_and_optimizer(seed: int):
    from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer

    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *"白日依山盡黃河入海流"])
    torch.manual_seed(seed)
    model = PoetryLM(
        ModelConfig(vocab_size=tokenizer.vocab_size, embedding_dim=8, hidden_size=8, num_layers=1)
    )
    model.tokenizer = tokenizer
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    model(torch.tensor([[1, 2, 3]]))[0].sum().backward()
    optimizer.step()
    return model, optimizer


def _fresh():
    return _model_and_optimizer(seed=99)


@pytest.mark.parametrize(
    "crash_at",
    [
        "writing the staging folder",  # half a new checkpoint beside the old one
        "moving the old checkpoint aside",  # before the swap begins
        "moving the new checkpoint in",  # the old one already renamed to checkpoint.old
        "removing the old checkpoint",  # both present
    ],
)
def test_a_crash_during_save_leaves_a_loadable_checkpoint(tmp_path, monkeypatch, crash_at):
    old_model, old_optimizer = _model_and_optimizer(seed=1)
    save_checkpoint(tmp_path, old_model, old_optimizer, {"step": 10, "epoch": 0})
    new_model, new_optimizer = _model_and_optimizer(seed=2)
    real_replace, real_rmtree = os.replace, shutil.rmtree

    def replace(source, target):
        if crash_at == "writing the staging folder" and Path(target).name == "optimizer.safetensors":
            raise OSError(28, "No space left on device")
        if crash_at == "moving the old checkpoint aside" and Path(target).name == "checkpoint.old":
            raise OSError(5, "crash")
        if crash_at == "moving the new checkpoint in" and Path(target).name == "checkpoint":
            raise OSError(5, "crash")
        return real_replace(source, target)

    def rmtree(path, *args, **kwargs):
        if (
            crash_at == "removing the old checkpoint"
            and Path(path).name == "checkpoint.old"
            and Path(tmp_path / "checkpoint" / "state.json").exists()
            and json.loads((tmp_path / "checkpoint" / "state.json").read_text())["step"] == 20
        ):
            raise OSError(5, "crash")
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, new_model, new_optimizer, {"step": 20, "epoch": 0})
    monkeypatch.undo()

    found = find_checkpoint(tmp_path)
    assert found is not None
    model, optimizer = _fresh()
    state = load_checkpoint(found, model, optimizer)
    expected_model = new_model if crash_at == "removing the old checkpoint" else old_model
    assert state["step"] == (20 if expected_model is new_model else 10)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, expected_model.state_dict()[name]), name
    # and the next save tidies up whatever the crash left
    save_checkpoint(tmp_path, new_model, new_optimizer, {"step": 30, "epoch": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_checkpoint_round_trip_restores_optimizer_and_random_state(tmp_path):
    model, optimizer = _model_and_optimizer(seed=4)
    torch.manual_seed(1234)
    random.seed(99)
    save_checkpoint(tmp_path, model, optimizer, {"step": 7, "epoch": 1, "best_ppl": 123.456789})
    expected_torch, expected_python = torch.rand(3), random.random()
    other_model, other_optimizer = _fresh()
    state = load_checkpoint(find_checkpoint(tmp_path), other_model, other_optimizer)
    assert state["step"] == 7 and state["best_ppl"] == 123.456789
    assert torch.equal(torch.rand(3), expected_torch) and random.random() == expected_python
    saved, loaded = optimizer.state_dict(), other_optimizer.state_dict()
    for index, param_state in saved["state"].items():
        for key, value in param_state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(loaded["state"][index][key])), key


# ------------------------------------------------------------------------------------------ a whole run
def test_a_run_writes_metrics_curves_best_model_and_summary(finished_run):
    records = [json.loads(line) for line in (finished_run / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["kind"] == "train"]
    valid_records = [r for r in records if r["kind"] == "valid"]
    assert [r["epoch"] for r in valid_records] == [1, 2]
    valid_steps = {r["step"] for r in valid_records}
    # every 50 steps, and the last step of each epoch, counted from 1 like the validation after it
    assert train_records and all(r["step"] % 50 == 0 or r["step"] in valid_steps for r in train_records)
    assert valid_steps <= {r["step"] for r in train_records}
    assert all(math.isfinite(r["loss"]) for r in train_records)
    assert {r["epoch"] for r in train_records} == {1, 2}
    assert valid_records[1]["char_ppl"] < valid_records[0]["char_ppl"]  # it learns something
    assert (finished_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["best_valid_char_ppl"] == min(r["char_ppl"] for r in valid_records)
    best = PoetryLM.from_pretrained(finished_run / "best")
    assert best.config.hidden_size == 32
    assert json.loads((finished_run / "train_config.json").read_text())["seed"] == 11
    assert not list(finished_run.rglob("*.tmp")) and not (finished_run / "checkpoint.tmp").exists()


def test_evaluate_on_a_run_folder_points_at_its_model(finished_run, capsys):
    assert cli_main(["evaluate", "--model", str(finished_run), "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert "is a training run's folder: give its model" in err and str(finished_run / "best") in err


def test_evaluate_json_on_the_trained_model(finished_run, capsys):
    assert cli_main(["evaluate", "--model", str(finished_run / "best"), "--data", str(SMALL_CORPUS),
                     "--split", "valid", "--json", "--threads", "1"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert {"poems", "chars", "oov", "char_ppl", "bits_per_char", "conditioning"} <= set(result)
    valid_records = [json.loads(line) for line in (finished_run / "metrics.jsonl").read_text().splitlines()]
    best_valid = min(r["char_ppl"] for r in valid_records if r["kind"] == "valid")
    # the same poems, the same scoring as the validation during training
    assert result["char_ppl"] == pytest.approx(best_valid, rel=1e-3)
    assert result["bits_per_char"] == pytest.approx(math.log2(result["char_ppl"]), rel=1e-3)
    assert result["poems"] >= 8 and result["chars"] > 20 * result["poems"]
    assert "form tag" in result["conditioning"] and "<" not in result["conditioning"]  # no source tag
    # the characters alone are harder than characters and punctuation, which the layout gives away
    assert result["hanzi_ppl"] > result["char_ppl"]
    # no valid poem of the fixture nearly copies a train poem: the figure without them is the same
    assert result["near_copies_of_train"] == 0 and result["char_ppl_unseen"] == result["char_ppl"]


def test_a_held_out_poem_sharing_half_its_lines_with_train_is_a_near_copy():
    from poetry_rnn.perplexity import is_near_copy

    known = {"白日依山盡", "黃河入海流", "欲窮千里目"}
    assert is_near_copy("白日依山盡，黃河入海流。", known)
    assert is_near_copy("白日依山盡，黃河入海流。春眠不覺曉，處處聞啼鳥。", known)  # two of four
    assert not is_near_copy("白日依山盡，春眠不覺曉。", known)  # one line is a quotation, not a copy
    assert not is_near_copy("白日依山盡，黃河入海流。春眠不覺曉，處處聞啼鳥。夜來風雨聲，花落知多少。", known)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--forms", "qiju"], "--forms: unknown form qiju; give regular, all, or a comma list of wujue"),
        (["--threads", "-1"], "--threads must be 0"),
        (["--limit", "-5"], "--limit must be 0"),
        # the fixture's poems are all regular: no poem of another shape, and no figure for none
        (["--forms", "other"], "no poems to score"),
    ],
)
def test_evaluate_refuses_what_would_give_no_figure_or_a_wrong_one(finished_run, capsys, flags, message):
    argv = ["evaluate", "--model", str(finished_run / "best"), "--data", str(SMALL_CORPUS), "--json", *flags]
    assert cli_main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and not captured.out


# ------------------------------------------------------------------------------------------ option files
@pytest.mark.parametrize("train_forms", ["all", "regular"])
def test_train_forms_chooses_the_poems_trained_on(tmp_path, monkeypatch, train_forms):
    from poetry_rnn.corpus import FORMS

    # The fixture's poems are all regular; three-couplet versions of the first 40 add 40 of form "other".
    records = json.loads(SMALL_CORPUS.read_text(encoding="utf-8"))
    longer = [{**r, "id": f"{r['id']}-6", "paragraphs": r["paragraphs"][:3]} for r in records[:40]]
    source = tmp_path / "mixed.json"
    source.write_text(json.dumps(records + longer, ensure_ascii=False), encoding="utf-8")
    trained_on = []

    def recording(poems, *args, **kwargs):
        trained_on.extend(poems)
        return encode_poems(poems, *args, **kwargs)

    monkeypatch.setattr(train_module, "encode_poems", recording)
    train(tiny_config(tmp_path / "run", source=str(source), epochs=1, train_forms=train_forms))
    mixed = load_corpus(str(source), use_cache=False)
    expected = mixed.split("train", FORMS if train_forms == "regular" else None)
    assert [p.body for p in trained_on] == [p.body for p in expected]
    other = [p for p in trained_on if p.form not in FORMS]
    assert (not other) if train_forms == "regular" else len(other) >= 20


def test_config_file_with_flags_overriding_it(tmp_path):
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"source": str(SMALL_CORPUS), "hidden_size": 24, "embedding_dim": 12,
                                   "num_layers": 1, "epochs": 1, "batch_tokens": 400, "seed": 5,
                                   "threads": 1, "device": "cpu", "valid_limit": 4}))  # fmt: skip
    out = tmp_path / "run"
    assert cli_main(["train", "--config", str(options), "--out", str(out), "--seed", "6"]) == 0
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["hidden_size"] == 24 and saved["batch_tokens"] == 400 and saved["seed"] == 6
    assert PoetryLM.from_pretrained(out / "checkpoint").config.hidden_size == 24


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "--config"),
        ("[1, 2]", "expected a JSON object of options"),
        ("7", "expected a JSON object of options"),
        ('{"hidden_sise": 24}', "unknown options ['hidden_sise']"),
        ('{"epochs": "ten"}', "epochs must be of type int"),
        ('{"lr": true}', "lr must be of type float"),
        ('{"keywords": "yes"}', "keywords must be of type bool"),
        ('{"dropout": 1.5}', "dropout must be in [0, 1)"),
    ],
)
def test_bad_config_files_are_clear_errors(tmp_path, capsys, content, fragment):
    options = tmp_path / "options.json"
    options.write_text(content)
    assert cli_main(["train", "--config", str(options), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err


def test_missing_config_file(tmp_path, capsys):
    assert cli_main(["train", "--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "run")]) == 2
    assert "--config" in capsys.readouterr().err


def test_a_run_stopped_by_a_signal_exits_non_zero(tmp_path, monkeypatch, capsys):
    """gpu_train.sh waits on each run and goes on to export it only if it exited 0."""
    import poetry_rnn.train as train_command

    monkeypatch.setattr(train_command, "train", lambda config, **options: {"finished": "signal"})
    assert cli_main(["train", "--out", str(tmp_path / "run")]) == 130
    assert "stopped by a signal; `--resume --out" in capsys.readouterr().err
    monkeypatch.setattr(train_command, "train", lambda config, **options: {"finished": "epochs"})
    assert cli_main(["train", "--out", str(tmp_path / "run")]) == 0


# ------------------------------------------------------------------------------------------ bad input
@pytest.fixture
def no_data_reading(monkeypatch):
    """Refusals must come before any data is read: reading it fails the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the corpus was read before the options were checked")

    monkeypatch.setattr(training_data, "load_corpus", forbidden)
    monkeypatch.setattr(training_data, "read_prepared", forbidden)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"batch_tokens": 0}, "batch_tokens"),
        ({"max_len": 1}, "max_len"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"lr": math.nan}, "lr"),
        ({"clip": -1.0}, "clip"),
        ({"checkpoint_minutes": 0.0}, "checkpoint_minutes"),
        ({"cell": "transformer"}, "cell"),
        ({"tokenizer": "bpe"}, "tokenizer"),
        ({"tokenizer": "sentencepiece", "sp_vocab_size": 100}, "sp_vocab_size"),
        ({"output_layer": "mixture"}, "output_layer"),
        ({"budget_clock": "sundial"}, "budget_clock"),
        ({"script": "latin"}, "script"),
        ({"dropout": -0.1}, "dropout"),
        ({"device": "gpu9"}, "device"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"min_lr_ratio": 5.0}, "min_lr_ratio"),
        ({"seed": "7"}, "seed"),
        ({"device": "meta"}, "device"),
        ({"device": "mps"}, "device"),  # (this machine has no MPS)
        ({"hidden_size": 0}, "hidden_size"),
        ({"num_layers": -1}, "num_layers"),
        ({"embedding_dim": 5000}, "embedding_dim"),
        ({"out": ""}, "out"),
    ],
)
def test_bad_options_are_refused_before_any_data_is_read(tmp_path, no_data_reading, changes, field):
    if changes.get("device") == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    config = tiny_config(tmp_path / "run")
    for name, value in changes.items():
        setattr(config, name, value)
    with pytest.raises(UserError) as caught:
        train(config)
    assert caught.value.field == field
    assert not (tmp_path / "run").exists()


def test_the_cli_names_the_flag_of_a_refused_option(tmp_path, no_data_reading, capsys):
    assert cli_main(["train", "--out", str(tmp_path / "run"), "--hidden-size", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --hidden-size: hidden_size must be from 1 to")
    assert cli_main(["train", "--out", ""]) == 2
    assert "--out: out must name the run's folder" in capsys.readouterr().err


@pytest.mark.parametrize("word, accepted", [("true", True), ("No", False), ("1", True), ("maybe", None)])
def test_yes_no_flags_refuse_other_words(tmp_path, no_data_reading, capsys, word, accepted):
    from poetry_rnn.train import true_or_false

    if accepted is None:
        with pytest.raises(SystemExit):
            cli_main(["train", "--out", str(tmp_path / "run"), "--locked-dropout", word])
        assert "'maybe' is not true or false" in capsys.readouterr().err
    else:
        assert true_or_false(word) is accepted


def test_cuda_when_there_is_none(tmp_path, no_data_reading):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match="CUDA is not available"):
        train(tiny_config(tmp_path / "run", device="cuda"))


def test_resume_pointing_at_nothing(tmp_path, no_data_reading, capsys):
    with pytest.raises(UserError, match="no checkpoint") as caught:
        train(tiny_config(tmp_path / "never-trained"), resume=True)
    assert caught.value.field == "resume"
    assert cli_main(["train", "--out", str(tmp_path / "never-trained"), "--resume"]) == 2
    assert "--resume: no checkpoint" in capsys.readouterr().err


def _unfinished_copy(finished_run: Path, run: Path) -> None:
    """The finished run, with a third epoch left to train."""
    shutil.copytree(finished_run, run)
    settings = json.loads((run / "train_config.json").read_text())
    (run / "train_config.json").write_text(json.dumps({**settings, "epochs": 3}))


def test_resume_with_a_damaged_checkpoint(tmp_path, finished_run):
    run = tmp_path / "run"
    _unfinished_copy(finished_run, run)
    (run / "checkpoint" / "optimizer.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="is damaged") as caught:
        train(tiny_config(run), resume=True)
    assert caught.value.field == "resume"
    (run / "train_config.json").unlink()
    with pytest.raises(UserError, match="train_config.json is missing or damaged"):
        train(tiny_config(run), resume=True)


def test_resuming_a_finished_run_trains_nothing(tmp_path, finished_run, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    weights = (run / "checkpoint" / "model.safetensors").read_bytes()
    summary = train(tiny_config(run), resume=True)
    assert (
        summary["finished"] == "epochs"
        and summary["steps"] == json.loads((finished_run / "summary.json").read_text())["steps"]
    )
    assert (run / "checkpoint" / "model.safetensors").read_bytes() == weights
    assert "has already finished (epochs" in capsys.readouterr().err


def test_resume_names_the_flags_it_ignores(tmp_path, finished_run, capsys):
    run = tmp_path / "run"
    _unfinished_copy(finished_run, run)
    assert cli_main(["train", "--out", str(run), "--resume", "--lr", "0.5", "--seed", "11", "--max-steps",
                     str(json.loads((finished_run / "summary.json").read_text())["steps"] + 2)]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "ignored: --lr 0.5 (the run's: 0.003), --max-steps" in err
    assert "--seed" not in err  # the run's own value: nothing ignored
    assert json.loads((run / "summary.json").read_text())["finished"] == "epochs"


def test_a_new_run_never_replaces_a_run(tmp_path, finished_run, no_data_reading, capsys, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    before = sorted(p.name for p in run.iterdir())
    with pytest.raises(UserError, match="already holds a training run: continue it with --resume") as caught:
        train(tiny_config(run))
    assert caught.value.field == "out"
    assert cli_main(["train", "--out", str(run)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == before
    # a run stopped before its first checkpoint (its settings, a best model, a log) has nothing to resume:
    # a new run may start there
    shutil.rmtree(run / "checkpoint")
    assert not train_module.holds_a_run(run)
    monkeypatch.undo()  # (the data may be read now)
    assert train(tiny_config(run, epochs=1, max_steps=2))["steps"] == 2


def test_a_run_that_fails_gives_the_callers_ctrl_c_back(tmp_path, monkeypatch):
    def callers_handler(number, frame):  # what the caller had before train()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, callers_handler)

    def failing_step(*args, **kwargs):
        raise RuntimeError("out of memory in a training step")

    monkeypatch.setattr(train_module, "train_step", failing_step)
    with pytest.raises(RuntimeError, match="out of memory"):
        train(tiny_config(tmp_path / "run", epochs=1))
    assert signal.getsignal(signal.SIGINT) is callers_handler


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("", "is not valid JSON"),
        ("[]", "no records (an empty list)"),
        ('[{"title": "x", "paragraphs": []}]', "no usable poems"),
        ("FIRST_FIVE", "too few poems to train on (5 train"),
    ],
)
def test_empty_or_too_small_dataset(tmp_path, content, fragment):
    if content == "FIRST_FIVE":
        records = json.loads(SMALL_CORPUS.read_text(encoding="utf-8"))[:5]
        content = json.dumps(records, ensure_ascii=False)
    source = tmp_path / "few.json"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        train(tiny_config(tmp_path / "run", source=str(source)))
    assert fragment in str(caught.value)
    assert not (tmp_path / "run").exists()  # a refused run leaves no empty folder behind


def test_missing_source(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        train(tiny_config(tmp_path / "run", source=str(tmp_path / "nothing.json")))


# ------------------------------------------------------------------------------------------ --init-from
def test_a_run_from_a_model_takes_its_shape_unless_told_otherwise(tmp_path, finished_run):
    """No architecture flags: the model's (not the run's defaults, which would be refused); a flag that
    does not fit the model is refused, naming it."""
    out = tmp_path / "tuned"
    settings = {"source": str(SMALL_CORPUS), "out": str(out), "init_from": str(finished_run / "best"),
                "threads": 1, "device": "cpu", "batch_tokens": 160, "max_steps": 1}  # fmt: skip
    train(TrainConfig(**settings))
    saved = json.loads((out / "train_config.json").read_text())
    assert (saved["hidden_size"], saved["embedding_dim"], saved["num_layers"]) == (32, 16, 1)
    assert PoetryLM.from_pretrained(out / "best").config.hidden_size == 32
    with pytest.raises(UserError, match=r"embedding_dim 24 \(the model has 16\)"):
        train(TrainConfig(**{**settings, "out": str(tmp_path / "other"), "embedding_dim": 24}))


def test_a_model_trained_without_keywords_says_so_and_is_given_none(finished_run):
    from poetry_rnn.generation import PoetryGenerator
    from poetry_rnn.generation.request import GenerationRequest

    saved = json.loads((finished_run / "best" / "config.json").read_text())
    assert saved["keywords"] is False  # the run did not condition on keywords
    shipped = SMALL_CORPUS.parents[2] / "data" / "default_model"
    assert "keywords" not in json.loads((shipped / "config.json").read_text())
    assert PoetryLM.from_pretrained(shipped).config.keywords is True  # what a config that does not say means
    generator = PoetryGenerator.from_pretrained(finished_run / "best")
    resolved = generator._resolve(GenerationRequest(form="wujue", theme="思念远方的朋友", seed=1))
    assert resolved.keywords == [] and resolved.plan is not None  # the plan still uses the theme's words
    with pytest.raises(UserError, match="config keywords must be true or false"):
        ModelConfig(vocab_size=100, keywords="yes")


def test_a_run_from_a_model_whose_vocabulary_misses_the_corpus_is_refused(tmp_path, finished_run):
    """Started from a model, a run keeps its vocabulary: a corpus it mostly does not cover would be trained
    as <unk>, and is refused, naming the coverage."""
    small = json.loads(SMALL_CORPUS.read_text(encoding="utf-8"))
    known = set(PoetryLM.from_pretrained(finished_run / "best").tokenizer.pieces)
    strange = [c for c in "鑫淼焱垚犇骉鱻赑掱孨芔茻鬻齉麤靐龘爨" if c not in known]
    assert len(strange) >= 10
    # the same poems, every fifth character one the model has never seen (it knew 92 % of them before)
    shifted = [
        {**poem, "paragraphs": ["".join(strange[i % len(strange)] if i % 5 == 2 else c for i, c in enumerate(line))
                                for line in poem["paragraphs"]]}
        for poem in small
    ]  # fmt: skip
    source = tmp_path / "strange.json"
    source.write_text(json.dumps(shifted, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(
        UserError,
        match=r"covers 7\d\.\d% of this corpus.s characters, a vocabulary of its own would cover 9\d",
    ) as caught:
        train(tiny_config(tmp_path / "run", source=str(source), init_from=str(finished_run / "best")))
    assert caught.value.field == "init_from"


def test_a_run_can_start_from_a_trained_model_widened(tmp_path, finished_run):
    """Starting from the trained tiny model with more units: at a vanishing learning rate the first
    validation equals the trained model's, far below a fresh model's, and the saved model is the wider one."""
    records = [json.loads(line) for line in (finished_run / "metrics.jsonl").read_text().splitlines()]
    trained_ppl = min(r["char_ppl"] for r in records if r["kind"] == "valid")
    summary = train(tiny_config(tmp_path / "grown", init_from=str(finished_run / "best"), hidden_size=48,
                                lr=1e-12, max_steps=1))  # fmt: skip
    assert summary["best_valid_char_ppl"] == pytest.approx(trained_ppl, rel=1e-3)
    fresh = train(tiny_config(tmp_path / "fresh", hidden_size=48, lr=1e-12, max_steps=1))
    assert fresh["best_valid_char_ppl"] > 3 * trained_ppl
    grown = PoetryLM.from_pretrained(tmp_path / "grown" / "best")
    assert grown.config.hidden_size == 48
    assert grown.tokenizer.vocab_size == PoetryLM.from_pretrained(finished_run / "best").tokenizer.vocab_size


@pytest.mark.parametrize(
    "changes, fragments",
    [
        ({"hidden_size": 16}, ["hidden_size 16 (the model has 32; it can grow, not shrink)"]),
        (
            {"num_layers": 3, "cell": "lstm"},
            ["cell 'lstm' (the model has 'gru')", "num_layers 3 (the model has 1)"],
        ),
        ({"embedding_dim": 8}, ["embedding_dim 8 (the model has 16)"]),
    ],
)
def test_init_from_refuses_settings_that_do_not_fit_before_reading_data(
    tmp_path, finished_run, no_data_reading, changes, fragments
):
    with pytest.raises(UserError) as caught:
        train(tiny_config(tmp_path / "run", init_from=str(finished_run / "best"), **changes))
    assert caught.value.field == "init_from"
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_init_from_a_folder_that_is_not_a_model(tmp_path, no_data_reading, capsys):
    with pytest.raises(UserError, match="--init-from: model folder .* does not exist") as caught:
        train(tiny_config(tmp_path / "run", init_from=str(tmp_path / "nowhere")))
    assert caught.value.field == "init_from"
    (tmp_path / "empty").mkdir()
    assert cli_main(["train", "--out", str(tmp_path / "run"), "--init-from", str(tmp_path / "empty")]) == 2
    error = capsys.readouterr().err
    assert "--init-from:" in error and "config file missing" in error


def test_a_time_budget_fits_the_schedule_and_refits_it_once_the_start_up_is_past():
    budget = 1000.0
    state = {"step": 100, "seconds": 50.0, "total_steps": 10_000}  # start-up: 2 steps a second
    fit_schedule(state, budget)
    assert state["total_steps"] == 2000 and state["step_bound"] == 10_000
    state.update(step=500, seconds=150.0)  # since the first fit: 4 steps a second
    fit_schedule(state, budget)
    assert state["total_steps"] == 500 + int((budget - 150.0) * 4)  # 3,900: the budget at the steady speed
    state.update(step=2600, seconds=600.0)  # past half the budget: the schedule stays
    fit_schedule(state, budget)
    assert state["total_steps"] == 3900
    fast = {"step": 100, "seconds": 1.0, "total_steps": 3000}
    fit_schedule(fast, budget)
    assert fast["total_steps"] == 3000  # never beyond the epochs' steps


def test_a_refit_keeps_the_warm_up_and_a_short_budget_is_fitted_before_step_100():
    config = TrainConfig(lr=3e-3, warmup_steps=200, min_lr_ratio=0.1, max_minutes=2)
    # the epochs' schedule warms up over 200 steps; at step 100 the budget allows 707 steps in all
    state = {"step": 100, "seconds": 17.0, "total_steps": 5980, "warmup": warmup_steps(config, 5980)}
    before = learning_rate(config, 99, state["total_steps"], state["warmup"])
    fit_schedule(state, 120.0)
    assert state["total_steps"] == 705 and state["warmup"] == 200
    after = [learning_rate(config, step, state["total_steps"], state["warmup"]) for step in range(100, 705)]
    assert after[0] - before < 0.02 * config.lr  # the ramp goes on: no doubling at the refit
    assert max(after) == pytest.approx(config.lr, rel=0.01) and after[-1] < 0.15 * config.lr
    # a budget of 24 s at 1.5 steps a second: fitted once 5 % of it has passed, and the warm-up shortened
    # so that the learning rate peaks and comes down within the run
    short = {"step": 10, "seconds": 1.3, "total_steps": 5980, "warmup": 200}
    assert schedule_fit_due(short, 24.0) and not schedule_fit_due({**short, "seconds": 1.0}, 24.0)
    fit_schedule(short, 24.0)
    assert short["total_steps"] == 184 and short["warmup"] == 92
    rates = [learning_rate(config, step, short["total_steps"], short["warmup"]) for step in range(184)]
    assert max(rates) == pytest.approx(config.lr, rel=0.02) and rates[-1] < 0.15 * config.lr


# ------------------------------------------------------------------------------------------ scripts/gpu_train.sh
GPU_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_train.sh"


def test_gpu_train_help_prints_the_usage_and_trains_nothing(tmp_path):
    shown = subprocess.run(["bash", str(GPU_SCRIPT), "--help"], capture_output=True, text=True, timeout=60,
                           cwd=tmp_path, env={**os.environ, "RUNS": str(tmp_path / "runs")})  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "bash scripts/gpu_train.sh prepare" in shown.stdout and "set -euo" not in shown.stdout
    assert not (tmp_path / "runs").exists()
    wrong = subprocess.run(
        ["bash", str(GPU_SCRIPT), "--frobnicate"], capture_output=True, text=True, timeout=60
    )
    assert wrong.returncode == 2 and "unknown argument '--frobnicate'" in wrong.stderr


def test_gpu_train_never_replaces_a_run(tmp_path):
    run = tmp_path / "runs" / "tiny_l1"
    (run / "checkpoint").mkdir(parents=True)
    env = {**os.environ, "TINY": "1", "RUNS": str(tmp_path / "runs"), "CANDIDATES": "tiny_l1",
           "TANG": str(SMALL_CORPUS), "SONG": str(SMALL_CORPUS)}  # fmt: skip
    refused = subprocess.run(["bash", str(GPU_SCRIPT)], capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode == 2 and "already holds a run: RESUME=1 continues it" in refused.stderr
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint"]


def test_gpu_train_refuses_an_unknown_weights_format_before_training(tmp_path):
    env = {**os.environ, "TINY": "1", "RUNS": str(tmp_path / "runs"), "CANDIDATES": "tiny_l1",
           "TANG": str(SMALL_CORPUS), "SONG": str(SMALL_CORPUS), "WEIGHTS": "int4"}  # fmt: skip
    refused = subprocess.run(["bash", str(GPU_SCRIPT)], capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode == 2 and "WEIGHTS='int4' (allowed: int8, fp16, or unset)" in refused.stderr
    assert not (tmp_path / "runs").exists()
