"""The public generator API and the `generate` CLI, on a tiny random model (tests/conftest.py).

A random model writes nonsense, but every returned poem must keep every rule it was asked for, and every
impossible request must be refused with a UserError naming the field.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from tiny_model import tiny_model_for_tests

from poetry_rnn.decoding.originality import CorpusLines
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.errors import UserError
from poetry_rnn.generation.command import configure_parser, run
from poetry_rnn.generation.generator import PoetryGenerator
from poetry_rnn.prosody.check import analyze
from poetry_rnn.prosody.patterns import get_form
from poetry_rnn.prosody.rhyme import get_scheme
from poetry_rnn.prosody.tones import ZE
from poetry_rnn.script import to_simplified
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def generator(tiny_model_dir) -> PoetryGenerator:
    return PoetryGenerator.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def corpus_lines(tiny_model_dir) -> CorpusLines:
    return CorpusLines.load(tiny_model_dir / "corpus_lines.txt")


def assert_poem_keeps(poem, form: str, scheme: str = "pingshui", strictness: str = "strict"):
    shape = get_form(form)
    assert len(poem.lines) == shape.line_count
    assert all(len(line) == shape.chars_per_line for line in poem.lines)
    assert poem.text == "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(poem.lines))
    analysis = analyze(poem.text, scheme, strictness=strictness)
    assert analysis.ok, (poem.text, [f.message for f in analysis.faults])
    assert poem.ok and poem.analysis.ok
    assert poem.rhyme_group in analysis.rhyme_groups
    counts = Counter(poem.text.replace("，", "").replace("。", ""))
    return counts


# ------------------------------------------------------------------------------------------ constraints hold
@pytest.mark.parametrize("form", ["wujue", "qijue", "wulv", "qilv"])
@pytest.mark.parametrize("scheme", ["pingshui", "xinyun"])
def test_strict_poems_have_no_faults(generator, corpus_lines, form, scheme):
    poems = generator.generate(form=form, rhyme_scheme=scheme, tone="strict", n=6, seed=7)
    assert len(poems) == 6
    assert [p.rank_score for p in poems] == sorted((p.rank_score for p in poems), reverse=True)
    for poem in poems:
        counts = assert_poem_keeps(poem, form, scheme)
        assert max(counts.values()) <= 2
        assert not any(line in corpus_lines for line in poem.lines)
        assert poem.pattern == poem.analysis.pattern
    assert sorted(poem.seed for poem in poems) == list(range(7, 13))  # one search a poem (line selection)


def test_the_model_chooses_patterns_and_rhyme_groups(generator):
    poems = generator.generate(form="wujue", n=24, seed=3)
    assert len({p.pattern for p in poems}) >= 2
    assert len({p.rhyme_group for p in poems}) >= 3


@pytest.mark.parametrize("tone", ["standard", "off"])
def test_standard_and_off_tone_settings(generator, tone):
    poems = generator.generate(form="qilv", tone=tone, n=6, seed=2)
    for poem in poems:
        strictness = "standard"
        analysis = analyze(poem.text, "pingshui", strictness=strictness)
        judged = {"字数", "句数", "出韵", "重韵"}
        if tone == "standard":
            judged |= {"失粘", "失对", "孤平", "三平尾", "不协平仄"}
        assert not [f for f in analysis.faults if f.name in judged], poem.text
        assert poem.ok


def test_no_rhyme_scheme_keeps_only_the_form(generator):
    poems = generator.generate(form="qijue", rhyme_scheme="none", tone="off", n=4, seed=4)
    for poem in poems:
        assert poem.rhyme_group is None and poem.ok
        assert [len(line) for line in poem.lines] == [7, 7, 7, 7]


def test_faults_of_rules_not_asked_for_are_named_not_passed_over(generator, tiny_model_dir, capsys):
    # A first line of five level tones breaks 三平尾 and, with tone rules off, nothing stops it: the poem is
    # `ok` (the rules asked for hold) but the faults are named, in the record and the printed verdict.
    poem = generator.generate(form="wujue", first_line="平平平平平", tone="off", n=1, seed=1)[0]
    assert poem.ok and "三平尾" in poem.unasked_faults
    assert poem.to_dict()["unasked_faults"] == poem.unasked_faults
    assert "not asked for: " in poem.verdict() and "合律 ok" not in poem.verdict()
    assert "三平尾 (three level tones at the end)" in poem.verdict()  # named in English too
    assert poem.verdict() in str(poem)
    strict = generator.generate(form="wujue", n=1, seed=1)[0]
    assert strict.ok and strict.unasked_faults == [] and strict.verdict() == "合律 ok"


@pytest.mark.parametrize(
    ("acrostic", "options"),
    [("天地人和国泰民安", {}), ("天地人和国泰民安", {"tone": "standard"}), ("年年有余岁岁平安", {})],
)
def test_common_acrostics_write_a_qilv_with_parallel_middle_couplets(shipped, acrostic, options):
    """An editor's audit: 藏头 天地人和国泰民安 found no 七律 (its heads 人/和 face poorly), nor did 年年有余岁岁平安
    (岁/岁: both lines of the 颈联 open with one character); each is written now, its couplets parallel as the
    checker judges them."""
    [poem] = shipped.generate(form="qilv", acrostic=acrostic, seed=1, **options)
    assert "".join(line[0] for line in poem.lines) == acrostic
    assert not poem.analysis.parallel_faults
    assert all(c.parallel for c in poem.analysis.couplets if c.line in (2, 4))


def test_a_refusal_for_an_acrostic_with_parallel_couplets_names_them(generator, monkeypatch):
    """Where no poem is found for an acrostic whose heads open parallel couplets, the refusal says that 对仗
    may be the cause and how to drop it; other requests keep the plain refusal."""
    from poetry_rnn.generation import generator as module

    monkeypatch.setattr(module, "MAX_ROUNDS", 0)  # no round: no poem
    with pytest.raises(UserError) as caught:
        generator.generate(form="qilv", acrostic="天地人和国泰民安", seed=1)
    assert caught.value.message_id == "no_poem_found_heads_parallel"
    assert "(parallel=no)" in str(caught.value) and "对仗" in caught.value.text("zh")
    assert "「更多选项」→「对仗」选「不要求」" in caught.value.text(
        "zh"
    )  # the app's switch, named as the page names it
    for options in ({"form": "qilv"}, {"form": "qilv", "acrostic": "天地人和国泰民安", "parallel": False}):
        with pytest.raises(UserError) as caught:
            generator.generate(seed=1, **options)
        assert caught.value.message_id == "no_poem_found"


def test_acrostic_heads_including_simplified_input(generator):
    poems = generator.generate(form="qilv", acrostic="春江花月夜色正明", n=4, seed=1)
    for poem in poems:
        assert_poem_keeps(poem, "qilv")
        assert "".join(line[0] for line in poem.lines) == "春江花月夜色正明"
    # 发 stands for 發 and 髮; 东 for 東.
    poems = generator.generate(form="wujue", acrostic="发东风来", n=4, seed=2, script="traditional")
    for poem in poems:
        assert poem.lines[0][0] in {"發", "髮"} and poem.lines[1][0] == "東"
        assert to_simplified("".join(line[0] for line in poem.lines)) == "发东风来"


def test_a_head_is_shown_as_itself_whatever_word_its_line_begins():
    from types import SimpleNamespace

    from poetry_rnn.generation.generator import _as_shown

    # 么麽 is the word 幺麽 in simplified: converted with its line, the head 么 would come back as 幺
    lines = ["的的春風裡", "了無心事違", "是非人不識", "么麽亦應稀"]
    request = SimpleNamespace(
        asked=SimpleNamespace(script="simplified"), first_line=None, heads=[{c} for c in "的了是么"]
    )
    shown = _as_shown(lines, request)
    assert "".join(line[0] for line in shown) == "的了是么"
    assert shown[0] == "的的春风里"  # the rest of a line as verse reads it in simplified


def test_first_line_is_kept_and_the_rest_follows_its_pattern(generator):
    first = "白日依山盡"
    poems = generator.generate(form="wujue", first_line=first, n=4, seed=5, script="traditional")
    for poem in poems:
        assert poem.lines[0] == first
        assert_poem_keeps(poem, "wujue")
        assert poem.pattern == "仄起首句不入韻"  # in the poem's script
    # Simplified input is converted to the model's characters.
    poems = generator.generate(form="wujue", first_line="白日依山尽", n=1, seed=5, script="traditional")
    assert poems[0].lines[0] == first


@pytest.mark.parametrize("tone", ["strict", "standard"])
def test_a_first_line_in_a_licensed_form_is_continued(generator, tone):
    # 特拗 (平平仄平仄), 三仄尾 and a 拗 the second line must rescue: the checker accepts them, so the decoder does
    for first, kind in (("移舟泊煙渚", "特拗"), ("江流石不轉", "三仄尾"), ("野火燒不盡", "拗救")):
        poems = generator.generate(
            form="wulv", first_line=first, n=2, seed=4, tone=tone, script="traditional"
        )
        for poem in poems:
            assert poem.lines[0] == first
            assert_poem_keeps(poem, "wulv", strictness=tone)
            # 一三五不论 frees the third character anyway: standard has nothing to license in 平平仄仄仄
            free = tone == "standard" and kind == "三仄尾"
            assert [lic["kind"] for lic in poem.analysis.licences] == ([] if free else [kind])
            if kind == "拗救":
                assert "ping" in get_scheme("pingshui").tones(poem.lines[1][2])


def test_a_simplified_first_line_is_written_in_traditional_throughout(generator):
    # the model knows 径 as well as 徑: a simplified line still comes back in traditional characters
    poem = generator.generate(form="qijue", first_line="远上寒山石径斜", n=1, seed=2, script="traditional")[0]
    assert poem.lines[0] == "遠上寒山石徑斜"


def test_first_line_that_rhymes_fixes_the_rhyme_group(generator):
    poems = generator.generate(form="qijue", first_line="朝辭白帝彩雲間", n=4, seed=6)
    for poem in poems:
        assert_poem_keeps(poem, "qijue")
        assert poem.rhyme_group == "上平十五刪"
        assert poem.pattern == "平起首句入韵"


def test_named_rhyme_group_and_first_line_rhymes_flag(generator):
    scheme = get_scheme("pingshui")
    poems = generator.generate(form="wulv", rhyme_group="下平一先", first_line_rhymes=True, n=4, seed=8)
    for poem in poems:
        assert_poem_keeps(poem, "wulv")
        assert poem.rhyme_group == "下平一先"
        rhymes = [poem.lines[i][-1] for i in (0, 1, 3, 5, 7)]
        assert all("下平一先" in scheme.rhyme_groups(c) for c in rhymes)
        assert len(set(rhymes)) == 5
    # A group may be named by its label in either script, or by its character.
    poems = generator.generate(form="wujue", rhyme_group="先", n=1, seed=8)
    assert poems[0].rhyme_group == "下平一先"


def test_title_keywords_and_simplified_output(generator):
    poems = generator.generate(
        form="qijue", title="春夜喜雨", keywords=["春雨", "夜"], script="simplified", n=3, seed=9
    )
    for poem in poems:
        assert poem.text == to_simplified(poem.text)
        assert analyze(poem.text, "pingshui").ok
        assert poem.script == "simplified"


def test_max_repeat(generator):
    for poem in generator.generate(form="qilv", max_repeat=1, n=4, seed=10):
        body = "".join(poem.lines)
        assert len(set(body)) == len(body)


def test_beam_search(generator):
    # a seeded stochastic beam: the same seed gives the same poems, another seed others
    poems = generator.generate(form="qijue", beam=4, n=3, seed=1)
    again = generator.generate(form="qijue", beam=4, n=3, seed=1)
    other = generator.generate(form="qijue", beam=4, n=3, seed=2, plan="off")
    assert [p.text for p in poems] == [p.text for p in again]  # a stochastic beam: the seed decides
    assert [p.text for p in other] != [
        p.text for p in generator.generate(form="qijue", beam=4, n=3, seed=3, plan="off")
    ]
    assert len(poems) == 3 and [p.rank_score for p in poems] == sorted(
        (p.rank_score for p in poems), reverse=True
    )
    for poem in poems:
        assert_poem_keeps(poem, "qijue")


# ------------------------------------------------------------------------------------------ reproducibility
def test_same_seed_same_poems_and_drawn_seed_is_reported(generator):
    first = generator.generate(form="qijue", n=3, seed=42)
    again = generator.generate(form="qijue", n=3, seed=42)
    other = generator.generate(form="qijue", n=3, seed=43)
    assert [p.text for p in first] == [p.text for p in again]
    assert [p.text for p in first] != [p.text for p in other]
    drawn = generator.generate(form="qijue", n=2)
    # several poems are written one by one, with the drawn seed and the next (line selection)
    replay = generator.generate(form="qijue", n=2, seed=min(p.seed for p in drawn))
    assert [p.text for p in drawn] == [p.text for p in replay]


def test_reproducible_across_processes_via_cli(generator, tiny_model_dir):
    expected = [p.text for p in generator.generate(form="wujue", acrostic="山水花月", n=2, seed=11)]
    result = subprocess.run(
        [sys.executable, "-m", "poetry_rnn", "generate", "--model", str(tiny_model_dir), "--form", "wujue",
         "--acrostic", "山水花月", "--n", "2", "--seed", "11", "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["text"] for r in records] == expected
    for record in records:
        assert {"lines", "text", "score", "rhyme_group", "pattern", "seed", "ok"} <= set(record)
        assert record["ok"] is True and record["seed"] in (11, 12)  # one search a poem (line selection)


def test_concurrent_requests_match_sequential_ones(generator):
    requests = [dict(form="wujue", n=2, seed=s) for s in (1, 2, 3, 4)]
    sequential = [[p.text for p in generator.generate(**r)] for r in requests]
    results: list = [None] * len(requests)

    def work(index):
        results[index] = [p.text for p in generator.generate(**requests[index])]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == sequential


# ------------------------------------------------------------------------------------------ streaming, limits
def test_generate_stream_yields_growing_partials_then_the_poems(generator):
    events = list(generator.generate_stream(form="wujue", n=2, seed=12))
    partials = [e["partial"] for e in events if "partial" in e]
    assert events[-1]["done"] is True
    poems = events[-1]["poems"]
    assert [p.text for p in poems] == [p.text for p in generator.generate(form="wujue", n=2, seed=12)]
    assert len(partials) > 10
    assert all(isinstance(line, str) for partial in partials for line in partial)
    assert len(partials[-1]) == 4
    # each of the two poems is streamed in turn, said as poem k of 2
    order = [(e["poem"], e["of"]) for e in events if "partial" in e]
    assert order == sorted(order) and {k for k, _ in order} == {1, 2} and {of for _, of in order} == {2}


def test_time_limit(generator):
    with pytest.raises(UserError) as caught:
        generator.generate(form="qilv", n=8, seed=1, time_limit=1e-9)
    assert caught.value.field == "time_limit"


# ------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("options", "field"),
    [
        (dict(form="sonnet"), "form"),
        (dict(rhyme_scheme="cmu"), "rhyme_scheme"),
        (dict(tone="loose"), "tone"),
        (dict(rhyme_group="下平九十"), "rhyme_group"),
        (dict(rhyme_scheme="none", rhyme_group="下平一先"), "rhyme_group"),
        (dict(acrostic="春江花"), "acrostic"),
        (dict(acrostic=""), "acrostic"),
        (dict(acrostic="春江花a"), "acrostic"),
        (dict(acrostic="春江花🌸"), "acrostic"),
        (dict(acrostic="春江花\U00030000"), "acrostic"),
        (dict(first_line="白日依山盡"), "first_line"),
        (dict(first_line="白日依山盡黃河"), "first_line"),
        (dict(first_line="hello world"), "first_line"),
        (dict(title="春" * 21), "title"),
        (dict(title="Spring"), "title"),
        (dict(theme="春" * 201), "theme"),
        (dict(theme="🌸🌸"), "theme"),
        (dict(n=0), "n"),
        (dict(n=65), "n"),
        (dict(n="three"), "n"),
        (dict(temperature=0), "temperature"),
        (dict(temperature=5.5), "temperature"),
        (dict(top_p=0), "top_p"),
        (dict(top_p=1.2), "top_p"),
        (dict(beam=33), "beam"),
        (dict(top_k=-1), "top_k"),
        (dict(script="latin"), "script"),
        (dict(max_repeat=0), "max_repeat"),
        (dict(time_limit=0), "time_limit"),
        (dict(keywords=["spring"]), "keywords"),
    ],
)
def test_impossible_requests_are_refused_naming_the_field(generator, options, field):
    request = dict(form="qijue", seed=1)
    request.update(options)
    with pytest.raises(UserError) as caught:
        generator.generate(**request)
    assert caught.value.field == field, str(caught.value)
    assert str(caught.value)


def test_first_line_against_the_rhyme_group_or_pattern(generator):
    # 間 rhymes in 上平十五刪, neither in 下平七陽 nor in a neighbour of it (下平一先 would be one: 首句借邻韵).
    # (Left to rhyme or not, the line is taken unrhymed: 間 read jiàn, 仄, and 彩 a 拗 the second line rescues.)
    with pytest.raises(UserError) as caught:
        generator.generate(
            form="qijue",
            first_line="朝辭白帝彩雲間",
            first_line_rhymes=True,
            rhyme_group="下平七陽",
            seed=1,
            script="traditional",
        )
    assert caught.value.field == "first_line" and "間" in str(caught.value)
    # 白日依山盡 ends in an oblique tone: it cannot be a rhyming first line.
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", first_line="白日依山盡", first_line_rhymes=True, seed=1)
    assert caught.value.field == "first_line"
    # The acrostic's first head must agree with the first line.
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", first_line="白日依山盡", acrostic="春江花月", seed=1)
    assert caught.value.field == "first_line"


@pytest.mark.parametrize(
    ("line", "tone", "breaks"),
    [
        ("渭水东流深", "standard", "三平尾「东流深」"),  # 一三五不论 leaves only the 三平尾 to name
        ("远山不见人", "strict", "孤平 1「远」→平"),
        ("远山不见人", "standard", "孤平 1「远」→平"),
    ],
)
def test_a_refused_first_line_names_the_character_to_change(generator, line, tone, breaks):
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", first_line=line, tone=tone, n=1, seed=1)
    assert breaks in str(caught.value) and caught.value.field == "first_line"
    if tone == "standard":  # the templates shown are those the decoder judges by: 2-4-6 and the end
        assert "中平中仄仄" in str(caught.value) and "中平平仄仄" not in str(caught.value)


def test_a_first_line_that_only_its_first_line_rhymes_choice_rules_out(generator):
    # 白日依山尽 keeps 仄起首句不入韵: asking for a rhyming first line is what refuses it, and it says so
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", first_line="白日依山尽", first_line_rhymes=True, n=1, seed=1)
    message = str(caught.value)
    assert caught.value.field == "first_line" and "「白日依山尽」" in message
    assert "pattern 仄起首句不入韵 (中仄平平仄), whose first line does not rhyme" in message
    assert "first_line_rhymes=yes (首句入韵) is what rules it out" in message and "set it to no" in message
    assert "是「首句入韵」把它排除了：请改选「自动」或「不入韵」" in caught.value.text("zh")
    # the other way round: 床前明月光 keeps only patterns whose first line rhymes
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", first_line="床前明月光", first_line_rhymes=False, n=1, seed=1)
    assert "平起首句入韵 (中平中仄平), whose first line rhymes" in str(caught.value)
    assert "「首句不入韵」" in caught.value.text("zh")
    # a line that keeps no pattern under either choice still gets the nearest one and what breaks it
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", first_line="白日依山来", first_line_rhymes=True, n=1, seed=1)
    assert "the nearest, 中仄仄平平, breaks at 3「依」→仄、三平尾" in str(caught.value)


@pytest.mark.parametrize("tone", ["strict", "standard"])
@pytest.mark.parametrize("first_line_rhymes", [True, False])
@pytest.mark.parametrize("line", ["月明不见君", "白日依山尽", "床前明月光", "远山不见人", "渭水东流深"])
def test_a_first_line_rhymes_refusal_gives_advice_that_works(generator, line, first_line_rhymes, tone):
    # 月明不见君 would fit 平起首句入韵 but for its 孤平, which either tone level refuses: the advice to
    # let the first line rhyme must not be given where following it is refused in turn
    try:
        generator.generate(form="wujue", first_line=line, first_line_rhymes=first_line_rhymes, tone=tone)
    except UserError as refusal:
        if refusal.message_id.endswith("_rules_out"):
            poem = generator.generate(
                form="wujue", first_line=line, first_line_rhymes=not first_line_rhymes, tone=tone
            )[0]
            assert poem.analysis.ok and poem.lines[0] == line


def test_a_first_line_in_a_japanese_spelling_is_read_and_an_unread_character_is_named(generator):
    # 隠, the Japanese spelling of 隱, reads 仄 like it: the line keeps 仄起首句不入韵, written in its
    # Chinese form; the checker reads the Japanese spelling as it is
    poem = generator.generate(form="wujue", first_line="白日依山隠", n=1, seed=1)[0]
    assert poem.text.startswith("白日依山隐，") and poem.analysis.ok
    assert get_scheme("pingshui").line_tones("白日依山隠")[4] == {ZE}
    heads = generator.generate(form="wujue", acrostic="隠頼浄寛", n=1, seed=1)[0]
    assert [line[0] for line in heads.lines] == list("隐赖净宽")
    # 它 has no reading in the rhyme book: the refusal says so rather than where the search stopped
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", first_line="白日依山它", n=1, seed=1)
    assert caught.value.field == "first_line"
    assert "「它」 has no 平仄 reading in the chosen rhyme book (平水韵)" in str(caught.value)
    assert "「它」在平水韵中没有平仄读音" in caught.value.text("zh")


def test_japanese_spellings_are_read_but_never_written():
    """A vocabulary holding Japanese spellings (the corpus has a few): the decoder does not write them,
    though their Chinese forms it does, and the checker reads both alike."""
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *"隠隱頼賴山風"])
    tables = VocabularyTables.build(tokenizer)
    assert set(tables.ids_of_text) == set("隱賴山風")
    pingshui = get_scheme("pingshui")
    assert pingshui.reads_as_foreign_spelling("隠") and not pingshui.reads_as_foreign_spelling("隱")
    assert not pingshui.reads_as_foreign_spelling("黄")  # a simplified form is no foreign spelling
    assert pingshui.tones("隠") == pingshui.tones("隱")


def test_head_character_the_model_cannot_write(tmp_path):
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *"山風花春秋人天雲江流月日水樹草雪夜色落去入少小老"])
    model = tiny_model_for_tests(tokenizer)
    generator = PoetryGenerator(model, tokenizer, corpus_lines=CorpusLines([]))
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", acrostic="山水花龍")
    assert caught.value.field == "acrostic" and "龍" in str(caught.value)


def test_rhyme_group_with_too_few_usable_characters(tmp_path):
    # The vocabulary holds only two characters of 下平一先 (天 煙): a 五绝 needs two rhyme characters and a
    # spare, so naming that group is refused before decoding.
    tokenizer = CharTokenizer(
        [*SPECIALS, *PUNCTUATION, *"山風花春秋人天煙月日水樹草雪夜色落去入少小老東紅同空通"]
    )
    model = tiny_model_for_tests(tokenizer)
    generator = PoetryGenerator(model, tokenizer, corpus_lines=CorpusLines([]))
    assert generator.usable_rhyme_chars("pingshui", "下平一先") == frozenset("天煙")
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", rhyme_group="下平一先")
    assert caught.value.field == "rhyme_group"


def test_a_theme_without_jieba_is_a_clear_error_and_keywords_still_work(generator, monkeypatch):
    monkeypatch.setitem(sys.modules, "jieba", None)  # as if jieba were not installed: importing it fails
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", theme="春天的夜晚，细雨无声", seed=1)
    assert caught.value.field == "theme" and caught.value.message_id == "theme_unavailable"
    assert "jieba" in str(caught.value)
    assert generator.generate(form="wujue", keywords=["春", "雨"], seed=1)[0].ok


def test_rhyme_groups_listing(generator):
    listing = generator.rhyme_groups("pingshui")
    ids = [group for group, _ in listing]
    assert "下平一先" in ids and len(ids) == 30
    assert all(label.startswith(group) for group, label in listing)
    assert [g for g, _ in generator.rhyme_groups("xinyun")][:2] == ["麻", "波"]
    assert generator.check("白日依山盡，黃河入海流。欲窮千里目，更上一層樓。").ok


# ------------------------------------------------------------------------------------------ the result
@pytest.mark.parametrize(
    ("script", "title", "rhyme_mark"), [("simplified", "春江送别", "韵"), ("traditional", "春江送別", "韻")]
)
def test_a_results_labels_and_title_are_in_the_poems_script(generator, script, title, rhyme_mark):
    poem = generator.generate(form="qijue", title="春江送别", n=1, seed=3, script=script)[0]
    other = {"韵": "韻", "韻": "韵"}[rhyme_mark]
    assert rhyme_mark in poem.pattern and other not in poem.pattern  # 平起首句入韻 when traditional
    assert poem.to_dict()["pattern"] == poem.pattern
    assert poem.title == title and poem.to_dict()["title"] == title
    plain = poem.plain_text().splitlines()
    assert plain == [f"《{title}》", poem.text[: len(poem.text) // 2], poem.text[len(poem.text) // 2 :]]
    assert str(poem).startswith(poem.plain_text())
    summary = str(poem).splitlines()[-1]
    assert poem.pattern in summary and poem.rhyme_group_label in summary
    assert other not in summary


@pytest.mark.parametrize("asked", ["万里归乡", "萬里歸鄉"])
def test_a_traditional_poems_title_and_plan_are_not_converted_twice(generator, asked):
    # the title is held in the model's (traditional) script; shown in traditional it was converted again,
    # and OpenCC, knowing the phrase only as 万里, wrote 萬裡
    poem = generator.generate(form="qijue", title=asked, plan="萬里,故里", n=1, seed=3, script="traditional")[
        0
    ]
    assert poem.title == "萬里歸鄉"
    assert poem.plan == ["萬里", "故里"]


def test_a_poem_prints_as_its_lines_and_a_summary_and_reprs_short(generator):
    poem = generator.generate(form="qijue", n=1, seed=3)[0]
    shown = str(poem).splitlines()
    assert shown[:2] == [
        poem.lines[0] + "，" + poem.lines[1] + "。",
        poem.lines[2] + "，" + poem.lines[3] + "。",
    ]
    assert shown[2] == f"七绝 · {poem.pattern} · {poem.rhyme_group_label} · 合律 ok" and len(shown) == 3
    assert repr(poem) == f"GeneratedPoem(form='qijue', lines={poem.lines!r}, score={poem.score:.3f}, ok=True)"
    assert len(repr(poem)) < 200
    off = generator.generate(form="wujue", n=1, seed=3, tone="off", rhyme_scheme="none")[0]
    assert str(off).splitlines()[-1].startswith("五绝 · ") and len(str(off).splitlines()) == 3


def test_check_takes_the_options_analyze_takes(generator):
    import inspect

    def options(function):
        return [(p.name, p.default) for p in list(inspect.signature(function).parameters.values())[1:]]

    assert options(generator.check) == options(analyze)
    # 万 (仄) where the strict pattern fixes 平: a fault unless 一三五不论 (欲 仄 first: no 三仄尾 either)
    text = "白日依山尽，黄河入海流。欲穷万里目，更上一层楼。"
    assert not generator.check(text).ok and not generator.check(text, strictness="strict").ok
    for standard in ("standard", "STANDARD", "一三五不论"):
        analysis = generator.check(text, strictness=standard)
        assert analysis.ok and analysis.strictness == "standard", standard
    assert (
        generator.check(text, "xinyun", "standard").to_dict() == analyze(text, "xinyun", "standard").to_dict()
    )
    assert generator.check(text, scheme="中华新韵").scheme == "xinyun"
    for bad, field in [(dict(strictness="off"), "strictness"), (dict(scheme="none"), "scheme")]:
        with pytest.raises(UserError) as caught:
            generator.check(text, **bad)
        assert caught.value.field == field and caught.value.message_id, bad


# ------------------------------------------------------------------------------------------ CLI
def test_cli_pretty_output(tiny_model_dir, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--model", str(tiny_model_dir), "--form", "qijue", "--n", "2", "--seed", "3"])
    assert run(args) == 0
    out = capsys.readouterr().out
    assert out.count("#") == 2 and "seed 3" in out and "合律" in out
    args = parser.parse_args(["--model", str(tiny_model_dir), "--form", "qijue", "--script", "traditional"])
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "對仗" in out and "韻" in out and "对仗" not in out  # labels in the poem's script
    args = parser.parse_args(["--model", str(tiny_model_dir), "--form", "qijue", "--acrostic", "春"])
    with pytest.raises(UserError):
        run(args)
    # the app's labels on the command line too
    args = parser.parse_args(["--model", str(tiny_model_dir), "--tone", "一三五不论", "--script", "繁體"])
    assert args.tone == "一三五不论" and run(args) == 0
    assert "對仗" in capsys.readouterr().out
    with pytest.raises(UserError, match=r"allowed: strict \(严格\), standard \(一三五不论\), off"):
        run(parser.parse_args(["--model", str(tiny_model_dir), "--tone", "loose"]))
    # a first line in 特拗 form: the licence the poem uses is named
    assert (
        run(
            parser.parse_args(
                ["--model", str(tiny_model_dir), "--form", "wujue", "--first-line", "移舟泊烟渚"]
            )
        )
        == 0
    )
    assert "特拗 licence: 第1句「泊烟」平仄互换" in capsys.readouterr().out


def test_sentencepiece_tokenizer_with_multi_character_pieces(corpus_lines):
    """A SentencePiece vocabulary: pieces cover up to four characters, rare characters are byte pieces.
    Every rule still holds, judged by all the characters a piece covers."""
    from poetry_rnn.tokenizer.sentencepiece_tokenizer import SentencePieceTokenizer

    lines = list(corpus_lines.lines())
    texts = lines[:: max(1, len(lines) // 30000)]  # corpus lines (train split) spread over the alphabet
    tokenizer, _ = SentencePieceTokenizer.train(texts, vocab_size=6000, character_coverage=0.99, threads=1)
    generator = PoetryGenerator(
        tiny_model_for_tests(tokenizer, seed=2), tokenizer, corpus_lines=CorpusLines([])
    )
    assert generator.tables.max_piece_len > 1
    poems = generator.generate(form="qilv", acrostic="春江花月夜色正明", n=6, seed=3)
    multi = 0
    for poem in poems:
        assert_poem_keeps(poem, "qilv")
        assert "".join(line[0] for line in poem.lines) == "春江花月夜色正明"
    for seed in range(3):
        for poem in generator.generate(
            form="wujue", first_line="白日依山盡", n=4, seed=seed, script="traditional"
        ):
            assert_poem_keeps(poem, "wujue")
            assert poem.lines[0] == "白日依山盡"
            pieces = tokenizer.encode("".join(poem.lines[1:]))
            multi += any(len(tokenizer.piece_chars(p)) > 1 for p in pieces)
    assert multi > 0


def test_originality_without_corpus_or_lines_file_is_off_with_a_note(tiny_model_dir, tmp_path, caplog):
    import shutil

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(tiny_model_dir / name, model_dir / name)
    generator = PoetryGenerator.from_pretrained(model_dir, corpus_source=tmp_path / "no_corpus_here")
    with caplog.at_level("WARNING"):
        poems = generator.generate(form="wujue", n=1, seed=1)
    assert poems[0].ok and any("originality" in note for note in poems[0].notes)
    assert "originality check disabled" in caplog.text
    # With originality=False nothing is noted.
    assert generator.generate(form="wujue", n=1, seed=1, originality=False)[0].notes == []


def test_corpus_lines_built_from_a_corpus_once_and_cached(tiny_model_dir, tmp_path, monkeypatch):
    import shutil

    from poetry_rnn.corpus import load_corpus
    from poetry_rnn.decoding.originality import resolve_corpus_lines

    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    poems = [
        {"author": "王之渙", "title": "登鸛雀樓", "paragraphs": ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"], "id": "1"},
        {"author": "孟浩然", "title": "春曉", "paragraphs": ["春眠不覺曉，處處聞啼鳥。", "夜來風雨聲，花落知多少。"], "id": "2"},
    ]  # fmt: skip
    (corpus_dir / "poet.tang.0.json").write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("POETRY_RNN_CACHE", str(tmp_path / "cache"))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(tiny_model_dir / name, model_dir / name)
    lines = resolve_corpus_lines(model_dir, corpus_dir)
    train = {
        line for poem in load_corpus(str(corpus_dir)).poems if poem.split == "train" for line in poem.lines
    }
    assert set(lines.lines()) == train and train
    cached = list((tmp_path / "cache").glob("corpus_lines-*.txt"))
    assert len(cached) == 1
    assert set(CorpusLines.load(cached[0]).lines()) == train


def test_unsatisfiable_vocabulary_gives_up_with_a_user_error():
    # Only level-tone characters: every candidate dead-ends at the first fixed 仄 position. The generator
    # retries a bounded number of rounds, then says so; it never loops and never returns a broken poem.
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *"山風花春秋人天雲江流星明清香聲東紅同通鐘峰"])
    generator = PoetryGenerator(tiny_model_for_tests(tokenizer), tokenizer, corpus_lines=CorpusLines([]))
    with pytest.raises(UserError) as caught:
        generator.generate(form="wujue", rhyme_scheme="none", tone="strict", n=2, seed=1)
    assert "no poem" in str(caught.value)


# ------------------------------------------------------------------------------------------ 对仗
def parallel_rules(generator, **options):
    from poetry_rnn.decoding.rules.parallel import ParallelRule
    from poetry_rnn.generation.request import GenerationRequest

    constraints = generator._constraints(generator._resolve(GenerationRequest(**options)))
    return [rule for rule in constraints.rules if isinstance(rule, ParallelRule)]


def test_rules_are_shared_between_requests_only_with_the_same_settings(generator):
    from poetry_rnn.generation.request import GenerationRequest

    def rules(**options) -> dict:
        constraints = generator._constraints(generator._resolve(GenerationRequest(seed=1, **options)))
        return {type(rule).__name__: rule for rule in constraints.rules}

    first, again = (
        rules(form="qilv", acrostic="春夏秋冬花月山水"),
        rules(form="qilv", acrostic="春夏秋冬花月山水"),
    )
    for name in ("ToneRule", "RhymeRule", "AcrosticRule", "ParallelRule"):
        assert first[name] is again[name], name  # their mask caches stay warm
    other = rules(form="qilv", acrostic="春夏秋冬花月山水", tone="standard", rhyme_scheme="xinyun")
    assert other["ToneRule"] is not first["ToneRule"] and other["RhymeRule"] is not first["RhymeRule"]
    assert other["AcrosticRule"] is first["AcrosticRule"]
    assert rules(form="qilv", acrostic="春夏秋冬花月山河")["AcrosticRule"] is not first["AcrosticRule"]


def verdicts(poem) -> dict:
    return {couplet.line: couplet for couplet in poem.analysis.couplets}


@pytest.mark.parametrize(
    ("form", "options"),
    [
        ("wulv", {}),
        ("qilv", {"acrostic": "春江花月夜色正明"}),
        ("wulv", {"rhyme_scheme": "xinyun", "title": "秋夜"}),
        ("qilv", {"rhyme_scheme": "xinyun", "keywords": "江 月"}),
        ("qilv", {"script": "simplified"}),
    ],
)
def test_lushi_middle_couplets_are_written_parallel_by_default(generator, form, options):
    for seed in (1, 2):
        poems = generator.generate(form=form, n=3, seed=seed, **options)
        assert len(poems) == 3
        for poem in poems:
            assert_poem_keeps(poem, form, options.get("rhyme_scheme", "pingshui"))
            found = verdicts(poem)
            assert found[2].parallel and found[4].parallel, (poem.text, found[2].kind, found[4].kind)
            assert not poem.analysis.parallel_faults
            # judged afresh, apart from the analysis the generator attached
            from poetry_rnn.prosody.parallel import judge_couplet

            assert all(judge_couplet(poem.lines[i], poem.lines[i + 1]).parallel for i in (2, 4))


def test_lushi_with_a_given_first_line_is_parallel_too(generator):
    first = generator.generate(form="wulv", n=1, seed=21)[0].lines[0]
    poems = generator.generate(form="wulv", first_line=first, n=3, seed=22)
    assert len(poems) == 3
    for poem in poems:
        assert poem.lines[0] == first
        assert verdicts(poem)[2].parallel and verdicts(poem)[4].parallel


def test_parallel_off_writes_the_couplets_freely(generator):
    assert parallel_rules(generator, form="qilv", parallel=False) == []
    rule = parallel_rules(generator, form="qilv")[0]
    assert rule.second_lines == {3, 5}
    poems = generator.generate(form="wulv", parallel=False, n=6, seed=3)
    assert len(poems) == 6 and all(p.ok for p in poems)  # 不对 is no fault when it was not asked for
    # a random model left to itself seldom writes both middle couplets parallel
    middle = [verdicts(p)[i].parallel for p in poems for i in (2, 4)]
    assert not all(middle)


def test_jueju_last_couplet_is_parallel_on_request(generator):
    assert parallel_rules(generator, form="qijue") == []  # a 绝句's couplets are free by default
    assert parallel_rules(generator, form="wujue", parallel=True)[0].second_lines == {3}
    for form in ("wujue", "qijue"):
        poems = generator.generate(form=form, parallel=True, n=3, seed=5)
        assert len(poems) == 3
        for poem in poems:
            assert_poem_keeps(poem, form)
            assert verdicts(poem)[2].parallel, poem.text


def test_parallel_beam_search(generator):
    # (no plan: with the tiny random model every beam follows the plan's bonus into the same dead end)
    poems = generator.generate(form="wulv", beam=4, n=2, seed=1, plan="off")
    assert poems and all(verdicts(p)[2].parallel and verdicts(p)[4].parallel for p in poems)


@pytest.mark.parametrize("value", ["yes", 1, "maybe", 0.5])
def test_parallel_option_must_be_true_false_or_unset(value):
    from poetry_rnn.generation.request import GenerationRequest

    with pytest.raises(UserError) as caught:
        GenerationRequest(form="qilv", parallel=value)
    assert caught.value.field == "parallel" and "parallel" in str(caught.value)


def test_cli_shows_each_couplets_verdict(tiny_model_dir, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--model", str(tiny_model_dir), "--form", "wulv", "--n", "1", "--seed", "3"])
    assert run(args) == 0
    out = capsys.readouterr().out
    line = next(text for text in out.splitlines() if text.strip().startswith("对仗"))
    assert [word for word in line.split() if word.endswith("联")] == ["首联", "颔联", "颈联", "尾联"]
    middle = line.split("颔联")[1].split()
    assert middle[0] in ("工对", "宽对") and 0 < float(middle[1]) <= 1
    args = parser.parse_args(
        [
            "--model",
            str(tiny_model_dir),
            "--form",
            "qijue",
            "--parallel",
            "yes",
            "--n",
            "1",
            "--seed",
            "3",
            "--json",
        ]
    )
    assert run(args) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert [c["lines"] for c in record["couplets"]] == [[0, 1], [2, 3]]
    assert record["couplets"][1]["parallel"] and record["parallel_faults"] == []
    with pytest.raises(SystemExit):
        parser.parse_args(["--parallel", "maybe"])


def test_the_decoder_reads_its_traditional_characters_as_written(generator):
    # The model writes traditional script, where 征 is 征 (平) and not 徵 (仄 too): the decoder's tables read
    # it as the checker reads a traditional poem, so a first line that needs 征 仄 is refused, and says why.
    tables = generator.tables.scheme("pingshui")
    assert tables.scheme.tones("征") == {"ping"} and tables.scheme.tones("干") == {"ping"}
    with pytest.raises(UserError) as caught:
        generator.generate(form="qijue", first_line="遠征千山雪未消", tone="strict", n=1, seed=1)
    assert "2「征」→仄" in str(caught.value) and caught.value.field == "first_line"
    # where 征 may stay 平, the line is continued and the poem checks in traditional script
    poem = generator.generate(form="qijue", first_line="萬里長征人未還", n=1, seed=1, script="traditional")[0]
    assert poem.lines[0] == "萬里長征人未還" and poem.ok and analyze(poem.text).ok


def test_a_given_first_line_may_borrow_a_neighbouring_rhyme_group(generator):
    # 紛 rhymes in 上平十二文, a neighbour of 上平十三元: the checker accepts the borrowing, so generate does,
    # and the other lines keep the group asked for
    poems = generator.generate(
        form="qijue", first_line="清明時節雨紛紛", rhyme_group="上平十三元", n=2, seed=3, script="traditional"
    )
    scheme = get_scheme("pingshui")
    for poem in poems:
        assert poem.lines[0] == "清明時節雨紛紛" and poem.ok and poem.rhyme_group == "上平十三元"
        assert all("上平十三元" in scheme.rhyme_groups(line[-1]) for line in poem.lines[1::2])
        assert [lic["kind"] for lic in poem.analysis.licences] == ["邻韵"]
    # a group that is no neighbour of 文 still refuses the line, naming its rhyme character
    with pytest.raises(UserError) as caught:
        generator.generate(form="qijue", first_line="清明時節雨紛紛", rhyme_group="下平七陽", n=1, seed=3)
    assert caught.value.field == "first_line" and "纷" in str(caught.value)


def test_a_licensed_first_line_ruled_out_by_the_rhyme_choice_says_so(generator):
    # 移舟泊烟渚 keeps 平起首句不入韵 as a 特拗 line: a rhyming first line is what refuses it
    with pytest.raises(UserError) as caught:
        generator.generate(form="wulv", first_line="移舟泊烟渚", first_line_rhymes=True, n=1, seed=1)
    message = str(caught.value)
    assert "pattern 平起首句不入韵（特拗） (平平仄平仄), whose first line does not rhyme" in message
    assert "first_line_rhymes=yes (首句入韵) is what rules it out" in message


def test_simplified_output_writes_the_chen_of_verse_but_keeps_what_the_user_gave(generator):
    from types import SimpleNamespace

    from poetry_rnn.generation.generator import _as_shown

    written = ["江月夜沈沈", "沈郎何處歸", "沈舟千古恨", "雲沈萬里山"]
    free = SimpleNamespace(asked=SimpleNamespace(script="simplified"), first_line=None, heads=None)
    # the model's 沈 is 沉 in verse; the surname's words keep 沈
    assert _as_shown(written, free) == ["江月夜沉沉", "沈郎何处归", "沉舟千古恨", "云沉万里山"]
    given = SimpleNamespace(
        asked=SimpleNamespace(script="simplified"), first_line="江月夜沈沈", heads=[{"沈"}] * 4
    )
    # a given first line and acrostic heads come back as typed (a head 沈 may be a name)
    assert _as_shown(written, given) == ["江月夜沈沈", "沈郎何处归", "沈舟千古恨", "云沉万里山"]
    assert (
        _as_shown(
            written,
            SimpleNamespace(
                asked=SimpleNamespace(script="traditional", first_line=None, acrostic=None),
                first_line=None,
                heads=None,
            ),
        )
        == written
    )
    # a reduplication of a given head reads as the head
    assert _as_shown(
        ["沈沈不可忘"],
        SimpleNamespace(asked=SimpleNamespace(script="simplified"), first_line=None, heads=[{"沈"}]),
    ) == ["沈沈不可忘"]
    # end to end: an acrostic head 沈 stays 沈 in the simplified poem, which keeps every rule
    for poem in generator.generate(form="wujue", acrostic="沈园春晓", n=2, seed=3, script="simplified"):
        assert poem.lines[0][0] == "沈" and poem.ok


def test_what_a_traditional_user_typed_comes_back_as_typed(shipped):
    # variant spellings (閒, 爲, 裏, 峯) are the model's 閑 為 裡 峰 inside; the poem gives back the user's
    poem = shipped.generate(
        form="wujue", first_line="人閒桂花落", title="閒居", n=1, seed=1, script="traditional"
    )[0]
    assert poem.title == "閒居" and poem.lines[0] == "人閒桂花落" and poem.ok
    heads = shipped.generate(form="wujue", acrostic="裏爲閒峯", n=1, seed=1, script="traditional")[0]
    assert "".join(line[0] for line in heads.lines) == "裏爲閒峯" and heads.ok
    assert heads.analysis.text.startswith(heads.lines[0])
    # an acrostic in traditional script means its shared characters as written: 干 is 干, 里 is 里, 台 is 台
    for acrostic in ("干戈後里", "台北風雨"):
        for seed in (1, 2):
            poem = shipped.generate(form="qijue", acrostic=acrostic, n=1, seed=seed, script="traditional")[0]
            assert "".join(line[0] for line in poem.lines) == acrostic, (acrostic, seed, poem.lines)


def test_a_traditional_character_the_model_knows_only_simplified_is_written_not_refused(shipped):
    # the vocabulary has 揾 and not 搵: a traditional first line or head with 搵 was refused
    poem = shipped.generate(form="qijue", first_line="搵得英雄淚滿襟", n=1, seed=1, script="traditional")[0]
    assert poem.lines[0] == "搵得英雄淚滿襟" and poem.ok
    heads = shipped.generate(form="qijue", acrostic="搵得英雄", n=1, seed=1, script="traditional")[0]
    assert "".join(line[0] for line in heads.lines) == "搵得英雄" and heads.ok


def test_a_refused_traditional_first_line_is_quoted_as_typed(shipped):
    with pytest.raises(UserError) as refused:
        shipped.generate(form="qijue", first_line="人閒桂花落春山", n=1, seed=1, script="traditional")
    assert "「人閒桂花落春山」" in str(refused.value) and "人閑" not in str(refused.value)
