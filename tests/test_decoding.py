"""Decoding internals: vocabulary tables, the corpus-line index, each rule, the constraint set, the search.

Small synthetic vocabularies (including multi-character pieces, as a SentencePiece tokenizer would have)
with tiny random models: bad poems, but every rule must hold.
"""

from __future__ import annotations

import random

import pytest
import torch
from tiny_model import tiny_model_for_tests

from poetry_rnn.decoding import (
    AcrosticRule,
    ConstraintSet,
    CorpusLines,
    FormRule,
    OriginalityRule,
    PatternChoice,
    RepetitionRule,
    RhymeRule,
    SamplingOptions,
    ToneRule,
    VocabularyTables,
    beam_search,
    remaining_patterns,
    rhyme_groups_left,
    sample,
)
from poetry_rnn.decoding.sampler import sample_pieces, sample_scores
from poetry_rnn.decoding.scheme_tables import BOTH, fits_allowed
from poetry_rnn.model import FloatStepper, StepScores, adaptive_log_probs
from poetry_rnn.prosody.check import analyze
from poetry_rnn.prosody.patterns import PING, ZE, get_form, relaxed_template, tone_patterns
from poetry_rnn.prosody.rhyme import get_scheme
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer

# Common characters of several tones and rhyme groups (平水韵), plus a few two-character pieces.
CHARS = (
    "山風花春秋人天雲江流星明清香深長聲中東紅同空通鐘龍鬆峰"
    "月日水樹草雪夜色落去入少小老酒影鳥晚暮萬里遠近上下外"
    "來回歸飛開時年家前山川林泉邊間閑閒寒田煙天仙"
)
MULTI = ("明月", "春風", "青山", "白雲", "流水", "江上", "天涯")


def make_tokenizer(chars: str = CHARS, multi: tuple[str, ...] = ()) -> CharTokenizer:
    unique = list(dict.fromkeys(chars))
    return CharTokenizer([*SPECIALS, *PUNCTUATION, *unique, *multi])


def verse_constraints(form_name: str, mode: str = "strict", *extra):
    """The multi-piece test vocabulary with form, tone (`mode`) and 平水韵 rhyme constraints for `form_name`,
    plus constraints built by each of `extra` (a function of the tables): (tokenizer, tables, constraints)."""
    tokenizer = make_tokenizer(multi=MULTI)
    tables = VocabularyTables.build(tokenizer)
    form = get_form(form_name)
    patterns = tone_patterns(form)
    scheme = tables.scheme("pingshui")
    groups = tuple(g for g in scheme.scheme.level_groups if len(scheme.group_chars[g]) >= 4)
    choice = PatternChoice(patterns)  # the tone and rhyme rules narrow the same patterns
    rules = [
        FormRule(tables, form.chars_per_line, form.line_count),
        ToneRule(tables, scheme, choice, mode),
        RhymeRule(tables, scheme, choice, groups),
    ]
    return tokenizer, tables, ConstraintSet(tables, rules + [build(tables) for build in extra])


def run_sample(constraints, model, tokenizer, batch=6, seed=0, start=None):
    generator = torch.Generator().manual_seed(seed)
    prefix = [tokenizer.form_id("qijue"), tokenizer.bos_id]
    search = sample(
        model,
        constraints,
        prefix,
        start or constraints.new_state(),
        batch,
        SamplingOptions(temperature=1.0, top_k=0, top_p=1.0),
        generator,
        max_steps=80,
    )
    while True:
        try:
            next(search)
        except StopIteration as stop:
            return stop.value


# ------------------------------------------------------------------------------------------ tables
def test_tables_describe_pieces_by_all_their_characters():
    tokenizer = make_tokenizer(multi=MULTI)
    tables = VocabularyTables.build(tokenizer)
    assert not tables.plain[tokenizer.unk_id] and not tables.plain[tokenizer.eos_id]
    assert not tables.plain[tables.comma_id]
    two = tokenizer.piece_to_id("明月")
    assert tables.chars[two] == "明月" and int(tables.lengths[two]) == 2
    assert bool(tables.length_at_most[2][two]) and not bool(tables.length_at_most[1][two])
    pingshui = tables.scheme("pingshui")
    assert pingshui.piece_tones[two] == (frozenset({PING}), frozenset({ZE}))
    # 明月 ends in 月 (仄): it can never end a rhyme line, but it can end a non-rhyming line.
    assert bool(pingshui.last_can_be_ze[two])
    assert not any(bool(mask[two]) for mask in pingshui.group_last.values())
    feng = tokenizer.piece_to_id("風")
    assert bool(pingshui.group_last["上平一東"][feng]) and bool(pingshui.single_fit[frozenset({PING})][feng])
    assert not bool(pingshui.single_fit[frozenset({ZE})][feng])


def test_fits_treats_polyphones_and_unknown_characters_like_the_checker():
    assert fits_allowed(frozenset({PING, ZE}), frozenset({ZE}))
    assert fits_allowed(frozenset(), BOTH) and not fits_allowed(frozenset(), frozenset({PING}))
    assert not fits_allowed(frozenset({PING}), frozenset())


def test_relaxed_template_frees_positions_1_3_5_only():
    assert relaxed_template("中平中仄仄平平", "standard") == "中平中仄中平平"
    assert relaxed_template("中仄中平中仄平", "standard") == "中仄中平中仄平"


# ------------------------------------------------------------------------------------------ corpus lines
def test_corpus_lines_completions_and_membership(tmp_path):
    lines = CorpusLines(
        ["白日依山盡", "白日放歌須", "黃河入海流", "欲窮千里目", "春眠不覺曉", "兩個黃鸝鳴翠柳", "abc"]
    )
    assert len(lines) == 6
    assert sorted(lines.completions("白日依山", 5)) == ["盡"]
    assert sorted(lines.completions("白日", 5)) == ["依山盡", "放歌須"]
    assert lines.completions("白日", 5, limit=1) is None  # more endings than the caller would test
    assert sorted(lines.completions("白日", 5, limit=2)) == ["依山盡", "放歌須"]
    assert lines.completions("白月", 5) == []
    assert "黃河入海流" in lines and "黃河入海" not in lines and "黃河入海去" not in lines
    assert lines.count_with_prefix("", 7) == 1
    path = tmp_path / "corpus_lines.txt"
    lines.save(path)
    again = CorpusLines.load(path)
    assert list(again.lines()) == list(lines.lines())


def _random_lines(seed: int, count: int) -> set[str]:
    """Lines of 5 and 7 characters from a small alphabet, so that many share first characters and words."""
    generator = random.Random(seed)
    alphabet = "山水風花雪月春秋"
    return {"".join(generator.choice(alphabet) for _ in range(w)) for w in (5, 7) for _ in range(count)}


def test_corpus_lines_search_agrees_with_a_scan_over_every_prefix():
    # the search narrows to the first character's range, kept after its first use: every query runs twice
    generator = random.Random(5)
    alphabet = "山水風花雪月春秋"
    lines = _random_lines(5, 900)
    corpus = CorpusLines(lines)
    for _ in range(2):
        for width in (5, 7):
            for size in range(0, width + 1):
                for _ in range(25):
                    prefix = "".join(generator.choice(alphabet + "江") for _ in range(size))
                    expected = sorted(
                        line[size:] for line in lines if len(line) == width and line.startswith(prefix)
                    )
                    assert sorted(corpus.completions(prefix, width)) == expected, (prefix, width)
                    assert corpus.count_with_prefix(prefix, width) == len(expected)
                    if size == width:
                        assert (prefix in corpus) == bool(expected)


def test_corpus_lines_count_the_lines_with_a_word_never_across_two_lines():
    lines = _random_lines(7, 400)
    corpus = CorpusLines(lines)
    for word in ("山水", "月春", "花雪月", "秋", "江山", "水水"):
        expected = sum(word in line for line in lines)
        assert corpus.lines_with(word, len(lines)) == expected, word
        assert corpus.lines_with(word, 3) == min(3, expected)  # counted only as far as asked
    # two records side by side: 盡黃 runs across 白日依山盡 and 黃河入海流, no line has it
    two = CorpusLines(["白日依山盡", "黃河入海流"])
    assert two.lines_with("盡黃", 5) == 0 and two.lines_with("山盡", 5) == 1 and two.lines_with("", 5) == 0


# ------------------------------------------------------------------------------------------ rules
def test_form_constraint_allows_only_fitting_pieces_then_punctuation_then_eos():
    tokenizer = make_tokenizer(multi=MULTI)
    tables = VocabularyTables.build(tokenizer)
    form = FormRule(tables, chars_per_line=5, line_count=2)
    constraints = ConstraintSet(tables, [form])
    state = constraints.new_state()
    for piece in tokenizer.encode("山風花春"):
        constraints.advance(state, piece)
    mask = form.mask(state)
    assert not bool(mask[tokenizer.piece_to_id("明月")])  # two characters do not fit in one
    assert bool(mask[tokenizer.piece_to_id("秋")])
    assert not bool(mask[tokenizer.unk_id]) and not bool(mask[tables.comma_id])
    constraints.advance(state, tokenizer.piece_to_id("秋"))
    assert torch.equal(form.mask(state), tables.mask_of([tables.comma_id]))
    constraints.advance(state, tables.comma_id)
    for piece in tokenizer.encode("明月江上") + [tokenizer.piece_to_id("天")]:
        constraints.advance(state, piece)
    assert torch.equal(form.mask(state), tables.mask_of([tables.period_id]))
    constraints.advance(state, tables.period_id)
    assert torch.equal(form.mask(state), tables.mask_of([tables.eos_id]))
    assert state.lines == ["山風花春秋", "明月江上天"]


@pytest.mark.parametrize("mode", ["strict", "standard"])
@pytest.mark.parametrize("form_name", ["wujue", "qijue"])
def test_tone_and_rhyme_constraints_give_faultless_poems_with_multi_char_pieces(mode, form_name):
    tokenizer, tables, constraints = verse_constraints(form_name, mode)
    model = FloatStepper(tiny_model_for_tests(tokenizer, seed=3))
    with torch.inference_mode():
        states = run_sample(constraints, model, tokenizer, batch=8, seed=11)
    finished = [s for s in states if s.finished and not s.dead]
    assert len(finished) == 8
    used_multi = False
    for state in finished:
        used_multi |= any(len(tables.chars[p]) > 1 for p in state.ids)
        text = "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(state.lines))
        analysis = analyze(text, "pingshui", strictness=mode)
        assert analysis.ok, (text, [f.message for f in analysis.faults])
        assert analysis.form == form_name
        assert remaining_patterns(state), "a pattern must remain"
        assert rhyme_groups_left(state)[0] in analysis.rhyme_groups
    assert used_multi, "the multi-character pieces should be used somewhere"


def test_a_rhyme_is_used_once_as_a_reader_of_simplified_script_sees_it():
    """迴 and 回 are two characters to the model and one (回) in simplified script: after a line rhyming on 回,
    no later rhyme line may end on 迴 (the checker, reading the simplified poem, would call it 重韵)."""
    tokenizer = make_tokenizer(CHARS + "回迴")
    tables = VocabularyTables.build(tokenizer)
    assert tables.simplified_twins("迴") == tables.simplified_twins("回") == {"回", "迴"}
    assert tables.simplified_twins("山") == {"山"}
    scheme = tables.scheme("pingshui")
    form = get_form("qijue")
    choice = PatternChoice(tone_patterns(form))
    rhyme = RhymeRule(tables, scheme, choice, ("上平十灰",))
    constraints = ConstraintSet(tables, [FormRule(tables, 7, 4), rhyme])
    state = constraints.new_state()
    for piece in tokenizer.encode("山風花春秋人回") + [tables.comma_id] + tokenizer.encode("山風花春秋人"):
        constraints.advance(state, piece)
    allowed = rhyme.mask(state)
    assert not allowed[tokenizer.piece_to_id("迴")] and not allowed[tokenizer.piece_to_id("回")]
    assert allowed[tokenizer.piece_to_id("來")]


def test_repetition_constraint_blocks_a_character_after_max_repeat():
    tokenizer = make_tokenizer(multi=MULTI)
    tables = VocabularyTables.build(tokenizer)
    repetition = RepetitionRule(tables, max_repeat=2)
    constraints = ConstraintSet(tables, [repetition])
    state = constraints.new_state()
    constraints.advance(state, tokenizer.piece_to_id("明"))
    assert repetition.mask(state) is None  # nothing blocked yet: 明 + 明月 would still be two
    constraints.advance(state, tokenizer.piece_to_id("明"))
    mask = repetition.mask(state)
    assert not bool(mask[tokenizer.piece_to_id("明")]) and not bool(mask[tokenizer.piece_to_id("明月")])
    assert bool(mask[tokenizer.piece_to_id("月")]) and bool(mask[tokenizer.piece_to_id("春風")])
    state = constraints.new_state()
    constraints.advance(state, tokenizer.piece_to_id("明"))
    constraints.advance(state, tokenizer.piece_to_id("明月"))
    mask = repetition.mask(state)
    assert not bool(mask[tokenizer.piece_to_id("明")]) and not bool(mask[tokenizer.piece_to_id("明月")])
    assert bool(mask[tokenizer.piece_to_id("月")])


def test_the_lost_character_mark_is_never_written():
    """囗 marks a lost character in the corpus; a vocabulary that has it must not let a poem write it."""
    tokenizer = make_tokenizer(CHARS + "囗")
    tables = VocabularyTables.build(tokenizer)
    mark = tokenizer.piece_to_id("囗")
    assert tables.chars[mark] == "" and not bool(tables.plain[mark]) and "囗" not in tables.ids_of_text
    assert bool(tables.plain[tokenizer.piece_to_id("山")])


def test_originality_masks_the_piece_that_would_complete_a_corpus_line():
    tokenizer = make_tokenizer(multi=MULTI)
    tables = VocabularyTables.build(tokenizer)
    lines = CorpusLines(["山風花春秋", "山風花春月", "明月山江上"])
    originality = OriginalityRule(tables, lines, chars_per_line=5)
    constraints = ConstraintSet(tables, [originality])
    state = constraints.new_state()
    for piece in tokenizer.encode("山風花春"):
        assert originality.mask(state) is None or state.position < 4
        constraints.advance(state, piece)
    mask = originality.mask(state)
    assert not bool(mask[tokenizer.piece_to_id("秋")]) and not bool(mask[tokenizer.piece_to_id("月")])
    assert bool(mask[tokenizer.piece_to_id("天")])
    # A multi-character piece that completes a corpus line is caught too.
    state = constraints.new_state()
    for piece in tokenizer.encode("明月山"):
        constraints.advance(state, piece)
    mask = originality.mask(state)
    assert not bool(mask[tokenizer.piece_to_id("江上")])


def test_dead_end_is_detected_and_never_loops():
    # Only level-tone characters: after a 平起 start no oblique character exists for the fixed 仄 positions.
    tokenizer = make_tokenizer("山風花春秋人天雲江流星明清香聲東紅同通鐘峰")
    tables = VocabularyTables.build(tokenizer)
    form = get_form("wujue")
    patterns = tone_patterns(form)
    scheme = tables.scheme("pingshui")
    constraints = ConstraintSet(
        tables,
        [FormRule(tables, 5, 4), ToneRule(tables, scheme, PatternChoice(patterns), "strict")],
    )
    model = FloatStepper(tiny_model_for_tests(tokenizer))
    with torch.inference_mode():
        states = run_sample(constraints, model, tokenizer, batch=4)
    assert all(s.dead and not s.finished for s in states)


def test_soft_rules_yield_only_where_a_piece_is_dictated():
    tokenizer = make_tokenizer(multi=MULTI)
    tables = VocabularyTables.build(tokenizer)
    # max_repeat=1 and the acrostic repeats 山: the second 山 is dictated, so repetition yields there.
    constraints = ConstraintSet(
        tables,
        [
            FormRule(tables, 5, 4),
            AcrosticRule(tables, [{"山"}, {"山"}, {"花"}, {"月"}]),
            RepetitionRule(tables, max_repeat=1),
        ],
    )
    model = FloatStepper(tiny_model_for_tests(tokenizer))
    with torch.inference_mode():
        states = run_sample(constraints, model, tokenizer, batch=4)
    for state in states:
        assert state.finished and not state.dead
        assert [line[0] for line in state.lines] == ["山", "山", "花", "月"]
        body = "".join(state.lines)
        # Only dictated heads may repeat; every other character occurs once.
        assert all(body.count(c) == 1 for c in set(body) - {"山", "花", "月"}), body


@pytest.mark.parametrize("mode", ["strict", "standard"])
def test_the_tone_rule_allows_exactly_the_lines_the_checker_passes(mode):
    """Every line template (the chart's and the 拗救 forms'), every 平/仄 line of its length: the decoder's
    tone rule lets the line through character by character exactly when the checker finds no tone fault
    in it (a fixed position, 孤平, 三平尾), so the two cannot disagree."""
    from itertools import product

    from poetry_rnn.prosody.heard import tone_breaks
    from poetry_rnn.prosody.patterns import LICENSED_TEMPLATES, LINE_TEMPLATES

    tables = VocabularyTables.build(make_tokenizer())
    rule = ToneRule(tables, tables.scheme("pingshui"), PatternChoice(tone_patterns(get_form("wujue"))), mode)
    templates = {t for by_type in LINE_TEMPLATES.values() for t in by_type.values()} | set(LICENSED_TEMPLATES)
    assert len(templates) >= 10
    disagreements = []
    for template in sorted(templates):
        for tones in product((PING, ZE), repeat=len(template)):
            line = [frozenset((tone,)) for tone in tones]
            decoder = all(
                tones[i] in rule.allowed(template, i, tuple(line[:i])) for i in range(len(template))
            )
            checker = not tone_breaks(template, line, mode)
            if decoder != checker:
                disagreements.append((template, "".join("平" if t == PING else "仄" for t in tones)))
    assert not disagreements, disagreements[:5]


def test_a_rule_answering_what_its_kind_is_never_asked_is_refused():
    import poetry_rnn.decoding.rules as rules
    from poetry_rnn.decoding.rules import Preference, Rule, SoftRule, check_rule_kind

    tables = VocabularyTables.build(make_tokenizer())
    mountain = tables.ids_starting_with["山"][0]

    class HardFavouring(Rule):  # soft left False: its bonuses would never be added
        def favoured(self, state):
            return {mountain: 1.0}

    class SoftMasking(SoftRule):  # sampling asks a soft rule `blocked`, so this mask held only in a beam
        def mask(self, state):
            return tables.mask_of([mountain])

    class PreferenceMasking(Preference):
        def shared_mask(self, state):
            return tables.mask_of([mountain]), ()

    for wrong, named in [
        (HardFavouring, "favoured"),
        (SoftMasking, "mask"),
        (PreferenceMasking, "shared_mask"),
    ]:
        with pytest.raises(TypeError, match=f"{wrong.__name__} defines {named}, which is never asked"):
            ConstraintSet(tables, [FormRule(tables, 5, 4), object.__new__(wrong)])
    # every rule the package has is of the right kind
    shipped = [getattr(rules, name) for name in rules.__all__]
    kinds = [cls for cls in shipped if isinstance(cls, type) and issubclass(cls, Rule)]
    assert len(kinds) >= 12
    for cls in kinds:
        check_rule_kind(object.__new__(cls))


# ------------------------------------------------------------------------------------------ search
def frequencies(choice: torch.Tensor, size: int) -> list[float]:
    return (torch.bincount(choice, minlength=size).float() / len(choice)).tolist()


def test_sample_pieces_follows_top_p_exactly():
    weights = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05, 0.0]])).expand(40000, -1)
    choice = sample_pieces(weights, top_k=0, top_p=0.7, generator=torch.Generator().manual_seed(1))
    found = frequencies(choice, 5)
    # The nucleus for p=0.7 is {0, 1} (0.5 + 0.3 >= 0.7), renormalised: 0.625 / 0.375.
    assert found[2] == found[3] == found[4] == 0
    assert abs(found[0] - 0.625) < 0.015 and abs(found[1] - 0.375) < 0.015
    choice = sample_pieces(weights, top_k=0, top_p=1.0, generator=torch.Generator().manual_seed(2))
    found = frequencies(choice, 5)
    assert found[4] == 0 and all(
        abs(f - e) < 0.015 for f, e in zip(found, [0.5, 0.3, 0.15, 0.05], strict=False)
    )


def test_sample_pieces_never_draws_an_excluded_piece_and_reports_empty_rows():
    # The only allowed piece is 500 nats below the excluded ones' level: the exponent floor must not let
    # the excluded pieces (floored to e^-80 each) win, and an all-excluded row gives -1.
    row = torch.full((3000,), float("-inf"))
    row[1234] = -500.0
    rows = torch.stack([row, torch.full((3000,), float("-inf"))]).repeat(200, 1)
    for top_p in (1.0, 0.95):
        choice = sample_pieces(rows, 0, top_p, torch.Generator().manual_seed(5), temperature=0.3)
        assert choice[0::2].eq(1234).all() and choice[1::2].eq(-1).all()
    # Two allowed pieces far apart keep their exact proportions; the 2998 excluded ones never appear.
    row = torch.full((3000,), float("-inf"))
    row[7], row[2500] = 0.0, -1.0
    choice = sample_pieces(row.expand(20000, -1), 0, 1.0, torch.Generator().manual_seed(6))
    assert set(choice.unique().tolist()) == {7, 2500}
    assert abs(float((choice == 7).float().mean()) - 1 / (1 + torch.e**-1)) < 0.015


def test_sample_pieces_keeps_exact_proportions_where_the_fast_path_cannot():
    # Log-weights far above 0 overflow exp() in the fast path; the row is drawn again exactly.
    row = torch.full((500,), float("-inf"))
    row[3], row[400] = 1000.0, 999.0
    choice = sample_pieces(row.expand(20000, -1), 0, 1.0, torch.Generator().manual_seed(7))
    assert set(choice.unique().tolist()) == {3, 400}
    assert abs(float((choice == 3).float().mean()) - 1 / (1 + torch.e**-1)) < 0.015
    # Through penalties, with a temperature: the same pieces as the masked log-weights give.
    weights = torch.log(torch.tensor([[0.4, 0.3, 0.2, 0.1]])).expand(30000, -1)
    penalties = torch.tensor([[0.0, float("-inf"), 0.0, 0.0]]).expand(30000, -1)
    choice = sample_pieces(weights, 0, 1.0, torch.Generator().manual_seed(8), 0.5, penalties)
    found = frequencies(choice, 4)
    expected = torch.tensor([0.4, 0.0, 0.2, 0.1]) ** 2
    expected = (expected / expected.sum()).tolist()
    assert found[1] == 0 and all(abs(f - e) < 0.015 for f, e in zip(found, expected, strict=True))


class CountingStepper(FloatStepper):
    """Counts the steps taken with and without the model's output layer."""

    def __init__(self, model):
        super().__init__(model)
        self.projected = self.skipped = 0

    def step(self, pieces, state=None, project=True):
        if project:
            self.projected += 1
        else:
            self.skipped += 1
        return super().step(pieces, state, project=project)

    def step_scores(self, pieces, state=None):
        self.projected += 1
        return super().step_scores(pieces, state)


def test_dictated_pieces_skip_the_sampler_and_the_output_layer_and_are_not_scored():
    tokenizer, tables, constraints = verse_constraints(
        "wujue", "strict", lambda tables: AcrosticRule(tables, [{"山"}, {"花"}, {"月"}, {"風"}])
    )
    head = tokenizer.piece_to_id("山")
    plan = constraints.plan([constraints.new_state()] * 3)  # the first line's head, for every candidate
    assert plan.dictated == [head] * 3 and plan.penalties is None
    state = constraints.new_state()
    constraints.advance(state, head)
    plan = constraints.plan([state])
    assert plan.dictated == [None] and torch.isfinite(plan.penalties.dense()).sum() > 5  # the model's choice
    model = CountingStepper(tiny_model_for_tests(tokenizer, seed=4))
    with torch.inference_mode():
        states = run_sample(constraints, model, tokenizer, batch=3, seed=1)
    assert all(s.finished for s in states)
    # Dictated: the 4 heads, the 4 punctuation marks and </s>. The model runs once per step but the last,
    # and skips its output layer where every candidate's next piece is dictated (candidates that took a
    # two-character piece reach a line end a step earlier than the others).
    steps = max(len(s.ids) for s in states) - 1
    assert model.skipped + model.projected == steps and 4 <= model.skipped <= 8
    for state in states:
        assert [line[0] for line in state.lines] == ["山", "花", "月", "風"]
        body = "".join(state.lines)
        # only the pieces the model chose are scored: 20 characters, 4 of them dictated heads
        # (a two-character piece is one choice)
        chosen = [p for p in state.ids if p not in (tables.comma_id, tables.period_id, tables.eos_id)]
        assert state.steps == len(chosen) - 4 and len(body) == 20


@pytest.mark.parametrize("max_repeat", [1, None])  # without repetition, used rhymes are the rhyme rule's
def test_the_plan_is_the_masks_as_dictated_pieces_and_additive_log_weights(max_repeat):
    extra = [lambda tables: RepetitionRule(tables, max_repeat=max_repeat)] if max_repeat else []
    tokenizer, _, constraints = verse_constraints("wujue", "strict", *extra)
    model = FloatStepper(tiny_model_for_tests(tokenizer, seed=3))
    checked = 0
    with torch.inference_mode():
        for states in sample(model, constraints, [tokenizer.bos_id], constraints.new_state(), 4,
                             SamplingOptions(), torch.Generator().manual_seed(2), 40):  # fmt: skip
            live = [s for s in states if not (s.finished or s.dead)]
            if not live:
                continue
            plan = constraints.plan(live)
            dictated, penalties = plan.dictated, plan.penalties
            masks = constraints.allowed(live).masks
            if penalties is None:  # every piece dictated: the only one each mask allows
                assert all(masks[row].nonzero().flatten().tolist() == [p] for row, p in enumerate(dictated))
                continue
            # the sampler's view: the first pieces' penalties and its own entries, then the soft rules
            width = tokenizer.vocab_size // 2
            head = penalties.head(width, (0.5, 0.25)).clone()
            penalties.block(head, width)
            penalties = penalties.dense()
            assert torch.equal(head[:, :width], penalties[:, :width])
            assert head[:, width:].tolist() == [[0.5, 0.25]] * len(live)
            allowed = torch.isfinite(penalties)
            # a dead end stays all -inf in the penalties (the sampler reports it); allowed() settles it
            dead_end = ~allowed.any(1)
            assert torch.equal(allowed[~dead_end], masks[~dead_end])
            assert masks[dead_end].any(1).all()
            assert penalties[allowed].eq(0).all()
            for row, piece in enumerate(dictated):
                if piece is not None:
                    assert masks[row].nonzero().flatten().tolist() == [piece]
            checked += int((~dead_end).sum())
    assert checked > 20


def test_sample_pieces_top_k_and_seeding():
    weights = torch.log(torch.tensor([[0.05, 0.15, 0.3, 0.5]])).expand(30000, -1)
    choice = sample_pieces(weights, top_k=2, top_p=1.0, generator=torch.Generator().manual_seed(3))
    found = frequencies(choice, 4)
    assert found[0] == found[1] == 0 and abs(found[3] - 0.5 / 0.8) < 0.015
    first = sample_pieces(weights[:50], 0, 0.9, torch.Generator().manual_seed(4))
    again = sample_pieces(weights[:50], 0, 0.9, torch.Generator().manual_seed(4))
    assert torch.equal(first, again)


def nucleus_distribution(log_probs: torch.Tensor, penalties: torch.Tensor, temperature: float, top_p: float):
    """The distribution sample_pieces draws from, by its definition: allowed pieces by weight, the
    nucleus by sorting."""
    weights = (log_probs / temperature + penalties).exp()
    keep = torch.zeros_like(weights, dtype=torch.bool)
    heavier = 0.0
    for piece in weights.argsort(descending=True).tolist():
        keep[piece] = heavier < top_p * float(weights.sum())
        heavier += float(weights[piece])
    weights = weights * keep
    return weights / weights.sum()


class CountingTails:
    """Adaptive-softmax scores over 10 pieces (shortlist of 4, two clusters of 3) that count the rows
    whose tails were computed."""

    def __init__(self, rows: int, head_logits, tail_logits):
        self.rows_computed = 0
        head = torch.log_softmax(torch.tensor(head_logits), -1)
        self.tails = [torch.tensor(t) for t in tail_logits]
        self.scores = StepScores(head.expand(rows, -1).contiguous(), [self.tail(0), self.tail(1)], [4, 7, 10])
        self.log_probs = adaptive_log_probs(head.unsqueeze(0), [t.unsqueeze(0) for t in self.tails], 4)[0]

    def tail(self, cluster: int):
        def scores(rows: torch.Tensor | int) -> torch.Tensor:  # row indices [R, size], or one row [size]
            count = 1 if isinstance(rows, int) else len(rows)
            self.rows_computed += count if cluster == 0 else 0
            return self.tails[cluster] if isinstance(rows, int) else self.tails[cluster].expand(count, -1)

        return scores


SPREAD = (
    [2.0, 1.0, 0.5, 0.1, 1.2, -1.0],
    [[1.0, 0.0, 2.0], [0.0, 3.0, -1.0]],
)  # a cluster heavier than 3 pieces
DOMINANT = (
    [1.0, 0.5, 0.4, 0.3, 1.0, -3.0],
    [[3.0, 0.0, -1.0], [0.0, 0.0, 0.0]],
)  # one tail piece in the nucleus


@pytest.mark.parametrize(
    ("logits", "temperature", "top_p"),
    [(SPREAD, 0.8, 0.9), (SPREAD, 1.3, 0.8), (SPREAD, 0.7, 1.0), (DOMINANT, 0.8, 0.5)],
)
def test_sample_scores_draws_from_the_whole_distribution_with_tails_on_demand(logits, temperature, top_p):
    rows = 30000
    scores = CountingTails(rows, *logits)
    penalties = torch.zeros(10)
    penalties[[1, 8] if logits is SPREAD else [8]] = float("-inf")
    choice, log_probs = sample_scores(
        scores.scores, 0, top_p, torch.Generator().manual_seed(11), temperature, penalties.expand(rows, -1)
    )
    expected = nucleus_distribution(scores.log_probs, penalties, temperature, top_p)
    found = torch.tensor(frequencies(choice, 10))
    sigma = (expected * (1 - expected) / rows).sqrt()
    assert (found[expected == 0] == 0).all()  # excluded pieces and those outside the nucleus
    assert ((found - expected).abs() <= 5 * sigma + 1e-4).all(), (found, expected)
    assert expected[4:].sum() > 0.1  # the clusters' pieces are really drawn ...
    # (DOMINANT: the bound on the mass a cluster adds above a shortlist piece decides its nucleus test)
    if logits is SPREAD:  # ... though most rows never compute their tails
        assert 0 < scores.rows_computed < rows / 2
    torch.testing.assert_close(torch.tensor(log_probs), scores.log_probs[choice])  # the pieces' own


def test_sample_scores_reports_empty_rows_and_matches_the_full_sampler_without_clusters():
    scores = CountingTails(2, [0.0] * 6, [[0.0] * 3, [0.0] * 3])
    nothing = torch.full((2, 10), float("-inf"))
    choice, log_probs = sample_scores(scores.scores, 0, 0.9, torch.Generator().manual_seed(1), 0.8, nothing)
    assert choice.tolist() == [-1, -1] and log_probs == [float("-inf")] * 2
    only_tail = nothing.clone()
    only_tail[:, 9] = 0.0  # the one allowed piece is in a tail cluster
    choice, log_probs = sample_scores(scores.scores, 0, 0.9, torch.Generator().manual_seed(1), 0.8, only_tail)
    assert choice.tolist() == [9, 9] and log_probs == pytest.approx([float(scores.log_probs[9])] * 2)
    full = torch.log_softmax(torch.randn(50, 30), -1)
    for top_k in (0, 3):
        lazy, _ = sample_scores(StepScores(full), top_k, 0.9, torch.Generator().manual_seed(2), 0.8)
        assert torch.equal(lazy, sample_pieces(full, top_k, 0.9, torch.Generator().manual_seed(2), 0.8))


def test_beam_search_returns_finished_best_first_and_valid():
    tokenizer, _, constraints = verse_constraints("wujue")
    model = FloatStepper(tiny_model_for_tests(tokenizer, seed=1))
    prefix = [tokenizer.form_id("wujue"), tokenizer.bos_id]
    with torch.inference_mode():
        search = beam_search(model, constraints, prefix, constraints.new_state(), 4, max_steps=30)
        while True:
            try:
                next(search)
            except StopIteration as stop:
                beams = stop.value
                break
    assert len(beams) == 4
    scores = [b.score() for b in beams]
    assert scores == sorted(scores, reverse=True)
    for beam in beams:
        text = "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(beam.lines))
        assert analyze(text, get_scheme("pingshui")).ok, text


def test_reserved_acrostic_heads_count_from_the_start():
    tokenizer = make_tokenizer(multi=MULTI)
    tables = VocabularyTables.build(tokenizer)
    heads = [{"山"}, {"明"}, {"明"}, {"月"}]
    repetition = RepetitionRule(
        tables, max_repeat=2, reserved={i: next(iter(h)) for i, h in enumerate(heads)}
    )
    constraints = ConstraintSet(tables, [FormRule(tables, 5, 4), AcrosticRule(tables, heads), repetition])
    state = constraints.new_state()
    # 明 is reserved twice: the model may not write it at all outside the heads.
    assert not bool(repetition.mask(state)[tokenizer.piece_to_id("明")])
    assert bool(repetition.mask(state)[tokenizer.piece_to_id("山")])
    model = FloatStepper(tiny_model_for_tests(tokenizer))
    with torch.inference_mode():
        states = run_sample(constraints, model, tokenizer, batch=6)
    for state in states:
        assert state.finished and not state.dead
        body = "".join(state.lines)
        assert body.count("明") == 2 and max(body.count(c) for c in set(body)) <= 2, body


# ------------------------------------------------------------------------------------------ the plan
def test_a_dead_end_is_reported_by_the_plan_not_marked():
    # 山 and 水 are the only characters: with max_repeat=1 the third character of a line has no piece left.
    tokenizer = make_tokenizer("山水")
    tables = VocabularyTables.build(tokenizer)
    constraints = ConstraintSet(tables, [FormRule(tables, 5, 2), RepetitionRule(tables, max_repeat=1)])
    state = constraints.new_state()
    for piece in tokenizer.encode("山水"):
        constraints.advance(state, piece)
    plan = constraints.plan([state])
    assert plan.dictated == [None] and not torch.isfinite(plan.penalties.dense()).any()
    dead_end = plan.dead_end(0)
    assert dead_end.dies and dead_end.fallback == tables.eos_id
    assert torch.isfinite(dead_end.penalty).nonzero().flatten().tolist() == [tables.eos_id]
    allowed = constraints.allowed([state])
    assert allowed.dead_ends == {0} and allowed.masks[0].nonzero().flatten().tolist() == [tables.eos_id]
    assert not state.dead and not state.finished  # asking changed nothing: the search drops the candidate


def test_at_a_dead_end_soft_rules_yield_to_a_dictated_head():
    # The second line's head may be 山 or 水, both used up under max_repeat=1: the acrostic dictates a head,
    # so the repetition rule yields and the dead end is no death.
    tokenizer = make_tokenizer("山水")
    tables = VocabularyTables.build(tokenizer)
    constraints = ConstraintSet(
        tables,
        [
            FormRule(tables, 2, 2),
            AcrosticRule(tables, [{"山"}, {"山", "水"}]),
            RepetitionRule(tables, max_repeat=1),
        ],
    )
    state = constraints.new_state()
    for piece in [*tokenizer.encode("山水"), tables.comma_id]:
        constraints.advance(state, piece)
    plan = constraints.plan([state])
    assert plan.dictated == [None] and not torch.isfinite(plan.penalties.dense()).any()
    dead_end = plan.dead_end(0)
    assert not dead_end.dies
    heads = sorted(tokenizer.piece_to_id(c) for c in "山水")
    assert torch.isfinite(dead_end.penalty).nonzero().flatten().tolist() == heads
    assert constraints.allowed([state]).dead_ends == frozenset()


def test_rules_keep_typed_states_that_forked_candidates_share_safely():
    tokenizer, tables, constraints = verse_constraints("wujue")
    tone = next(rule for rule in constraints.rules if isinstance(rule, ToneRule))
    state = constraints.new_state()
    assert remaining_patterns(state) == tuple(range(len(tone.patterns)))
    fork = state.copy()
    constraints.advance(fork, tokenizer.piece_to_id("山"))  # 平 at the first character
    assert fork.rule_states[tone].line_tones == (frozenset({PING}),)
    assert state.rule_states[tone].line_tones == ()  # the original candidate is untouched
    # a 平 first character leaves only the patterns whose first line may start 平
    assert remaining_patterns(fork) == tuple(
        i for i, p in enumerate(tone.patterns) if tone.allowed(p.lines[0], 0, ()) & {PING}
    )
    assert rhyme_groups_left(fork) == rhyme_groups_left(state) != ()
    assert remaining_patterns(ConstraintSet(tables, []).new_state()) is None
