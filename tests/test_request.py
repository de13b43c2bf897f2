"""GenerationRequest: validated and normalised when made; the API, the CLI and the app build it."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from poetry_rnn.errors import UserError
from poetry_rnn.generation.command import configure_parser, request_options
from poetry_rnn.generation.generator import PoetryGenerator
from poetry_rnn.generation.request import GenerationRequest, option_fields, strictness_name, switch_names


def test_names_in_either_script_and_aliases_are_normalised():
    request = GenerationRequest(
        form="七律",
        rhyme_scheme="平水韵",
        rhyme_group="先",
        keywords="月、 霜",
        first_line=" 朝辭白帝彩雲間，",
    )
    assert (request.form, request.rhyme_scheme, request.rhyme_group) == ("qilv", "pingshui", "下平一先")
    assert request.keywords == ("月", "霜") and request.conditioning_keywords == ("月", "霜")
    assert request.first_line == "朝辭白帝彩雲間"
    assert GenerationRequest(rhyme_scheme="中華新韻").rhyme_scheme == "xinyun"
    assert GenerationRequest(keywords=["云"]).keywords == ("雲",)  # keywords condition in traditional
    # typed in traditional, they stay as typed (萬里 is not 萬裡, 鄉里 not 鄉裡)
    typed = GenerationRequest(keywords="萬里、故里", plan="萬里,鄉里")
    assert typed.keywords == ("萬里", "故里") and typed.plan == ("萬里", "鄉里")
    # a word of shared characters alone reads as the words around it read: 里 among traditional words is 里
    assert GenerationRequest(plan="白雲,里").plan == ("白雲", "里")
    assert GenerationRequest(keywords="故鄉 里 干").keywords == ("故鄉", "里", "干")
    assert GenerationRequest(keywords="里 干").keywords == (
        "裡",
        "幹",
    )  # simplified (or undecided): converted
    assert GenerationRequest(theme="余光中的鄉愁").conditioning_keywords[0] == "余光"
    assert GenerationRequest(title="   ").title is None
    assert (
        GenerationRequest(theme="").theme is None and GenerationRequest(theme=" ").conditioning_keywords == ()
    )
    # a group as users write it: full label in either script, without 上平/下平, or its character
    for name in ("上平一東", "上平一东", "一东", "一東", "東", "东"):
        assert GenerationRequest(rhyme_group=name).rhyme_group == "上平一東", name
    assert GenerationRequest(rhyme_group="七阳").rhyme_group == "下平七陽"
    assert GenerationRequest(seed=-1).seed is None  # -1 draws a seed, as in the app's API


def test_a_bad_value_is_refused_when_the_request_is_made():
    for options, field in [
        (dict(n=0), "n"),
        (dict(n=4, candidates=3), "candidates"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(top_k="many"), "top_k"),
        (dict(form="haiku"), "form"),
        (dict(rhyme_scheme="none", rhyme_group="先"), "rhyme_group"),
        (dict(form="wujue", acrostic="春江"), "acrostic"),
        (dict(first_line_rhymes="perhaps"), "first_line_rhymes"),
    ]:
        with pytest.raises(UserError) as caught:
            GenerationRequest(**options)
        assert caught.value.field == field, options


def test_a_request_is_frozen_and_a_changed_copy_is_validated_again():
    request = GenerationRequest(form="wujue", n=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.n = 100
    assert dataclasses.replace(request, form="五律").form == "wulv"
    with pytest.raises(UserError):
        dataclasses.replace(request, n=100)


def test_a_request_and_its_keywords_give_the_same_poems(tiny_model_dir):
    generator = PoetryGenerator.from_pretrained(tiny_model_dir)
    options = dict(form="wujue", acrostic="春江花月", n=2, seed=4)
    by_keywords = [p.text for p in generator.generate(**options)]
    request = GenerationRequest(**options)
    assert [p.text for p in generator.generate(request)] == by_keywords
    streamed = [e for e in generator.generate_stream(request) if e.get("done")][0]["poems"]
    assert [p.text for p in streamed] == by_keywords
    # keywords next to a request replace its fields
    one = [p.text for p in generator.generate(**{**options, "n": 1})]
    assert [p.text for p in generator.generate(request, n=1)] == one


def test_the_cli_has_one_flag_per_option_with_the_request_defaults():
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    defaults = request_options(parser.parse_args([]))
    assert defaults == {f.name: f.default for f in option_fields()}
    args = parser.parse_args(
        ["--rhyme", "xinyun", "--first-line-rhymes", "no", "--no-originality", "--n", "3"]
    )
    options = request_options(args)
    assert options["rhyme_scheme"] == "xinyun" and options["first_line_rhymes"] is False
    assert options["originality"] is False and options["n"] == 3


# ------------------------------------------------------------------------------------------ the audit's names
def test_the_on_off_options_are_those_the_command_line_switches():
    assert {"originality", "avoid_overused", "one_season", "select_lines"} <= set(switch_names())


@pytest.mark.parametrize("name", switch_names())  # every one: a new switch is checked without a list here
@pytest.mark.parametrize("value", ["no", "false", "yes", "true", 0, 1, None])
def test_on_off_options_refuse_anything_but_true_or_false(name, value):
    # bool("no") is True: a word must be refused, not read as on
    with pytest.raises(UserError) as caught:
        GenerationRequest(**{name: value})
    assert caught.value.field == name
    assert name in str(caught.value) and "true or false" in str(caught.value)
    assert "true 或 false" in caught.value.text("zh")
    assert getattr(GenerationRequest(**{name: False}), name) is False
    assert getattr(GenerationRequest(**{name: True}), name) is True


def test_choices_by_english_name_in_any_case_or_chinese_label():
    request = GenerationRequest(form="QIJUE", tone="STRICT", rhyme_scheme="PINGSHUI", script="Traditional")
    assert (request.form, request.tone, request.rhyme_scheme, request.script) == (
        "qijue",
        "strict",
        "pingshui",
        "traditional",
    )
    for label, tone in [("严格", "strict"), ("嚴格", "strict"), ("一三五不论", "standard"), ("标准", "standard"),
                        ("不限", "off"), (" Standard ", "standard")]:  # fmt: skip
        assert GenerationRequest(tone=label).tone == tone, label
    for label, script in [
        ("简体", "simplified"),
        ("簡體", "simplified"),
        ("繁體", "traditional"),
        ("繁体", "traditional"),
    ]:
        assert GenerationRequest(script=label).script == script, label
    assert GenerationRequest(rhyme_scheme="不押韵").rhyme_scheme == "none"


def test_every_label_the_app_shows_is_a_name_the_request_takes():
    from poetry_rnn.app.text import all_choices

    for name in ("tone", "rhyme_scheme", "script"):
        for label, value in all_choices(name):
            assert getattr(GenerationRequest(**{name: label}), name) == value, (name, label)
    for label, value in all_choices("strictness"):
        assert strictness_name(label) == value, label


def test_a_refused_choice_names_what_is_allowed_with_the_apps_labels():
    with pytest.raises(UserError) as caught:
        GenerationRequest(tone="loose")
    assert caught.value.field == "tone" and "standard (一三五不论)" in str(caught.value)
    with pytest.raises(UserError) as caught:
        GenerationRequest(script="latin")
    assert caught.value.field == "script" and "traditional (繁體)" in str(caught.value)


def test_rhyme_group_auto_or_as_the_apps_dropdown_shows_it(tiny_model_dir):
    for auto in ("auto", "AUTO", "自动", " "):
        assert GenerationRequest(rhyme_group=auto).rhyme_group is None, auto
    assert GenerationRequest(rhyme_group="下平七阳 阳光长乡香").rhyme_group == "下平七陽"
    generator = PoetryGenerator.from_pretrained(tiny_model_dir)
    for scheme in ("pingshui", "xinyun"):
        for script in ("simplified", "traditional"):
            for group, label in generator.rhyme_groups(scheme, script):
                request = GenerationRequest(rhyme_scheme=scheme, rhyme_group=label, script=script)
                assert request.rhyme_group == group, label


@pytest.mark.parametrize(
    ("script", "shown", "not_shown"),
    [("simplified", "下平七阳", "下平七陽"), ("traditional", "下平七陽", "下平七阳")],
)
def test_a_refused_rhyme_group_lists_the_groups_in_the_requests_script(script, shown, not_shown):
    with pytest.raises(UserError) as caught:
        GenerationRequest(rhyme_group="下平九十 九十", script=script)
    assert caught.value.field == "rhyme_group"
    for text in (str(caught.value), caught.value.text("zh")):
        assert shown in text and not_shown not in text


def test_a_refusal_on_the_command_line_names_a_flag_that_exists(capsys):
    from poetry_rnn.cli import main as cli_main
    from poetry_rnn.generation.command import flag_of

    parser = argparse.ArgumentParser()
    configure_parser(parser)
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert {flag_of(option.name) for option in option_fields()} <= flags
    assert flag_of("rhyme_scheme") == "--rhyme" and flag_of("originality") == "--no-originality"
    assert cli_main(["generate", "--rhyme", "foo"]) == 2
    assert "错误（--rhyme）" in capsys.readouterr().err


def test_a_refusal_on_the_command_line_names_options_as_flags(capsys):
    from poetry_rnn.cli import main as cli_main
    from poetry_rnn.generation.command import in_cli_terms

    said = "with none leave first_line_rhymes unset, or set first_line_rhymes=yes; under tone=off; a tone pattern"
    assert in_cli_terms(said) == (
        "with none leave --first-line-rhymes unset, or set --first-line-rhymes yes; under --tone off; a tone pattern"
    )
    assert in_cli_terms("parallel=no, no_such_option=1") == "--parallel no, no_such_option=1"
    argv = [
        "generate",
        "--form",
        "wujue",
        "--first-line",
        "白日依山尽",
        "--first-line-rhymes",
        "yes",
        "--seed",
        "1",
    ]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "--first-line-rhymes yes (首句入韵) is what rules it out" in err and "first_line_rhymes" not in err


def test_xinyun_groups_by_the_standards_numbers_and_a_pingshui_name_pointed_to_its_book():
    for name in ("十唐", "10", "十", "唐"):
        assert GenerationRequest(rhyme_scheme="xinyun", rhyme_group=name).rhyme_group == "唐", name
    assert GenerationRequest(rhyme_scheme="xinyun", rhyme_group="十四姑").rhyme_group == "姑"
    assert GenerationRequest(rhyme_scheme="xinyun", rhyme_group="一麻").rhyme_group == "麻"
    for wrong in ("二麻", "15", "0"):  # a number and a name that disagree, or no such number
        with pytest.raises(UserError, match="不是中华新韵的平声韵部|is not a level-tone rhyme group"):
            GenerationRequest(rhyme_scheme="xinyun", rhyme_group=wrong)
    with pytest.raises(UserError, match="is a group of 平水韵") as caught:
        GenerationRequest(rhyme_scheme="xinyun", rhyme_group="下平七阳")
    assert caught.value.field == "rhyme_group" and "唐" in str(caught.value)


def test_first_line_rhymes_takes_the_words_the_app_and_the_command_line_take():
    assert [GenerationRequest(first_line_rhymes=w).first_line_rhymes for w in ("yes", "No", "auto")] == [
        True,
        False,
        None,
    ]
    with pytest.raises(UserError) as caught:
        GenerationRequest(first_line_rhymes="maybe")
    assert caught.value.field == "first_line_rhymes"


def test_a_refused_non_chinese_text_is_quoted_as_typed_run_by_run():
    with pytest.raises(UserError) as refused:
        GenerationRequest(title="Farewell 秋 2nd 秋 Farewell")
    assert "「Farewell」「2nd」" in str(refused.value) and "「F」" not in str(refused.value)
    assert "「Farewell」「2nd」" in refused.value.text("zh")


def test_the_command_lines_poem_says_its_pattern_and_couplets_in_english_too(capsys):
    from poetry_rnn.cli import main as cli_main

    assert cli_main(["generate", "--form", "wulv", "--seed", "3", "--n", "1"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert re.search(
        "(平|仄)起首句(不)?入韵 \\((level|oblique) start, first line (rhymes|unrhymed)\\)", head
    ), head
    assert "对仗 parallelism (工对 strict parallel, 宽对 loose parallel, 不对 not parallel)  首联 " in out


def test_a_rhyme_group_by_the_pinyin_of_its_character():
    # a user who cannot type 陽 or 唐 names the group by its reading, with or without tone marks
    for name in ("yang", "yáng", "YANG"):
        assert GenerationRequest(rhyme_group=name).rhyme_group == "下平七陽"
    assert GenerationRequest(rhyme_scheme="xinyun", rhyme_group="tang").rhyme_group == "唐"
    with pytest.raises(UserError) as shared:  # 一東 and 二冬 are both dōng: refused, both named
        GenerationRequest(rhyme_group="dong")
    assert shared.value.field == "rhyme_group" and "上平一东 上平二冬" in str(shared.value)
    with pytest.raises(UserError, match="is not a level-tone rhyme group") as unknown:
        GenerationRequest(rhyme_group="zzz")
    # the English list gives each group's reading to type; the Chinese one the names alone
    assert "上平一东 (dong) 上平二冬 (dong)" in str(unknown.value) and "下平七阳 (yang)" in str(unknown.value)
    assert "上平一东 上平二冬" in unknown.value.text("zh") and "(yang)" not in unknown.value.text("zh")
