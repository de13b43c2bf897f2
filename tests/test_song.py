"""Co-training on two corpora (Tang + Song, issue 13): tags in the tokenizer and the prefix, the sources in
config.json, the dedupe that keeps Tang held-out poems out of training, generation with the primary tag,
bad input (missing or malformed extra corpus), and models of the original single-corpus kind unchanged.

Data: written by each test into tmp_path in the chinese-poetry JSON shape: the 200 real Tang poems of
tests/data/poet.tang.small.json as the primary corpus, and a "Song" corpus made of those poems' lines in
another order (new bodies of the same forms), plus copies of Tang poems that must be dropped.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from process_state import kept_process_state  # noqa: E402

from poetry_rnn.cli import main as cli_main  # noqa: E402
from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.format import ConditioningDropout, conditioning_ids  # noqa: E402
from poetry_rnn.model import PoetryLM  # noqa: E402
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer, build_tokenizer  # noqa: E402
from poetry_rnn.training import TrainConfig, check_config, train  # noqa: E402
from poetry_rnn.training.sources import join_corpora, parse_extra_sources  # noqa: E402

SMALL_CORPUS = Path(__file__).resolve().parent / "data" / "poet.tang.small.json"
TINY = {"hidden_size": 32, "embedding_dim": 16, "num_layers": 1, "threads": 1, "device": "cpu"}


@pytest.fixture(autouse=True)
def _restore_process_state(tmp_path, monkeypatch):
    monkeypatch.setenv("POETRY_RNN_CACHE", str(tmp_path / "cache"))
    with kept_process_state():
        yield


@pytest.fixture
def corpora(tmp_path) -> dict:
    """tang/ (the 200 real poems) and song/ (the Tang train poems' couplets in reverse order: new bodies of
    the same forms, plus planted copies of Tang poems that must not reach training)."""
    records = json.loads(SMALL_CORPUS.read_text(encoding="utf-8"))
    tang = load_corpus(str(SMALL_CORPUS), use_cache=False)
    held_out = [p for p in tang.poems if p.split in ("valid", "test") and len(p.lines) >= 4]
    train_poems = [p for p in tang.poems if p.split == "train" and len(p.lines) >= 4]

    def couplets(lines) -> list[str]:
        return [lines[i] + "，" + lines[i + 1] + "。" for i in range(0, len(lines) - 1, 2)]

    song = [{"author": "宋人", "title": p.title, "paragraphs": couplets(p.lines)[::-1]} for p in train_poems]
    near = list(held_out[1].lines)
    near[-1] = near[-1][:-1] + ("山" if near[-1][-1] != "山" else "水")  # one character changed
    planted = [
        {"title": "重出", "paragraphs": couplets(held_out[0].lines)},  # a Tang held-out poem
        {"title": "異文", "paragraphs": couplets(near)},  # a variant reading of one
        {"title": "重出", "paragraphs": couplets(train_poems[0].lines)},  # a Tang train poem
    ]
    (tmp_path / "tang").mkdir()
    (tmp_path / "tang" / "poet.tang.0.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    (tmp_path / "song").mkdir()
    (tmp_path / "song" / "poet.song.0.json").write_text(
        json.dumps(song + planted, ensure_ascii=False), "utf-8"
    )
    return {"tang": tmp_path / "tang", "song": tmp_path / "song", "song_count": len(song),
            "held_out": held_out[:2]}  # fmt: skip


def two_source_config(corpora: dict, out: Path, **changes) -> TrainConfig:
    values = {"source": str(corpora["tang"]), "extra_sources": f"song={corpora['song']}", "out": str(out),
              "batch_tokens": 320, "epochs": 1, "max_steps": 6, "warmup_steps": 2, "seed": 3, **TINY,
              **changes}  # fmt: skip
    return TrainConfig(**values)


# ------------------------------------------------------------------------------------------ the corpus
def test_join_tags_every_poem_and_drops_copies_of_tang_poems(corpora):
    tang = load_corpus(str(corpora["tang"]), use_cache=False)
    song = load_corpus(str(corpora["song"]), use_cache=False)
    joined, report = join_corpora(tang, "tang", [("song", song)])
    assert {p.source for p in joined.poems} == {"tang", "song"}
    assert report["song"]["duplicate"] == 2 and report["song"]["near_held_out"] == 1  # planted copies
    assert report["song"]["train"] == corpora["song_count"]
    # Tang keeps its poems and split; Song is training data only
    assert [p for p in joined.poems if p.source == "tang"] == [replace(p, source="tang") for p in tang.poems]
    assert {p.split for p in joined.poems if p.source == "song"} == {"train"}
    assert joined.split("valid") == [p for p in joined.poems if p.source == "tang" and p.split == "valid"]
    # no Tang held-out poem, nor most of one, reaches training through a Song copy
    train_bodies = {"".join(p.lines) for p in joined.split("train")}
    held_lines = [set(p.lines) for p in tang.poems if p.split in ("valid", "test")]
    for poem in joined.split("train"):
        if poem.source == "song":
            assert "".join(poem.lines) not in {"".join(p.lines) for p in corpora["held_out"]}
            assert all(2 * len(set(poem.lines) & lines) < len(poem.lines) or len(set(poem.lines) & lines) < 2
                       for lines in held_lines)  # fmt: skip
    assert len(train_bodies) == len(joined.split("train"))  # one copy of each body


def test_tokenizer_has_a_tag_per_source_and_the_prefix_starts_with_it(corpora):
    tang = load_corpus(str(corpora["tang"]), use_cache=False)
    song = load_corpus(str(corpora["song"]), use_cache=False)
    joined, _ = join_corpora(tang, "tang", [("song", song)])
    tokenizer, _ = build_tokenizer("char", joined, cache=False, sources=("tang", "song"))
    assert tokenizer.sources == ("tang", "song") and tokenizer.primary_source == "tang"
    assert tokenizer.pieces[-2:] == ["<tang>", "<song>"]
    tang_id, song_id = tokenizer.piece_to_id("<tang>"), tokenizer.piece_to_id("<song>")
    assert {tang_id, song_id} <= tokenizer.special_ids and tokenizer.decode([tang_id, song_id]) == ""
    assert tang_id not in tokenizer.encode("<tang>")  # text never turns into a tag
    assert conditioning_ids(tokenizer, form="wujue")[:2] == [tang_id, tokenizer.form_id("wujue")]
    assert conditioning_ids(tokenizer, source="song")[0] == song_id
    song_poem = next(p for p in joined.poems if p.source == "song")
    from poetry_rnn.training.data import encode_poems, epoch_examples

    keep_all = ConditioningDropout(form=0.0, title=0.0, keywords=0.0)
    song_example = epoch_examples(encode_poems([song_poem], tokenizer, None), tokenizer, 1, 0, 200, keep_all)[
        0
    ]
    assert song_example[:2] == [song_id, tokenizer.form_id(song_poem.form)]
    with pytest.raises(UserError, match="yuan"):
        conditioning_ids(tokenizer, source="yuan")
    # the training loop's sequences: each poem's own tag first, kept when the form tag is dropped
    train_poems = joined.split("train")
    examples = epoch_examples(
        encode_poems(train_poems, tokenizer, None), tokenizer, seed=1, epoch=0, max_len=200
    )
    assert [ids[0] for ids in examples] == [tokenizer.source_ids[p.source] for p in train_poems]
    assert any(ids[1] == tokenizer.bos_id for ids in examples)  # some with the form tag dropped
    # saved and loaded, the tags come back as tags
    directory = corpora["tang"].parent / "tok"
    tokenizer.save(directory)
    from poetry_rnn.tokenizer import load_tokenizer

    assert load_tokenizer(directory).sources == ("tang", "song")


def test_a_single_corpus_tokenizer_has_no_tag_and_the_old_prefix():
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *"白日依山盡"])
    assert tokenizer.sources == () and tokenizer.primary_source is None
    assert conditioning_ids(tokenizer, form="wujue") == [tokenizer.form_id("wujue"), tokenizer.bos_id]
    assert conditioning_ids(tokenizer, form="wujue", source="tang")[0] == tokenizer.form_id("wujue")


def test_the_reported_conditioning_names_a_source_tag_only_where_the_model_has_one():
    from poetry_rnn.perplexity import conditioning_text

    single = CharTokenizer([*SPECIALS, *PUNCTUATION, *"白日依山盡"])
    joint = CharTokenizer([*SPECIALS, *PUNCTUATION, *"白日依山盡", "<tang>", "<song>"])
    assert "form tag" in conditioning_text(single) and "<" not in conditioning_text(single)
    assert conditioning_text(joint).startswith("<tang>") and "form tag" in conditioning_text(joint)
    assert "<song>" not in conditioning_text(joint)  # only the primary source is read


# ------------------------------------------------------------------------------------------ training
def test_two_source_training_records_the_sources_and_generates_with_the_tang_tag(
    corpora, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "run"
    summary = train(two_source_config(corpora, out, primary_repeat=2, embedding_dropout=0.1,
                                      locked_dropout=True))  # fmt: skip
    assert summary["steps"] == 6 and summary["best_valid_char_ppl"] is not None
    config = json.loads((out / "best" / "config.json").read_text(encoding="utf-8"))
    assert config["sources"] == ["tang", "song"]
    assert config["embedding_dropout"] == 0.1 and config["locked_dropout"] is True
    model = PoetryLM.from_pretrained(out / "best")
    assert model.tokenizer.sources == ("tang", "song") and model.config.sources == ("tang", "song")

    from poetry_rnn.generation import generator as generator_module

    prefixes = []

    def recording(*args, **kwargs):
        ids = conditioning_ids(*args, **kwargs)
        prefixes.append(ids)
        return ids

    monkeypatch.setattr(generator_module, "conditioning_ids", recording)
    generator = generator_module.PoetryGenerator.from_pretrained(
        out / "best", corpus_source=str(corpora["tang"])
    )
    poems = generator.generate(form="wujue", rhyme_scheme="none", seed=1)
    assert poems and len(poems[0].lines) == 4
    tang_id = model.tokenizer.piece_to_id("<tang>")
    assert prefixes and all(ids[0] == tang_id for ids in prefixes)

    # evaluate scores the Tang test split, conditioned on <tang>; from the raw corpus or a prepared file alike
    from poetry_rnn.prepared import main as prepare

    prepared = tmp_path / "tang.prepared.json.gz"
    assert prepare(["--source", str(corpora["tang"]), "--out", str(prepared)]) == 0
    capsys.readouterr()
    figures = []
    for data in (corpora["tang"], prepared):
        assert cli_main(["evaluate", "--model", str(out / "best"), "--data", str(data), "--json"]) == 0
        figures.append(json.loads(capsys.readouterr().out))
    assert figures[0]["source"] == "tang" and figures[0]["poems"] > 0
    assert figures[0]["conditioning"].startswith("<tang>")
    assert figures[0]["char_ppl"] == figures[1]["char_ppl"] and figures[0]["poems"] == figures[1]["poems"]
    assert figures[0]["bodies"] == "clean"
    raw = []
    for data in (corpora["tang"], prepared):
        assert cli_main(["evaluate", "--model", str(out / "best"), "--data", str(data), "--json",
                         "--bodies", "raw"]) == 0  # fmt: skip
        raw.append(json.loads(capsys.readouterr().out))
    assert raw[0]["char_ppl"] == raw[1]["char_ppl"] and raw[0]["bodies"] == "raw"
    argv = ["evaluate", "--model", str(out / "best"), "--data", str(prepared), "--split", "train"]
    assert cli_main(argv) == 2 and "valid and test bodies only" in capsys.readouterr().err


def test_a_prepared_corpus_reads_the_same_from_xz_and_gzip_and_a_damaged_one_is_refused(corpora, tmp_path):
    from poetry_rnn.prepared import main as prepare
    from poetry_rnn.prepared import read_prepared

    xz, gz = tmp_path / "tang.prepared.json.xz", tmp_path / "tang.prepared.json.gz"
    for path in (xz, gz):
        assert prepare(["--source", str(corpora["tang"]), "--out", str(path)]) == 0
    assert xz.read_bytes()[:6] == b"\xfd7zXZ\x00" and gz.read_bytes()[:2] == b"\x1f\x8b"

    def contents(path: Path) -> tuple:
        corpus, keywords, eval_bodies = read_prepared(path)
        return corpus.poems, keywords, eval_bodies

    assert contents(xz) == contents(gz) and len(contents(xz)[0]) > 0
    # by content, not name: an xz file under a .gz name still reads
    renamed = tmp_path / "renamed.prepared.json.gz"
    renamed.write_bytes(xz.read_bytes())
    assert contents(renamed) == contents(xz)
    damaged = tmp_path / "damaged.prepared.json.xz"
    damaged.write_bytes(xz.read_bytes()[: len(xz.read_bytes()) // 2])
    with pytest.raises(UserError, match="not a readable prepared corpus"):
        read_prepared(damaged)
    with pytest.raises(SystemExit):  # another ending is refused by the command, naming both
        prepare(["--source", str(corpora["tang"]), "--out", str(tmp_path / "tang.json")])


def _allow_steps(run: Path, max_steps: int) -> None:
    """The run stopped at its step budget, given a larger one: it has steps left to resume."""
    settings = json.loads((run / "train_config.json").read_text(encoding="utf-8"))
    (run / "train_config.json").write_text(json.dumps({**settings, "max_steps": max_steps}), encoding="utf-8")


def test_resume_of_a_two_source_run(corpora, tmp_path):
    out = tmp_path / "run"
    train(two_source_config(corpora, out, max_steps=3))
    _allow_steps(out, 5)
    summary = train(two_source_config(corpora, out), resume=True)  # (the run's saved settings rule)
    assert summary["steps"] == 5  # continued from the checkpoint's step, with the checkpoint's tokenizer
    assert json.loads((out / "best" / "config.json").read_text(encoding="utf-8"))["sources"] == [
        "tang",
        "song",
    ]


def test_prepared_corpora_train_with_the_keywords_they_carry_and_compute_none(corpora, tmp_path, monkeypatch):
    """The GPU recipe: a prepared Tang file with keywords, a prepared Song file without (the GPU machine has
    no jieba): Song poems train without the <kw> part, and no keyword is computed."""
    import poetry_rnn.keywords
    from poetry_rnn.prepared import main as prepare
    from poetry_rnn.training import loop
    from poetry_rnn.training.data import encode_poems

    tang_file, song_file = tmp_path / "tang.prepared.json.xz", tmp_path / "song.prepared.json.xz"
    assert prepare(["--source", str(corpora["tang"]), "--out", str(tang_file), "--keywords"]) == 0
    assert prepare(["--source", str(corpora["song"]), "--out", str(song_file)]) == 0

    def forbidden(*args, **kwargs):
        raise AssertionError("keywords were computed")

    seen = {}

    def recording(poems, tokenizer, keywords, *args, **kwargs):
        seen.update(poems=poems, keywords=keywords)
        return encode_poems(poems, tokenizer, keywords, *args, **kwargs)

    monkeypatch.setattr(poetry_rnn.keywords, "corpus_keywords", forbidden)
    monkeypatch.setattr(loop, "encode_poems", recording)
    train(two_source_config(corpora, tmp_path / "run", source=str(tang_file), extra_sources=f"song={song_file}",
                            keywords=True, max_steps=2))  # fmt: skip
    song_poems = [p for p in seen["poems"] if p.source == "song"]
    tang_poems = [p for p in seen["poems"] if p.source == "tang"]
    assert len(song_poems) == corpora["song_count"] and all(
        seen["keywords"][p.body] == [] for p in song_poems
    )
    assert sum(bool(seen["keywords"].get(p.body)) for p in tang_poems) > len(tang_poems) // 2


def test_keywords_asked_of_a_prepared_corpus_without_them_are_refused(corpora, tmp_path):
    """It trained without keywords and saved a model that said it had them."""
    from poetry_rnn.prepared import main as prepare

    plain = tmp_path / "tang.prepared.json.xz"
    assert prepare(["--source", str(corpora["tang"]), "--out", str(plain)]) == 0
    with pytest.raises(UserError, match="carries no keywords: prepare it with --keywords") as caught:
        train(two_source_config(corpora, tmp_path / "run", source=str(plain), keywords=True, max_steps=2))
    assert caught.value.field == "keywords" and not (tmp_path / "run" / "best").exists()


def test_the_cli_takes_extra_source(corpora, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["train", "--source", str(corpora["tang"]), "--extra-source", f"song={corpora['song']}",
            "--out", str(out), "--max-steps", "2", "--epochs", "1", "--batch-tokens", "320",
            "--hidden-size", "32", "--embedding-dim", "16", "--num-layers", "1", "--threads", "1",
            "--device", "cpu"]  # fmt: skip
    assert cli_main(argv) == 0
    assert "source song:" in capsys.readouterr().err
    assert json.loads((out / "train_config.json").read_text())["extra_sources"] == f"song={corpora['song']}"


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "text, fragment",
    [
        ("song", "name=location"),
        ("Song=x", "source name 'Song'"),
        ("tang=x", "used twice"),
        ("song=a,song=b", "used twice"),
        ("title=x", "source name 'title'"),
    ],
)
def test_malformed_extra_sources_are_refused_before_reading(text, fragment):
    with pytest.raises(UserError, match=fragment) as caught:
        check_config(TrainConfig(extra_sources=text))
    assert caught.value.field in ("extra_sources", "source_name")
    with pytest.raises(UserError, match="source name"):
        parse_extra_sources("song=x", "Tang!")


@pytest.mark.parametrize("name", ["no-such-song", "no-such-song.prepared.json.gz"])
def test_a_missing_song_folder_is_a_clear_error(corpora, tmp_path, capsys, monkeypatch, name):
    from poetry_rnn.training import data

    def forbidden(*args, **kwargs):
        raise AssertionError("the Tang corpus was read before the Song folder was found missing")

    monkeypatch.setattr(data, "load_corpus", forbidden)
    missing = tmp_path / name
    argv = ["train", "--source", str(corpora["tang"]), "--extra-source", f"song={missing}",
            "--out", str(tmp_path / "run"), "--max-steps", "1", "--device", "cpu"]  # fmt: skip
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "extra source song" in err and str(missing) in err


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('[{"title": "x", "paragraphs": ["白日依山盡，黃河入海流。"]', "not valid JSON"),
        ('{"poems": 3}', "no record has a poem body"),
        ("[1, 2, 3]", "not a JSON object"),
    ],
)
def test_a_malformed_song_file_is_a_clear_error_naming_it(corpora, tmp_path, content, fragment):
    bad = tmp_path / "bad-song"
    bad.mkdir()
    (bad / "poet.song.0.json").write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=fragment) as caught:
        train(two_source_config(corpora, tmp_path / "run", extra_sources=f"song={bad}"))
    assert str(bad / "poet.song.0.json") in str(caught.value) and "extra source song" in str(caught.value)


def test_a_co_trained_model_fine_tunes_on_its_primary_corpus_alone(corpora, tmp_path, monkeypatch):
    import poetry_rnn.training.loop as loop
    from poetry_rnn.training.data import encode_poems

    base = tmp_path / "base"
    train(two_source_config(corpora, base, max_steps=2))
    source_tags = []

    def recording(poems, tokenizer, *args, **kwargs):
        encoded = encode_poems(poems, tokenizer, *args, **kwargs)
        source_tags.extend(tuple(example[0]) for example in encoded)
        return encoded

    monkeypatch.setattr(loop, "encode_poems", recording)
    out = tmp_path / "tang-only"
    summary = train(
        two_source_config(corpora, out, extra_sources="", init_from=str(base / "best"), max_steps=2)
    )
    assert summary["steps"] == 2
    tang_id = PoetryLM.from_pretrained(base / "best").tokenizer.piece_to_id("<tang>")
    assert source_tags and set(source_tags) == {(tang_id,)}  # every Tang poem trains with the Tang tag
    tuned = PoetryLM.from_pretrained(out / "best")
    assert tuned.tokenizer.sources == ("tang", "song") and tuned.config.sources == ("tang", "song")
    # the fine-tune resumes from its checkpoint, whose tokenizer has the tags its corpus has not
    _allow_steps(out, 4)
    resumed = train(
        two_source_config(corpora, out, extra_sources="", init_from=str(base / "best")), resume=True
    )
    assert resumed["steps"] == 4
    assert PoetryLM.from_pretrained(out / "best").config.sources == ("tang", "song")
    # a primary corpus of another name is a different corpus: refused, naming both
    other = two_source_config(corpora, tmp_path / "x", extra_sources="", init_from=str(base / "best"),
                              source_name="song")  # fmt: skip
    with pytest.raises(UserError, match=r"sources \['tang', 'song'\], the corpus \[\]"):
        train(other)


def test_config_sources_must_match_the_tokenizer(corpora, tmp_path):
    out = tmp_path / "run"
    train(two_source_config(corpora, out, max_steps=2))
    config_file = out / "best" / "config.json"
    document = json.loads(config_file.read_text(encoding="utf-8"))
    del document["sources"]  # an old-format config.json beside a tagged tokenizer
    config_file.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(UserError, match="different models"):
        PoetryLM.from_pretrained(out / "best")


# ------------------------------------------------------------------------------------------ the old kind
def test_the_shipped_model_is_co_trained_and_writes_with_the_tang_tag(shipped):
    tokenizer = shipped.tokenizer
    assert tokenizer.sources == ("tang", "song") and shipped.model.config.sources == ("tang", "song")
    tang_id = tokenizer.piece_to_id("<tang>")
    assert conditioning_ids(tokenizer, form="qijue") == [
        tang_id,
        tokenizer.form_id("qijue"),
        tokenizer.bos_id,
    ]
    assert shipped.generate(form="qijue", seed=3)[0].lines


def test_a_model_of_the_single_corpus_kind_loads_and_writes_as_before(tmp_path):
    """The models shipped before the co-trained one have no sources: no tag in their prefix, same API."""
    from tiny_model import tiny_model_for_tests

    from poetry_rnn.generation import PoetryGenerator

    characters = sorted({c for p in load_corpus(str(SMALL_CORPUS), use_cache=False).poems for c in p.body})
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *[c for c in characters if c not in PUNCTUATION]])
    tiny_model_for_tests(tokenizer, seed=2).save_pretrained(tmp_path / "single")
    assert "sources" not in json.loads((tmp_path / "single" / "config.json").read_text(encoding="utf-8"))
    generator = PoetryGenerator.from_pretrained(tmp_path / "single", corpus_source=str(SMALL_CORPUS))
    assert generator.model.tokenizer.sources == ()
    assert conditioning_ids(generator.model.tokenizer, form="wujue")[0] == tokenizer.form_id("wujue")
    poems = generator.generate(form="wujue", rhyme_scheme="none", tone="off", seed=1)
    assert poems and [len(line) for line in poems[0].lines] == [5, 5, 5, 5]


def test_a_single_corpus_run_saves_no_source_keys(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(source=str(SMALL_CORPUS), out=str(out), batch_tokens=320, epochs=1, max_steps=2,
                      warmup_steps=1, **TINY))  # fmt: skip
    config = json.loads((out / "best" / "config.json").read_text(encoding="utf-8"))
    assert not {"sources", "embedding_dropout", "locked_dropout"} & set(config)
    assert PoetryLM.from_pretrained(out / "best").tokenizer.sources == ()


def test_sentencepiece_tokenizer_keeps_its_source_tags(tmp_path):
    from poetry_rnn.tokenizer import SentencePieceTokenizer, load_tokenizer

    texts = [p.body for p in load_corpus(str(SMALL_CORPUS), use_cache=False).poems]
    tokenizer, _ = SentencePieceTokenizer.train(texts, vocab_size=2500, sources=("tang", "song"))
    assert tokenizer.sources == ("tang", "song") and tokenizer.pieces[-1] == "<song>"
    tokenizer.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert loaded.sources == ("tang", "song") and loaded.encode(texts[0]) == tokenizer.encode(texts[0])
    assert conditioning_ids(loaded, form="wulv")[0] == loaded.piece_to_id("<tang>")


# ------------------------------------------------------------------------------------------ regularisation
def test_locked_and_embedding_dropout_in_training_only():
    import torch

    from poetry_rnn.model import ModelConfig

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=50, embedding_dim=8, hidden_size=8, num_layers=1, dropout=0.5,
                         output_layer="full", embedding_dropout=0.5, locked_dropout=True)  # fmt: skip
    model = PoetryLM(config).train()
    values = torch.ones(3, 20, 8)
    dropped = model.drop(values)
    assert torch.equal(dropped[:, :1].expand_as(dropped), dropped)  # one mask for every time step
    assert (dropped == 0).any() and (dropped == 2).any()
    ids = torch.arange(50).repeat(2, 1)  # every piece twice in a row
    embedded = model.embed(ids)
    gone = embedded[0].abs().sum(-1) == 0
    assert gone.any() and not gone.all() and torch.equal(gone, embedded[1].abs().sum(-1) == 0)
    model.eval()
    assert torch.equal(model.drop(values), values) and torch.equal(model.embed(ids), model.embedding(ids))
    with pytest.raises(UserError, match="embedding_dropout"):
        ModelConfig(vocab_size=50, embedding_dropout=1.0)
    with pytest.raises(UserError, match="sources"):
        ModelConfig(vocab_size=50, sources=("tang", "tang"))
    with pytest.raises(UserError, match="embedding_dropout"):
        check_config(TrainConfig(embedding_dropout=-0.1))
