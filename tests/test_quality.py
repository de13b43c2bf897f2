"""Repetition measures (poetry_rnn/quality.py) on hand-made poems, and scripts/eval_quality.py end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from poetry_rnn.corpus import load_corpus
from poetry_rnn.errors import UserError
from poetry_rnn.quality import (
    SPLIT_MAX_SHARE,
    WORD_MIN_COUNT,
    PhraseShares,
    ReduplicationSlots,
    distinct_n,
    has_repeated_character,
    is_intact,
    measure,
    reduplications,
    repeats_outside_reduplication,
)

REPO = Path(__file__).resolve().parent.parent
SMALL_CORPUS = REPO / "tests" / "data" / "poet.tang.small.json"

STUTTER = ["滿城城裡客", "蕭蕭落木下", "高閣開樓閣", "春風吹客衣"]  # 城城 unattested, 蕭蕭 attested, 閣…閣
TWICE = ["蕭蕭風雨夜", "寂寂掩柴扉", "蕭蕭又一年", "何處問歸期"]  # 蕭蕭 twice in one poem, 寂寂 unattested


@pytest.fixture(scope="module")
def small_corpus():
    return load_corpus(str(SMALL_CORPUS), use_cache=False)


def test_line_measures():
    assert reduplications("滿城城裡客") == [1]
    assert reduplications("歲歲年年常扈蹕") == [0, 2]
    assert reduplications("春風吹客衣") == []
    assert has_repeated_character("高閣開樓閣") and has_repeated_character("蕭蕭落木下")
    assert not has_repeated_character("春風吹客衣")
    assert repeats_outside_reduplication("高閣開樓閣") == ["閣"]
    assert repeats_outside_reduplication("蕭蕭落木下") == []
    assert repeats_outside_reduplication("花花落盡花") == ["花"]  # a reduplication and a third one apart
    assert repeats_outside_reduplication("秋草生秋草") == ["秋", "草"]


def test_slots_need_the_same_character_position_and_length():
    slots = ReduplicationSlots.from_lines(["蕭蕭遠樹疏林外", "只待纖纖手"])
    assert slots.is_attested("蕭蕭遠樹疏林外", 0)
    assert not slots.is_attested("蕭蕭落木下", 0)  # a 5-character line: not the attested slot
    assert slots.is_attested("誰憐纖纖指", 2)
    assert not slots.is_attested("纖纖折楊柳", 0)  # same word, other place
    assert len(slots) == 2


def test_slots_from_the_train_split_only(small_corpus):
    slots = ReduplicationSlots.from_corpus(small_corpus, "train")
    train_lines = [line for poem in small_corpus.split("train") for line in poem.lines]
    assert slots.is_attested("只待纖纖手", 2)
    assert all(slots.is_attested(line, i) for line in train_lines for i in reduplications(line))
    # 「夜夜夢中到」 is a test-split line; no train line has 夜夜 at the head of five characters
    assert "夜夜夢中到" not in train_lines
    assert not slots.is_attested("夜夜夢中到", 0)
    assert ReduplicationSlots.from_corpus(small_corpus, "test").is_attested("夜夜夢中到", 0)


def test_words_a_reduplication_would_split_come_from_how_often_the_pairs_stand_together():
    assert WORD_MIN_COUNT * SPLIT_MAX_SHARE < 1  # one line with the triple in WORD_MIN_COUNT lets the word be
    word_lines = ["春滿城"] * WORD_MIN_COUNT + [
        "依舊"
    ] * WORD_MIN_COUNT  # only these pairs have a doubled one
    rare_lines = ["滿川花"] * (WORD_MIN_COUNT - 1)  # 滿川 too rare to count as a word
    doubled = ["城城外路邊", "依依楊柳綠", "川川流水"]
    slots = ReduplicationSlots.from_lines(word_lines + rare_lines + doubled)
    assert slots.words_before == {"城": {"滿"}} and slots.words_after == {"依": {"舊"}}
    assert slots.splits_word("春滿城城裡", 2) and not slots.splits_word("春滿川川裡", 2)
    assert slots.splits_word("依依舊路難", 0) and not slots.splits_word("依依楊柳綠", 0)
    # where the three characters stand together often enough, the reduplication reads as a word there
    attested = ReduplicationSlots.from_lines(word_lines + doubled + ["滿城城外"])
    assert not attested.splits_word("春滿城城裡", 2)
    # the table survives its file, and variants map as the decoder reads text
    again = ReduplicationSlots.from_json(json.loads(json.dumps(slots.to_json())))
    assert again.words_before == slots.words_before and again.words_after == slots.words_after
    assert ReduplicationSlots([], {"靑": "淸"}).normalized().words_before == {"青": {"清"}}


def test_measure_counts_reduplications_that_split_a_word():
    slots = ReduplicationSlots.from_lines(["蕭蕭遠樹疏", "城城外路邊"] + ["春滿城中客"] * WORD_MIN_COUNT)
    report = measure([STUTTER, ["春風吹客衣", "蕭蕭落木下"]], slots)
    assert report.split_word_reduplications_per_poem == 1 / 2  # 滿城城
    assert report.examples["split_word_reduplication"] == ["滿城城裡客"]
    assert measure([STUTTER]).split_word_reduplications_per_poem is None  # no slots, no figure


def test_measure_counts_hand_made_poems():
    slots = ReduplicationSlots.from_lines(["蕭蕭遠樹疏"])
    report = measure([STUTTER, TWICE], slots)
    assert (report.poems, report.lines) == (2, 8)
    assert report.lines_with_repeated_character == 6 / 8
    assert report.lines_with_repeat_outside_reduplication == 1 / 8
    assert report.reduplications_per_poem == 5 / 2
    assert report.unattested_reduplications_per_poem == 2 / 2  # 城城 and 寂寂; every 蕭蕭 is attested
    assert report.poems_with_a_reduplication_twice == 1
    assert report.poems_repeated_verbatim == 0
    assert report.examples["unattested_reduplication"] == ["滿城城裡客", "寂寂掩柴扉"]
    assert report.examples["repeat_outside_reduplication"] == ["高閣開樓閣"]


def test_attested_reduplication_is_not_outside_but_still_a_repeat():
    slots = ReduplicationSlots.from_lines(["蕭蕭遠樹疏"])
    report = measure([["蕭蕭落木下", "春風吹客衣"]], slots)
    assert report.unattested_reduplications_per_poem == 0
    assert report.reduplications_per_poem == 1
    assert report.lines_with_repeated_character == 0.5
    assert measure([["蕭蕭落木下"]]).unattested_reduplications_per_poem is None  # no slots, no figure


def test_verbatim_repeats_and_distinct_2():
    assert measure([STUTTER, TWICE, STUTTER, STUTTER]).poems_repeated_verbatim == 2
    assert distinct_n([["春春春"]], 2) == 0.5  # 春春 twice
    assert distinct_n([["春風", "風春"]], 2) == 1.0  # bigrams do not cross lines
    assert distinct_n([["春風起", "春風落"]], 2) == 3 / 4


def test_bad_input_is_a_user_error():
    with pytest.raises(UserError, match="no poems"):
        measure([])
    with pytest.raises(UserError, match="poem 2"):
        measure([STUTTER, "春風吹客衣"])
    with pytest.raises(UserError, match="poem 1"):
        measure([["春風", ""]])


def test_lost_characters():
    assert is_intact(STUTTER)
    assert not is_intact(["近城多囗囗", "棲息此中安"])


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eval_quality_script_on_a_poems_file(tmp_path, small_corpus, capsys):
    eval_quality = _script("eval_quality")
    simplified = ["满城城里客", "萧萧落木下", "高阁开楼阁", "春风吹客衣"]
    records = [
        {"request": {}, "poem": {"lines": STUTTER, "form": "wujue", "script": "traditional"}},
        {"request": {}, "poem": {"lines": simplified, "form": "wujue", "script": "simplified"}},
    ]
    poems = tmp_path / "poems.jsonl"
    poems.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    out = tmp_path / "report.json"
    argv = ["--poems", str(poems), "--corpus", str(SMALL_CORPUS), "--json-out", str(out)]
    assert eval_quality.main(argv) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    slots = ReduplicationSlots.from_corpus(small_corpus, "train")
    phrases = PhraseShares.from_corpus(small_corpus)
    # the simplified poem is measured in traditional: the same poem twice
    assert report["generated"] == measure([STUTTER, STUTTER], slots, phrases).to_dict()
    assert report["generated"]["poems_repeated_verbatim"] == 1
    assert report["generated_poems_sha256"] == eval_quality.poems_digest([STUTTER, STUTTER])
    assert report["real_sample"]["poems"] == 2
    assert report["forms"] == {"wujue": 2}
    test_poems = [list(p.lines) for p in small_corpus.split("test") if is_intact(p.lines)]
    assert report["real_test_split"] == measure(test_poems, slots, phrases).to_dict()
    assert "generated" in capsys.readouterr().out
    # a given first line is the user's: not measured
    given = {"request": {"first_line": "白日依山盡"}, "poem": {"lines": ["白日依山盡", *STUTTER[1:]]}}
    assert eval_quality.written_lines(given) == STUTTER[1:]


def test_eval_quality_rejects_a_bad_poems_file(tmp_path, capsys):
    eval_quality = _script("eval_quality")
    poems = tmp_path / "poems.jsonl"
    poems.write_text(
        '{"poem": {"lines": ["春風吹客衣"], "form": "wujue"}}\n{"poem": "春風"}\n', encoding="utf-8"
    )
    assert eval_quality.main(["--poems", str(poems), "--corpus", str(SMALL_CORPUS)]) == 2
    assert "line 2" in capsys.readouterr().err
    # more poems of a form than the test split holds: said plainly
    many = [{"poem": {"lines": STUTTER, "form": "qilv"}}] * 3
    poems.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in many), encoding="utf-8")
    assert eval_quality.main(["--poems", str(poems), "--corpus", str(SMALL_CORPUS)]) == 2
    assert "qilv" in capsys.readouterr().err
