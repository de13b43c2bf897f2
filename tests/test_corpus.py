"""The corpus: every source shape, every cleaning rule, the split, the cache, bad input, training examples."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

# Tests never touch the network: `datasets` reads these when it is first imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from poetry_rnn import cli  # noqa: E402
from poetry_rnn.cleaning import FORMS, clean_body, clean_title, detect_form, split_of  # noqa: E402
from poetry_rnn.corpus import Poem, load_corpus, to_script  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.format import MAX_TITLE_CHARS, ConditioningDropout, conditioning_ids, render_body  # noqa: E402
from poetry_rnn.tokenizer import SPECIALS, CharTokenizer  # noqa: E402
from poetry_rnn.training.data import encode_poems, epoch_examples  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
JINGYESI = ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]
DENGGUAN = ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]
LIANGZHOU = ["黃河遠上白雲間，一片孤城萬仞山。", "羌笛何須怨楊柳，春風不度玉門關。"]
CHUNWANG = [
    "國破山河在，城春草木深。",
    "感時花濺淚，恨別鳥驚心。",
    "烽火連三月，家書抵萬金。",
    "白頭搔更短，渾欲不勝簪。",
]


def record(title: str, paragraphs, author: str = "佚名", **extra) -> dict:
    return {"author": author, "title": title, "paragraphs": paragraphs, "id": title, **extra}


def write_json(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def cache(tmp_path) -> Path:
    """A private cache for `datasets` and for ours, so tests neither read nor leave shared caches."""
    return tmp_path / "cache"


# ---------------------------------------------------------------- cleaning rules


def test_variant_readings_and_notes_are_removed():
    lines, reason = clean_body(["白日依山盡（一作「落」），黃河入海流。", "欲窮千里目(一作望)，更上一層樓。"])
    assert reason is None
    assert lines == ("白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓")


def test_nested_notes_and_footnote_marks_are_removed():
    text = "白日依山盡[一]，黃河入海流〖1〗。欲窮千里目，更上一層樓。（注（見《某集》（卷三））：此詩一作朱斌。）"
    assert clean_body(text) == (("白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓"), None)


def test_notes_spanning_items_are_removed_whole():
    paragraphs = ["白日依山盡，黃河入海流。", "（此詩一作", "朱斌作。）", "欲窮千里目，更上一層樓。"]
    assert clean_body(paragraphs)[0] == ("白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓")


def test_restored_text_in_square_brackets_is_kept():
    assert clean_body("[汀]洲無浪復無煙，楚客相思益渺然。")[0] == ("汀洲無浪復無煙", "楚客相思益渺然")
    assert clean_body("菊花催晚［氣］，萸房避早寒。")[0] == ("菊花催晚氣", "萸房避早寒")


def test_a_note_cut_off_at_the_end_is_dropped_but_one_left_open_mid_line_drops_the_poem():
    assert clean_body(["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。（見《全唐詩》卷"])[0] == (
        "白日依山盡",
        "黃河入海流",
        "欲窮千里目",
        "更上一層樓",
    )
    assert clean_body("白日依山盡（一作，黃河入海流。") == (None, "unbalanced_note")
    assert clean_body("白日依山盡），黃河入海流。欲窮千里目，更上一層樓。") == (None, "unbalanced_note")


def test_missing_glyphs_drop_the_poem():
    for body in (
        "白日依山□，黃河入海流。",  # box
        "疲{艹/尔}竟何人，黃河入海流。",  # a description of a character Unicode lacks
        "白日依山\ue829，黃河入海流。",  # private use
        "⿰木養深黃狖小，地煗白雲多。",  # ideographic description character
        "白日依山●，黃河入海流。",
    ):
        assert clean_body(body) == (None, "missing_glyph"), body


def test_characters_marked_lost_drop_the_poem():
    # 囗 is the editors' mark for a lost character: a CJK code point, yet no character of the poem.
    for body in ("近城多囗囗，棲息此中安。", ["白日依山盡，黃河入[囗]流。"], "白日依山囗，黃河入海流。"):
        assert clean_body(body) == (None, "lost_character"), body
    # inside an editorial note it is the note's, which goes; the poem stays
    assert clean_body("白日依山盡（一作囗），黃河入海流。") == (("白日依山盡", "黃河入海流"), None)


def test_non_cjk_characters_drop_the_poem():
    assert clean_body("Ｂ亂後碧井廢，時清瑤殿深。") == (None, "non_cjk")
    assert clean_body("白日依山盡abc，黃河入海流。") == (None, "non_cjk")
    assert clean_body("拭淚聽猿嗁/。骨肉初分愛。") == (None, "non_cjk")


def test_characters_beyond_the_basic_plane_are_cjk():
    assert clean_body("高𩅸愁晨坐，空階警夜眠。")[0] == ("高𩅸愁晨坐", "空階警夜眠")


def test_punctuation_is_normalised_and_splits_lines():
    lines, _ = clean_body("白日依山盡,黃河入海流.欲窮千里目：更上一層樓!")
    assert lines == ("白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓")
    assert render_body(lines) == "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
    assert clean_body("問君何能爾？心遠地自偏；")[0] == ("問君何能爾", "心遠地自偏")


def test_list_items_are_lines_even_without_punctuation():
    assert clean_body(["白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓"])[0] == (
        "白日依山盡",
        "黃河入海流",
        "欲窮千里目",
        "更上一層樓",
    )


def test_quotes_and_spaces_are_removed():
    assert clean_body("「白日依山盡」， 黃河入海流。")[0] == ("白日依山盡", "黃河入海流")


def test_variant_characters_are_mapped_consistently():
    assert clean_body("誰爲表予心，羣山萬壑赴荊門。")[0] == ("誰為表予心", "群山萬壑赴荊門")
    assert clean_title("爲有暗香來") == "為有暗香來"


def test_empty_missing_short_and_bad_bodies_have_reasons():
    assert clean_body(None) == (None, "no_body")
    assert clean_body([]) == (None, "empty")
    assert clean_body(["。"]) == (None, "empty")
    assert clean_body("（全是注釋。）") == (None, "empty")
    assert clean_body("空") == (None, "too_short")
    assert clean_body([1, 2]) == (None, "bad_body")
    assert clean_body({"a": "b"}) == (None, "bad_body")


def test_titles_lose_notes_and_quotes():
    assert clean_title("《在嶽詠蟬》（一作在獄詠蟬）") == "在嶽詠蟬"
    assert clean_title("山居洞前得杜鵑花走筆偶成以（") == "山居洞前得杜鵑花走筆偶成以"
    assert clean_title(None) == ""


def test_detect_form():
    assert detect_form(clean_body(JINGYESI)[0]) == "wujue"
    assert detect_form(clean_body(LIANGZHOU)[0]) == "qijue"
    assert detect_form(clean_body(CHUNWANG)[0]) == "wulv"
    assert detect_form(["一二三四五六七"] * 8) == "qilv"
    assert detect_form(line for line in ["一二三四五"] * 4) == "wujue"  # any iterable, even a generator
    assert detect_form(["一二三四五"] * 6) == "other"
    assert detect_form(["一二三四五", "一二三四五六七", "一二三四五", "一二三四五"]) == "other"
    assert detect_form([]) == "other"


def test_split_is_a_fixed_function_of_the_body():
    lines = clean_body(DENGGUAN)[0]
    # sha1 of the body's characters: the same on every machine and in every process
    assert split_of(lines) == "train"
    assert split_of(["國破山河在", "城春草木深"]) == split_of(("國破山河在", "城春草木深"))
    assert {split_of([f"第{i}首"]) for i in range(300)} == {"train", "valid", "test"}


# ---------------------------------------------------------------- source shapes


def test_chinese_poetry_json_folder(tmp_path, cache):
    folder = tmp_path / "tang"
    write_json(
        folder / "poet.tang.0.json", [record("靜夜思", JINGYESI, "李白"), record("登鸛雀樓", DENGGUAN)]
    )
    # Optional keys in some files only (tags, notes), as upstream
    write_json(
        folder / "poet.tang.1000.json", [record("春望", CHUNWANG, "杜甫", tags=["五言律詩"], notes=[])]
    )
    write_json(folder / "authors.tang.json", [{"name": "李白", "desc": "..."}])  # not poems: skipped
    corpus = load_corpus(str(folder), cache_dir=cache)
    assert corpus.report["read"] == 3 and corpus.report["kept"] == 3
    titles = {p.title: p for p in corpus.poems}
    assert titles["靜夜思"].author == "李白" and titles["靜夜思"].form == "wujue"
    assert titles["春望"].form == "wulv"
    assert titles["春望"].body == "".join(CHUNWANG)
    glob_corpus = load_corpus(str(folder / "poet.tang.1*.json"), cache_dir=cache)
    assert [p.title for p in glob_corpus.poems] == ["春望"]


def test_json_with_extra_keys_and_string_bodies_is_read_record_by_record(tmp_path, cache):
    folder = tmp_path / "mixed"
    write_json(folder / "a.json", [record("登鸛雀樓", DENGGUAN, rhythmic="x", volume=3)])
    write_json(folder / "b.json", [record("靜夜思", "".join(JINGYESI))])  # body as one string
    corpus = load_corpus(str(folder), cache_dir=cache)
    assert sorted(p.title for p in corpus.poems) == ["登鸛雀樓", "靜夜思"]
    assert all(p.form == "wujue" for p in corpus.poems)


def test_jsonl_with_string_body_and_column_mapping(tmp_path, cache):
    path = tmp_path / "poems.jsonl"
    rows = [
        {"name": "靜夜思", "writer": "李白", "content": "".join(JINGYESI)},
        {"name": "涼州詞", "writer": "王之渙", "content": "\n".join(LIANGZHOU)},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    corpus = load_corpus(str(path), columns={"title": "name", "author": "writer"}, cache_dir=cache)
    poems = {p.title: p for p in corpus.poems}
    assert poems["涼州詞"].author == "王之渙" and poems["涼州詞"].form == "qijue"
    assert poems["靜夜思"].lines == ("床前明月光", "疑是地上霜", "舉頭望明月", "低頭思故鄉")


def test_parquet_in_both_shapes(tmp_path, cache):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lists = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"title": ["春望"], "paragraphs": [CHUNWANG]}), lists)
    assert load_corpus(str(lists), cache_dir=cache).poems[0].form == "wulv"
    strings = tmp_path / "strings.parquet"
    pq.write_table(pa.table({"poem_title": ["登鸛雀樓"], "text": ["".join(DENGGUAN)]}), strings)
    corpus = load_corpus(str(strings), columns={"title": "poem_title"}, cache_dir=cache)
    assert corpus.poems[0].title == "登鸛雀樓" and corpus.poems[0].form == "wujue"


def test_hub_shape_through_a_local_dataset_folder(tmp_path, cache):
    """`hf:` goes through `datasets.load_dataset(id)`; a local folder with a parquet file is a dataset id
    that needs no network, with the Hub's shape: one string body, other column names, a split."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "hub_like" / "data"
    folder.mkdir(parents=True)
    table = pa.table({"name": ["涼州詞", "靜夜思"], "content": ["".join(LIANGZHOU), "".join(JINGYESI)]})
    pq.write_table(table, folder / "train-00000-of-00001.parquet")
    source = f"hf:{tmp_path / 'hub_like'}@train"
    corpus = load_corpus(source, columns={"body": "content", "title": "name"}, cache_dir=cache)
    assert sorted((p.title, p.form) for p in corpus.poems) == [("涼州詞", "qijue"), ("靜夜思", "wujue")]
    again = load_corpus(source, columns={"body": "content", "title": "name"}, cache_dir=cache)
    assert again.report["cached"] is True  # keyed by the fingerprint `datasets` gives what it loaded
    assert again.poems == corpus.poems


def test_exact_duplicates_are_dropped_and_counted(tmp_path, cache):
    folder = tmp_path / "dups"
    write_json(
        folder / "a.json",
        [
            record("登鸛雀樓", DENGGUAN),
            record("登鸛雀樓 又", DENGGUAN),  # the same body under another title
            record("with a note", ["白日依山盡，黃河入海流。", "欲窮千里目（一作望），更上一層樓。"]),
            record("詠蟬", ["露重飛難進，風多響易沈。", "無人信高潔，誰爲表予心。"]),
            record("詠蟬 又", ["露重飛難進，風多響易沈。", "無人信高潔，誰為表予心。"]),  # 爲/為
            record("different", JINGYESI),
        ],
    )
    corpus = load_corpus(str(folder), cache_dir=cache)
    assert corpus.report["dropped"] == {"duplicate": 3}
    assert [p.title for p in corpus.poems] == ["登鸛雀樓", "詠蟬", "different"]


def test_report_counts_every_drop_by_reason(tmp_path, cache):
    folder = tmp_path / "drops"
    write_json(
        folder / "a.json",
        [
            record("ok", DENGGUAN),
            record("box", ["白日依山□，黃河入海流。"]),
            record("latin", ["白日依山盡abc，黃河入海流。"]),
            {"author": "x", "title": "no paragraphs", "id": "9"},
            record("empty", ["。"]),
        ],
    )
    report = load_corpus(str(folder), cache_dir=cache).report
    assert report["read"] == 5 and report["kept"] == 1
    assert report["dropped"] == {"missing_glyph": 1, "no_body": 1, "non_cjk": 1, "empty": 1}
    assert report["forms"] == {"wujue": 1, "qijue": 0, "wulv": 0, "qilv": 0, "other": 0}


def test_a_poem_with_a_lost_character_is_dropped_with_its_own_reason(tmp_path, cache, capsys):
    from poetry_rnn.perplexity import evaluation_bodies

    folder = tmp_path / "gaps"
    write_json(
        folder / "a.json",
        [
            record("登鸛雀樓", DENGGUAN),
            record("殘篇", ["白日依山盡，黃河入囗流。", "欲窮千里目，更上一層樓。"]),
        ],
    )
    corpus = load_corpus(str(folder), cache_dir=cache)
    assert corpus.report["dropped"] == {"lost_character": 1}
    assert [p.title for p in corpus.poems] == ["登鸛雀樓"]
    code, out, _ = data_cli(capsys, "--source", str(folder), "--cache-dir", str(tmp_path / "c"))
    assert code == 0 and re.search(r"dropped lost_character +1\n", out) and "kept            1" in out
    split = corpus.poems[0].split
    assert evaluation_bodies(str(folder), split) == [
        ("白日依山盡，黃河入海流。欲窮千里目，更上一層樓。", "wujue")
    ]


def test_evaluation_scores_the_cleaned_bodies_unless_asked_for_the_raw_ones(tmp_path, cache):
    from poetry_rnn.perplexity import corpus_bodies, evaluation_bodies

    folder = tmp_path / "noisy"
    write_json(
        folder / "a.json",
        [record("登鸛雀樓", ["白日依山盡（一作落），黃河入海流？", "欲窮千里目，更上一層樓。"])],
    )
    split = load_corpus(str(folder), cache_dir=cache).poems[0].split
    clean = evaluation_bodies(str(folder), split)
    assert clean == [("白日依山盡，黃河入海流。欲窮千里目，更上一層樓。", "wujue")]
    assert clean == corpus_bodies(load_corpus(str(folder), cache_dir=cache), split)  # the training's bodies
    assert evaluation_bodies(str(folder), split, bodies="raw") == [
        ("白日依山盡（一作落），黃河入海流？欲窮千里目，更上一層樓。", "wujue")
    ]
    with pytest.raises(ValueError, match="bodies must be one of"):
        evaluation_bodies(str(folder), split, bodies="cleaned")


# ---------------------------------------------------------------- cache


def test_cleaned_corpus_is_cached_and_rebuilt_when_the_source_changes(tmp_path, cache):
    path = write_json(tmp_path / "src" / "a.json", [record("登鸛雀樓", DENGGUAN)])
    first = load_corpus(str(path.parent), cache_dir=cache)
    assert first.report["cached"] is False
    assert list((cache / "poetry_rnn").glob("corpus-*.json"))
    second = load_corpus(str(path.parent), cache_dir=cache)
    assert second.report["cached"] is True
    assert second.poems == first.poems and second.fingerprint == first.fingerprint
    write_json(path, [record("登鸛雀樓", DENGGUAN), record("靜夜思", JINGYESI)])
    os.utime(path, ns=(1, 1))  # even with an old modification time: the size changed
    third = load_corpus(str(path.parent), cache_dir=cache)
    assert third.report["cached"] is False and third.report["kept"] == 2
    assert third.fingerprint != first.fingerprint
    assert len(list((cache / "poetry_rnn").glob("corpus-*.json"))) == 1  # the stale entry is gone


def test_a_damaged_cache_is_rebuilt_and_no_cache_writes_nothing(tmp_path, cache):
    path = write_json(tmp_path / "src" / "a.json", [record("登鸛雀樓", DENGGUAN)])
    load_corpus(str(path), cache_dir=cache)
    (entry,) = (cache / "poetry_rnn").glob("corpus-*.json")
    entry.write_text("{not json", encoding="utf-8")
    assert load_corpus(str(path), cache_dir=cache).poems[0].title == "登鸛雀樓"
    fresh = tmp_path / "fresh"
    corpus = load_corpus(str(path), cache_dir=fresh, use_cache=False)
    assert corpus.report["kept"] == 1 and not (fresh / "poetry_rnn").exists()


# ---------------------------------------------------------------- bad input


def data_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["data", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _missing(d: Path) -> Path:
    return d / "nope"


def _empty_folder(d: Path) -> Path:
    (d / "empty").mkdir()
    return d / "empty"


def _malformed(d: Path) -> Path:
    (d / "bad").mkdir()
    (d / "bad" / "broken.json").write_text('[{"a": ', encoding="utf-8")
    return d / "bad"


def _not_a_list(d: Path) -> Path:
    return write_json(d / "dict" / "x.json", "poems").parent


def _not_an_object(d: Path) -> Path:
    return write_json(d / "nonobj" / "y.json", ["just a string"]).parent


def _no_body(d: Path) -> Path:
    return write_json(d / "nobody" / "z.json", [{"name": "a", "desc": "b"}]).parent


def _text_file(d: Path) -> Path:
    (d / "poems.txt").write_text("白日依山盡", encoding="utf-8")
    return d / "poems.txt"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_missing, "no such file, folder or glob"),
        (_empty_folder, "holds no .json, .jsonl or .parquet files"),
        (_malformed, r"broken\.json is not valid JSON"),
        (_not_a_list, r"x\.json must hold a JSON list of poem objects, found str"),
        (_not_an_object, r"y\.json record 0 is not a JSON object"),
        (_no_body, r"z\.json: no record has a poem body .*keys found: \['desc', 'name'\]"),
        (_text_file, "unsupported file type"),
    ],
    ids=["missing", "empty-folder", "malformed-json", "not-a-list", "not-an-object", "no-body", "txt"],
)
def test_bad_sources_give_one_clear_error(tmp_path, capsys, make, expected):
    source = make(tmp_path)
    with pytest.raises(UserError, match=expected) as error:
        load_corpus(str(source), cache_dir=tmp_path / "cache")
    assert error.value.field in ("source", "columns")
    code, _, err = data_cli(capsys, "--source", str(source), "--cache-dir", str(tmp_path / "cache"))
    assert code == 2
    assert err.startswith("error: ") and re.search(expected, err) and err.count("\n") == 1


def test_malformed_json_error_names_file_and_position(tmp_path):
    bad = tmp_path / "bad"
    write_json(bad / "poet.tang.0.json", [record("登鸛雀樓", DENGGUAN)])
    (bad / "poet.tang.1000.json").write_text('[{"title": "x", "paragraphs": ["a"]', encoding="utf-8")
    with pytest.raises(UserError, match=r"poet\.tang\.1000\.json is not valid JSON \(.*line 1") as error:
        load_corpus(str(bad), cache_dir=tmp_path / "cache")
    assert "Traceback" not in str(error.value)


def test_bad_jsonl_line_is_named(tmp_path):
    path = tmp_path / "poems.jsonl"
    path.write_text('{"content": "白日依山盡，黃河入海流。"}\n{"content": \n', encoding="utf-8")
    with pytest.raises(UserError, match=r"poems\.jsonl line 2 is not valid JSON"):
        load_corpus(str(path), cache_dir=tmp_path / "cache")


def test_records_with_a_bad_body_type_are_counted(tmp_path, cache):
    folder = tmp_path / "types"
    write_json(folder / "a.json", [record("ok", DENGGUAN), record("number", 42), record("nums", [1, 2])])
    report = load_corpus(str(folder), cache_dir=cache).report
    assert report["kept"] == 1 and report["dropped"] == {"bad_body": 2}


def test_wrong_body_column_and_mixed_files(tmp_path, cache):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"verse": ["".join(DENGGUAN)]}), path)
    with pytest.raises(UserError, match=r"no poem body column; found columns \['verse'\]") as error:
        load_corpus(str(path), cache_dir=cache)
    assert error.value.field == "columns"
    assert load_corpus(str(path), columns={"body": "verse"}, cache_dir=cache).report["kept"] == 1
    write_json(tmp_path / "a.json", [record("登鸛雀樓", DENGGUAN)])
    with pytest.raises(UserError, match="mixes file types"):
        load_corpus(str(tmp_path / "*"), cache_dir=cache)
    assert cli.main(["data", "--source", str(path), "--columns", "verse"]) == 2


def _data_command_in_a_fresh_process(source: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`python -m poetry_rnn data --source SOURCE` as a user runs it, offline, with caches under tmp_path."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(tmp_path / "hf"),
        "HF_HOME": str(tmp_path / "hf_home"),
        "POETRY_RNN_CACHE": str(tmp_path / "ours"),
    }
    return subprocess.run(
        [sys.executable, "-m", "poetry_rnn", "data", "--source", source],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unknown_hub_dataset_offline_is_one_line_error(tmp_path):
    """Through the real CLI in a fresh process, offline: no network, no traceback, exit 2."""
    done = _data_command_in_a_fresh_process("hf:nobody-here/no-such-poems@train", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: could not load Hub dataset 'nobody-here/no-such-poems'")
    assert "offline" in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_malformed_json_file_is_one_line_of_error(tmp_path):
    """datasets fails on the file and logs it; the user sees only our message naming the file."""
    folder = tmp_path / "poems"
    folder.mkdir()
    (folder / "poet.tang.0.json").write_text("{oops\n", encoding="utf-8")
    done = _data_command_in_a_fresh_process(str(folder), tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "poet.tang.0.json is not valid JSON" in done.stderr
    assert done.stderr.count("\n") == 1 and "Failed to load JSON" not in done.stderr


# ---------------------------------------------------------------- CLI report


def test_data_cli_report_with_both_tokenizers(tmp_path, capsys):
    folder = tmp_path / "tang"
    write_json(folder / "a.json", [record(t, b) for t, b in [("靜夜思", JINGYESI), ("春望", CHUNWANG)]])
    for tokenizer in ("char", "sentencepiece"):
        code, out, _ = data_cli(
            capsys,
            "--source",
            str(folder),
            "--tokenizer",
            tokenizer,
            "--cache-dir",
            str(tmp_path / "c"),
            "--json",
        )
        assert code == 0
        report = json.loads(out)
        assert {"read", "kept", "dropped", "forms", "vocab_size", "seconds"} <= set(report)
        assert report["tokenizer"] == tokenizer and report["kept"] == 2
        assert report["forms"]["wujue"] == 1 and report["forms"]["wulv"] == 1
        assert report["vocab_size"] > len(SPECIALS)
    code, out, _ = data_cli(capsys, "--source", str(folder), "--cache-dir", str(tmp_path / "c"))
    assert code == 0 and "kept            2" in out and "wulv 1" in out


# ---------------------------------------------------------------- script conversion of a corpus


def test_to_script_converts_titles_and_lines_keeping_the_layout(tmp_path, cache):
    folder = tmp_path / "tang"
    write_json(folder / "a.json", [record("春望", CHUNWANG), record("登鸛雀樓", DENGGUAN)])
    corpus = load_corpus(str(folder), cache_dir=cache)
    simplified = to_script(corpus, "simplified")
    assert simplified.script == "simplified"
    poems = {p.title: p for p in simplified.poems}
    assert poems["登鹳雀楼"].lines == ("白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼")
    assert poems["春望"].lines[0] == "国破山河在" and poems["春望"].form == "wulv"
    assert simplified.fingerprint != corpus.fingerprint
    assert to_script(corpus, "traditional") is corpus
    with pytest.raises(UserError):
        to_script(corpus, "latin")


# ---------------------------------------------------------------- training examples


@pytest.fixture
def tokenizer() -> CharTokenizer:
    tokenizer, _ = CharTokenizer.train(
        ["".join(DENGGUAN), "".join(CHUNWANG), "登鸛雀樓春望黃河"], min_count=1
    )
    return tokenizer


POEM = Poem(title="登鸛雀樓", author="王之渙", lines=clean_body(DENGGUAN)[0], form="wujue", split="train")
KEEP_ALL = ConditioningDropout(form=0.0, title=0.0, keywords=0.0)


def training_sequence(
    tokenizer, poem, keywords=None, dropout=KEEP_ALL, epoch=0, max_title_chars=MAX_TITLE_CHARS
):
    """The sequence the training loop builds for `poem` in epoch `epoch`."""
    encoded = encode_poems([poem], tokenizer, {poem.body: keywords} if keywords else None, max_title_chars)
    return epoch_examples(encoded, tokenizer, seed=1, epoch=epoch, max_len=1000, dropout=dropout)[0]


def test_conditioning_layout(tokenizer):
    ids = conditioning_ids(tokenizer, form="wujue", title="春望", keywords=["黃河", "白日"])
    expected = [
        tokenizer.form_id("wujue"),
        tokenizer.title_id,
        *tokenizer.encode("春望"),
        tokenizer.keywords_id,
        *tokenizer.encode("黃河白日"),
        tokenizer.bos_id,
    ]
    assert ids == expected
    assert conditioning_ids(tokenizer) == [tokenizer.bos_id]
    assert conditioning_ids(tokenizer, keywords=["", ""]) == [tokenizer.bos_id]


def test_a_training_sequence_is_the_generators_prefix_then_the_body(tokenizer):
    ids = training_sequence(tokenizer, POEM, keywords=["黃河"])
    # what the model learns to continue is exactly what the generator gives it
    prefix = conditioning_ids(tokenizer, form="wujue", title="登鸛雀樓", keywords=["黃河"])
    assert ids == [*prefix, *tokenizer.encode(POEM.body), tokenizer.eos_id]
    body = tokenizer.encode(POEM.body)
    assert ids[0] == tokenizer.form_id("wujue")
    assert ids[-len(body) - 1 : -1] == body and ids[-1] == tokenizer.eos_id
    assert tokenizer.title_id in ids and tokenizer.keywords_id in ids
    assert tokenizer.decode(ids) == "登鸛雀樓黃河" + POEM.body


def test_conditioning_parts_are_dropped_at_their_rates(tokenizer):
    dropout = ConditioningDropout(form=0.1, title=0.5, keywords=0.8)
    kept = Counter()
    draws = 4000
    for epoch in range(draws):
        ids = training_sequence(tokenizer, POEM, ["黃河"], dropout, epoch)
        kept["form"] += ids[0] == tokenizer.form_id("wujue")
        kept["title"] += tokenizer.title_id in ids
        kept["keywords"] += tokenizer.keywords_id in ids
        assert ids[-1] == tokenizer.eos_id and tokenizer.bos_id in ids  # the body is never dropped
    assert abs(kept["form"] / draws - 0.9) < 0.03
    assert abs(kept["title"] / draws - 0.5) < 0.03
    assert abs(kept["keywords"] / draws - 0.2) < 0.03
    never = ConditioningDropout(form=1.0, title=1.0, keywords=1.0)
    assert training_sequence(tokenizer, POEM, ["黃河"], never)[0] == tokenizer.bos_id


def test_long_titles_are_cut(tokenizer):
    poem = Poem(title="登鸛雀樓" * 5, author="", lines=POEM.lines, form="wujue", split="train")
    ids = training_sequence(tokenizer, poem, max_title_chars=6)
    start = ids.index(tokenizer.title_id) + 1
    assert ids[start : ids.index(tokenizer.bos_id)] == tokenizer.encode("登鸛雀樓登鸛")


# ---------------------------------------------------------------- the real corpus


@pytest.fixture(scope="session")
def tang(corpus_dir):
    return load_corpus(str(corpus_dir))


def test_real_corpus_counts_and_split_fractions(tang):
    report = tang.report
    assert report["regular_forms"] >= 35_000
    assert report["read"] > 56_000 and report["kept"] > 50_000
    assert set(report["dropped"]) <= {
        "duplicate",
        "empty",
        "missing_glyph",
        "lost_character",
        "non_cjk",
        "unbalanced_note",
        "too_short",
        "no_body",
        "bad_body",
    }
    splits = Counter(p.split for p in tang.poems)
    total = sum(splits.values())
    assert abs(splits["train"] / total - 0.96) < 0.005
    assert abs(splits["valid"] / total - 0.02) < 0.003
    assert abs(splits["test"] / total - 0.02) < 0.003


def test_real_corpus_is_clean(tang):
    cjk_line = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+$")
    bodies = set()
    for poem in tang.poems:
        assert all(cjk_line.match(line) for line in poem.lines), poem
        assert poem.body not in bodies
        bodies.add(poem.body)
        assert poem.split == split_of(poem.lines)
        assert poem.form == detect_form(poem.lines)
        assert "爲" not in poem.body
        assert "囗" not in poem.body  # a character marked lost
    regular = [p for p in tang.poems if p.form in FORMS]
    assert {p.form for p in regular} == set(FORMS)
    known = {p.body: p for p in tang.poems}
    dengguan = known.get("白日依山盡，黃河入海流。欲窮千里目，更上一層樓。")
    if dengguan is not None:  # unless withheld for evaluation
        assert dengguan.form == "wujue" and dengguan.split == "train"
