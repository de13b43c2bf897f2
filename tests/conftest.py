from __future__ import annotations

from pathlib import Path

import pytest

from poetry_rnn.corpus import default_source

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = Path(default_source())  # ../shared/data/tang, or $POETRY_RNN_CORPUS (a checkout elsewhere)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not (CORPUS_DIR / "poet.tang.0.json").exists():
        pytest.skip(
            f"Tang corpus not found at {CORPUS_DIR} (it lies in ../shared beside the repo; elsewhere, set "
            "POETRY_RNN_CORPUS to its folder)"
        )
    return CORPUS_DIR


@pytest.fixture(scope="session")
def tiny_model_dir(corpus_dir, tmp_path_factory) -> Path:
    """A randomly initialised tiny model with a char tokenizer built from the corpus, saved like a real
    model folder, with corpus_lines.txt for the originality rule. Poor poems, but every constraint holds."""
    from tiny_model import tiny_model_for_tests

    from poetry_rnn.corpus import load_corpus
    from poetry_rnn.decoding.originality import write_corpus_lines
    from poetry_rnn.tokenizer import build_tokenizer

    corpus = load_corpus(str(corpus_dir))
    tokenizer, _ = build_tokenizer("char", corpus)
    directory = tmp_path_factory.mktemp("tiny_model")
    tiny_model_for_tests(tokenizer).save_pretrained(directory, tokenizer)
    write_corpus_lines(directory, corpus)
    return directory


@pytest.fixture(scope="session")
def shipped():
    """The generator over the shipped model (data/default_model) at the default precision."""
    from poetry_rnn.generation import PoetryGenerator
    from poetry_rnn.model import default_model_dir

    directory = default_model_dir()
    if not (directory / "model.safetensors").is_file():
        pytest.skip(f"no shipped model at {directory}")
    return PoetryGenerator.from_pretrained(directory)
