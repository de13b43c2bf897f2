"""中华新韵 by the modern reading (poetry_rnn.prosody.modern): characters read as a Mandarin speaker reads
them, alone and in the context of a line; the 新韵 tables, rhyme-group examples and the checker on them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poetry_rnn.errors import UserError
from poetry_rnn.prosody.check import analyze
from poetry_rnn.prosody.modern import (
    DATA_DIR,
    LINE_END,
    NEUTRAL,
    PHRASE,
    POLYPHONE,
    POLYPHONES_FILE,
    STANDARD,
    UNKNOWN,
    char_reading,
    line_readings,
    syllable,
)
from poetry_rnn.prosody.reading_notes import reading_note
from poetry_rnn.prosody.rhyme import PING, ZE, Reading, get_scheme
from poetry_rnn.script import normalize_variants

P, Z, BOTH = frozenset({PING}), frozenset({ZE}), frozenset({PING, ZE})
CHUN_WANG = "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。"


@pytest.fixture(scope="module")
def xinyun():
    return get_scheme("xinyun")


@pytest.fixture(scope="module")
def pingshui():
    return get_scheme("pingshui")


# ---------------------------------------------------------------------------------------------------
# A character alone: its standard reading
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chars", ["金春风台关声", "金春風臺關聲"])
def test_common_single_reading_characters_are_level_only(xinyun, chars):
    # pypinyin lists archaic oblique readings for some of these; a reader of today has one reading.
    for char in chars:
        assert xinyun.tones(char) == P, char
        assert char_reading(char).source == STANDARD


def test_archaic_readings_no_longer_rhyme(xinyun):
    assert xinyun.rhyme_groups("離") == {"齐"}  # lí, not the archaic chī of 支
    assert "離" not in xinyun.chars_in_group("支")
    assert xinyun.tones("看") == Z  # kàn; kān only in phrases (看守), which the line reading decides


def test_true_modern_polyphones_are_either_tone_alone(xinyun):
    for char in "长長为應难":
        assert xinyun.tones(char) == BOTH, char
        assert char_reading(char).source == POLYPHONE
    assert xinyun.rhyme_groups("长") == {"唐"}  # cháng rhymes; zhǎng is oblique


def test_scripts_read_as_written(xinyun):
    # 发 is fā or fà; the traditional characters it merges each have one reading.
    assert xinyun.tones("發") == P and xinyun.tones("髮") == Z and xinyun.tones("发") == BOTH


@pytest.mark.parametrize(
    ("char", "reading"), [("迹", "jì"), ("跡", "jì"), ("颇", "pō"), ("萎", "wěi"), ("俟", "sì")]
)
def test_standard_readings_pypinyin_gets_wrong(xinyun, char, reading):
    assert char_reading(char).pinyin == reading


def test_ji_in_sheng_ji_is_oblique(xinyun):
    # 孟浩然「江山留胜迹」: 迹 is jì (仄) alone and in 行迹; pypinyin's 跡 has only jī
    assert xinyun.line_tones("江山留勝跡")[-1] == Z and line_readings("行迹")[1].pinyin == "jì"


def test_neutral_first_reading_takes_the_full_tone():
    assert char_reading("子").pinyin == "zǐ"  # pypinyin lists the neutral zi first


def test_polyphone_table_holds_two_tone_classes():
    with open(DATA_DIR / POLYPHONES_FILE, encoding="utf-8") as handle:
        table = json.load(handle)
    readings = table["readings"]
    assert "長" in readings and "金" not in readings and "看" not in readings and "還" not in readings
    for char, pair in readings.items():
        first, second = (syllable(p) for p in pair)
        assert first is not None and second is not None and first.tone != second.tone, char
    # level characters whose phrases mostly read them in another rhyme: the reading a line ends in
    assert table["line_end"]["還"] == "huán" and table["line_end"]["都"] == "dū"
    for char, reading in table["line_end"].items():
        assert syllable(reading).group != char_reading(char).syllables[0].group, char


def test_a_line_ends_in_huan_and_reads_hai_elsewhere(xinyun):
    # 还 is hái as pypinyin's standard reading ("still", never at a line end), huán in 归还 还乡 and at the
    # end of 一日还 ("return")
    for char in "还還":
        assert xinyun.tones(char) == P and xinyun.rhyme_groups(char) == {"寒"}, char
    assert "還" in xinyun.chars_in_group("寒") and "還" not in xinyun.chars_in_group(
        "开"
    )  # the decoder's tables
    end = line_readings("千里江陵一日还")[-1]
    assert (end.pinyin, end.source) == ("huán", LINE_END)
    assert [(r.pinyin, r.source) for r in line_readings("还似旧时游")][0] == ("hái", STANDARD)
    assert [r.pinyin for r in line_readings("他还是不来")][1] == "hái"  # a phrase decides
    assert [r.pinyin for r in line_readings("何时是归还")][-1] == "huán"


@pytest.mark.parametrize(
    "poem",
    [
        "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。",
        "朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。",
    ],
)
def test_li_bai_rhymes_huan_under_xinyun(poem):
    analysis = analyze(poem, scheme="xinyun")
    assert analysis.faults == [] and analysis.rhyme_groups == ["寒"]
    assert {
        "line": 1,
        "index": 6,
        "char": poem[14],
        "note": f"「{poem[14]}」读huán ({poem[14]} read huán)",
    } in analysis.readings


def test_huan_at_a_line_end_does_not_rhyme_in_kai(xinyun):
    analysis = analyze("春风一夜百花开，燕子双双去又来。莫问人间多少事，故人何日不曾还。", scheme="xinyun")
    assert [(f.name, f.line) for f in analysis.faults] == [("出韵", 3)] and "读huán" in analysis.faults[
        0
    ].message


# ---------------------------------------------------------------------------------------------------
# A line: the phrase dictionary decides
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["simplified", "traditional"])
def test_chang_in_changan_and_zhang_in_shengzhang(xinyun, script):
    changan, shengzhang = ("长安一片月", "万物生长") if script == "simplified" else ("長安一片月", "萬物生長")
    first = line_readings(changan)[0]
    assert (first.pinyin, first.source, first.phrase) == ("cháng", PHRASE, changan[:2])
    assert xinyun.line_tones(changan)[0] == P and xinyun.line_rhyme_groups(changan)[0] == {"唐"}
    last = line_readings(shengzhang)[-1]
    assert (last.pinyin, last.source) == ("zhǎng", PHRASE)
    assert xinyun.line_tones(shengzhang)[-1] == Z and xinyun.line_rhyme_groups(shengzhang)[-1] == frozenset()


def test_tone_sandhi_is_not_the_tone():
    # The phrase dictionary writes 不见 as bú jiàn; verse counts 不 as bù.
    assert [r.pinyin for r in line_readings("不见长安")] == ["bù", "jiàn", "cháng", "ān"]


def test_neutral_tone_in_a_phrase_takes_the_full_tone():
    assert line_readings("頭髮白")[1].pinyin == "fà"


def test_a_polyphone_outside_any_phrase_stays_open(xinyun):
    readings = line_readings("白头搔更短")
    assert readings[3].source == POLYPHONE and readings[3].tones == BOTH
    assert xinyun.line_tones("白头搔更短")[3] == BOTH


def test_pingshui_line_reading_is_per_character(pingshui):
    line = "白頭搔更短"
    assert pingshui.line_tones(line) == tuple(pingshui.tones(c) for c in line)
    assert pingshui.line_rhyme_groups(line) == tuple(pingshui.rhyme_groups(c) for c in line)


def test_reading_notes(pingshui, xinyun):
    assert (
        reading_note(pingshui, "看山", 0, PING)
        == "「看」取平（平仄两读） (看 taken as level: it has level and oblique readings)"
    )
    assert reading_note(pingshui, "看山", 1, PING) is None  # 山 has one tone: nothing to say
    assert (
        reading_note(xinyun, "万物生长", 3)
        == "「长」读zhǎng（生长，仄） (长 read zhǎng, as in 生长: oblique)"
    )
    assert reading_note(xinyun, "白头搔更短", 3, ZE) == "「更」读gèng（仄） (更 read gèng, oblique)"
    assert (
        reading_note(xinyun, "恨别鸟惊心", 1) == "「别」读bié（平） (别 read bié, level)"
    )  # 入声 in 平水韵, level today
    assert reading_note(xinyun, "金山", 1) is None  # shān: one reading
    assert (
        reading_note(xinyun, "金山", 0) == "「金」读jīn（平） (金 read jīn, level)"
    )  # pypinyin also lists an archaic jìn


# ---------------------------------------------------------------------------------------------------
# The checker and the generator on these readings
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["pingshui", "xinyun"])
def test_guo_jin_shan_he_zai_is_no_strict_first_line(scheme):
    # Its 2nd character 金 is as level as 春 in the next line: the couplet breaks 对 (失对, naming 金).
    analysis = analyze("國金山河在，城春草木深。感時花濺淚，恨別鳥驚心。", scheme=scheme)
    opposition = [f for f in analysis.faults_named("失对") if f.line == 0]
    assert opposition and "「金」" in opposition[0].message


@pytest.mark.parametrize("scheme", ["pingshui", "xinyun"])
def test_generator_refuses_guo_jin_shan_he_zai_as_a_strict_first_line(tiny_model_dir, scheme):
    from poetry_rnn.generation.generator import PoetryGenerator

    generator = PoetryGenerator.from_pretrained(tiny_model_dir)
    with pytest.raises(UserError, match="fits no"):
        generator.generate(form="wujue", first_line="國金山河在", rhyme_scheme=scheme, n=1, seed=1)


def test_chun_wang_zan_is_out_of_rhyme_in_xinyun():
    analysis = analyze(CHUN_WANG, scheme="xinyun")
    assert analysis.rhyme_groups == ["文"]
    assert [(f.line, f.index) for f in analysis.faults_named("出韵")] == [(7, 4)]
    assert "簪" in analysis.faults_named("出韵")[0].message


def test_no_common_character_of_a_xinyun_line_counts_as_either_tone_without_cause(xinyun):
    # The generated line had six ◐ of seven; read in context, none is open.
    assert BOTH not in xinyun.line_tones("獨倚家臺長燭聲")


# ---------------------------------------------------------------------------------------------------
# Rhyme-group examples
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("group, wrong", [("姑", "不家朝"), ("皆", "叶余至"), ("麻", "南")])
def test_xinyun_examples_are_in_the_group_by_their_standard_reading(xinyun, group, wrong):
    for script in ("simplified", "traditional"):
        examples = xinyun.examples(group, 8, script=script)
        assert len(examples) == 8
        assert not set(wrong) & set(examples), examples
        for char in examples:
            main = char_reading(char).syllables[0]
            assert main.tone == PING and main.group == group, char


def test_pingshui_examples_are_rhymed_members(pingshui):
    you = pingshui.examples("下平十一尤", 8)
    assert you[0] == "尤" and "不" not in you and {"秋", "流", "愁"} <= set(you)
    assert "才" not in pingshui.examples("下平十五咸", 8, script="simplified")
    for group in pingshui.level_groups:
        for char in pingshui.examples(group, 8):
            assert group in pingshui.rhyme_groups(char), (group, char)


# ---------------------------------------------------------------------------------------------------
# A finished line judged as read (the decoder's and the checker's shared question)
# ---------------------------------------------------------------------------------------------------
def test_line_breaks_read_the_line_in_context(xinyun, pingshui):
    from poetry_rnn.prosody.heard import line_breaks

    # 中仄平平仄: 长 in 生长 is zhǎng, so 「万物生长在」 puts 仄 where the template wants 平.
    assert line_breaks(xinyun, "万物生长在", "中仄平平仄").tone_positions == (3,)
    assert not line_breaks(xinyun, "一片长安月", "中仄平平仄")  # 长安: cháng, 平
    assert not line_breaks(pingshui, "萬物生長在", "中仄平平仄")  # 平水韵: 長 is either tone
    # A rhyme line: 簪 zān is 寒, not 文.
    assert line_breaks(xinyun, "浑欲不胜簪", "中仄仄平平", rhyme_groups={"文"}).rhyme
    assert not line_breaks(xinyun, "家书抵万金", "中平中仄平", rhyme_groups={"文"})


@settings(max_examples=300, deadline=None)
@given(
    line=st.text(
        alphabet=st.one_of(
            st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
            st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),
            st.characters(min_codepoint=0xF900, max_codepoint=0xFAFF),
            st.characters(min_codepoint=0x20000, max_codepoint=0x2EBEF),
            st.sampled_from("長安生萬物更重發髮一不"),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_line_reads_one_reading_per_character(line):
    xinyun = get_scheme("xinyun")
    readings = line_readings(line)
    assert [r.char for r in readings] == list(normalize_variants(line))
    assert len(xinyun.line_tones(line)) == len(line) == len(xinyun.line_rhyme_groups(line))
    for reading in readings:
        assert reading.rhyme_groups <= set(xinyun.level_groups)
        assert (reading.source in (UNKNOWN, NEUTRAL)) == (not reading.tones)


def test_chun_wang_tones_as_a_mandarin_reader_hears_them(xinyun):
    from poetry_rnn.prosody.heard import line_breaks

    # 別 bié is 平 where 中仄仄平平 wants 仄; 勝 in 不勝 is shèng, 仄 where it wants 平; 簪 zān is 寒.
    assert line_breaks(xinyun, "恨別鳥驚心", "中仄仄平平", rhyme_groups={"文"}).tone_positions == (1,)
    eighth = line_breaks(xinyun, "渾欲不勝簪", "中仄仄平平", rhyme_groups={"文"})
    assert eighth.tone_positions == (3,) and eighth.rhyme


# ---------------------------------------------------------------------------------------------------
# The checker reads each line in context; the decoder refuses a finished line a reader hears break
# ---------------------------------------------------------------------------------------------------
def test_chun_wang_in_xinyun_names_the_faults_a_mandarin_reader_hears():
    analysis = analyze(CHUN_WANG, scheme="xinyun")
    # 別 bié (平) makes line 4 平起 beside 平起 line 3: 失对, and line 5 (火 仄) no longer sticks to it. Both
    # faults name 別, the character against the pattern: 火 is not to blame.
    assert [(f.line, f.index) for f in analysis.faults_named("失对")] == [(3, 1)]
    assert [(f.line, f.index) for f in analysis.faults_named("失粘")] == [(3, 1)]
    assert (7, 3) in [(f.line, f.index) for f in analysis.faults_named("不协平仄")]  # 勝 shèng in 不勝
    assert "bié" in analysis.faults_named("失对")[0].message
    assert "第4句第2字「別」与下句第2字「火」" in analysis.faults_named("失粘")[0].message
    assert "与上句第2字「時」" in analysis.faults_named("失对")[0].message
    notes = {(r["line"], r["index"]): r["note"] for r in analysis.to_dict()["readings"]}
    assert "shèng" in notes[(7, 3)] and "不勝" in notes[(7, 3)]
    assert "zān" in analysis.faults_named("出韵")[0].message
    assert analyze(CHUN_WANG, scheme="pingshui").ok  # 別 勝 are 入声 / either tone in the rhyme books


def test_checker_and_line_breaks_agree_on_a_line_read_in_context(xinyun):
    from poetry_rnn.prosody.heard import line_breaks

    # 长 in 生长 is zhǎng: the checker flags it where line_breaks does, and names the reading.
    analysis = analyze("万物生长在，江城草木深。", scheme="xinyun")
    assert (0, 3) in [(f.line, f.index) for f in analysis.faults_named("不协平仄")]
    assert line_breaks(xinyun, "万物生长在", analysis.lines[0].template).tone_positions == (3,)
    assert "zhǎng" in analysis.faults_named("不协平仄")[0].message


@pytest.fixture(scope="module")
def tiny_generator(tiny_model_dir):
    from poetry_rnn.generation.generator import PoetryGenerator

    return PoetryGenerator.from_pretrained(tiny_model_dir)


def test_heard_rule_refuses_xiang_shi_in_an_oblique_slot(tiny_generator, xinyun):
    from poetry_rnn.decoding.rules.heard import HeardLineRule
    from poetry_rnn.decoding.rules.patterns import PatternChoice
    from poetry_rnn.prosody.patterns import fits, get_pattern, tone_patterns

    patterns = tone_patterns("qijue")
    rule = HeardLineRule(tiny_generator.tables, xinyun, PatternChoice(patterns), "strict", None)
    line = "秋風不相識歸客"  # 相 ◐ alone, so the tone rule lets it stand where 中平中仄平平仄 wants 仄
    template = get_pattern("qijue", "仄起首句入韵").lines[2]
    assert all(fits(mark, xinyun.tones(c)) for mark, c in zip(template, line, strict=True))
    every = tuple(range(len(patterns)))
    assert rule.judge(every, 2, line, None) == ((), ())  # 相識: xiāng, 平
    kept, _ = rule.judge(every, 2, "秋風不見識歸客", None)  # 見 jiàn 仄: fits the 仄起 patterns
    assert kept and all(patterns[p].name.startswith("仄起") for p in kept)


def test_generator_refuses_a_first_line_heard_off_pattern(tiny_generator):
    # Each character fits 平起首句不入韵 alone (相 ◐); read as 相識 (xiāng shí), no pattern fits.
    with pytest.raises(UserError, match="Mandarin speaker") as refused:
        tiny_generator.generate(form="qijue", first_line="秋風不相識歸客", rhyme_scheme="xinyun", n=1, seed=1)
    # the reading note said in the refusal's own language
    english, chinese = str(refused.value), refused.value.text("zh")
    assert "read xiāng" in english and "读xiāng" not in english
    assert "读xiāng" in chinese and "read" not in chinese


@pytest.mark.parametrize("form", ["wujue", "qilv"])
def test_generated_xinyun_poems_pass_when_read_in_context(tiny_generator, form):
    from poetry_rnn.prosody.check import analyze_lines

    poems = tiny_generator.generate(form=form, rhyme_scheme="xinyun", n=3, seed=7)
    assert len(poems) == 3
    for poem in poems:
        analysis = analyze_lines(poem.lines, scheme="xinyun")
        assert analysis.ok, (poem.text, [f.message for f in analysis.faults])
        # and every line, as heard, in the rhyme group the poem was written in
        assert poem.rhyme_group in analysis.rhyme_groups


def test_heard_rule_steers_off_a_pair_that_would_break_the_line(tiny_generator, xinyun):
    from poetry_rnn.decoding.rules.heard import HeardLineRule
    from poetry_rnn.decoding.rules.patterns import PatternChoice, PatternsLeft
    from poetry_rnn.decoding.state import DecodingState
    from poetry_rnn.prosody.patterns import tone_patterns

    tables = tiny_generator.tables
    patterns = tone_patterns("qijue")
    choice = PatternChoice(patterns)
    rule = HeardLineRule(tables, xinyun, choice, "strict", None)
    state = DecodingState(line_text="秋風不相", position=4)
    rule.start(state)
    level_start = tuple(i for i, p in enumerate(patterns) if p.name.startswith("平起"))  # 4th char 仄
    state.rule_states[choice] = PatternsLeft(level_start)
    steered = set(rule.shared_mask(state)[1])
    shi = set(tables.ids_starting_with.get("識", ()))
    assert shi and shi <= steered  # 相識 would read 相 xiāng, 平, in the 仄 slot
    assert set(tables.ids_starting_with.get("見", ())) <= steered  # 相見: xiāng too
    assert not set(tables.ids_starting_with.get("月", ())) & steered  # 相月 is no dictionary pair
    state.rule_states[choice] = PatternsLeft(tuple(i for i in range(4) if i not in level_start))
    assert not shi & set(rule.shared_mask(state)[1])  # a 平 slot: 相識 is fine


# ---------------------------------------------------------------------------------------------------
# Verse phrases and verse readings (modern.VERSE_PHRASES, modern.VERSE_READINGS)
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "index", "reading"),
    [
        ("昨夜月同行", 4, "xíng"),  # walk together, not 同行 tóngháng "same trade"
        ("玉陽峰下學長生", 5, "cháng"),  # 長生, not 學長 xuézhǎng
        ("素心爱简朴", 4, "pǔ"),  # pypinyin's dictionary has piáo
        ("太華峰前是故鄉", 1, "huà"),  # Mount Hua
        ("九華山色在西南", 1, "huá"),  # 九華山, not 華山 huà
        ("和詩將惠政", 0, "hè"),  # answering a poem
        ("北乘羸馬到燕然", 5, "yān"),  # Mount Yanran
        ("司徒急爲破幽燕", 6, "yān"),
        ("曦和韻紫霞", 1, "hé"),  # 曦和 the sun's charioteer, not 和韻 hè
        ("李廣不侯身漸老", 3, "hóu"),
        ("魂夢自分明", 3, "fēn"),  # 分明, not 自分 zìfèn
        ("君還望月苦相思", 5, "xiāng"),  # 相思, not 苦相 kǔxiàng
        ("昔日沈郎腰", 2, "shěn"),  # the surname (沈約) keeps shěn; 沈 alone is chén
        ("萬乘旌旗何處在", 1, "shèng"),  # chariots (萬乘之君), not chéng "to ride"
        ("千乘萬騎西南行", 1, "shèng"),  # the verse phrase wins over the dictionary's 千乘萬騎
        ("路傍誰家子", 1, "páng"),  # beside (路旁), not bàng
        ("平生無分到", 3, "fèn"),  # one's lot, not fēn "to divide"
        ("詞人沈約在", 2, "shěn"),
        # found reading generated 新韵 poems aloud: the verse word, not the modern one it overlaps
        ("别后长相忆", 2, "cháng"),  # 長相憶, not 長相 zhǎngxiàng "looks"
        ("千里长相送", 2, "cháng"),  # nor 里長 lǐzhǎng "village head"
        ("那堪更相忆", 2, "gèng"),  # "again", read as a Mandarin reader says it, not 更 gēng beside 相 xiàng
        ("那堪更相忆", 3, "xiāng"),
        ("故人今日重相逢", 4, "chóng"),  # to meet again
        ("双袖龙钟泪不干", 6, "gān"),  # not dry, not 不干 gàn "won't do"
        ("旧居不见白云间", 6, "jiān"),  # among the white clouds
        ("轻舟已过万重山", 5, "chóng"),
        ("春风送客还家去", 4, "huán"),
        ("开轩面场圃", 3, "cháng"),  # 孟浩然: a threshing floor
    ],
)
def test_verse_phrases_decide_the_reading(line, index, reading):
    assert line_readings(line)[index].pinyin == reading


@pytest.mark.parametrize(
    ("line", "index", "reading"),
    [
        ("古來征戰幾人回", 4, "jǐ"),
        ("今我雖愚亦庶幾", 6, "jī"),  # 庶幾, a verse phrase
        ("高入塞雲燕雁稀", 2, "sài"),  # the frontier; sāi "to stuff" is colloquial
        ("泉聲咽危石", 2, "yè"),
        ("塞垣高鳥沒狼煙", 4, "mò"),  # to sink, vanish; pypinyin lists 沒 as méi only
        ("不是愛封侯", 4, "hóu"),
        ("事遂鼎湖遺劍履", 1, "suì"),
        ("宫阙万间都做了土", 1, "què"),  # standard què; quē stays open outside phrases
        ("宮殿沈沈月欲分", 2, "chén"),  # 沈 is 沉 in verse; pypinyin's first reading is the surname shěn
        ("彫甍白日沈", 4, "chén"),
    ],
)
def test_characters_alone_read_as_verse_reads_them(line, index, reading):
    assert line_readings(line)[index].pinyin.split("/")[0] == reading


def test_jian_reads_among_alone_and_as_a_dictionary_phrase_says():
    # Tang meter takes 間 level at 1,199 of 1,217 fixed places: one reading, no open polyphone
    for line, index in (("明月松間照", 3), ("腰間寶劍七星文", 1), ("白雲間", 2), ("江間波浪兼天湧", 1)):
        assert line_readings(line)[index].pinyin == "jiān", line
    assert line_readings("林花相间发")[3].pinyin == "jiàn"  # to alternate: the phrase decides
    assert line_readings("反間須防")[1].pinyin == "jiàn"


def test_the_surname_shen_reads_shen_where_simplified_output_keeps_it():
    from poetry_rnn.prosody.modern import VERSE_PHRASES
    from poetry_rnn.script import SHEN_SURNAME_WORDS

    # the 新韵 reading and the simplified output agree on the words where 沈 is the surname
    assert {phrase for phrase in VERSE_PHRASES if "沈" in phrase} == SHEN_SURNAME_WORDS
    assert all("shěn" in VERSE_PHRASES[word].split() for word in SHEN_SURNAME_WORDS)


def test_verse_tables_hold_listed_readings_and_no_polyphone():
    from poetry_rnn.prosody.modern import VERSE_PHRASES, VERSE_READINGS, listed_readings

    for phrase, readings in VERSE_PHRASES.items():
        assert len(readings.split()) == len(phrase), phrase
        for char, reading in zip(phrase, readings.split(), strict=True):
            assert reading in listed_readings(char), (phrase, char, reading)
    with open(DATA_DIR / POLYPHONES_FILE, encoding="utf-8") as handle:
        polyphones = json.load(handle)["readings"]
    assert not set(VERSE_READINGS) & set(polyphones)  # the build script leaves them out
    for char in VERSE_READINGS:
        assert char_reading(char).source == STANDARD and len(char_reading(char).syllables) == 1


def test_hou_rhymes_in_you_only(xinyun):
    assert xinyun.tones("侯") == P and xinyun.rhyme_groups("侯") == {"尤"}
    assert xinyun.tones("塞") == Z and xinyun.tones("咽") == Z and xinyun.tones("遂") == Z


@pytest.mark.parametrize(
    ("poem", "before", "after"),
    [
        # 胡曾《詠史詩·黃金臺》: 燕 in 燕然 is yān (平), as the line's 6th character must be
        ("北乘羸馬到燕然，此地何人復禮賢。若問昭王無處所，黃金臺上草連天。", ("不协平仄", 0, 5), []),
        # 楊汝士《題畫山水》: 太華 huà (仄) makes line 1 仄起, so line 2 (平起) 对 it
        (
            "太華峰前是故鄉，路人遙指讀書堂。如今老大騎官馬，羞向關西道姓楊。",
            ("失对", 1, 1),
            [("三平尾", 1, 4)],
        ),
        # 李昭象《寄尉遲侍御》: 九華 huá (平), not 華山 huà, so the last line 对s the third
        (
            "我眠青嶂弄澄潭，君戴貂蟬白玉篸。應向謝公樓上望，九華山色在西南。",
            ("失对", 3, 1),
            [("出韵", 1, 6)],
        ),
        # 杜牧《邊上聞笳》: 沒 is mò (仄), so 鳥沒狼煙 ends in no three level tones
        (
            "何處吹笳薄暮天，塞垣高鳥沒狼煙。遊人一聽頭堪白，蘇武爭禁十九年。",
            ("三平尾", 1, 4),
            [("不协平仄", 2, 3), ("不协平仄", 2, 6), ("不协平仄", 3, 3)],
        ),
    ],
)
def test_checker_verdicts_follow_the_verse_reading(poem, before, after):
    # `before`: the fault the checker gave when pypinyin alone decided; gone now
    faults = sorted((f.name, f.line, f.index) for f in analyze(poem, scheme="xinyun").faults)
    assert before not in faults and faults == after


def test_san_ping_wei_is_named_at_the_fixed_character_not_the_free_one():
    # 篱边着一花 (all 平 today): 一 at the fixed 仄 is the fault; 着 is free, and changing it as a hint at 着
    # said left 一 wrong
    analysis = analyze("山村三五户，一径入烟霞。不见行人过，篱边着一花。", scheme="xinyun")
    [fault] = analysis.faults
    assert (fault.name, fault.line, fault.index) == ("三平尾", 3, 3)
    assert "第4字「一」宜仄" in fault.message and "「一」读yī（平）" in fault.message


def test_faults_on_entering_tone_characters_read_level_today_are_explained():
    from poetry_rnn.prosody.check import analyze

    # 登鹳雀楼 under 新韵: 一 (入声 of old, yī today) makes 一层楼 three level tones
    analysis = analyze("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", scheme="xinyun")
    assert analysis.faults_named("三平尾")
    assert [n for n in analysis.notes if n.startswith("「一」古为入声（仄），今读平声")]
    # not under 平水韵, and not for a fault on a character that was level of old
    assert not [n for n in analyze("白日依山尽，黄河入海流。").notes if "古为入声" in n]
    assert not [n for n in analyze("床前明月光，疑是地上霜。", scheme="xinyun").notes if "古为入声" in n]


# ---------------------------------------------------------------------------------------------------
# A dictionary phrase across the words of the line gives way (modern rule 1)
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "index", "reading"),
    [
        ("万里长江日夜流", 2, "cháng"),  # 万里 | 长江, not 里长 lǐzhǎng "village head"
        ("萬里長江日夜流", 2, "cháng"),
        ("唯见长江天际流", 2, "cháng"),  # 李白: 见 | 长江, not 见长 jiànzhǎng
        ("万里长空一鹤飞", 2, "cháng"),  # the set phrase 万里长空 is 万里 | 长空
        ("陌上相逢处", 2, "xiāng"),  # 陌上 | 相逢, not 上相 shàngxiàng
        ("江上相逢晚", 2, "xiāng"),
        # a phrase reading its characters as they usually read, or one no word crosses, keeps its place
        ("莫向人间作大夫", 3, "jiān"),  # 人间, though jieba cuts 人 | 间作
        ("万物生长在", 3, "zhǎng"),
        ("三更独立看花月", 1, "gēng"),
        ("楼台十二重", 4, "chóng"),
    ],
)
def test_a_phrase_across_the_words_of_the_line_gives_way(line, index, reading):
    assert line_readings(line)[index].pinyin == reading


def test_wan_li_chang_jiang_is_read_as_its_words_by_the_checker():
    poem = (
        "万里长江日夜流，青山两岸送归舟。烟波浩渺无穷处，凫鹭翩跹自在游。"
        "远浦渔歌随浪起，高天雁字入云收。登临不语斜阳晚，一片归心寄远鸥。"
    )
    analysis = analyze(poem, scheme="xinyun")
    assert analysis.ok, [f.message for f in analysis.faults]  # no 孤平 from 长 zhǎng
    # and 陌上相逢: no 拗 at 相 to be rescued
    analysis = analyze("陌上相逢处，春风拂面时。桃花红似火，柳絮白如丝。", scheme="xinyun")
    assert not analysis.licences


def test_generator_takes_wan_li_chang_jiang_as_a_first_line(tiny_generator):
    poems = tiny_generator.generate(
        form="qijue", first_line="万里长江日夜流", rhyme_scheme="xinyun", n=1, seed=10
    )
    assert poems and poems[0].lines[0] in ("万里长江日夜流", "萬里長江日夜流")


# ---------------------------------------------------------------------------------------------------
# Neutral-tone particles (modern.NEUTRAL_PARTICLES): read 轻声, of no tone class, and never a rhyme
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "index", "reading", "source"),
    [
        ("桌子上的书", 3, "de", NEUTRAL),  # not dī (the taxi loanword) nor dì
        ("悄悄润了花", 3, "le", NEUTRAL),  # not liǎo
        ("静静看着你", 3, "zhe", NEUTRAL),  # not zhāo
        ("故友可安吗", 4, "ma", NEUTRAL),  # not má
        # 了 and 着 are the particle right after a verb, the verb elsewhere (时 缘 边 早 are no verbs)
        ("春花秋月何时了", 6, "liǎo", LINE_END),  # to end
        ("彼此无缘着", 4, "zhuó", LINE_END),
        ("篱边着一花", 2, "zhuó", STANDARD),  # to put, to touch
        ("期君早着鞭", 3, "zhuó", STANDARD),
        ("花开了", 2, "le", NEUTRAL),
        ("为了谁", 1, "le", NEUTRAL),  # 为了 wèile: the phrase's neutral tone
        ("的确如此", 0, "dí", PHRASE),  # phrases decide
        ("有的放矢", 1, "dì", PHRASE),
        ("干吗", 1, "má", PHRASE),
        ("的的是愁端", 1, "dí", PHRASE),  # a verse word: bright, clear
        ("双双紫燕语呢喃", 5, "ní", PHRASE),
    ],
)
def test_particles_read_in_the_neutral_tone(line, index, reading, source):
    found = line_readings(line)[index]
    assert (found.pinyin, found.source) == (reading, source)
    assert (not found.tones) == (source == NEUTRAL)


def test_a_particle_rhymes_in_no_group(xinyun):
    for char in "的吗嗎呢吧啊":
        assert xinyun.tones(char) == frozenset() and xinyun.rhyme_groups(char) == frozenset(), char
    assert "吗" not in xinyun.chars_in_group("麻") and "的" not in xinyun.chars_in_group("齐")


def test_a_particle_at_a_rhyme_is_out_of_rhyme():
    from poetry_rnn.prosody.heard import line_breaks

    analysis = analyze("秋风吹落叶，故友可安吗。远信无人寄，孤灯照晚霞。", scheme="xinyun")
    assert [(f.name, f.line, f.index) for f in analysis.faults] == [("出韵", 1, 4)]
    assert "轻声" in analysis.faults[0].message and "má" not in analysis.format()
    assert line_breaks(get_scheme("xinyun"), "故友可安吗", "中仄仄平平", rhyme_groups={"麻"}).rhyme


def test_particles_are_noted_as_neutral_not_read_in_a_full_tone():
    analysis = analyze("窗外的春雨，悄悄润了花。谁家的燕子，剪破柳枝芽。", scheme="xinyun")
    report = analysis.format()
    assert "dī" not in report and "liǎo" not in report and "未收未判" not in report
    assert [n for n in analysis.notes if n.startswith("「的、了」读轻声（de、le）")]
    assert "3 字轻声未判" in report


# ---------------------------------------------------------------------------------------------------
# 中 zhòng "to hit": in the words that always mean it; 中 alone stays zhōng (no open polyphone)
# ---------------------------------------------------------------------------------------------------
def test_zhong_to_hit_in_its_words_and_zhong_the_middle_alone(xinyun):
    assert line_readings("将军一箭中天狼")[4].pinyin == "zhòng"
    assert line_readings("射中红心")[1].pinyin == "zhòng"
    # Tang meter takes 中 level at 3,160 of 3,177 fixed places: alone it is zhōng, not either tone
    assert xinyun.tones("中") == P
    for line, index in (("杯中酒", 1), ("百箭中心", 2), ("山中一夜雨", 1)):
        assert line_readings(line)[index].pinyin == "zhōng", line
    poem = "将军一箭中天狼，塞外风沙卷大荒。战马嘶鸣催号角，旌旗猎猎映残阳。"
    analysis = analyze(poem, scheme="xinyun")
    assert analysis.ok, [f.message for f in analysis.faults]  # no 三平尾 on 中天狼


# ---------------------------------------------------------------------------------------------------
# The reading shown alone: the spelling the phrases nearly all have, where the tone class and rhyme agree
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "index", "reading"),
    [
        ("门泊东吴万里船", 1, "bó"),  # 停泊, not pō (湖泊)
        ("苦难何时尽", 4, "jìn"),  # not jǐn (尽管)
        ("盡日", 0, "jìn"),
        ("还似旧时游", 1, "sì"),  # not shì (似的)
    ],
)
def test_the_reading_shown_alone_is_the_one_the_phrases_have(line, index, reading):
    assert line_readings(line)[index].pinyin == reading


def test_the_reading_shown_alone_never_changes_a_verdict():
    from poetry_rnn.prosody.modern import listed_readings

    with open(DATA_DIR / POLYPHONES_FILE, encoding="utf-8") as handle:
        usual = json.load(handle)["standard"]
    assert usual["泊"] == "bó" and "儘" not in usual  # 儘 is jǐn: 尽's phrases are 盡's
    for char, reading in usual.items():
        first = next(s for s in map(syllable, listed_readings(char)) if s is not None)
        assert (syllable(reading).tone, syllable(reading).group) == (first.tone, first.group), char
    poem = "两个黄鹂鸣翠柳，一行白鹭上青天。窗含西岭千秋雪，门泊东吴万里船。"
    assert "「泊」读bó（平） (泊 read bó, level)" in [
        r["note"] for r in analyze(poem, scheme="xinyun").readings
    ]


# ---------------------------------------------------------------------------------------------------
# The 入声 notes: every character that was 入声 of old and is level today
# ---------------------------------------------------------------------------------------------------
def test_entering_tone_note_names_bo_of_pang_bo(pingshui):
    # 毛泽东《长征》: 礴 (磅礴) is 入声十药, like 薄; 拍 was noted, 礴 was not in the table
    assert pingshui.readings("礴") == {Reading("入聲十藥", ZE)}
    long_march = (
        "红军不怕远征难，万水千山只等闲。五岭逶迤腾细浪，乌蒙磅礴走泥丸。"
        "金沙水拍云崖暖，大渡桥横铁索寒。更喜岷山千里雪，三军过后尽开颜。"
    )
    notes = analyze(long_march, scheme="xinyun").notes
    assert [n for n in notes if n.startswith("「礴、拍」古为入声")]


def test_entering_tone_note_names_a_character_whose_other_old_readings_are_oblique():
    # 识 is 入声 职 and 去声 寘 in the rhyme book: its level reading today is the 入声 one (上 and 去 stay
    # oblique), so a fault on it gets the note as 白 does
    home = "少小离家老大回，乡音无改鬓毛衰。儿童相见不相识，笑问客从何处来。"
    assert [n for n in analyze(home, scheme="xinyun").notes if n.startswith("「识」古为入声")]
    # 着 (zhuó here) is 入 药, 去 御 and 上 语: the 三平尾 着一花 notes it with 一
    hamlet = "山村三五户，一径入烟霞。不见行人过，篱边着一花。"
    assert [n for n in analyze(hamlet, scheme="xinyun").notes if n.startswith("「着、一」古为入声")]
