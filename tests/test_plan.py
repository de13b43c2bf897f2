"""The plan: one keyword per couplet (generation/plan.py), favoured while its couplet is written
(decoding/rules/plan.py), shown in the API result and on the command line."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json

import pytest
import torch

from poetry_rnn.errors import UserError
from poetry_rnn.generation.command import configure_parser, run
from poetry_rnn.generation.plan import (
    DATA_FILE,
    couplets_following,
    load_table,
    make_plan,
    parse_plan,
    request_plan,
)
from poetry_rnn.generation.request import GenerationRequest
from poetry_rnn.keywords import modern_words
from poetry_rnn.prosody.check import analyze_lines
from poetry_rnn.script import to_traditional

REPO = DATA_FILE.parent.parent.parent.parent


# ------------------------------------------------------------------------------------------ the request
@pytest.mark.parametrize(
    ("form", "plan", "expected"),
    [
        ("qijue", "春风,孤城", ("春風", "孤城")),
        ("qilv", "春风", ("春風",)),  # fewer than the couplets: the last ones are free
        ("qilv", "春风、柳 孤城，归", ("春風", "柳", "孤城", "歸")),
        ("wujue", ["明月", "霜"], ("明月", "霜")),
        ("qijue", "off", ()),
        ("qijue", "", ()),
        ("qijue", None, None),
        ("qijue", "draw", "draw"),
        ("qijue", "随机", "draw"),
    ],
)
def test_a_plan_is_read_from_the_request(form, plan, expected):
    assert GenerationRequest(form=form, plan=plan).plan == expected


@pytest.mark.parametrize(
    ("form", "plan", "message"),
    [
        ("qijue", "春风,柳,孤城", "the plan has 3 keywords, but this form has 2 couplets"),
        (
            "wujue",
            "春风,柳,孤城,归,雁",
            "the plan has 5 keywords, but this form has 2 couplets; give at most 2",
        ),
        ("qijue", "春风,孤城万里", "plan keyword '孤城万里' must be one or two Chinese characters"),
        ("qijue", "spring,柳", "plan keyword 'spring' must be one or two Chinese characters"),
        ("qijue", 42, "plan must be keywords separated by commas"),
    ],
)
def test_a_bad_plan_is_refused_clearly(form, plan, message):
    with pytest.raises(UserError) as caught:
        GenerationRequest(form=form, plan=plan)
    assert caught.value.field == "plan" and message in str(caught.value)


def test_parse_plan_keeps_lists_and_treats_blank_lists_as_off():
    assert parse_plan(["  ", ""], 2) == ()
    assert parse_plan(("孤帆", "远影"), 2) == ("孤帆", "遠影")


# ------------------------------------------------------------------------------------------ planning
def test_the_table_is_small_and_its_neighbours_are_keywords():
    assert DATA_FILE.stat().st_size <= 1_000_000
    table = load_table()
    assert len(table.keywords) > 1000
    for key in ("送別", "別", "秋夜", "柳"):
        neighbours = table.neighbours[key]
        assert neighbours and all(word in table.keywords for word in neighbours)
        assert all(not set(word) & set(key) for word in neighbours)
    # the corpus knows what goes with 柳 in a poem
    assert {"條", "拂", "春風"} & set(table.neighbours["柳"])


def test_a_farewell_title_plans_farewell_keywords():
    table = load_table()
    keys = table.keys_in("送別")
    related = {word for key in keys for word in table.neighbours.get(key, {})}
    for seed in range(6):
        plan = make_plan(4, [to_traditional("送别")], seed)
        assert len(plan.keywords) == 4 and plan.source == "title"
        assert all(1 <= len(word) <= 2 for word in plan.keywords)
        # each goes with the title in the corpus, or with a keyword the plan chose before it
        of_plan = {w for word in plan.keywords for w in table.neighbours.get(word, {})}
        assert set(plan.keywords) <= related | of_plan, plan
        assert len(set(plan.keywords) & related) >= 2, plan
        chars = "".join(plan.keywords)
        assert len(set(chars)) == len(chars)  # no keyword repeats another's character


def test_a_title_keyword_fills_the_first_slot_and_the_rest_follow_the_corpus_order():
    table = load_table()
    plan = make_plan(4, ["秋夜"], seed=1)
    assert plan.keywords[0] == "秋夜"
    rest = [table.position(word) for word in plan.keywords[1:]]
    assert rest == sorted(rest)


def test_a_modern_title_plans_what_its_words_mean():
    # 天 of 夏天 and 方 of 遠方 are parts of modern words, not keywords of the title
    for seed in range(6):
        assert not {"天", "方"} & set(make_plan(4, [to_traditional("夏天的远方")], seed).keywords)
    plan = make_plan(4, [to_traditional("思念远方的朋友")], seed=0)
    assert {"天涯", "故人"} <= set(plan.keywords)


def test_a_theme_request_is_conditioned_and_planned_in_verses_words():
    request = GenerationRequest(form="qilv", theme="离别的车站，想念朋友")
    assert {"驛", "故人"} <= set(request.conditioning_keywords)
    assert not {"車站", "朋友"} & set(request.conditioning_keywords)


def test_a_themes_modern_word_gives_the_plan_no_character_cut_out_of_it():
    table = load_table()
    assert "網戀" not in table.keywords and "網" in table.keywords  # 網 alone would lead to birds, cages
    for seed in range(6):
        plan = make_plan(4, [], seed, theme_words=["網戀", "相思"])
        assert plan.keywords[0] == "相思"
        assert not any(set(word) & set("網戀") for word in plan.keywords)
        # a title keeps its characters: 春望 plans 春
        assert "春" in make_plan(4, ["春望"], seed).keywords


def test_a_themes_verse_word_fills_a_slot_whole():
    # 音書 (手机, 电话 in the modern table) is no keyword of the table: whole, not 音 and 書
    assert "音書" not in load_table().keywords
    plan = make_plan(2, [], seed=3, theme_words=["音書"])
    assert plan.keywords[0] == "音書" and not {"音", "書"} & set(plan.keywords)
    # a modern word's longer table words still count, said in verse's words (曬太陽 → 曬白日)
    assert "白日" in make_plan(4, [], seed=0, theme_words=["曬太陽"]).keywords


def test_a_word_the_corpus_uses_fills_a_slot_whole_though_the_table_lacks_it():
    table = load_table()
    assert "西湖" not in table.keywords and "西湖" not in table.neighbours
    without = make_plan(2, [], seed=1, theme_words=["西湖"])
    # unattested, a name gives only its kind of place (湖), never another character of it
    assert without.keywords[0] == "湖" and not any("西" in word for word in without.keywords)
    plan = make_plan(2, [], seed=1, theme_words=["西湖"], attested=lambda word: word == "西湖")
    assert plan.keywords[0] == "西湖"
    # a modern word the modern table knows is said in verse's words, however often the corpus has it
    assert make_plan(2, [], seed=1, theme_words=["高鐵"], attested=lambda word: True).keywords[0] == "車馬"


def test_a_theme_plan_leaves_couplets_free_rather_than_draw_unrelated_keywords():
    # 西湖 is verse's own (in enough lines) but the table has no neighbours for it: nothing random after it
    assert "西湖" not in load_table().neighbours

    def attested(word: str) -> bool:
        return word == "西湖"

    theme_plan = make_plan(4, [], seed=1, theme_words=["西湖"], attested=attested, related_only=True)
    assert theme_plan.keywords == ("西湖",)
    # as before for a title's or a free plan: all four slots filled
    assert len(make_plan(4, [], seed=1, theme_words=["西湖"], attested=attested).keywords) == 4
    # a theme word with neighbours still gets them: 送別's plan is full and goes with it
    farewell = make_plan(4, [], seed=1, theme_words=["送別"], related_only=True)
    neighbours = load_table().neighbours["送別"]
    assert (
        farewell.keywords[0] == "送別" and len(farewell.keywords) == 4 and farewell.keywords[1] in neighbours
    )
    # a theme that gives the plan nothing gives no plan at all
    assert make_plan(4, [], seed=1, theme_words=["火鍋"], related_only=True).keywords == ()
    assert request_plan(None, 4, [], True, 1, lambda word: True, "theme", ["火鍋"], related_only=True) is None


def test_a_place_the_table_lacks_plans_with_its_kind_of_place():
    table = load_table()
    assert "青海湖" not in table.keywords and "湖" in table.neighbours
    lake = make_plan(4, [], seed=1, theme_words=["青海湖"], related_only=True)
    assert lake.keywords[0] == "湖" and len(lake.keywords) == 4
    assert set(lake.keywords[1:]) & set(table.neighbours["湖"])
    # a name whose last character is no landscape kind gives nothing (上海 is no sea), nor does a
    # modern word ending in one (電池: no pond)
    for word in ("上海", "電池", "張家界"):
        assert make_plan(4, [], seed=1, theme_words=[word], related_only=True).keywords == (), word
    # a name verse has keeps its own slot, without the kind (西湖 is no 洞庭, 湖's first neighbour)
    plan = make_plan(4, [], seed=1, theme_words=["西湖"], attested=lambda word: True, related_only=True)
    assert plan.keywords == ("西湖",)


def test_the_shipped_models_corpus_says_which_theme_words_verse_uses(shipped):
    # 西湖 stands in 13 lines of the train split, 廣場 in 5 (a chance meeting of two words)
    lake = shipped.generate(form="qijue", theme="西湖边散步", seed=3, script="traditional")[0]
    assert lake.plan[0] == "西湖"
    square = GenerationRequest(form="qijue", theme="广场", seed=3, script="traditional")
    assert square.theme_keywords == ("廣場",)
    # nothing of 廣場 for the plan, and no keywords drawn at random in its place: the theme, said as the
    # model's title, steers the poem alone
    [poem] = shipped.generate(square)
    assert poem.plan is None
    # and the poem says so, in its own script, rather than drop the theme without a word
    assert any("主题的词（廣場）诗中少见" in note for note in poem.notes), poem.notes
    assert not shipped.generate(form="qijue", theme="西湖边散步", seed=3)[0].notes  # a plan: no note
    simplified = shipped.generate(form="qijue", theme="广场", seed=3)[0]
    assert any("主题的词（广场）" in note for note in simplified.notes)


def test_a_theme_request_plans_with_its_keywords_whole(shipped):
    request = GenerationRequest(form="qilv", theme="坐高铁回家", seed=5, script="traditional")
    assert request.theme_keywords == ("車馬", "歸")
    poem = shipped.generate(request)[0]
    assert set(poem.plan[:2]) == {"車馬", "歸"} and not any("鐵" in word for word in poem.plan)


def test_a_theme_is_the_models_title_when_the_request_has_none(shipped):
    resolved = shipped._resolve(GenerationRequest(form="qijue", theme="思念远方的朋友", seed=2))
    assert resolved.model_title == "相思天涯故人" and resolved.title is None
    poem = shipped.generate(form="qijue", theme="思念远方的朋友", seed=2)[0]
    assert poem.title is None and poem.relevance is not None  # shown: only a title the user gave
    # the title conditions the model: the same request without it writes another poem
    bare = dataclasses.replace(resolved, model_title=None)
    assert bare.stream_seed != resolved.stream_seed
    given = shipped._resolve(GenerationRequest(form="qijue", theme="思念远方的朋友", title="秋夜", seed=2))
    assert given.model_title == given.title == "秋夜"


def test_free_plans_are_reproducible_and_vary_with_the_seed():
    plans = {make_plan(2, [], seed).keywords for seed in range(8)}
    assert make_plan(2, [], 3) == make_plan(2, [], 3)
    assert len(plans) >= 4
    assert all(make_plan(2, [], seed).source == "free" for seed in range(3))


def test_unwritable_keywords_are_never_planned():
    plan = make_plan(4, ["秋夜"], seed=2, writable=lambda word: "夜" not in word)
    assert not any("夜" in word for word in plan.keywords)


def test_couplets_following_reads_either_line_and_variants():
    lines = ["春風不度玉門關", "楊柳青青江水平", "孤帆遠影碧空盡", "唯見長江天際流"]
    assert couplets_following(lines, ["楊柳", "孤城"]) == [True, False]
    # a keyword an earlier couplet already has is met: the poem has it, and a second would repeat it
    assert couplets_following(lines, ["春風", "春風"]) == [True, True]
    assert couplets_following(lines, ["孤帆", "楊柳"]) == [False, True]


# ------------------------------------------------------------------------------------------ the rule
def test_the_rule_favours_the_keyword_until_its_couplet_has_it(shipped):
    from poetry_rnn.decoding.constraint_set import ConstraintSet
    from poetry_rnn.decoding.rules.form import FormRule
    from poetry_rnn.decoding.rules.plan import PlanRule

    tables = shipped.tables
    rule = PlanRule(tables, ["孤城", "柳"], chars_per_line=7, bonus=3.0)
    constraints = ConstraintSet(tables, [FormRule(tables, 7, 4), rule])
    state = constraints.new_state()
    gu, cheng, liu = (tables.ids_of_text[c][0] for c in "孤城柳")
    assert dict(rule.favoured(state)) == {gu: 3.0}
    constraints.advance(state, gu)
    assert dict(rule.favoured(state)) == {cheng: 3.0}  # completing the word
    constraints.advance(state, cheng)
    assert not rule.favoured(state)  # the couplet has it
    for char in "上月明時":
        constraints.advance(state, tables.ids_of_text[char][0])
    constraints.advance(state, tables.comma_id)
    assert not rule.favoured(state)  # still the same couplet
    for char in "春風不度玉門關":
        constraints.advance(state, tables.ids_of_text[char][0])
    constraints.advance(state, tables.period_id)
    assert dict(rule.favoured(state)) == {liu: 3.0}  # the next couplet's keyword
    # the bonus is added to the log-weights the sampler draws from, never to an excluded piece
    penalties = constraints.plan([state]).penalties
    row = penalties.select([0])[0]
    assert row[liu] == 3.0 and row[gu] == 0.0
    assert torch.isinf(row[tables.comma_id])  # the form rule still excludes ， at a line's start
    # with an opening share, the bonus rises from that share at the couplet's start to all of it at its end
    rising = PlanRule(tables, ["孤城", "柳"], chars_per_line=7, bonus=3.0, opening=0.5)
    constraints = ConstraintSet(tables, [FormRule(tables, 7, 4), rising])
    state = constraints.new_state()
    assert dict(rising.favoured(state)) == {gu: 1.5}
    for char in "春風不度玉門關":
        constraints.advance(state, tables.ids_of_text[char][0])
    constraints.advance(state, tables.comma_id)
    assert rising.favoured(state)[gu] == pytest.approx(3.0 * (0.5 + 0.5 * 7 / 13))


def test_the_rule_does_not_favour_what_the_poem_already_has(shipped):
    """A keyword written in an earlier couplet is met (the bonus outweighs the penalty on a character the
    poem has, and wrote 松阴 … 松阴); a two-character keyword begun without its second character is not
    favoured again (秋风 … 秋夜)."""
    from poetry_rnn.decoding.constraint_set import ConstraintSet
    from poetry_rnn.decoding.rules.form import FormRule
    from poetry_rnn.decoding.rules.plan import PlanRule

    tables = shipped.tables
    autumn = tables.ids_of_text["秋"][0]
    rule = PlanRule(tables, ["孤城", "楊柳"], chars_per_line=5, bonus=3.0)
    constraints = ConstraintSet(tables, [FormRule(tables, 5, 4), rule])
    state = constraints.new_state()
    for line, end in (("楊柳孤城外", tables.comma_id), ("春風不度關", tables.period_id)):
        for char in line:
            constraints.advance(state, tables.ids_of_text[char][0])
        constraints.advance(state, end)
    assert not rule.favoured(state)  # couplet 2's 楊柳 is in couplet 1

    started = PlanRule(tables, ["秋夜"], chars_per_line=5, bonus=3.0)
    constraints = ConstraintSet(tables, [FormRule(tables, 5, 4), started])
    state = constraints.new_state()
    assert autumn in started.favoured(state)
    for char in "秋風":
        constraints.advance(state, tables.ids_of_text[char][0])
    assert not started.favoured(state)  # 秋 written, 夜 not after it: no second 秋


# ------------------------------------------------------------------------------------------ generating
def test_poems_follow_their_plan_far_more_often_and_keep_every_rule(shipped):
    with_plan = without = couplets = 0
    for seed in (1, 2, 3):
        for form, plan in (("qijue", "春风,孤城"), ("wulv", "明月,松,泉,归")):
            planned = shipped.generate(form=form, plan=plan, n=4, seed=seed, script="traditional")
            free = shipped.generate(form=form, plan="off", n=4, seed=seed, script="traditional")
            keywords = parse_plan(plan, len(planned[0].lines) // 2)
            for poem in planned:
                assert poem.plan == list(keywords) and poem.ok
                assert poem.plan_followed == couplets_following(poem.lines, keywords)
                assert not analyze_lines(poem.lines).faults
                with_plan += sum(poem.plan_followed)
                couplets += len(keywords)
            for poem in free:
                assert poem.plan is None and poem.plan_followed is None
                without += sum(couplets_following(poem.lines, keywords))
    assert with_plan >= 0.35 * couplets
    assert with_plan >= 3 * max(1, without)


def test_title_requests_get_a_plan_by_default_and_free_ones_and_acrostics_do_not(shipped):
    poem = shipped.generate(form="qilv", title="送别", seed=4)[0]
    assert poem.plan is not None and len(poem.plan) == 4
    record = poem.to_dict()
    assert record["plan"] == poem.plan and len(record["plan_followed"]) == 4
    assert shipped.generate(form="qijue", acrostic="春夏秋冬", seed=4)[0].plan is None
    assert shipped.generate(form="qijue", seed=4, plan="off")[0].to_dict()["plan"] is None
    # a free poem gets none unless it asks for one drawn from the corpus (an acrostic may ask too)
    assert shipped.generate(form="qilv", seed=4)[0].plan is None
    drawn = shipped.generate(form="qilv", seed=4, plan="draw")[0]
    assert drawn.plan is not None and len(drawn.plan) == 4
    assert len(shipped.generate(form="qijue", acrostic="春夏秋冬", seed=4, plan="随机")[0].plan) == 2


def test_the_plan_is_shown_in_the_users_script(shipped):
    simplified = shipped.generate(form="qijue", plan="春風,孤城", seed=5)[0]
    traditional = shipped.generate(form="qijue", plan="春风,孤城", seed=5, script="traditional")[0]
    assert simplified.plan == ["春风", "孤城"] and traditional.plan == ["春風", "孤城"]


def test_the_shipped_model_writes_every_verse_word_of_the_modern_table(shipped):
    known = shipped.tables.ids_starting_with
    unknown = [verse for verse in modern_words().values() if not all(c in known for c in verse)]
    assert not unknown


def test_a_keyword_the_model_cannot_write_is_refused(shipped):
    with pytest.raises(UserError) as caught:
        shipped.generate(form="qijue", plan="春风,𠀀", seed=1)
    assert caught.value.field == "plan" and "cannot write" in str(caught.value)


def test_cli_shows_the_plan(capsys):
    from poetry_rnn.model import default_model_dir

    if not (default_model_dir() / "model.safetensors").is_file():
        pytest.skip("no shipped model")
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--form", "qijue", "--plan", "春风,孤城", "--seed", "2"])
    assert run(args) == 0
    assert "  plan: 春风 · 孤城" in capsys.readouterr().out.splitlines()
    assert run(parser.parse_args(["--form", "qijue", "--plan", "春风,孤城", "--seed", "2", "--json"])) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["plan"] == ["春风", "孤城"]


def test_the_app_shows_the_plan_under_the_poem(shipped):
    from poetry_rnn.app.render import poem_info_markdown

    record = shipped.generate(form="qijue", plan="春风,孤城", seed=2)[0].to_dict()
    record["plan_followed"] = [True, False]
    text = poem_info_markdown(record, "zh")
    assert "立意" in text and "春风 · 孤城（未用）" in text
    english = poem_info_markdown(record, "en")
    assert "plan (one keyword per couplet)" in english and "春风 · 孤城 (unused)" in english


# ------------------------------------------------------------------------------------------ the data
def test_build_script_reproduces_the_shipped_file(corpus_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("build_plan_data", REPO / "scripts" / "build_plan_data.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    out = tmp_path / "plan_keywords.json"
    assert build.main(["--corpus", str(corpus_dir), "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(DATA_FILE.read_text(encoding="utf-8"))


def test_the_apps_plan_field_steers_and_refuses_in_the_users_language():
    from poetry_rnn.app.handlers import PoetryApp, build_request
    from poetry_rnn.generation.generator import PoetryGenerator

    options = ("qijue", "title", "送别", "pingshui", "auto", "auto", "strict", 1, 0.85, 0.95, 3, "simplified")
    assert build_request(*options)[0].plan is None  # empty field: the automatic plan
    assert build_request(*options, " ")[0].plan is None
    assert build_request(*options, "off")[0].plan == ()
    assert build_request(*options, "春风，孤城")[0].plan == ("春風", "孤城")
    app = PoetryApp(PoetryGenerator.from_pretrained())
    values = [*options, True, "zh", None, "春风,孤城,归"]
    refused = list(app.ui_generate(*values))[-1]
    shown = [update.value for update in refused[5:11] if update.visible]
    assert (
        len(shown) == 1
        and "立意：给了 3 个词，此体只有 2 联：每联至多一词，逗号隔开，或填 off 不用" in shown[0]
    )
    answer = list(app.ui_generate(*values[:-1], "春风,孤城"))[-1]
    assert "立意" in answer[2] and "春风" in answer[2]


@pytest.mark.parametrize(("temperature", "top_p"), [(0.8, 0.9), (1.3, 1.0)])
def test_the_sampler_draws_exactly_by_the_bonus_in_the_shortlist_and_in_a_tail(temperature, top_p):
    from test_decoding import SPREAD, CountingTails, frequencies, nucleus_distribution

    from poetry_rnn.decoding.penalties import StepPenalties
    from poetry_rnn.decoding.sampler import sample_scores

    rows = 20000
    scores = CountingTails(rows, *SPREAD)  # a shortlist of 4 pieces, two tail clusters of 3
    row = torch.zeros(10)
    row[1] = float("-inf")
    bonus = {2: 1.5, 1: 3.0, 8: 2.0}  # 1 is excluded: a bonus never lets it back
    penalties = StepPenalties([row] * rows, [()] * rows, favoured=[bonus] * rows)
    choice, _ = sample_scores(
        scores.scores, 0, top_p, torch.Generator().manual_seed(5), temperature, penalties
    )
    with_bonus = row.clone()
    for piece, value in bonus.items():
        with_bonus[piece] += value
    expected = nucleus_distribution(scores.log_probs, with_bonus, temperature, top_p)
    found = torch.tensor(frequencies(choice, 10))
    sigma = (expected * (1 - expected) / rows).sqrt()
    assert found[1] == 0 and expected[8] > 0.05
    assert ((found - expected).abs() <= 5 * sigma + 1e-4).all(), (found, expected)
