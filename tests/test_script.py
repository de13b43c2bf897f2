"""Writing systems: OpenCC conversion, the variant map, and simplified input against a traditional model."""

from __future__ import annotations

import pytest

from poetry_rnn.script import (
    SCRIPTS,
    VARIANTS,
    SimplifiedIndex,
    convert,
    is_rare_glyph,
    is_simplified,
    normalize_variants,
    simplified_alike,
    to_simplified,
    to_traditional,
)


def test_official_opencc_is_used():
    import importlib.metadata

    import opencc

    # The official package (distribution "OpenCC") wraps the C++ library; the pure-Python
    # reimplementation installs a module of the same name without it.
    assert hasattr(opencc, "opencc_clib")
    assert importlib.metadata.distribution("OpenCC").metadata["Name"] == "OpenCC"


def test_conversion_both_ways():
    assert to_simplified("白日依山盡，黃河入海流。") == "白日依山尽，黄河入海流。"
    assert to_traditional("白日依山尽，黄河入海流。") == "白日依山盡，黃河入海流。"
    # Phrase-aware: 发 becomes 髮 in 白发 and 發 in 出发
    assert to_traditional("白发三千丈") == "白髮三千丈"
    assert to_traditional("出发") == "出發"
    assert convert("國破山河在", "simplified") == "国破山河在"
    assert convert("国破山河在", "traditional") == "國破山河在"
    assert to_simplified("") == "" and to_traditional("") == ""
    with pytest.raises(ValueError, match="unknown script 'latin'"):
        convert("山", "latin")


def test_simplified_alike_keeps_one_character_for_each():
    assert simplified_alike("白日依山盡") == "白日依山尽"
    text = "".join(sorted({"髮", "發", "乾", "幹", "後", "著", "瞭", "於"}))
    assert len(simplified_alike(text)) == len(text)
    assert simplified_alike("") == ""


def test_simplified_means_nothing_traditional_only():
    assert is_simplified("浮云游子意")  # 云 "to say" is traditional too, but nothing asks for it
    assert is_simplified("白日依山")  # characters both scripts share
    assert not is_simplified("浮雲遊子意")
    assert not is_simplified("浮云遊子意")  # one traditional-only character: the text is not simplified
    assert SCRIPTS == ("traditional", "simplified")


def test_traditional_output_uses_the_rhyme_table_variants():
    # OpenCC writes 爲 for 为 in some phrases; the model and the rhyme tables use 為
    assert to_traditional("为人") == "為人"
    assert all(ch not in to_traditional("为了为人作嫁") for ch in VARIANTS)


def test_normalize_variants():
    assert normalize_variants("誰爲表予心，羣山萬壑") == "誰為表予心，群山萬壑"
    assert normalize_variants("沒有異體字") == "沒有異體字"
    assert normalize_variants("") == ""
    assert all(normalize_variants(variant) == standard for variant, standard in VARIANTS.items())
    # a fixed point: no standard form is itself a variant
    assert not set(VARIANTS.values()) & (set(VARIANTS) - {"晝"})


def test_simplified_index_candidates():
    index = SimplifiedIndex(["發", "髮", "後", "后", "為", "山", "乾", "幹", "干", "<s>"])
    assert index.candidates("发") == {"發", "髮"}  # a simplified character stands for each of its sources
    assert index.candidates("后") == {"後", "后"}  # 后 is also traditional (皇后): itself too
    assert index.candidates("干") == {"乾", "幹", "干"}
    assert index.candidates("髮") == {"髮"}  # a traditional character stands for itself only
    assert index.candidates("为") == {"為"}
    assert index.candidates("爲") == {"為"}  # a variant, through the variant map
    assert index.candidates("山") == {"山"}
    assert index.candidates("水") == set()  # not in the model's characters
    assert "<s>" not in index.characters  # pieces longer than one character are not characters


def test_simplified_user_input_maps_onto_a_traditional_vocabulary():
    poem = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
    index = SimplifiedIndex(set(poem))
    typed = to_simplified(poem)
    assert typed != poem
    for simplified, traditional in zip(typed, poem, strict=True):
        assert traditional in index.candidates(simplified)


def test_simplified_output_has_no_extension_block_glyphs():
    """OpenCC maps some traditional characters into the CJK extension blocks, which common fonts lack:
    no character of the basic block (U+4E00–U+9FFF) simplifies to one there, alone or within a line."""
    basic = "".join(chr(code) for code in range(0x4E00, 0xA000))
    simplified = to_simplified(basic)
    assert len(simplified) == len(basic)
    assert [c for c in simplified if is_rare_glyph(c)] == []
    # Where a common simplified form exists it is used (the boat's oar 艣 → 橹), otherwise the traditional
    # character stays (劚 rather than 㔉); the rest of the line is simplified as usual.
    assert to_simplified("艣聲劚地國") == "橹声劚地国"
    assert is_rare_glyph(_opencc_simplified("劚")) and is_rare_glyph(_opencc_simplified("艣"))


def _opencc_simplified(text: str) -> str:
    import opencc

    return opencc.OpenCC("t2s.json").convert(text)


def test_a_character_opencc_converts_alone_takes_the_form_tang_verse_writes():
    # OpenCC alone: 钟 → 鍾 and 征 → 徵; Tang verse means the bell 鐘 and 征 (to march) far more often
    assert to_traditional("古寺疏钟度", verse=False) == "古寺疏鍾度"
    assert to_traditional("古寺疏钟度") == "古寺疏鐘度"
    assert to_traditional("戍卒征人") == "戍卒征人"
    assert to_traditional("吊古") == "弔古"
    # a word the corpus spells otherwise keeps its own spelling, before OpenCC's phrase (钟山 → 鐘山)
    assert to_traditional("钟山", verse=False) == "鐘山"
    assert to_traditional("钟山") == "鍾山"
    assert to_traditional("千钟") == "千鍾"
    # characters outside the table convert as before, phrases included
    assert to_traditional("白发三千丈") == to_traditional("白发三千丈", verse=False) == "白髮三千丈"
    assert convert("疏钟", "traditional") == "疏鐘"


def test_a_traditional_text_keeps_the_characters_both_scripts_write():
    # OpenCC knows the phrase only as 万里: converting text already traditional made 萬里 萬裡
    assert to_traditional("萬里", verse=False) == "萬裡"
    assert to_traditional("萬里歸鄉") == convert("萬里歸鄉", "traditional") == "萬里歸鄉"
    assert to_traditional("萬里") == to_traditional("万里") == "萬里"
    assert to_traditional("後來雲裡") == "後來雲裡"  # as written, 裡 too
    assert to_traditional("萬里归乡") == "萬里歸鄉"  # a mixed text: its simplified characters converted
    # a simplified text, or one both scripts share, converts as before
    assert to_traditional("后来") == "後來"
    assert to_traditional("里") == "裡"
    # a traditional text is its own conversion, character for character
    for line in ("戍卒征人", "白髮三千丈", "萬里悲秋常作客", "故園東望路漫漫", "雲想衣裳花想容"):
        assert to_traditional(line) == line


def test_the_verse_spellings_are_what_the_train_split_writes(corpus_dir, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from poetry_rnn.script import VERSE_SPELLINGS_FILE

    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "verse_spellings.json"
    script = "scripts/build_verse_spellings.py"
    build = [sys.executable, script, "--corpus", str(corpus_dir), "--out", str(out)]
    done = subprocess.run(build, cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rebuilt = json.loads(out.read_text(encoding="utf-8"))
    assert rebuilt == json.loads(VERSE_SPELLINGS_FILE.read_text(encoding="utf-8"))
    assert rebuilt["chars"]["钟"] == "鐘" and rebuilt["words"]["钟山"] == "鍾山"


def test_simplified_verse_writes_chen_for_the_shen_of_verse_and_keeps_the_surname():
    # Tang verse writes 沈 for 沉; OpenCC keeps 沈, which reads as the surname in simplified script
    assert to_simplified("涼風吹雪月沈沈") == "凉风吹雪月沈沈"
    assert convert("涼風吹雪月沈沈", "simplified") == "凉风吹雪月沉沉"
    assert convert("江沈白日歸", "simplified") == "江沉白日归"
    for surname in ("昔日沈郎腰", "詞人沈約在", "姓沈人"):
        assert "沈" in convert(surname, "simplified")
    assert convert("沈约", "simplified") == "沈约"  # already simplified: the surname's word is kept
    assert convert("白日依山盡", "simplified") == to_simplified("白日依山盡")
