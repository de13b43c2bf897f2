"""Rhyme schemes (平水韵, 中华新韵) and tone patterns."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poetry_rnn.errors import UserError
from poetry_rnn.prosody.patterns import (
    FORMS,
    LINE_TEMPLATES,
    LINE_TYPES,
    REGULAR_LINES,
    STANDARD,
    STRICT,
    allowed_tones,
    build_pattern,
    fits,
    fixed_positions,
    get_form,
    get_pattern,
    is_gu_ping,
    is_san_ping_wei,
    tone_marks,
    tone_patterns,
)
from poetry_rnn.prosody.reading_notes import rare_reading_note
from poetry_rnn.prosody.rhyme import PING, ZE, get_scheme, is_cjk, pingshui_book
from poetry_rnn.script import VARIANTS, to_simplified

P, Z = frozenset({PING}), frozenset({ZE})
BOTH = P | Z


@pytest.fixture(scope="module")
def pingshui():
    return get_scheme("pingshui")


@pytest.fixture(scope="module")
def xinyun():
    return get_scheme("xinyun")


# ---------------------------------------------------------------------------------------------------
# 平水韵
# ---------------------------------------------------------------------------------------------------
def test_pingshui_has_30_level_groups_in_book_order(pingshui):
    assert len(pingshui.level_groups) == 30
    assert pingshui.level_groups[0] == "上平一東"
    assert pingshui.level_groups[14] == "上平十五刪"
    assert pingshui.level_groups[-1] == "下平十五咸"
    assert "下平十一尤" in pingshui.level_groups
    for group in pingshui.level_groups:
        chars = pingshui.chars_in_group(group)
        assert len(chars) > 20, group
        assert all(is_cjk(c) for c in chars), group  # the table's Latin junk is filtered out


def test_group_head_characters_are_in_their_groups(pingshui):
    # The package's 下平一先 list lacks 先 itself; the loader restores it.
    for group in pingshui.level_groups:
        assert group[-1] in pingshui.chars_in_group(group), group
    assert pingshui.rhyme_groups("先") == {"下平一先"}


def test_members_of_a_group_rhyme_in_it(pingshui, xinyun):
    for scheme in (pingshui, xinyun):
        for group in scheme.level_groups:
            for char in sorted(scheme.chars_in_group(group))[:40]:
                assert group in scheme.rhyme_groups(char), (scheme.name, group, char)
                assert PING in scheme.tones(char)


@pytest.mark.parametrize("char", list("看思過教重行望聽忘醒相"))
def test_polyphones_have_both_tones(pingshui, char):
    assert pingshui.tones(char) == BOTH


@pytest.mark.parametrize(("char", "kept"), [("不", Z), ("空", P), ("中", P), ("鄉", P), ("乡", P), ("聞", P)])
def test_readings_verse_hardly_uses_are_left_out(pingshui, char, kept):
    # The rhyme book lists 不 in 尤 (fǒu) and 空 中 鄉 聞 in 去聲 too, but Tang regulated verse all but never
    # reads them so: neither the decoder nor the checker may take 不 as 平 because a pattern needs it.
    book = pingshui_book()
    assert book.tones(char) == BOTH
    assert pingshui.tones(char) == kept
    assert "此处按常读作" in rare_reading_note(pingshui, char)
    assert rare_reading_note(pingshui, "看") is None and rare_reading_note(pingshui, "山") is None
    assert "不" not in pingshui.chars_in_group("下平十一尤")


@pytest.mark.parametrize("char", list("白日一目入國"))
def test_entering_tone_characters_are_oblique(pingshui, char):
    assert pingshui.tones(char) == Z
    assert pingshui.rhyme_groups(char) == frozenset()


def test_known_rhyme_groups(pingshui):
    assert pingshui.rhyme_groups("樓") == {"下平十一尤"}
    assert pingshui.rhyme_groups("流") == {"下平十一尤"}
    assert {"上平十三元", "上平十四寒"} & pingshui.rhyme_groups("看") == {"上平十四寒"}
    for char in "深心金簪":
        assert "下平十二侵" in pingshui.rhyme_groups(char)
    assert pingshui.rhyme_groups("行") >= {"下平七陽", "下平八庚"}  # polyphone in two groups


def test_group_labels_in_both_scripts(pingshui, xinyun):
    assert pingshui.group_label("下平十一尤") == "下平十一尤"
    assert pingshui.group_label("上平一東") == "上平一東"
    assert pingshui.group_label("上平一東", "simplified") == "上平一东"
    assert xinyun.group_label("尤") == "尤"
    assert xinyun.group_label("开", "traditional") == "開"
    with pytest.raises(UserError, match="unknown"):
        pingshui.group_label("nonsense")


def test_examples_are_common_members(pingshui, xinyun):
    examples = pingshui.examples("上平一東", 6)
    assert len(examples) == 6 and "東" in examples and "風" in examples
    assert all("上平一東" in pingshui.rhyme_groups(c) for c in examples)
    simplified = pingshui.examples("上平一東", 6, script="simplified")
    assert "东" in simplified and "风" in simplified
    assert all(PING in xinyun.tones(c) and "尤" in xinyun.rhyme_groups(c) for c in xinyun.examples("尤", 10))


def test_unknown_group_and_scheme_are_user_errors(pingshui):
    with pytest.raises(UserError, match="allowed"):
        pingshui.chars_in_group("上聲一董")  # oblique: not a rhyme group of regulated verse
    with pytest.raises(UserError, match="pingshui.*xinyun"):
        get_scheme("cilin")


def test_unknown_characters_have_no_reading(pingshui):
    assert pingshui.tones("a") == frozenset()
    assert pingshui.rhyme_groups("。") == frozenset()


# ---------------------------------------------------------------------------------------------------
# Scripts and variants
# ---------------------------------------------------------------------------------------------------
def test_simplified_character_inherits_all_traditional_readings(pingshui, xinyun):
    for scheme in (pingshui, xinyun):
        assert scheme.tones("发") == scheme.tones("發") | scheme.tones("髮")
        assert scheme.rhyme_groups("东") == scheme.rhyme_groups("東")
    # 干 stands for 干 (寒, level), 乾 (先/寒, level) and 幹 (翰, oblique).
    assert pingshui.tones("干") == BOTH
    assert pingshui.rhyme_groups("干") >= pingshui.rhyme_groups("乾") | pingshui.rhyme_groups("干")


def test_a_traditional_text_reads_a_table_character_as_itself(pingshui, xinyun):
    # In traditional script 干 is 干 (寒, level) and 征 is 征 (庚, level): the 仄 of 幹 and 徵 belongs to
    # those characters, which only a simplified 干 or 征 may stand for.
    traditional = pingshui.for_text("征人去日殷勤囑，歸雁來時數附書。")
    assert traditional.tones("征") == P and traditional.tones("干") == P
    assert traditional.rhyme_groups("干") == pingshui.as_traditional().rhyme_groups("干")
    assert pingshui.tones("征") == BOTH  # read alone or in simplified text, still both
    assert pingshui.for_text("征人去日殷勤嘱，归雁来时数附书。") is pingshui
    assert pingshui.for_text("干戈寥落四周星") is pingshui  # nothing shows the script: inherited readings
    # characters outside the table and simplified forms read as before in the traditional view
    assert traditional.tones("發") == pingshui.tones("發") and traditional.tones("发") == pingshui.tones("发")
    assert traditional.tones("看") == BOTH  # a true polyphone of the table keeps both
    assert xinyun.for_text("征人去日殷勤囑") is xinyun  # 新韵 reads the character as written anyway


def test_the_checker_reads_a_traditional_poem_as_written():
    from poetry_rnn.prosody.check import analyze

    # 征 as the 2nd character of 仄仄平平仄仄平 needs 仄: only a simplified 征 (maybe 徵) may have it
    traditional = analyze("遠征千山雪未消", strictness=STRICT)
    simplified = analyze("远征千山雪未消", strictness=STRICT)
    assert [(f.name, f.index) for f in traditional.faults] == [("不协平仄", 1)]
    assert traditional.lines[0].chars[1].tones == ["ping"]
    assert simplified.ok and simplified.lines[0].chars[1].tones == ["ping", "ze"]


def test_every_table_character_keeps_its_readings_when_simplified(pingshui):
    chars = sorted(pingshui.characters)
    simplified = to_simplified("\n".join(chars)).split("\n")
    assert len(simplified) == len(chars)
    for trad, simple in zip(chars, simplified, strict=True):
        assert pingshui.readings(trad) <= pingshui.readings(simple), (trad, simple)


def test_variants_map_to_forms_with_readings(pingshui):
    # normalize_variants translates in one pass, so a target must not itself be a key.
    for variant, target in VARIANTS.items():
        assert target == variant or target not in VARIANTS, (variant, target)
    assert pingshui.tones("爲") == pingshui.tones("為") != frozenset()
    for variant in "疎劒猨鬬蘂堦":  # frequent corpus spellings the table lacks
        assert pingshui.tones(variant), variant


def test_japanese_and_regional_spellings_read_as_their_standard_form(pingshui):
    # Japanese 新字体 and Hong Kong forms the table lacks: each reads as the character it spells
    for variant, standard in [
        ("隠", "隱"),
        ("浄", "淨"),
        ("頼", "賴"),
        ("歳", "歲"),
        ("涙", "淚"),
        ("敍", "敘"),
    ]:
        assert pingshui.readings(variant) == pingshui.readings(standard) != frozenset(), variant
    assert pingshui.line_tones("白日依山隠") == pingshui.line_tones("白日依山隐")
    assert pingshui.rhyme_groups("帰") == pingshui.rhyme_groups("歸") == {"上平五微"}
    # only a character with no reading of its own is folded: 芸 (yún, level) is no spelling of 藝 here
    assert pingshui.tones("芸") == P and pingshui.tones("藝") == Z


def test_the_ideographic_zero_is_a_character_without_a_rhyme_book_reading(pingshui):
    assert is_cjk("〇") and not is_cjk("。") and not is_cjk("○")
    assert pingshui.tones("〇") == frozenset()


def test_supplement_readings(pingshui):
    assert pingshui.rhyme_groups("啼") == {"上平八齊"}
    assert pingshui.tones("遍") == Z
    assert pingshui.rhyme_groups("爐") == {"上平七虞"}  # alias of 鑪
    assert pingshui.rhyme_groups("炉") == {"上平七虞"}  # and its simplified form


def test_coverage_of_the_corpus_is_at_least_99_5_percent(corpus_dir, pingshui):
    total = missing = 0
    for path in sorted(corpus_dir.glob("poet.tang.*.json")):
        with open(path, encoding="utf-8") as handle:
            for poem in json.load(handle):
                for char in "".join(poem.get("paragraphs") or ()):
                    if is_cjk(char):
                        total += 1
                        missing += not pingshui.tones(char)
    assert total > 1_000_000
    assert 1 - missing / total >= 0.995


# ---------------------------------------------------------------------------------------------------
# 中华新韵
# ---------------------------------------------------------------------------------------------------
def test_xinyun_groups(xinyun):
    assert xinyun.level_groups == list("麻波皆开微豪尤寒文唐庚齐支姑")


@pytest.mark.parametrize(
    "char, group",
    [
        ("花", "麻"), ("歌", "波"), ("月", None), ("街", "皆"), ("來", "开"), ("飛", "微"), ("高", "豪"),
        ("樓", "尤"), ("山", "寒"), ("深", "文"), ("心", "文"), ("金", "文"), ("簪", "寒"), ("長", "唐"),
        ("東", "庚"), ("明", "庚"), ("西", "齐"), ("兒", "齐"), ("魚", "齐"), ("詩", "支"), ("思", "支"),
        ("時", "支"), ("湖", "姑"), ("雪", None),
    ],
)  # fmt: skip
def test_xinyun_rhyme_groups(xinyun, char, group):
    groups = xinyun.rhyme_groups(char)
    if group is None:
        assert groups == frozenset()
        assert xinyun.tones(char) == Z
    else:
        assert group in groups


def test_xinyun_tones_follow_mandarin(xinyun, pingshui):
    assert xinyun.tones("國") == P  # guó, 2nd tone; an entering tone in 平水韵
    assert pingshui.tones("國") == Z
    assert xinyun.tones("看") == Z  # kàn: kān (看守) is the phrase dictionary's, not a reading alone
    assert xinyun.tones("好") == Z
    assert xinyun.tones("国") == P  # simplified input


# ---------------------------------------------------------------------------------------------------
# Forms and patterns
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, expected",
    [
        ("wujue", "wujue"),
        ("五绝", "wujue"),
        ("五絕", "wujue"),
        ("七律", "qilv"),
        ("QIJUE", "qijue"),
        ("五律", "wulv"),
    ],
)
def test_get_form(name, expected):
    assert get_form(name) is FORMS[expected]


def test_get_form_rejects_unknown_names():
    with pytest.raises(UserError, match="wujue"):
        get_form("sonnet")


def test_form_shapes():
    assert [(f.chars_per_line, f.line_count) for f in FORMS.values()] == [(5, 4), (7, 4), (5, 8), (7, 8)]


def test_templates_agree_with_regular_lines():
    for size in (5, 7):
        assert set(LINE_TEMPLATES[size]) == set(LINE_TYPES)
        for line_type, template in LINE_TEMPLATES[size].items():
            regular = REGULAR_LINES[size][line_type]
            assert len(template) == size
            assert all(m == "中" or m == r for m, r in zip(template, regular, strict=True))
            assert regular[1] == line_type[0] and regular[-1] == line_type[2]  # 起 and 收
            for position in (1, 3, 5):
                if position < size - 1:
                    assert template[position] != "中"  # 二四六分明
    assert LINE_TEMPLATES[7]["平起平收"] == "中平中仄仄平平"


@pytest.mark.parametrize("form", list(FORMS))
def test_tone_patterns_follow_nian_and_dui(form):
    patterns = tone_patterns(form)
    assert [p.name for p in patterns] == ["平起首句入韵", "平起首句不入韵", "仄起首句入韵", "仄起首句不入韵"]
    for pattern in patterns:
        assert pattern.line_count == FORMS[form].line_count
        for index, line in enumerate(pattern.lines):
            assert (line[-1] == "平") == (index in pattern.rhyme_lines)
            if index % 2 == 1:
                assert line[1] != pattern.lines[index - 1][1]  # 对
            elif index:
                assert line[1] == pattern.lines[index - 1][1]  # 粘
        expected = {1, 3, 5, 7} & set(range(pattern.line_count))
        assert set(pattern.rhyme_lines) == expected | ({0} if pattern.first_line_rhymes else set())
        assert (pattern.lines[0][1] == "平") == pattern.starts_level


def test_known_patterns():
    # 五绝仄起首句不入韵 (登鹳雀楼): 仄仄平平仄，平平仄仄平。平平平仄仄，仄仄仄平平。
    pattern = get_pattern("wujue", "仄起首句不入韵")
    assert pattern.line_types == ("仄起仄收", "平起平收", "平起仄收", "仄起平收")
    assert get_pattern("qilv", "平起首句入韵").lines[0] == "中平中仄仄平平"
    assert build_pattern(5, 6, True, False).line_count == 6
    with pytest.raises(UserError):
        get_pattern("wujue", "平起")


# ---------------------------------------------------------------------------------------------------
# Line rules
# ---------------------------------------------------------------------------------------------------
def tones_of(marks: str) -> list[frozenset[str]]:
    return [{"平": P, "仄": Z, "◐": BOTH, "？": frozenset()}[m] for m in marks]


def test_gu_ping():
    five, seven = LINE_TEMPLATES[5]["平起平收"], LINE_TEMPLATES[7]["仄起平收"]
    assert is_gu_ping(five, tones_of("仄平仄仄平"))
    assert not is_gu_ping(five, tones_of("仄平平仄平"))  # 拗救
    assert not is_gu_ping(five, tones_of("平平仄仄平"))
    assert not is_gu_ping(five, tones_of("◐平仄仄平"))  # a polyphone may be 平
    assert is_gu_ping(seven, tones_of("平仄仄平仄仄平"))  # 平 at position 1 does not help
    assert not is_gu_ping(seven, tones_of("仄仄平平仄仄平"))
    # a core whose one 平 is its first or third breaks the fixed 平 at its second: that, not 孤平
    assert not is_gu_ping(five, tones_of("平仄仄仄平"))
    assert not is_gu_ping(five, tones_of("仄仄平仄平"))
    assert not is_gu_ping(seven, tones_of("仄仄平仄仄仄平"))
    assert is_gu_ping(five, tones_of("仄仄仄仄平"))  # still 孤平 once the second is mended
    # 孤平 concerns only the 平平仄仄平 line type.
    assert not is_gu_ping(LINE_TEMPLATES[5]["仄起平收"], tones_of("仄仄仄平平"))


def test_san_ping_wei():
    template = LINE_TEMPLATES[5]["仄起平收"]
    assert is_san_ping_wei(template, tones_of("仄仄平平平"))
    assert not is_san_ping_wei(template, tones_of("仄仄◐平平"))
    assert not is_san_ping_wei(template, tones_of("仄仄仄平平"))
    assert not is_san_ping_wei(LINE_TEMPLATES[5]["平起仄收"], tones_of("平平平平仄"))


def test_fixed_positions_by_strictness():
    template = LINE_TEMPLATES[5]["仄起仄收"]  # 中仄平平仄
    assert fixed_positions(template, STRICT) == (1, 2, 3, 4)
    assert fixed_positions(template, STANDARD) == (1, 3, 4)
    with pytest.raises(UserError, match="strict"):
        fixed_positions(template, "lenient")


def test_allowed_tones_strict_prevents_gu_ping():
    five = LINE_TEMPLATES[5]["平起平收"]  # 中平中仄平
    assert allowed_tones(five, 0, []) == BOTH
    assert allowed_tones(five, 1, [PING]) == P
    assert allowed_tones(five, 2, [ZE, PING]) == P  # 仄平 then 仄 would be 孤平
    assert allowed_tones(five, 2, [PING, PING]) == BOTH
    assert allowed_tones(five, 2, [BOTH, PING]) == BOTH  # a polyphone counts as either
    assert allowed_tones(five, 2, [ZE, PING], STANDARD) == BOTH  # standard: only 2/4/6 and the end
    assert allowed_tones(five, 4, [ZE, PING, PING, ZE]) == P
    seven = LINE_TEMPLATES[7]["仄起平收"]  # 中仄中平中仄平
    assert allowed_tones(seven, 4, [PING, ZE, ZE, PING]) == P
    assert allowed_tones(seven, 4, [PING, ZE, PING, PING]) == BOTH


@settings(max_examples=200, deadline=None)
@given(
    template=st.sampled_from([t for size in (5, 7) for t in LINE_TEMPLATES[size].values()]),
    strictness=st.sampled_from([STRICT, STANDARD]),
    choices=st.lists(st.sampled_from([PING, ZE]), min_size=7, max_size=7),
)
def test_a_decoder_following_allowed_tones_never_gets_stuck(template, strictness, choices):
    chosen: list[frozenset[str]] = []
    for position in range(len(template)):
        allowed = allowed_tones(template, position, chosen, strictness)
        assert allowed, (template, chosen)
        tone = choices[position] if choices[position] in allowed else sorted(allowed)[0]
        chosen.append(frozenset({tone}))
    for position in fixed_positions(template, strictness):
        assert fits(template[position], chosen[position])
    if strictness == STRICT:
        assert not is_gu_ping(template, chosen)
        assert not is_san_ping_wei(template, chosen)


def test_allowed_tones_validates_its_input():
    with pytest.raises(ValueError):
        allowed_tones("中平中仄平", 3, [PING])  # three previous tones needed
    with pytest.raises(ValueError):
        allowed_tones("中平中仄平", 1, ["level"])


def test_tone_marks():
    assert tone_marks([P, Z, BOTH, frozenset()]) == "○●◐？"
