"""The 格律 checker and the `check` CLI command."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from poetry_rnn.cli import main as cli_main
from poetry_rnn.errors import UserError
from poetry_rnn.prosody.analysis import FAULT_GLOSSES, FAULT_KINDS, FAULT_NAMES_EN, languages
from poetry_rnn.prosody.check import analyze, analyze_lines, split_lines
from poetry_rnn.prosody.check_command import check_batch
from poetry_rnn.prosody.rhyme import get_scheme
from poetry_rnn.prosody.rhyme_faults import neighbour_groups
from poetry_rnn.script import to_simplified

DENG_GUANQUE_LOU = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
DENG_GUANQUE_LOU_SIMPLIFIED = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
DENG_GAO = (
    "風急天高猿嘯哀，渚清沙白鳥飛迴。無邊落木蕭蕭下，不盡長江滾滾來。"
    "萬里悲秋常作客，百年多病獨登臺。艱難苦恨繁霜鬢，潦倒新停濁酒杯。"
)
CHUN_WANG = "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。"


def fault_sites(analysis) -> list[tuple[str, int | None, int | None]]:
    return [(f.name, f.line, f.index) for f in analysis.faults]


# ---------------------------------------------------------------------------------------------------
# The books
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [DENG_GUANQUE_LOU, DENG_GUANQUE_LOU_SIMPLIFIED])
def test_deng_guanque_lou_is_regular(text):
    analysis = analyze(text)
    assert analysis.ok, analysis.format()
    assert analysis.form == "wujue"
    assert analysis.pattern == "仄起首句不入韵"
    assert [line.tone_marks for line in analysis.lines] == ["●●○○●", "○○●●○", "●○○●●", "◐●●○○"]
    assert [line.line_type for line in analysis.lines] == ["仄起仄收", "平起平收", "平起仄收", "仄起平收"]
    assert analysis.rhyme_groups == ["下平十一尤"]
    assert [line.rhymes for line in analysis.lines] == [False, True, False, True]


def test_deng_gao_is_regular():
    analysis = analyze(DENG_GAO)
    assert analysis.ok, analysis.format()
    assert analysis.form == "qilv"
    assert analysis.pattern == "仄起首句入韵"
    assert analysis.rhyme_groups == ["上平十灰"]
    assert analysis.rhyme_group_labels == ["上平十灰"]


def test_chun_wang_rhymes_in_pingshui_but_not_in_xinyun():
    pingshui = analyze(CHUN_WANG)
    assert pingshui.ok, pingshui.format()
    assert pingshui.rhyme_groups == ["下平十二侵"]
    xinyun = analyze(CHUN_WANG, scheme="xinyun")
    assert xinyun.rhyme_groups == ["文"]
    assert [(f.name, f.line, f.index) for f in xinyun.faults_named("出韵")] == [("出韵", 7, 4)]
    assert "簪" in xinyun.faults_named("出韵")[0].message


# ---------------------------------------------------------------------------------------------------
# Each fault, at its place
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        # 字数: the last line has six characters.
        ("白日依山盡，黃河入海流。欲窮千里目，更上一層高樓。", [("字数", 3, None)]),
        # 句数: three lines (a couplet alone is judged as one: see below).
        ("白日依山盡，黃河入海流。欲窮千里目。", [("句数", None, None)]),
        # 出韵: 天 (下平一先) among 尤 rhymes; 閣 is an oblique (入声) rhyme.
        ("白日依山盡，黃河入海流。欲窮千里目，更上一層天。", [("出韵", 3, 4)]),
        ("白日依山盡，黃河入海流。欲窮千里目，更上一層閣。", [("出韵", 3, 4)]),
        # 重韵: 樓 rhymes twice.
        ("白日依山盡，黃河入海樓。欲窮千里目，更上一層樓。", [("重韵", 3, 4)]),
        # 失粘: line 3 is a good 仄起 line where 平起 should follow, and line 4 opposes it.
        ("白日依山盡，黃河入海流。落日千山暮，千山入海樓。", [("失粘", 2, 1)]),
        # 失对: line 2 starts 仄 like line 1; the rest follows line 2.
        ("白日依山盡，落日入江流。萬里江山暮，秋風送客舟。", [("失对", 1, 1)]),
        # 孤平: 仄平仄仄平 — only 河 is level besides the rhyme.
        ("白日依山盡，白河入海流。欲窮千里目，更上一層樓。", [("孤平", 1, 0)]),
        # 三平尾: 千層樓.
        ("白日依山盡，黃河入海流。欲窮千里目，更上千層樓。", [("三平尾", 3, 2)]),
        # 不协平仄: 欲窮千山目 — the 4th character should be 仄.
        ("白日依山盡，黃河入海流。欲窮千山目，更上一層樓。", [("不协平仄", 2, 3)]),
    ],
)
def test_each_fault_is_found_at_its_place(text, expected):
    analysis = analyze(text)
    assert fault_sites(analysis) == expected, analysis.format()
    assert not analysis.ok
    # The same poem typed in simplified characters gives the same verdict.
    assert fault_sites(analyze(to_simplified(text))) == expected


def test_gu_ping_is_no_fault_of_a_line_that_breaks_its_second_character():
    # 月照寒水凉 (仄仄平仄平) breaks the fixed 平 at 照, and that is its fault: making 月 level as a 孤平 hint
    # would say leaves the 失对 and 失粘 (王力: 孤平 is 平平仄仄平 with its first character 仄)
    analysis = analyze("古寺秋风晚，月照寒水凉。孤云归远岫，独鸟下斜阳。")
    assert fault_sites(analysis) == [("失对", 1, 1), ("失粘", 1, 1)]
    assert analyze("古寺秋风晚，月明寒水凉。孤云归远岫，独鸟下斜阳。").ok  # 照→明 mends it: 仄平平仄平
    # 平仄仄仄平: 黄 is level, 鹤 breaks the line, and the fault is named there, not as 孤平
    assert fault_sites(analyze("白日依山盡，黃鶴入海流。欲窮千里目，更上一層樓。")) == [
        ("失对", 1, 1),
        ("失粘", 1, 1),
    ]
    assert fault_sites(analyze("月下幽竹夜色清")) == [("不协平仄", 0, 3)]  # 七言: 幽竹夜色清
    # 仄仄仄仄平 stays 孤平 once 照 is mended: both are named
    assert fault_sites(analyze("白日依山盡，月照碧海流。")) == [("孤平", 1, 0), ("失对", 1, 1)]
    # 仄平仄仄平: the first character, as before
    fault = analyze("白日依山盡，白河入海流。欲窮千里目，更上一層樓。").faults_named("孤平")[0]
    assert fault.index == 0 and "第1字「白」宜平" in fault.message


def test_san_ping_wei_names_the_fixed_position_it_breaks_not_a_free_one():
    # 中平中仄平 ending 东山流: 山 must be 仄 and mends the tail; 东 is free (changing it leaves 山 wrong)
    [fault] = analyze("白日依海盡，黃河东山流。").faults_named("三平尾")
    assert (fault.line, fault.index) == (1, 3) and "皆平，第4字「山」宜仄" in fault.message
    # 七言 中仄中平中仄平: the tail starts at the free 5th character; the 6th is the fixed one
    assert fault_sites(analyze("風急天高猿聲哀")) == [("三平尾", 0, 5)]
    # where the strictness leaves no fixed 仄 in the tail (standard 中仄中平平), the tail's first character
    [fault] = analyze(DENG_GUANQUE_LOU.replace("一層", "千層"), strictness="standard").faults
    assert (fault.name, fault.line, fault.index) == ("三平尾", 3, 2) and "第3字「千」宜仄" in fault.message


def test_a_word_calls_for_the_reading_tang_verse_otherwise_leaves_out():
    # 沈 is 平 (沉) in Tang verse but for the surname, 仄: 沈郎錢 is no 三平尾
    named = analyze("一年如過客，月俸沈郎錢。")
    assert named.ok and "「沈」取仄（平仄两读）" in named.format()
    plain = analyze("一年如過客，月俸沈吟錢。")
    assert [f.name for f in plain.faults] == ["三平尾"]
    # the word in either script; the character elsewhere keeps its one reading
    from poetry_rnn.prosody.rhyme import PING, ZE, get_scheme

    scheme = get_scheme("pingshui")
    assert scheme.line_tones("衣錦還鄉")[0] == scheme.line_tones("衣锦还乡")[0] == {PING, ZE}
    assert scheme.line_tones("衣裳")[0] == {PING}


def test_every_fault_has_a_gloss_and_a_kind_the_generator_judges_by():
    assert set(FAULT_KINDS) == set(FAULT_GLOSSES)
    poems = [
        "白日依山盡，白河入海流。欲窮千里目，更上一層天。",
        "白日依山盡，黃河入海流。欲窮千里目，更上千層樓。",
    ]
    found = {fault.name for poem in poems for fault in analyze(poem).faults}
    assert found and found <= set(FAULT_KINDS)


QIAN_QI = (  # 钱起《省试湘灵鼓瑟》, a 五言排律
    "善鼓雲和瑟，常聞帝子靈。馮夷空自舞，楚客不堪聽。苦調淒金石，清音入杳冥。"
    "蒼梧來怨慕，白芷動芳馨。流水傳瀟浦，悲風過洞庭。曲終人不見，江上數峰青。"
)


def test_a_pailv_is_named_and_its_middle_couplets_must_face():
    from poetry_rnn.prosody.parallel import couplet_names

    analysis = analyze(QIAN_QI)
    assert analysis.form == "wupailv" and analysis.ok, analysis.format()
    assert "五言排律" in analysis.format() and not analysis.faults_named("句数")
    assert couplet_names(12) == ("首联", "第二联", "第三联", "第四联", "第五联", "尾联")
    assert couplet_names(24)[-2:] == ("第十一联", "尾联")
    # a middle couplet that does not face is a 对仗 fault, as in a 律诗; the first and last stay free
    loose = QIAN_QI.replace("苦調淒金石，清音入杳冥", "此曲誰人解，飄然入杳冥")
    faults = analyze(loose).parallel_faults
    assert [f.line for f in faults] == [4] and "第三联" in faults[0].message
    # six lines, or an odd number, are no regular form
    assert analyze(QIAN_QI[:36]).faults_named("句数") and analyze(QIAN_QI[:36]).form is None


def test_lines_of_other_lengths_are_no_regular_form_and_prose_gets_no_rhyme():
    # 将进酒's opening: lines of 10 and 7 characters are no 七律, though there are eight of them
    jiang_jin_jiu = (
        "君不見黃河之水天上來，奔流到海不復回。君不見高堂明鏡悲白髮，朝如青絲暮成雪。"
        "人生得意須盡歡，莫使金樽空對月。天生我材必有用，千金散盡還復來。"
    )
    assert analyze(jiang_jin_jiu).form is None
    # one line typed short keeps the form, with its 字数 fault
    typo = analyze("白日依山盡，黃河入海流。欲窮千里目，更上一樓。")
    assert typo.form == "wujue" and typo.faults_named("字数")
    # prose: its lengths are faults, but it has no rhyme group and no 出韵
    prose = analyze("我今天早上去超市买了很多东西，然后回家做饭，吃完饭以后我去公园散步，遇到了一个老朋友。")
    assert {f.name for f in prose.faults} == {"字数"} and prose.rhyme_groups == []
    assert not any(line.rhymes for line in prose.lines)
    assert any("不按近体诗判押韵平仄" in note for note in prose.notes)


def test_a_lost_character_keeps_its_place_and_the_rest_of_its_line_is_judged(capsys, monkeypatch):
    poem = "國破山河在，城春草木深。感時花濺淚，恨別鳥□心。"
    analysis = analyze(poem)
    assert [len(line.text) for line in analysis.lines] == [5, 5, 5, 5] and analysis.lines[3].template
    assert any(note.startswith("第4句第4字缺（□），不判") for note in analysis.notes)
    # its line is still judged: 恨別 against 感時 is 失对 once 時 is made oblique
    assert analyze(poem.replace("感時", "感事")).faults_named("失对")
    # the batch mode takes it as the single one does
    status, rows = batch_rows(capsys, monkeypatch, poem + "\n")
    assert status == 0 and rows[0]["ok"] is True and rows[0]["lines"][3]["text"] == "恨別鳥□心"


def test_a_minor_ao_left_unrescued_is_a_half_ao_licence_a_major_one_a_fault():
    # 李白《送友人》: 此地一为别 is 仄仄仄平仄, 一 仄 where 仄仄平平仄 has 平 (小拗), and 孤蓬万里征 does not rescue
    # it; 王力: 小拗可救可不救
    analysis = analyze("此地一为别，孤蓬万里征。")
    assert analysis.ok, analysis.format()
    licence = next(item for item in analysis.licences if item["kind"] == "半拗")
    assert (licence["line"], licence["positions"]) == (0, [2]) and "可不救" in licence["note"]
    # 大拗 (the 4th 仄 too) must be rescued: unrescued it stays a fault
    assert not analyze("此地一不别，孤蓬万里征。").ok
    # rescued, it is named 拗救, as before
    assert [item["kind"] for item in analyze("此地一为别，孤蓬千里征。").licences] == ["拗救"]


def test_seven_character_gu_ping():
    text = DENG_GAO.replace("風急天高猿嘯哀", "風急地高鶴嘯哀")  # 平仄仄平仄仄平
    assert fault_sites(analyze(text)) == [("孤平", 0, 2)]
    # 風 is level too: the message says the rule counts the last five characters, as it does
    [fault] = analyze(text).faults
    assert "第1句后五字除韵脚外只有一个平声字，第3字「地」宜平" in fault.message
    assert "line 1, last five characters: one level tone" in fault.message
    [five] = analyze("白日依山盡，白河入海流。欲窮千里目，更上一層樓。").faults
    assert "第2句除韵脚外只有一个平声字" in five.message and "last five" not in five.message


def test_ao_jiu_is_not_gu_ping():
    # 仄平平仄平 rescues the lone 平 (拗救): accepted.
    assert analyze("白日依山盡，白河千海流。欲窮千里目，更上一層樓。").ok


SU_JIANDE_JIANG = "移舟泊煙渚，日暮客愁新。野曠天低樹，江清月近人。"  # 孟浩然: line 1 平平仄平仄
FU_DE = "離離原上草，一歲一枯榮。野火燒不盡，春風吹又生。"  # 白居易: 野火燒不盡 rescued by 吹


@pytest.mark.parametrize("strictness", ["strict", "standard"])
def test_te_ao_swaps_the_third_and_fourth_tones(strictness):
    analysis = analyze(SU_JIANDE_JIANG, strictness=strictness)
    assert analysis.ok and analysis.pattern == "平起首句不入韵"
    assert [(lic["line"], lic["kind"]) for lic in analysis.licences] == [(0, "特拗")]
    assert "「泊煙」平仄互换" in analysis.licences[0]["note"] and "特拗 licence" in analysis.format()
    first = analysis.lines[0]
    assert first.template == "平平仄平仄" and all(c.fits for c in first.chars)  # shown in the form it takes


def test_te_ao_needs_a_level_first_character_strictly():
    # 客 is oblique: 仄平仄平仄 is not the 特拗 form. The fault is the opening 客 (the swap is the licence), one
    # fault, not two at the swapped 泊 and 煙 (孟浩然's 故人具雞黍 and 杜甫's 昔聞洞庭水 are such lines)
    poem = SU_JIANDE_JIANG.replace("移舟", "客舟")
    analysis = analyze(poem)
    assert fault_sites(analysis) == [("不协平仄", 0, 0)] and not analysis.licences
    assert "「泊煙」平仄互换为特拗（平平仄平仄），特拗第1字须平，「客」仄" in analysis.faults[0].message
    # the standard level's 一三五不论 frees the opening as in any line: the 特拗, with a note that says so
    standard = analyze(poem, strictness="standard")
    assert standard.ok and [(lic["kind"], lic["positions"]) for lic in standard.licences] == [("特拗", [0])]
    assert "第1字「客」仄，依一三五不论从宽" in standard.licences[0]["note"]


def test_seven_character_te_ao():
    assert [lic["kind"] for lic in analyze("遠客秦關月如水").licences] == ["特拗"]  # 仄仄平平仄平仄
    assert analyze("遠客秦關月如水").ok
    opening_oblique = analyze("遠客楚關月如水")  # the core's first character (楚) must be 平
    assert fault_sites(opening_oblique) == [("不协平仄", 0, 2)]
    assert "特拗第3字须平，「楚」仄" in opening_oblique.faults[0].message


@pytest.mark.parametrize(
    "poem",
    [
        "功蓋三分國，名成八陣圖。江流石不轉，遺恨失吞吳。",  # 杜甫: 平平仄仄仄
        "風急天高猿嘯哀，渚清沙白鳥飛迴。無邊落木蕭蕭下，不盡長江滾滾來。"
        "萬里悲秋常作客，百年多病獨登臺。艱難苦恨繁霜鬢，潦倒新停濁酒杯。".replace("常作客", "久作客"),
    ],
)
def test_three_oblique_tones_at_the_end_are_no_fault(poem):
    analysis = analyze(poem)
    assert analysis.ok and [lic["kind"] for lic in analysis.licences] == ["三仄尾"]
    assert "皆仄（三仄尾），不算失律" in analysis.licences[0]["note"]


def test_three_oblique_tones_need_the_core_first_level():
    # 仄平仄仄仄 (故 for 江): the line then has one level tone; strict flags it, standard lets it pass
    poem = "功蓋三分國，名成八陣圖。故流石不轉，遺恨失吞吳。"
    assert ("不协平仄", 2, 2) in fault_sites(analyze(poem)) and analyze(poem, strictness="standard").ok


def test_table_errata_are_left_out():
    # the rhyme table lists 宦 (去聲十六諫) in 上平四支 too, where it stands for 宧
    assert fault_sites(analyze("白日依山盡，黃河入海流。欲窮千里目，更上一宦樓。")) == [("不协平仄", 3, 3)]


def test_ao_rescued_by_the_next_line():
    analysis = analyze(FU_DE)
    assert analysis.ok
    assert [(lic["line"], lic["kind"], lic["positions"]) for lic in analysis.licences] == [(2, "拗救", [3])]
    assert "「吹」用平声相救" in analysis.licences[0]["note"]
    assert all(c.fits for c in analysis.lines[2].chars)
    # without the rescue (草 is oblique) the 4th character of line 3 is a fault again
    unrescued = analyze(FU_DE.replace("春風吹又生", "春風草又生"))
    assert fault_sites(unrescued) == [("不协平仄", 2, 3)] and not unrescued.licences


def test_a_line_alone_says_a_next_line_could_rescue_it():
    analysis = analyze("野火燒不盡")
    assert fault_sites(analysis) == [("不协平仄", 0, 3)]
    assert any("对句第3字用平声可救" in note for note in analysis.notes)
    assert not any("可救" in note for note in analyze("白日依山盡").notes)  # nothing to rescue


def test_a_rescue_excuses_only_the_core_of_its_own_line():
    # 仄仄仄仄仄 with 2nd-character faults elsewhere: 野 → 原 makes the 2nd character wrong, not excused
    analysis = analyze(FU_DE.replace("野火燒不盡", "野原燒不盡"))
    assert not analysis.ok and not analysis.licences


BOOK = get_scheme("pingshui").level_groups
QING_MING = "清明時節雨紛紛，路上行人欲斷魂。借問酒家何處有，牧童遙指杏花村。"  # 紛 文, 魂 村 元


def test_a_first_line_may_borrow_a_neighbouring_rhyme_group():
    analysis = analyze(QING_MING)
    assert analysis.ok and analysis.rhyme_groups == ["上平十三元"]
    assert [(lic["line"], lic["kind"]) for lic in analysis.licences] == [(0, "邻韵")]
    assert "借上平十三元的邻韵" in analysis.licences[0]["note"]
    # a group that is no neighbour (茫 陽) is 出韵, and so is a neighbour on any line but the first
    assert fault_sites(analyze(QING_MING.replace("雨紛紛", "雨茫茫"))) == [("出韵", 0, 6)]
    # (雲 makes 紛 雲 the 文 poem; 魂 on line 2 may not borrow)
    assert fault_sites(analyze(QING_MING.replace("杏花村", "杏花雲"))) == [("出韵", 1, 6)]
    assert sorted(neighbour_groups(get_scheme("pingshui"), "上平十三元"), key=BOOK.index) == [
        "上平十一真", "上平十二文", "上平十四寒", "上平十五刪", "下平一先"
    ]  # fmt: skip
    assert neighbour_groups(get_scheme("xinyun"), "文") == frozenset()


def test_mixed_line_lengths_are_zishu_faults():
    analysis = analyze("白日依山盡，黃河入海流水。欲窮千里目，更上一層樓。")
    assert fault_sites(analysis)[0] == ("字数", 1, None)
    assert analysis.chars_per_line == 5
    assert analysis.lines[1].template is None


def test_lines_of_other_lengths():
    analysis = analyze("關關雎鳩，在河之洲。窈窕淑女，君子好逑。")
    assert analysis.form is None and analysis.pattern is None
    assert [f.name for f in analysis.faults] == ["字数"] * 4
    assert "字数" in analysis.format()


def test_strictness_standard_checks_only_even_positions():
    # 欲窮萬里目: the 3rd character of a 中平平仄仄 line is fixed 平 in the chart, free under 一三五不论.
    text = DENG_GUANQUE_LOU.replace("欲窮千里目", "欲窮萬里目")
    assert fault_sites(analyze(text)) == [("不协平仄", 2, 2)]
    assert fault_sites(analyze(text, strictness="standard")) == []
    # The 4th character stays checked.
    text = DENG_GUANQUE_LOU.replace("欲窮千里目", "欲窮千山目")
    assert fault_sites(analyze(text, strictness="standard")) == [("不协平仄", 2, 3)]


# ---------------------------------------------------------------------------------------------------
# Scripts, polyphones, input forms
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [DENG_GUANQUE_LOU, DENG_GAO, CHUN_WANG])
@pytest.mark.parametrize("scheme", ["pingshui", "xinyun"])
def test_simplified_and_traditional_input_agree(text, scheme):
    traditional = analyze(text, scheme=scheme)
    simplified = analyze(to_simplified(text), scheme=scheme)
    assert fault_sites(simplified) == fault_sites(traditional)
    assert simplified.pattern == traditional.pattern
    assert simplified.rhyme_groups == traditional.rhyme_groups
    assert [line.line_type for line in simplified.lines] == [line.line_type for line in traditional.lines]
    assert len(simplified.text) == len(traditional.text)


def test_polyphones_fit_either_position():
    # 看 is both 平 and 仄: at a 仄 position (看山) and a 平 position (心看) it fits.
    analysis = analyze("白日看山盡，黃河入海流。欲窮千里目，更上一層樓。")
    char = analysis.lines[0].chars[2]
    assert char.char == "看" and char.polyphone and char.fits
    assert analysis.ok
    # 更 in 更上一層樓 is both; the line is still judged regular.
    assert analyze(DENG_GUANQUE_LOU).lines[3].chars[0].polyphone


@pytest.mark.parametrize(
    "text",
    [
        "白日依山盡\n黃河入海流\n欲窮千里目\n更上一層樓",
        "白日依山盡 黃河入海流 欲窮千里目 更上一層樓",
        "白日依山盡黃河入海流欲窮千里目更上一層樓",
        "  白日依山盡，黃河入海流。\r\n欲窮千里目，更上一層樓。\n\n",
        "白日依山盡,黃河入海流.欲窮千里目;更上一層樓!",
        "「白日依山盡，黃河入海流。欲窮千里目，更上一層樓。」",
    ],
)
def test_input_forms(text):
    analysis = analyze(text)
    assert analysis.text == DENG_GUANQUE_LOU
    assert analysis.ok


def test_non_chinese_characters_are_dropped_with_a_note():
    analysis = analyze("白日依山盡abc，黃河入海流。欲窮千里目，更上一層樓。")
    assert analysis.text == DENG_GUANQUE_LOU
    assert any("「abc」" in note for note in analysis.notes)
    # a run of Latin text quoted as written, not letter by letter
    moonlight = analyze("床前明月光 (moonlight before my bed)，疑是地上霜。举头望明月，低头思故乡 ok。")
    [note] = [note for note in moonlight.notes if "ignored non-Chinese" in note]
    assert "「(moonlight before my bed)」「ok」" in note


@pytest.mark.parametrize("text", ["", "   ", "Hello, world.", "12345，。"])
def test_text_without_chinese_is_a_user_error(text):
    with pytest.raises(UserError, match="no Chinese characters"):
        analyze(text)


def test_very_long_input_is_rejected_quickly():
    with pytest.raises(UserError, match="too long"):
        analyze(DENG_GUANQUE_LOU * 100)  # 2,400 characters
    with pytest.raises(UserError, match="too long"):
        analyze("白" * 10_000_000)


def test_odd_shapes_never_raise():
    for text in [
        "白",
        "白日",
        "白日依山盡",
        "白日依山盡，" * 9,
        "春眠不覺曉，處處聞啼鳥。夜來風雨聲，花落知多少。",
        "𠀀𠀁𠀂𠀃𠀄",
    ]:
        analysis = analyze(text)
        json.dumps(analysis.to_dict(), ensure_ascii=False)
        assert analysis.format()


def test_unknown_scheme_is_a_user_error():
    with pytest.raises(UserError, match="pingshui"):
        analyze(DENG_GUANQUE_LOU, scheme="cilin")


def test_oblique_rhyme_poem_reports_oblique_rhymes():
    # 春眠不覺曉 rhymes in 仄声 (曉 鳥 少): not regulated verse, said once of the whole poem, not as 出韵
    analysis = analyze("春眠不覺曉，處處聞啼鳥。夜來風雨聲，花落知多少。")
    assert fault_sites(analysis) == [("仄韵", None, None), ("失粘", 2, 1)] and not analysis.ok
    assert analysis.faults[0].message.startswith("押仄韵（上聲十七篠：曉、鳥、少），属古绝，非律绝")


def test_an_oblique_rhyme_quatrain_is_one_fault_and_its_first_line_rhymes_as_its_template_ends():
    # every rhyme of 谷 屋 鹿 is in 入声一屋: one fault says what the poem is (a 古绝, not a 律绝), none
    # calls a rhyme "outside the group"; the first line rhymes and takes a 仄收 template that its 谷 fits
    # (an 出韵 for each 仄 rhyme used to make 首句不入韵 cheaper: a 平收 line marked as a rhyme)
    analysis = analyze("秋山云满谷，小径通茅屋。老叟卧松风，闲观野田鹿。")
    assert fault_sites(analysis) == [("仄韵", None, None)]
    assert analysis.faults[0].message.startswith("押仄韵（入声一屋：谷、屋、鹿），属古绝，非律绝")
    assert analysis.pattern == "平起首句入韵（仄韵）" and analysis.rhyme_group_labels == ["入声一屋"]
    assert [line.rhymes for line in analysis.lines] == [True, True, False, True]
    assert [line.template[-1] for line in analysis.lines] == ["仄", "仄", "平", "仄"]
    assert all(char.fits for line in analysis.lines for char in line.chars)
    # a 七绝 in 入声十一陌 (白 隔 陌), the same
    seven = analyze("江上孤帆烟雨白，楼头远笛关山隔。青衫泪湿故人书，一夜西风霜满陌。")
    assert fault_sites(seven) == [("仄韵", None, None)] and seven.lines[0].rhymes
    # a first line outside the group is the one 出韵, named by its own group
    outside = analyze("千山鸟飞尽，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。")
    assert fault_sites(outside) == [("仄韵", None, None), ("出韵", 0, 4), ("失粘", 2, 1)]
    assert "「尽」属上声十一轸，不在入声九屑" in outside.faults[1].message
    assert "押仄韵（入声九屑：灭、雪）" in outside.faults[0].message


# ---------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------
def test_to_dict_is_json_and_complete():
    analysis = analyze("白日依山盡，白河入海流。欲窮千里目，更上一層樓。")
    data = json.loads(json.dumps(analysis.to_dict(), ensure_ascii=False))
    assert data["ok"] is False
    assert data["form"] == "wujue" and data["scheme"] == "pingshui"
    assert data["faults"][0]["name"] == "孤平" and data["faults"][0]["gloss"] == FAULT_GLOSSES["孤平"]
    assert data["lines"][1]["chars"][0] == {
        "char": "白",
        "tones": ["ze"],
        "required": "中",
        "fits": True,
        "polyphone": False,
    }
    assert data["lines"][0]["tone_marks"] == "●●○○●"


def test_format_shows_marks_and_faults():
    report = analyze("白日依山盡，黃河入海流。欲窮千山目，更上一層樓。").format()
    assert "●●○○●" in report and "下平十一尤" in report
    assert "不协平仄" in report and "tone mismatch" in report and "第3句第4字" in report


# ---------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------
def test_cli_check_text(capsys):
    assert cli_main(["check", DENG_GUANQUE_LOU_SIMPLIFIED]) == 0
    out = capsys.readouterr().out
    assert "仄起首句不入韵" in out and "no faults" in out


def test_cli_check_json_and_exit_status(capsys):
    assert cli_main(["check", "--json", "--scheme", "xinyun", CHUN_WANG]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["scheme"] == "xinyun"
    assert ["出韵", 7, 4] in [[f["name"], f["line"], f["index"]] for f in data["faults"]]


def test_cli_check_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(DENG_GAO))
    assert cli_main(["check", "-"]) == 0
    assert "七言律诗" in capsys.readouterr().out


def test_cli_check_bad_input(capsys):
    assert cli_main(["check", "hello"]) == 2
    assert "no Chinese characters" in capsys.readouterr().err


def test_cli_output_into_a_closed_pipe_ends_quietly():
    # `python -m poetry_rnn check ... | head -1`: the reader has gone before the report is written
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "poetry_rnn", "check", DENG_GAO],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    process.stdout.close()  # nothing will read: the first print meets a broken pipe
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141, stderr  # as a program stopped by SIGPIPE
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


def test_split_lines_keeps_space_separated_lines():
    assert split_lines("白日依山盡 黃河入海流")[0] == ["白日依山盡", "黃河入海流"]
    assert split_lines("白 日 依 山 盡")[0] == ["白日依山盡"]


# ---------------------------------------------------------------------------------------------------
# Real poems
# ---------------------------------------------------------------------------------------------------
def regulated_poems(corpus_dir):
    with open(corpus_dir / "唐诗三百首.json", encoding="utf-8") as handle:
        poems = json.load(handle)
    return ["".join(p["paragraphs"]) for p in poems if {"五言律诗", "七言律诗"} & set(p.get("tags") or ())]


def test_tang_regulated_verse_rhymes(corpus_dir):
    texts = regulated_poems(corpus_dir)
    assert len(texts) > 100
    analyses = [analyze(text) for text in texts]
    forms = Counter(a.form for a in analyses)
    assert forms["wulv"] + forms["qilv"] >= 0.95 * len(texts)
    regulated = [a for a in analyses if a.form in ("wulv", "qilv")]
    # Tang poets rhymed in one level-tone group: 出韵 is rare (a handful of known exceptions).
    off_rhyme = [a for a in regulated if a.faults_named("出韵")]
    assert len(off_rhyme) <= 0.05 * len(regulated)
    for analysis in regulated:
        if not analysis.faults_named("出韵"):
            group = analysis.rhyme_groups[0]
            for line in analysis.lines:
                if line.rhymes:
                    assert group in _groups(line.chars[-1].char), (analysis.text, group)
        # 粘对 breaks are rare; a pattern is always named.
        assert analysis.pattern is not None
    assert sum(len(a.faults_named("失粘")) + len(a.faults_named("失对")) for a in regulated) <= 0.1 * len(
        regulated
    )


def _groups(char):
    from poetry_rnn.prosody.rhyme import get_scheme

    return get_scheme("pingshui").rhyme_groups(char)


def test_simplified_input_never_adds_faults_on_real_poems(corpus_dir):
    # A simplified character has at least the readings of its traditional form, so it can only fit better.
    for text in regulated_poems(corpus_dir)[:60]:
        traditional = [f for f in analyze(text).faults if f.name != "重韵"]
        simplified = [f for f in analyze(to_simplified(text)).faults if f.name != "重韵"]
        assert len(simplified) <= len(traditional), text


def test_standard_strictness_reports_no_more_tone_faults(corpus_dir):
    for text in regulated_poems(corpus_dir)[:60]:
        strict = analyze(text).faults_named("不协平仄")
        standard = analyze(text, strictness="standard").faults_named("不协平仄")
        assert len(standard) <= len(strict)
        assert all(
            f.index in (1, 3, 5) or f.index == len(analyze(text).lines[f.line].text) - 1 for f in standard
        )


@pytest.mark.parametrize("scheme", ["pingshui", "xinyun"])
def test_analyze_lines_judges_a_split_poem_as_analyze_does(scheme):
    # 《春望》 (out of rhyme under 新韵 only), 《登高》, and its first four lines with line 1 out of rhyme
    for text in ("國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。",
                 "風急天高猿嘯哀，渚清沙白鳥飛回。無邊落木蕭蕭下，不盡長江滾滾來。"
                 "萬里悲秋常作客，百年多病獨登臺。艱難苦恨繁霜鬢，潦倒新停濁酒杯。",
                 "風急天高猿嘯悲，渚清沙白鳥飛回。無邊落木蕭蕭下，不盡長江滾滾來。"):  # fmt: skip
        lines = split_lines(text)[0]
        expected, got = analyze(text, scheme), analyze_lines(lines, scheme)
        assert got.to_dict() == expected.to_dict()
    assert not analyze_lines(split_lines("白日依山盡，黃河入海流。欲窮千里目，更上一層樓。")[0]).faults
    with pytest.raises(ValueError, match="non-empty lines"):
        analyze_lines(["白日依山盡", ""])
    with pytest.raises(ValueError, match="strictness"):
        analyze_lines(["白日依山盡"], strictness="lax")


# ---------------------------------------------------------------------------------------------------
# 对仗
# ---------------------------------------------------------------------------------------------------
# 静夜思's couplets in the middle of a 五律 (tones aside): its 颔联 床前明月光/疑是地上霜 does not face.
NOT_PARALLEL_LU = (
    "國破山河在，城春草木深。床前明月光，疑是地上霜。烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。"
)


def test_every_couplet_gets_a_verdict_and_a_lushi_with_parallel_middle_couplets_has_no_dui_zhang_fault():
    analysis = analyze(CHUN_WANG)
    assert [c.line for c in analysis.couplets] == [0, 2, 4, 6]
    assert analysis.couplets[1].parallel and analysis.couplets[2].parallel
    assert analysis.couplets[3].kind == "不对"  # 白頭搔更短，渾欲不勝簪: the last couplet is free
    assert analysis.parallel_faults == []
    deng_gao = analyze(DENG_GAO)
    assert deng_gao.couplets[1].kind == "工对" and deng_gao.parallel_faults == []


def test_a_lushi_whose_middle_couplet_is_not_parallel_gets_the_dui_zhang_fault():
    analysis = analyze(NOT_PARALLEL_LU)
    assert analysis.form == "wulv"
    assert [(f.name, f.line, f.index) for f in analysis.parallel_faults] == [("对仗", 2, None)]
    fault = analysis.parallel_faults[0]
    assert "颔联" in fault.message and "第3、4句" in fault.message and fault.gloss == FAULT_GLOSSES["对仗"]
    # kept apart from the 格律 faults: `ok` (and what the generator rejects) is unchanged by it
    assert "对仗" not in {f.name for f in analysis.faults}
    report = analysis.format()
    assert "对仗" in report and "3–4  不对" in report


SONG_YOU_REN = (
    "青山橫北郭，白水繞東城。此地一為別，孤蓬萬里征。浮雲遊子意，落日故人情。揮手自茲去，蕭蕭班馬鳴。"
)


def test_a_parallel_first_couplet_excuses_the_second_as_tou_chun_ge():
    # 李白《送友人》: the first couplet faces in place of the second (偷春格), a licence, not a fault
    analysis = analyze(SONG_YOU_REN)
    assert [c.kind for c in analysis.couplets[:3]] == ["工对", "不对", "工对"]
    assert analysis.parallel_faults == []
    licence = next(item for item in analysis.licences if item["kind"] == "偷春格")
    assert licence["line"] == 2 and "首联工对而颔联不对" in licence["note"]
    assert "偷春格 licence" in analysis.format()
    # the licence needs the 颈联 parallel: with a free 颈联 as well, both middle couplets are faults
    free_neck = SONG_YOU_REN.replace("浮雲遊子意，落日故人情", "床前明月光，疑是地上霜")
    assert [f.line for f in analyze(free_neck).parallel_faults] == [2, 4]
    assert all(item["kind"] != "偷春格" for item in analyze(free_neck).licences)
    # and a first couplet that is only 宽对 excuses nothing (first couplets read so by chance)
    assert analyze(NOT_PARALLEL_LU).couplets[0].kind == "宽对"
    assert [f.line for f in analyze(NOT_PARALLEL_LU).parallel_faults] == [2]


def test_a_quatrain_is_free_of_dui_zhang_faults_but_its_couplets_are_judged():
    analysis = analyze(DENG_GUANQUE_LOU)
    assert analysis.parallel_faults == []
    assert [c.kind for c in analysis.couplets] != [] and analysis.couplets[
        0
    ].parallel  # 白日依山盡/黃河入海流


def test_a_single_couplet_is_judged_in_either_script():
    for text in ("無邊落木蕭蕭下，不盡長江滾滾來。", to_simplified("無邊落木蕭蕭下，不盡長江滾滾來。")):
        analysis = analyze(text)
        assert len(analysis.couplets) == 1 and analysis.couplets[0].kind == "工对"
        assert analysis.couplets[0].pairs[2].label == "叠字"
    assert analyze("床前明月光，疑是地上霜。").couplets[0].kind == "不对"


def test_no_couplets_for_lines_not_of_five_or_seven_characters():
    assert analyze("春眠不覺曉處，處聞啼鳥夜來").couplets == []
    assert analyze("白日依山盡").couplets == []
    assert analyze("白日依山盡，黃河入海流流。").couplets == []


def test_couplets_in_the_json_shape():
    data = json.loads(json.dumps(analyze(CHUN_WANG).to_dict(), ensure_ascii=False))
    assert [c["lines"] for c in data["couplets"]] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    for couplet in data["couplets"]:
        assert set(couplet) == {"lines", "parallel", "kind", "score", "strict_score", "pairs", "shared"}
        assert couplet["kind"] in ("工对", "宽对", "不对") and couplet["parallel"] == (
            couplet["kind"] != "不对"
        )
        assert 0 <= couplet["score"] <= 1
        assert "".join(p["left"] for p in couplet["pairs"]) == data["lines"][couplet["lines"][0]]["text"]
    assert data["parallel_faults"] == []


def test_analyze_lines_judges_couplets_too():
    analysis = analyze_lines(["國破山河在", "城春草木深", "床前明月光", "疑是地上霜"] * 2)
    assert [c.kind for c in analysis.couplets][1] == "不对"
    assert [f.line for f in analysis.parallel_faults] == [2]


# ---------------------------------------------------------------------------------------------------
# check --batch
# ---------------------------------------------------------------------------------------------------
BATCH = "\n".join(
    [
        "無邊落木蕭蕭下，不盡長江滾滾來。",
        CHUN_WANG,
        "床前明月光",  # a single line
        "白日依山盡，黃河入海流流。",  # unequal lengths
        "hello，world",  # Latin
        "白日依山盡😀，黃河入海流。",  # emoji
        "山" * 2000,  # a long paste
        "",
        "春眠不覺曉處，處聞啼鳥夜來",  # lines of 6
        to_simplified(NOT_PARALLEL_LU),
    ]
)


def batch_rows(capsys, monkeypatch, text: str, *args: str) -> tuple[int, list[dict]]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))
    status = cli_main(["check", "--batch", "-", "--json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, [json.loads(line) for line in captured.out.splitlines()]


def test_batch_gives_one_json_object_per_input_line_and_goes_on_after_bad_lines(capsys, monkeypatch):
    status, rows = batch_rows(capsys, monkeypatch, BATCH)
    assert status == 2  # some lines were unusable
    assert [row["line"] for row in rows] == [1, 2, 3, 4, 5, 6, 7, 9, 10]  # the blank line 8 gives none
    errors = {row["line"]: row["error"] for row in rows if "error" in row}
    assert set(errors) == {3, 4, 5, 6, 7, 9}
    assert "single line" in errors[3]
    assert "unequal length" in errors[4]
    assert "only Chinese characters" in errors[5] and "h" in errors[5]
    assert "😀" in errors[6]
    assert "too long" in errors[7] and len(rows[6]["input"]) < 50
    assert "5 or 7" in errors[9]
    couplet = rows[0]
    assert couplet["couplets"][0]["kind"] == "工对" and couplet["couplets"][0]["lines"] == [0, 1]
    assert set(rows[1]) == {"line", *analyze(CHUN_WANG).to_dict()}  # the keys of check --json, and "line"
    assert rows[8]["form"] == "wulv" and [f["line"] for f in rows[8]["parallel_faults"]] == [2]


def test_batch_of_good_poems_and_exit_status(capsys, monkeypatch, tmp_path):
    status, rows = batch_rows(capsys, monkeypatch, f"{DENG_GUANQUE_LOU}\n{DENG_GAO}\n")
    assert status == 0 and len(rows) == 2 and all(row["ok"] for row in rows)
    path = tmp_path / "poems.txt"
    path.write_text(f"{CHUN_WANG}\n", encoding="utf-8")
    assert cli_main(["check", "--batch", str(path), "--json", "--scheme", "xinyun"]) == 1  # 出韵 in 新韵
    assert json.loads(capsys.readouterr().out)["scheme"] == "xinyun"
    assert cli_main(["check", "--batch", str(path)]) == 0  # the text form, 平水韵: one line per poem
    out = capsys.readouterr().out
    assert out.startswith("1\t") and "合律" in out and "工对" in out


def test_a_long_text_on_stdin_is_refused_without_claiming_a_length_it_did_not_read(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("白" * 100_000))
    assert cli_main(["check", "-"]) == 2
    err = capsys.readouterr().err
    assert "over 5,000 characters" in err and "100,000" not in err and "5,001" not in err


def test_batch_survives_bytes_that_are_not_utf8(capsys, monkeypatch):
    payload = DENG_GUANQUE_LOU.encode("utf-8") + b"\n\xff\xfe\x80\n" + DENG_GAO.encode("utf-8") + b"\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(payload), encoding="utf-8"))
    assert cli_main(["check", "--batch", "-", "--json"]) == 2
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert ["error" in row for row in rows] == [False, True, False]


def test_batch_argument_errors(capsys, tmp_path):
    assert cli_main(["check", "--batch", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli_main(["check", "--batch", "-", DENG_GAO]) == 2
    assert "not both" in capsys.readouterr().err
    assert cli_main(["check"]) == 2
    assert "give a poem" in capsys.readouterr().err


def test_a_tied_rhyme_group_does_not_depend_on_the_hash_seed():
    # 涯 rhymes in 支, 佳 and 麻 and nothing else decides: the rhyme book's order must, not a set's order
    poem = "湘水春今古，巴陵舊作涯。邅迴岐路路，寂寞楚江涯。湘水日何暮，山川芳月空。行行聊自問，流淚向江東。"
    code = (
        "import sys; from poetry_rnn.prosody.check import analyze; "
        "print(analyze(sys.argv[1], scheme='pingshui').rhyme_groups)"
    )
    found = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code, poem], capture_output=True, text=True, env=env, timeout=120
        )
        assert result.returncode == 0, result.stderr
        found.add(result.stdout.strip())
    assert found == {"['上平四支']"}


# ---------------------------------------------------------------------------------------------------
# 失粘 / 失对 named for any 4- or 8-line poem, with the nearest pattern
# ---------------------------------------------------------------------------------------------------
JING_YE_SI = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"


@pytest.mark.parametrize("scheme", ["pingshui", "xinyun"])
def test_jing_ye_si_breaks_adhesion_and_opposition(scheme):
    analysis = analyze(JING_YE_SI, scheme=scheme)
    # 是 仄 then 頭 平: line 3 does not stick to line 2; 頭/頭 in lines 3–4 do not oppose. Line 3's 頭 is the
    # one against the pattern (line 4's fits its 平起 line), so both faults name it.
    assert [(f.line, f.index) for f in analysis.faults_named("失粘")] == [(2, 1)]
    assert [(f.line, f.index) for f in analysis.faults_named("失对")] == [(2, 1)]
    assert "与下句第2字「頭」同声" in analysis.faults_named("失对")[0].message
    assert analysis.lines[3].chars[1].fits and not analysis.lines[2].chars[1].fits
    assert analysis.faults_named("不协平仄")  # 上 where 仄起平收 wants 平, as before
    nearest = [n for n in analysis.notes if "nearest pattern" in n]
    assert len(nearest) == 1 and analysis.pattern in nearest[0] and "第3句失粘" in nearest[0]


def test_a_second_character_that_breaks_a_link_is_named_by_the_link():
    # 頭 (line 3) is 平 where the nearest pattern's 仄起 line wants 仄: the fault is 失粘, not 不协平仄.
    analysis = analyze(JING_YE_SI)
    assert analysis.lines[2].template[1] == "仄"
    assert not [f for f in analysis.faults if f.name == "不协平仄" and f.index == 1]
    assert len(analysis.faults) == 3  # 上, then the two links


def test_a_regular_poem_gets_no_nearest_pattern_note():
    assert not [n for n in analyze(DENG_GAO).notes if "nearest pattern" in n]


def test_readings_say_which_reading_of_a_polyphone_was_used():
    analysis = analyze(CHUN_WANG)  # 平水韵: 更 and 勝 have both tones; the pattern takes 更 仄, 勝 平
    notes = {(r["line"], r["char"]): r["note"] for r in analysis.to_dict()["readings"]}
    assert (
        notes[(6, "更")] == "「更」取仄（平仄两读） (更 taken as oblique: it has level and oblique readings)"
    )
    assert notes[(7, "勝")].startswith("「勝」取平（平仄两读） (勝 taken as level")
    for reading in analysis.readings:
        assert len(analysis.lines[reading["line"]].chars[reading["index"]].tones) == 2
        assert "取仄（平仄两读）" in reading["note"] or "取平（平仄两读）" in reading["note"]


def test_a_rare_rhyme_book_reading_excuses_nothing():
    # 崔颢《黄鹤楼》: 空 in 空悠悠 is 平 in verse (its 去聲 reading is all but unused), so the line ends in
    # three level tones, and 不 at a place that needs 平 breaks the pattern; each fault says why.
    analysis = analyze(
        "昔人已乘黄鹤去，此地空余黄鹤楼。黄鹤一去不复返，白云千载空悠悠。"
        "晴川历历汉阳树，芳草萋萋鹦鹉洲。日暮乡关何处是，烟波江上使人愁。"
    )
    faults = {(f.name, f.line): f for f in analysis.faults}
    assert "「空」此处按常读作平声" in faults[("三平尾", 3)].message
    bu = [f for f in analysis.faults if f.line == 2 and analysis.lines[2].text[f.index] == "不"]
    assert bu and "「不」此处按常读作仄声" in bu[0].message
    assert {(r["line"], r["char"]) for r in analysis.readings} >= {(3, "空"), (2, "不")}


def test_an_oblique_rhyme_poem_is_named_as_such():
    # 柳宗元《江雪》 rhymes 绝 灭 雪 in 入聲九屑: one fault of the whole poem says what it is (古绝, not 律绝)
    analysis = analyze("千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。")
    assert not analysis.faults_named("出韵")
    [oblique] = analysis.faults_named("仄韵")
    assert oblique.line is None and oblique.message.startswith(
        "押仄韵（入声九屑：绝、灭、雪），属古绝，非律绝"
    )
    # its tones are judged by the 仄韵 patterns (rhyme lines end 仄, the others 平): one 失粘, at line 3,
    # not a 平韵 pattern's faults at 人, 翁 and 寒
    assert [(f.name, f.line) for f in analysis.faults if f.name != "仄韵"] == [("失粘", 2)]
    assert [line.template[-1] for line in analysis.lines] == ["仄", "仄", "平", "仄"]
    assert not analyze(DENG_GAO).faults_named("仄韵")
    # 王维《鹿柴》 rhymes 响 上 in 上声二十二养: its rhymes are those, not a level group that 人 suggests
    deer = analyze("空山不见人，但闻人语响。返景入深林，复照青苔上。")
    assert deer.rhyme_group_labels == ["上声二十二养"]
    assert deer.faults[0].message.startswith("押仄韵（上声二十二养：响、上）")
    assert [line.rhymes for line in deer.lines] == [False, True, False, True]
    assert "韵部 rhyme group: 上声二十二养" in deer.format() and "韵「人」" not in deer.format()


def test_report_counts_parallel_faults_and_unjudged_characters():
    report = analyze(
        "昔人已乘黄鹤去，此地空余黄鹤楼。黄鹤一去不复返，白云千载空悠悠。"
        "晴川历历汉阳树，芳草萋萋鹦鹉洲。日暮乡关何处是，烟波江上使人愁。"
    ).format()
    assert "；另有对仗问题 1 处" in report and "黄鹤/白云（工）" in report
    # a rhyme character the table lacks is not judged, and the verdict says so
    report = analyze("白日依山尽，黄河入海流。欲穷千里目，更上一层𠀀。").format()
    assert "1 字未收未判" in report and "未见问题 — no faults found" not in report


@pytest.mark.parametrize(
    ("text", "note"),
    [
        (
            "静夜思\n李白\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
            "首行「静夜思」、「李白」当作题目或作者",
        ),
        ("静夜思 床前明月光，疑是地上霜。举头望明月，低头思故乡。", "首行「静夜思」当作题目或作者"),
        ("《静夜思》床前明月光，疑是地上霜。举头望明月，低头思故乡。", "题目《静夜思》不计入诗句"),
        ("李白——床前明月光，疑是地上霜。举头望明月，低头思故乡。", "首行「李白」当作题目或作者"),
        ("床前明月光，疑是地上霜。\n😀😀 ok\n举头望明月，低头思故乡。", "无汉字的一段不算诗句：「😀😀 ok」"),
        (
            "静夜思 李白 床前明月光，疑是地上霜。举头望明月，低头思故乡。",
            "首行「静夜思」、「李白」当作题目或作者",
        ),
        ("床前明月光（一作看月光），疑是地上霜。举头望明月，低头思故乡。", "括注（一作看月光）不计入诗句"),
        ("床前明月光疑是地上霜。举头望明月，低头思故乡。", "第1句10字无标点，按每句5字分开"),
    ],
)
def test_title_author_and_empty_segments_are_not_poem_lines(text, note):
    lines, notes = split_lines(text)
    assert lines == ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
    assert [n for n in notes if n.startswith(note)], notes
    # a short line inside a poem is still a line (and a 字数 fault), not a header
    assert len(split_lines("床前明月，疑是地上霜。举头望明月，低头思故乡。")[0]) == 4
    # brackets around whole lines are not a note; a long line among lines of mixed lengths is not cut
    assert split_lines("（床前明月光，疑是地上霜。）")[0] == ["床前明月光", "疑是地上霜"]
    assert split_lines("床前明月光疑是地上霜，举头望明月，低头思故乡，低头")[0][0] == "床前明月光疑是地上霜"


def test_rhyme_group_labels_follow_the_poems_script():
    simplified = analyze("床前明月光，疑是地上霜。举头望明月，低头思故乡。")
    traditional = analyze("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。")
    assert simplified.rhyme_group_labels == ["下平七阳"] and traditional.rhyme_group_labels == ["下平七陽"]


def test_cli_help_goes_to_stdout_and_an_unknown_command_is_named(capsys):
    assert cli_main(["--help"]) == 0
    out, err = capsys.readouterr()
    assert "check" in out and "generate" in out and not err
    assert cli_main(["chek", "白日依山尽"]) == 2
    out, err = capsys.readouterr()
    assert "unknown command 'chek'" in err and not out
    assert cli_main(["check", "hello"]) == 2  # a refusal: in English, then in Chinese
    err = capsys.readouterr().err
    assert err.startswith("error: no Chinese characters") and "\n错误：没有汉字" in err


def test_a_couplet_alone_is_judged_as_a_couplet():
    # The batch mode takes couplets (for 对仗); one is no 句数 fault, and a note says how it was read.
    analysis = analyze("白日依山盡，黃河入海流。")
    assert analysis.ok and [n for n in analysis.notes if n.startswith("只有一联")]
    assert len(analysis.couplets) == 1
    assert [f.name for f in analyze("白日依山盡，白河入海流。").faults] == ["孤平"]


def test_a_single_line_is_judged_as_a_line_not_as_a_poem():
    analysis = analyze("白日依山盡")
    assert analysis.ok and analysis.pattern is None and analysis.form is None
    assert (analysis.lines[0].line_type, analysis.lines[0].template) == ("仄起仄收", "中仄平平仄")
    assert [n for n in analysis.notes if n.startswith("只有一句")]
    head = analysis.format().splitlines()[0]
    assert head == "平水韵 (pingshui) · 单句 (a single line)", head
    # its tones against the line types: 依山來 ends in three level tones whichever type it takes
    assert fault_sites(analyze("白日依山來")) == [("三平尾", 0, 2)]


def test_counts_in_english_messages_are_singular_for_one():
    three = analyze("白日依山盡，黃河入海流。欲窮千里目。").faults_named("句数")[0]
    assert "(3 lines;" in three.message
    short = analyze("白日依山盡，黃河入海流。欲窮千里目，樓。").faults_named("字数")[0]
    assert "has 1 character;" in short.message


@pytest.mark.parametrize("marks", ["「」", "『』", "“”", "‘’", "「『』」"])
def test_quotation_marks_around_a_poem_are_set_aside_at_both_ends(marks):
    opening, closing = marks[: len(marks) // 2], marks[len(marks) // 2 :]
    analysis = analyze(opening + DENG_GUANQUE_LOU + closing)
    assert analysis.text == DENG_GUANQUE_LOU and analysis.ok
    assert analysis.notes == []
    # the batch mode takes a quoted poem too
    (row,) = check_batch([opening + DENG_GUANQUE_LOU + closing])
    assert "error" not in row and row["ok"], row


def test_the_ideographic_zero_is_a_character_left_unjudged():
    analysis = analyze("白日依山〇，黃河入海流。欲窮千里目，更上一層樓。")
    assert analysis.lines[0].text == "白日依山〇" and not analysis.faults_named("字数")
    assert analysis.ok and analysis.lines[0].chars[4].tones == []
    assert [n for n in analysis.notes if n.startswith("平水韵未收") and "〇" in n]
    assert "1 字未收未判" in analysis.format()


def test_a_japanese_spelling_reads_as_the_character_it_spells():
    # 隠 is 隱 in a Japanese spelling: read, not left out as unknown
    analysis = analyze("白日依山隠，黃河入海流。欲窮千里目，更上一層樓。")
    assert analysis.ok and analysis.lines[0].chars[4].tones == ["ze"]
    assert not [n for n in analysis.notes if "未收" in n]
    assert fault_sites(analyze("白日依山頼，黃河入海流。欲窮千里目，更上一層樓。")) == []


def test_an_analysis_prints_as_its_report_and_reprs_in_one_line():
    analysis = analyze("白日依山尽，黄河入海流。欲穷千里目，更上一层高。")
    assert str(analysis) == analysis.format()
    shown = repr(analysis)
    assert "\n" not in shown and len(shown) < 300
    assert "form='wujue'" in shown and "ok=False" in shown and "faults=['出韵@4']" in shown


def test_a_batch_passes_over_blank_lines_and_keeps_the_line_numbers():
    rows = list(check_batch([DENG_GUANQUE_LOU + "\n", "\n", "   \n", "白日依山尽\n", DENG_GUANQUE_LOU]))
    assert [row["line"] for row in rows] == [1, 4, 5]
    assert rows[0]["ok"] and "error" in rows[1] and rows[2]["ok"]


def test_a_first_line_ending_in_a_polyphone_that_rhymes_is_taken_as_rhyming():
    # 征 (simplified: also 徵, 仄) ends line 1 of a 五绝 rhyming in 庚: read as a rhyme, 首句入韵, not the
    # 五言 default of an unrhymed first line; a polyphone that rhymes with nothing keeps the default
    analysis = analyze("秋风送远征，落日照孤城。野旷人烟少，山高鸟道横。")
    assert analysis.ok and analysis.pattern == "平起首句入韵"
    assert 0 in {i for i, line in enumerate(analysis.lines) if line.rhymes}
    analysis = analyze("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。")
    assert analysis.pattern == "仄起首句不入韵"


# ---------------------------------------------------------------------------------------------------
# A poetry teacher's audit
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("poem", "wrong", "right"),
    [
        # 登鹳雀楼 with 白日 → 白山: 山 (平) is against line 1's 仄起; 河 is as line 2 wants it
        ("白山依山尽，黄河入海流。欲穷千里目，更上一层楼。", "山", "河"),
        # 清明 with 清明 → 清夜: 夜 (仄) is against line 1's 平起; 上 is as line 2 wants it
        ("清夜时节雨纷纷，路上行人欲断魂，借问酒家何处有，牧童遥指杏花村", "夜", "上"),
    ],
)
def test_a_broken_opposition_names_the_character_against_the_pattern(poem, wrong, right):
    analysis = analyze(poem)
    [fault] = analysis.faults_named("失对")
    assert (fault.line, fault.index) == (0, 1)
    assert not analysis.lines[0].chars[1].fits and analysis.lines[1].chars[1].fits
    assert f"第1句第2字「{wrong}」与下句第2字「{right}」同声" in fault.message
    assert "line 1, 2nd character" in fault.message and "in the next line, line 2" in fault.message
    assert [
        n
        for n in analysis.notes
        if f"第1句失对「{wrong}」" in n and f"broken opposition in line 1 ({wrong})" in n
    ]


def test_a_rescuing_line_with_a_fault_of_its_own_rescues_nothing():
    # 黄河东山流 has 平 at character 3 but ends 东山流, three level tones: 海 in line 1 stays a fault
    analysis = analyze("白日依海尽，黄河东山流。欲穷千里目，更上一层楼。")
    assert fault_sites(analysis) == [("不协平仄", 0, 3), ("三平尾", 1, 3)]
    assert not analysis.licences
    # 李商隐《登乐游原》: 意不适 rescued by 登 of a sound line, 合律
    rescued = analyze("向晚意不适，驱车登古原。夕阳无限好，只是近黄昏。")
    assert rescued.ok and [licence["kind"] for licence in rescued.licences] == ["拗救"]


@pytest.mark.parametrize(
    ("poem", "first_rhymes"),
    [
        ("春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。", True),  # 孟浩然《春晓》: 晓 鸟 少
        ("千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。", True),  # 柳宗元《江雪》: 绝 灭 雪
        ("空山不见人，但闻人语响。返景入深林，复照青苔上。", False),  # 王维《鹿柴》: 响 上
    ],
)
def test_an_oblique_rhyme_poems_pattern_agrees_with_its_rhyme_lines(poem, first_rhymes):
    analysis = analyze(poem)
    assert analysis.lines[0].rhymes is first_rhymes
    assert analysis.pattern.endswith("首句入韵（仄韵）" if first_rhymes else "首句不入韵（仄韵）")
    assert f" · {analysis.pattern} (" in analysis.format().splitlines()[0]


def test_a_report_with_only_parallel_faults_does_not_say_no_faults():
    # 杜甫《春夜喜雨》: tones and rhyme are regular; the table does not read 随风潜入夜/润物细无声 as parallel
    analysis = analyze(
        "好雨知时节，当春乃发生。随风潜入夜，润物细无声。野径云俱黑，江船火独明。晓看红湿处，花重锦官城。"
    )
    assert analysis.ok and len(analysis.parallel_faults) == 1  # `ok` keeps its meaning: 合律
    report = analysis.format()
    assert "no faults found" not in report and "合律：未见问题" not in report
    assert (
        "格律（平仄、押韵）未见问题；另有对仗问题 1 处 — no faults of tone or rhyme; 1 对仗 fault below:"
        in report
    )
    assert "合律：未见问题 — no faults found." in analyze(DENG_GUANQUE_LOU).format()


def test_a_rare_reading_note_says_which_reading_is_used_and_why():
    # 崔颢《黄鹤楼》: 空悠悠 is three level tones, 空 being read in its usual 平
    analysis = analyze(
        "昔人已乘黄鹤去，此地空余黄鹤楼。黄鹤一去不复返，白云千载空悠悠。"
        "晴川历历汉阳树，芳草萋萋鹦鹉洲。日暮乡关何处是，烟波江上使人愁。"
    )
    [fault] = [f for f in analysis.faults if f.name == "三平尾"]
    assert "「空」此处按常读作平声：韵书虽另收仄声一读，唐人律诗几乎不用" in fault.message
    assert "空 is read in its usual level tone" in fault.message and "不计" not in fault.message


def test_a_rare_reading_that_cannot_excuse_an_out_of_group_rhyme_is_not_noted():
    # 深 (下平十二侵) among 真 rhymes: its rare 仄 reading rhymes in no level group, so no note on the 出韵
    analysis = analyze(
        "客路逢春暮，他乡忆故人。青山遮去雁，白发对孤云。夜雨敲窗冷，寒灯照影深。何时还旧里，一醉话平生。"
    )
    [deep] = [f for f in analysis.faults_named("出韵") if f.line == 5]
    assert "属下平十二侵，不在上平十一真" in deep.message and "此处按常读" not in deep.message
    assert "深" not in [r["char"] for r in analysis.readings]
    # an oblique rhyme whose rare reading is 平 (不, also 尤韵) keeps its note: that reading could rhyme
    [bu] = analyze("白日依山尽，黄河入海不。").faults_named("出韵")
    assert "「不」此处按常读作仄声" in bu.message


def test_the_oblique_group_of_xiao_is_named_as_usual():
    analysis = analyze("春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。")
    assert analysis.rhyme_group_labels == ["上声十七筱"]
    assert "上声十七筱" in analysis.format() and "筿" not in analysis.format()
    assert get_scheme("pingshui").group_label("上聲十七篠") == "上聲十七篠"  # the traditional name as it was


@pytest.mark.parametrize(
    "couplet", ["白日依山尽黄河入海流", "无边落木萧萧下不尽长江滚滚来", "白日依山尽 黄河入海流"]
)
def test_an_unpunctuated_couplet_is_cut_into_its_two_lines(couplet):
    analysis = analyze(couplet)
    half = len(couplet.replace(" ", "")) // 2
    assert [line.text for line in analysis.lines] == [couplet[:half], couplet.replace(" ", "")[half:]]
    assert not analysis.faults_named("字数")


def test_a_single_poem_refused_with_json_prints_a_json_error(capsys, monkeypatch):
    assert cli_main(["check", "abc", "--json"]) == 2
    single = json.loads(capsys.readouterr().out)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"abc\n"), encoding="utf-8"))
    assert cli_main(["check", "--batch", "-", "--json"]) == 2
    batch = json.loads(capsys.readouterr().out)
    assert set(single) == set(batch) == {"line", "error", "input"}  # the batch's shape
    assert single["input"] == batch["input"] == "abc" and single["line"] == 1
    assert "no Chinese characters" in single["error"]
    assert cli_main(["check", "abc"]) == 2  # the text form is unchanged: the error on stderr
    caught = capsys.readouterr()
    assert not caught.out and "no Chinese characters" in caught.err


def test_a_second_character_with_no_reading_breaks_no_link():
    """们 has no 平水韵 reading: the note says it is not judged, so it is not the 失粘 the checker named."""
    analysis = analyze("春天来了花儿开，小鸟唱歌真好听。我们一起去公园，快快乐乐玩一天。", scheme="pingshui")
    assert not [f for f in analysis.faults if f.name in ("失粘", "失对")], analysis.format()
    assert any("们" in note for note in analysis.notes)
    # a heard 2nd character still breaks its link: 鸟 (仄) in line 3, then 快 (仄) in line 4 of its couplet
    broken = analyze("春天来了花儿开，小鸟唱歌真好听。小鸟一起去公园，快快乐乐玩一天。", scheme="pingshui")
    assert [f.name for f in broken.faults if f.name in ("失粘", "失对")] == ["失对"]


@pytest.mark.parametrize(
    ("poem", "scheme"),
    [
        ("床前明月光，疑是地上霜。举头望明月，低头思故乡。", "pingshui"),  # tone, 粘 and 对 faults
        ("白日依山尽，黄河入海流。欲穷千里目，更上一层流。", "pingshui"),  # 重韵
        ("白日依山尽，黄河入海流。欲穷千里目，更上一层目。", "pingshui"),  # an oblique rhyme character
        ("白日依山尽，黄河入海流。欲穷千里，更上一层楼。", "pingshui"),  # 字数
        (  # 失对 and 失粘 on a reading, 出韵
            "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
            "xinyun",
        ),
    ],
)
def test_each_faults_english_half_names_its_line_and_character_in_english(poem, scheme):
    # an English reader learns where each fault is and what is wrong without the Chinese half
    analysis = analyze(poem, scheme=scheme)
    assert analysis.faults
    for fault in analysis.faults:
        chinese, english = languages(fault.message)
        assert chinese != english and f"line {fault.line + 1}" in english, fault
        if fault.index is not None:
            assert analysis.lines[fault.line].text[fault.index] in english, fault
        # Chinese only as quoted characters and names in brackets: no Chinese sentence (「」, 读, 取)
        assert not re.search("[「」读取应宜]", english), fault
        as_json = fault.to_dict()  # (check --json) each language apart too
        assert (as_json["message_zh"], as_json["message_en"]) == (chinese, english)
        assert as_json["name_en"] == FAULT_NAMES_EN[fault.name]


def test_the_reports_english_says_the_pattern_the_couplets_and_the_readings():
    report = analyze(
        "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
    ).format()
    head = report.splitlines()[0]
    assert head.endswith("仄起首句不入韵 (oblique start, first line unrhymed)")
    assert "中 either tone" in report  # the pattern column's 中 explained
    assert "  7–8  不对 not parallel" in report and "  3–4  工对 strict parallel" in report
    [readings] = [line for line in report.splitlines() if line.startswith("读音")]
    assert "(readings used: 溅 taken as oblique: it has level and oblique readings; 更 taken" in readings
    lines = analyze(
        "春风吹绿柳，明月照高楼。江水东流去，何人独倚舟。山中无客到，月下有谁留。万里云天远，孤帆向远游。"
    )
    [fault] = lines.parallel_faults
    assert "lines 3–4, the chin couplet (颔联), are not parallel" in fault.message


@pytest.mark.parametrize(
    ("poem", "scheme", "label"),
    [
        ("人閒桂花落，夜靜春山空。月出驚山鳥，時鳴春澗中。", "pingshui", "上平一東"),  # 閒 is traditional too
        ("黄河遠上白雲間，一片孤城萬仞山。羌笛何須怨楊柳，春風不度玉門關。", "pingshui", "上平十五刪"),
        ("風急天高猿嘯哀，渚清沙白鳥飛迴。無邊落木蕭蕭下，不盡長江滾滾來。", "xinyun", "開"),
        ("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "pingshui", "下平十一尤"),
    ],
)
def test_a_poems_rhyme_group_is_named_in_the_poems_script(poem, scheme, label):
    assert analyze(poem, scheme=scheme).rhyme_group_labels == [label]


def test_an_out_of_rhyme_fault_says_what_to_write_instead():
    # a learner is told which characters of the poem's group would rhyme, none the poem already rhymes on
    analysis = analyze("白日依山尽，黄河入海流。欲穷千里目，更上一层台。")
    [fault] = analysis.faults_named("出韵")
    chinese, english = languages(fault.message)
    suggested = re.findall("「(.)」", chinese.split("可换作本韵的")[1])
    assert len(suggested) >= 2 and "流" not in suggested
    scheme = get_scheme("pingshui")
    assert all("下平十一尤" in scheme.rhyme_groups(char) for char in suggested)
    assert f"such as {', '.join(suggested)}" in english
