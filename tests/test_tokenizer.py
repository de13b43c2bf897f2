"""Both tokenizers behind one interface: ids layout, round trips on real poems, files, cache, errors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from poetry_rnn.cleaning import clean_body  # noqa: E402
from poetry_rnn.corpus import Corpus, Poem, load_corpus  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.format import render_body  # noqa: E402
from poetry_rnn.tokenizer import (  # noqa: E402
    PUNCTUATION,
    SPECIALS,
    TOKENIZER_FILE,
    CharTokenizer,
    build_tokenizer,
    corpus_texts,
    load_tokenizer,
)
from poetry_rnn.tokenizer.sentencepiece_tokenizer import MODEL_FILE, SentencePieceTokenizer  # noqa: E402

POEMS = [
    "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。",
    "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
    "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。",
    "黃河遠上白雲間，一片孤城萬仞山。羌笛何須怨楊柳，春風不度玉門關。",
]


def small_corpus(cache_dir=None) -> Corpus:
    poems = [
        Poem(title=f"詩{i}", author="", lines=clean_body(text)[0], form="other", split="train")
        for i, text in enumerate(POEMS * 3)
    ]
    return Corpus(poems=poems, fingerprint="small-test-corpus" if cache_dir else "", cache_dir=cache_dir)


def check_common_layout(tokenizer) -> None:
    assert tokenizer.pieces[: len(SPECIALS)] == list(SPECIALS)
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 1, 2, 3)
    assert tokenizer.form_id("wujue") == 4 and tokenizer.form_id("other") == 8
    assert tokenizer.form_id("not a form") == tokenizer.form_id("other")
    assert tokenizer.title_id == 9 and tokenizer.keywords_id == 10
    for i in range(len(SPECIALS)):
        assert tokenizer.piece_chars(i) == ""
    for offset, mark in enumerate(PUNCTUATION):  # punctuation right after the specials, in both tokenizers
        assert tokenizer.piece_to_id(mark) == len(SPECIALS) + offset
        assert tokenizer.encode(mark) == [len(SPECIALS) + offset]
    assert tokenizer.piece_to_id("no such piece") == tokenizer.unk_id
    assert tokenizer.decode([tokenizer.bos_id, *tokenizer.encode("明月"), tokenizer.eos_id]) == "明月"


# ---------------------------------------------------------------- characters


def test_char_tokenizer_basics():
    tokenizer, coverage = CharTokenizer.train(POEMS, min_count=2)
    check_common_layout(tokenizer)
    assert tokenizer.kind == "char"
    once = {ch for ch in "".join(POEMS) if "".join(POEMS).count(ch) == 1}
    assert once and not once & set(tokenizer.pieces)  # rarer than min_count: no piece
    text = "".join(POEMS)
    assert coverage == pytest.approx(sum(1 for ch in text if ch not in once) / len(text))
    ids = tokenizer.encode(POEMS[0])
    assert len(ids) == len(POEMS[0])
    assert tokenizer.decode(ids) == "".join(ch if ch not in once else "" for ch in POEMS[0])
    assert tokenizer.encode("白日\U0002a6a5") == [*tokenizer.encode("白日"), tokenizer.unk_id]
    assert tokenizer.encode("誰爲") == tokenizer.encode("誰為") or "為" not in tokenizer.index
    assert tokenizer.encode_many(POEMS) == [tokenizer.encode(p) for p in POEMS]
    assert tokenizer.encode_many([]) == [] and tokenizer.encode("") == []


def test_char_tokenizer_maps_variants():
    tokenizer, _ = CharTokenizer.train(["誰為表予心"], min_count=1)
    assert tokenizer.encode("誰爲表予心") == tokenizer.encode("誰為表予心")
    assert tokenizer.unk_id not in tokenizer.encode("誰爲表予心")


def test_char_tokenizer_save_load(tmp_path):
    tokenizer, _ = CharTokenizer.train(POEMS, min_count=1)
    tokenizer.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, CharTokenizer) and loaded.pieces == tokenizer.pieces
    assert loaded.encode(POEMS[2]) == tokenizer.encode(POEMS[2])
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave nothing


# ---------------------------------------------------------------- SentencePiece


def test_sentencepiece_on_a_small_corpus(tmp_path):
    tokenizer, coverage = SentencePieceTokenizer.train(POEMS * 3, vocab_size=8192)
    check_common_layout(tokenizer)
    assert tokenizer.kind == "sentencepiece"
    assert coverage == 1.0  # every character of a tiny corpus gets a piece
    assert len(tokenizer.byte_ids) == 256
    assert all(tokenizer.piece_chars(i) == "" for i in tokenizer.byte_ids)
    for text in POEMS:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    # Unseen characters, whitespace and other marks come back through byte pieces
    for text in ("雪\U0002a6a5夜", "白日 依山\t盡\n", "abc，Ω。"):
        ids = tokenizer.encode(text)
        assert tokenizer.unk_id not in ids and tokenizer.decode(ids) == text
    tokenizer.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {TOKENIZER_FILE, MODEL_FILE}
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, SentencePieceTokenizer)
    assert loaded.pieces == tokenizer.pieces
    assert loaded.encode_many(POEMS) == tokenizer.encode_many(POEMS)


def test_sentencepiece_files_that_do_not_match_are_refused(tmp_path):
    tokenizer, _ = SentencePieceTokenizer.train(POEMS * 3)
    tokenizer.save(tmp_path)
    other, _ = SentencePieceTokenizer.train(POEMS[:2] * 3)
    (tmp_path / MODEL_FILE).write_bytes(other.model_proto)
    with pytest.raises(UserError, match="is not the SentencePiece model"):
        load_tokenizer(tmp_path)
    (tmp_path / MODEL_FILE).unlink()
    with pytest.raises(UserError, match="SentencePiece model file missing"):
        load_tokenizer(tmp_path)
    document = json.loads((tmp_path / TOKENIZER_FILE).read_text(encoding="utf-8"))
    document["model_file"] = "../elsewhere.model"
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(UserError, match="bad model_file"):
        load_tokenizer(tmp_path)
    with pytest.raises(UserError, match="not a SentencePiece model"):
        SentencePieceTokenizer(b"definitely not a model")
    with pytest.raises(UserError, match="vocab_size must be at least"):
        SentencePieceTokenizer.train(POEMS, vocab_size=100)


# ---------------------------------------------------------------- build, cache, load errors


def test_build_tokenizer_caches_by_corpus_fingerprint(tmp_path):
    corpus = small_corpus(tmp_path)
    for kind in ("char", "sentencepiece"):
        first, coverage = build_tokenizer(kind, corpus)
        (folder,) = (tmp_path / "tokenizers").glob(f"{kind}-*")
        assert (folder / TOKENIZER_FILE).is_file() and (folder / "coverage.json").is_file()
        # Proof that the second call reads the cache: a changed coverage figure comes back
        (folder / "coverage.json").write_text(json.dumps({"coverage": 0.5}), encoding="utf-8")
        second, cached_coverage = build_tokenizer(kind, corpus)
        assert cached_coverage == 0.5 != coverage
        assert second.pieces == first.pieces and second.kind == kind
    uncached = small_corpus()  # no fingerprint: nothing cached, nothing written
    assert (
        build_tokenizer("char", uncached)[0].pieces == build_tokenizer("char", corpus, cache=False)[0].pieces
    )
    with pytest.raises(UserError, match="unknown tokenizer 'bpe'"):
        build_tokenizer("bpe", corpus)
    with pytest.raises(UserError, match="min_count"):
        build_tokenizer("char", corpus, min_count=0)


def test_load_tokenizer_errors(tmp_path):
    with pytest.raises(UserError, match="tokenizer file missing"):
        load_tokenizer(tmp_path)
    (tmp_path / TOKENIZER_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(UserError, match="not valid JSON"):
        load_tokenizer(tmp_path)
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps({"kind": "char", "pieces": [1, 2]}), encoding="utf-8")
    with pytest.raises(UserError, match="list of string 'pieces'"):
        load_tokenizer(tmp_path)
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps({"kind": "morse", "pieces": []}), encoding="utf-8")
    with pytest.raises(UserError, match="unknown tokenizer kind 'morse'"):
        load_tokenizer(tmp_path)
    (tmp_path / TOKENIZER_FILE).write_text(json.dumps({"kind": "char", "pieces": ["a"]}), encoding="utf-8")
    with pytest.raises(UserError, match="must start with the special pieces"):
        load_tokenizer(tmp_path)


# ---------------------------------------------------------------- the real corpus


@pytest.fixture(scope="module")
def tang(corpus_dir, tmp_path_factory):
    corpus = load_corpus(str(corpus_dir))
    # tokenizers trained here are cached in a private folder, not in the shared cache
    corpus.cache_dir = tmp_path_factory.mktemp("tokenizer_cache")
    return corpus


def test_char_round_trip_on_real_poems(tang):
    tokenizer, coverage = build_tokenizer("char", tang)
    assert coverage > 0.999
    texts = list(corpus_texts(tang, split="valid"))
    encoded = tokenizer.encode_many(texts)
    exact = 0
    for text, ids in zip(texts, encoded, strict=True):
        decoded = tokenizer.decode(ids)
        if tokenizer.unk_id not in ids:
            assert decoded == text
            exact += 1
        else:  # only the characters that became <unk> are missing
            assert decoded == "".join(ch for ch in text if tokenizer.encode(ch) != [tokenizer.unk_id])
    assert exact / len(texts) > 0.97


def test_sentencepiece_on_the_real_corpus(tang):
    tokenizer, coverage = build_tokenizer("sentencepiece", tang, vocab_size=8192)
    assert tokenizer.vocab_size == 8192 and coverage > 0.99
    check_common_layout(tokenizer)
    pieces = [tokenizer.piece_chars(i) for i in range(tokenizer.vocab_size)]
    assert sum(len(p) > 1 for p in pieces) > 1000  # real multi-character pieces, not just characters
    line_end = re.compile(f"[{PUNCTUATION}\\s]")
    assert not [p for p in pieces if len(p) > 1 and line_end.search(p)]  # no piece crosses a line end
    texts = [render_body(p.lines) for p in tang.poems if p.split in ("valid", "test")]
    encoded = tokenizer.encode_many(texts)
    for text, ids in zip(texts, encoded, strict=True):
        assert tokenizer.decode(ids) == text
        assert tokenizer.unk_id not in ids
    # Each piece lies inside one line: the lines can be rebuilt from the pieces between punctuation
    poem = next(p for p in tang.poems if p.split == "valid" and p.form == "qilv")
    lines, current = [], ""
    for piece_id in tokenizer.encode(poem.body):
        chars = tokenizer.piece_chars(piece_id)
        if chars in PUNCTUATION:
            lines.append(current)
            current = ""
        else:
            current += chars
    assert tuple(lines) == poem.lines


def test_a_sentencepiece_vocabulary_too_small_for_the_corpus_is_a_clear_error():
    # the fixture's 200 poems have about 1,700 characters: 512 pieces cannot cover them
    from poetry_rnn.corpus import load_corpus

    poems = load_corpus(
        str(Path(__file__).resolve().parent / "data" / "poet.tang.small.json"), use_cache=False
    )
    with pytest.raises(
        UserError, match=r"sp_vocab_size 512 is too small for this corpus: its characters need"
    ) as caught:
        SentencePieceTokenizer.train([poem.body for poem in poems.poems], vocab_size=512, threads=1)
    assert caught.value.field == "sp_vocab_size"
