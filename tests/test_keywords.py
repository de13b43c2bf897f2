"""Keywords with jieba: one text (either script in, either script out) and the whole corpus (cached)."""

from __future__ import annotations

import json
import logging
import random
import re
import tempfile

import pytest

from poetry_rnn.cleaning import clean_body
from poetry_rnn.corpus import Poem
from poetry_rnn.errors import UserError
from poetry_rnn.keywords import (
    STOPWORDS,
    _jieba,
    corpus_keywords,
    extract_keywords,
    in_verse_words,
    modern_words,
    theme_keywords,
    theme_title,
)
from poetry_rnn.script import to_simplified, to_traditional

DENGGUAN = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
CHUNWANG = "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。"
CJK = re.compile(r"^[\u3400-\u9fff\U00020000-\U0003134f]+$")


def poem(text: str, title: str = "") -> Poem:
    return Poem(title=title, author="", lines=clean_body(text)[0], form="other", split="train")


@pytest.mark.parametrize("method", ["textrank", "tfidf"])
def test_keywords_of_a_traditional_poem_come_from_the_poem(method):
    for text in (DENGGUAN, CHUNWANG):
        keywords = extract_keywords(text, k=4, method=method)
        assert 1 <= len(keywords) <= 4 and len(set(keywords)) == len(keywords)
        for keyword in keywords:
            assert keyword in text  # the poem's own (traditional) characters, not a re-conversion
            assert CJK.match(keyword) and to_simplified(keyword) not in STOPWORDS
    assert "黃河" in extract_keywords(DENGGUAN, k=4)


def test_keywords_in_simplified():
    keywords = extract_keywords(DENGGUAN, k=3, script="simplified")
    assert keywords and all(k in to_simplified(DENGGUAN) for k in keywords)
    assert "黄河" in keywords


def test_a_modern_simplified_theme_gives_traditional_keywords():
    theme = "我想念远方的故乡，还有秋天的月亮。"
    keywords = extract_keywords(theme, k=4)
    assert {"故鄉", "秋天", "月亮"} <= set(keywords)
    assert not {"我", "的", "还有", "還有"} & set(keywords)
    assert {"故乡", "月亮"} <= set(extract_keywords(theme, k=4, script="simplified"))


# ---------------------------------------------------------------- a theme, in verse's words
def test_a_modern_theme_is_said_in_verses_words():
    keywords = theme_keywords("我想念远方的朋友", k=4)
    assert {"天涯", "故人", "相思"} <= set(keywords)
    assert not {"遠方", "朋友", "想念"} & set(keywords)
    # either script in, the same words out
    assert theme_keywords("我想念遠方的朋友", k=4) == keywords
    assert len(theme_keywords("我想念远方的朋友，秋天的月亮和故乡", k=2)) == 2


def test_a_modern_word_jieba_cuts_in_two_is_read_whole():
    # jieba reads 异地恋 as 异地 + 恋; the modern table knows the whole word (相思), as the title reads it
    assert theme_keywords("异地恋") == ["相思"] and theme_title("异地恋") == "相思"
    assert set(theme_keywords("异地恋好辛苦")) == {"辛苦", "相思"}
    assert not {"異地", "异地"} & set(theme_keywords("异地恋好辛苦"))


def test_a_theme_in_verses_own_words_is_kept_as_textrank_reads_it():
    theme = "邊塞將士月夜思鄉"
    assert theme_keywords(theme, k=4) == extract_keywords(theme, k=4)


def test_set_phrases_give_their_words():
    # jieba reads each as one idiom, which is no keyword: before, 新年快乐 gave none at all
    assert extract_keywords("新年快乐", k=4) == []
    assert theme_keywords("新年快乐", k=4) == ["新年"]
    # a place character a modern phrase ends with is not a verse word's: 花园里 gave 園裡, which the plan
    # kept and the model wrote (春风吹雪花园里)
    for theme in ("春天的花园里", "公園裡的老人"):
        assert not any(char in word for word in theme_keywords(theme) for char in "里裡裏"), theme
        assert "園" in theme_keywords(theme) and not set("里裡裏") & set(theme_title(theme)), theme
    assert theme_title("春天的花园里") == "春園" and "山上" in theme_keywords("冬天的雪落在山上")


def test_kin_and_teachers_are_said_as_verse_says_them():
    # a character alone meets a plan in any word: 母 in 雲母 and 王母, 師 in 京師, 祖 in 祖帳 (a farewell)
    assert "慈母" in theme_keywords("妈妈做的饭很香") and "老翁" in theme_keywords("和爷爷一起钓鱼")
    assert theme_keywords("老师退休了")[:2] == ["歸", "吾師"]
    assert theme_title("教师节给老师写首诗") == "吾師寫首詩"  # one verse word for two modern ones, once
    assert theme_title("年年岁岁") == "年年歲歲"  # a reduplication stays
    assert {"小橋", "流水", "人家"} <= set(theme_keywords("小桥流水人家", k=4))


def test_a_theme_of_one_character_is_its_keyword():
    assert extract_keywords("雨", k=4) == []  # jieba's TF-IDF skips single characters
    assert theme_keywords("雨", k=4) == ["雨"]
    assert theme_keywords("秋", k=4) == ["秋"]
    assert theme_keywords("的", k=4) == []
    # one word neither TextRank nor TF-IDF keeps: its characters, rather than no poem
    assert theme_keywords("晨跑", k=4) == ["晨", "跑"]


def test_a_one_character_noun_is_kept_and_a_number_with_its_measure_word_is_not():
    # TF-IDF keeps no word of one character, and 一只 says nothing of the theme
    assert theme_keywords("养了一只猫") == ["貓"]
    assert theme_keywords("想家") == ["思鄉"]  # jieba's words, as the table has them
    assert not {"一隻", "一個"} & set(theme_keywords("一个人养了一只狗"))


def test_a_theme_as_a_title_says_it_in_verses_words_without_modern_function_words():
    assert theme_title("思念远方的朋友") == "相思天涯故人"
    assert theme_title("秋天的校园") == "秋讀書"
    assert theme_title("我在江边") == "江"  # 江边 → 江, 我 and 在 left out
    assert theme_title("的了") == ""


def test_in_verse_words_replaces_modern_words_only():
    assert in_verse_words("思念遠方的朋友") == "相思天涯的故人"
    assert in_verse_words("夏天的雨") == "夏的雨"
    assert in_verse_words("送元二使安西") == "送元二使安西"
    # single characters of the table are words of verse too
    assert in_verse_words("哭晁卿衡") == "哭晁卿衡"
    assert in_verse_words("冷泉亭") == "冷泉亭"
    assert in_verse_words("") == ""


def test_the_modern_word_table_is_simplified_to_traditional_verse():
    table = modern_words()
    assert len(table) >= 300
    for modern, verse in table.items():
        assert to_simplified(modern) == modern and CJK.match(modern), modern
        assert CJK.match(verse) and 1 <= len(verse) <= 2, (modern, verse)
        assert modern != to_simplified(verse), modern  # a word verse already says needs no entry
        assert to_traditional(verse) == verse, verse  # the model's script


def test_traditional_characters_of_the_input_are_kept():
    # 髮 would be lost by converting 发 back; a traditional input keeps its own character
    keywords = extract_keywords("白髮三千丈，緣愁似箇長。", k=4, method="tfidf")
    assert any("髮" in k for k in keywords)
    assert all("发" not in k for k in keywords)


def test_k_limits_and_short_texts():
    assert len(extract_keywords(CHUNWANG, k=1)) == 1
    assert len(extract_keywords(CHUNWANG, k=8)) <= 8
    assert extract_keywords("的了吗", k=3) == []  # nothing but function words


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": ""}, "theme"),
        ({"text": "   "}, "theme"),
        ({"text": None}, "theme"),
        ({"text": "山" * 5001}, "theme"),
        ({"text": DENGGUAN, "k": 0}, "k"),
        ({"text": DENGGUAN, "k": 17}, "k"),
        ({"text": DENGGUAN, "k": True}, "k"),
        ({"text": DENGGUAN, "method": "lda"}, "method"),
        ({"text": DENGGUAN, "script": "latin"}, "script"),
    ],
)
def test_bad_requests_name_the_field(kwargs, field):
    with pytest.raises(UserError) as error:
        extract_keywords(**kwargs)
    assert error.value.field == field


def test_jieba_is_quiet_and_keeps_its_cache_private():
    jieba = _jieba()
    assert jieba.dt.tmp_dir.startswith(tempfile.gettempdir())
    assert "poetry_rnn-jieba-" in jieba.dt.tmp_dir
    assert jieba.dt.cache_file.startswith(jieba.dt.tmp_dir)
    assert logging.getLogger("jieba").level >= logging.WARNING


def test_corpus_keywords_are_cached(tmp_path):
    poems = [poem(DENGGUAN), poem(CHUNWANG), poem("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。")]
    result = corpus_keywords(poems, k=3, cache_dir=tmp_path)
    assert set(result) == {p.body for p in poems}
    for body, keywords in result.items():
        assert 1 <= len(keywords) <= 3
        assert all(k in body for k in keywords)
    (path,) = tmp_path.glob("keywords-*.json")
    # Proof that a second call reads the cache: an edited entry comes back
    cached = json.loads(path.read_text(encoding="utf-8"))
    cached[poems[0].body] = ["edited"]
    path.write_text(json.dumps(cached, ensure_ascii=False), encoding="utf-8")
    assert corpus_keywords(poems, k=3, cache_dir=tmp_path)[poems[0].body] == ["edited"]
    assert corpus_keywords(poems, k=3, cache_dir=tmp_path, use_cache=False)[poems[0].body] != ["edited"]
    assert corpus_keywords(poems[:2], k=3, cache_dir=tmp_path)[poems[0].body] != ["edited"]  # other key
    assert corpus_keywords([], cache_dir=tmp_path) == {}
    with pytest.raises(UserError):
        corpus_keywords(poems, k=0, cache_dir=tmp_path)


def test_corpus_keywords_on_real_poems(corpus_dir, tmp_path):
    from poetry_rnn.corpus import load_corpus

    train = load_corpus(str(corpus_dir)).split("train")
    sample = random.Random(0).sample(train, 1500)
    result = corpus_keywords(sample, k=3, cache_dir=tmp_path)
    assert len(result) == len({p.body for p in sample})
    with_three = 0
    for body, keywords in result.items():
        for keyword in keywords:
            assert keyword in body and 1 <= len(keyword) <= 3
            assert to_simplified(keyword) not in STOPWORDS
        with_three += len(keywords) == 3
    assert with_three / len(result) > 0.95


def test_a_theme_title_keeps_the_characters_a_traditional_theme_wrote():
    from poetry_rnn.keywords import theme_title

    # converted character by character, 萬里 was 萬裡 and 皇后 皇後; now as the whole text reads
    assert theme_title("萬里之外的家鄉") == theme_title("万里之外的家乡") == "萬里之外故鄉"
    assert theme_title("鄉里的老樹").startswith("鄉里") and theme_title("皇后的花園").startswith("皇后")


@pytest.mark.parametrize(
    ("theme", "left_out"),
    [
        ("萬里之外的家鄉", "之外"),
        ("颱風過後的夜晚", "過後"),
        ("夜晚以后", "以後"),
        ("毕业以后的夏天", "以後"),
    ],
)
def test_a_theme_gives_no_keyword_that_only_places_or_times_the_rest(theme, left_out):
    from poetry_rnn.keywords import theme_keywords

    words = theme_keywords(theme)
    assert words and left_out not in words
