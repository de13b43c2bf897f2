"""The presence penalty: a character the poem already has is disfavoured (decoding/rules/reuse.py), the
measure of it (quality.repeated_share) and the request option."""

from __future__ import annotations

import pytest

from poetry_rnn.decoding import ConstraintSet, VocabularyTables
from poetry_rnn.decoding.rules.reuse import ReuseRule
from poetry_rnn.errors import UserError
from poetry_rnn.generation.request import REPEAT_PENALTY, GenerationRequest
from poetry_rnn.quality import measure, repeated_share
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer

CHARS = "秋風月明山水江夜蕭落木"
MULTI = ("秋月", "明月")


def _setup(penalty=2.0):
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *dict.fromkeys(CHARS), *MULTI])
    tables = VocabularyTables.build(tokenizer)
    rule = ReuseRule(tables, penalty)
    return rule, ConstraintSet(tables, [rule]), tokenizer


def test_repeated_share_counts_characters_after_their_first():
    assert repeated_share(["秋風秋月", "明月"]) == pytest.approx(2 / 6)
    assert repeated_share(["江山"]) == 0.0
    assert measure([["秋風秋月", "明月"], ["江山", "夜水"]]).repeated_characters == pytest.approx(1 / 6)


def test_a_character_the_poem_has_is_disfavoured_except_right_after_itself():
    rule, constraints, tokenizer = _setup()
    ids = {text: tokenizer.piece_to_id(text) for text in (*CHARS, *MULTI)}
    state = constraints.new_state()
    assert rule.favoured(state) == {}
    constraints.advance(state, ids["秋"])
    # right after 秋, 秋 may follow (a reduplication, if the repetition rule allows one here)
    assert ids["秋"] not in rule.favoured(state) and ids["秋月"] not in rule.favoured(state)
    constraints.advance(state, ids["風"])
    disfavoured = dict(rule.favoured(state))
    assert disfavoured[ids["秋"]] == -2.0 and disfavoured[ids["秋月"]] == -2.0  # a piece containing it too
    assert ids["風"] not in disfavoured and ids["山"] not in disfavoured
    # across the line end the penalty stays, and nothing is left out any more
    constraints.advance(state, tokenizer.piece_to_id("，"))
    disfavoured = dict(rule.favoured(state))
    assert disfavoured[ids["風"]] == -2.0 and disfavoured[ids["秋"]] == -2.0
    penalties = constraints.plan([state]).penalties.dense()[0]
    assert float(penalties[ids["秋"]]) == pytest.approx(-2.0) and float(penalties[ids["山"]]) == 0.0


def test_reserved_characters_are_disfavoured_from_the_start():
    """An acrostic's heads count as the poem's from its start: a line written before its head would spend
    the head's character, which the head then repeats (明月照秋光，月轮…)."""
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *dict.fromkeys(CHARS), *MULTI])
    tables = VocabularyTables.build(tokenizer)
    rule = ReuseRule(tables, 2.0, reserved=("明", "月", "江"))
    constraints = ConstraintSet(tables, [rule])
    ids = {text: tokenizer.piece_to_id(text) for text in (*CHARS, *MULTI)}
    state = constraints.new_state()
    disfavoured = dict(rule.favoured(state))
    assert disfavoured[ids["月"]] == disfavoured[ids["秋月"]] == disfavoured[ids["江"]] == -2.0
    assert ids["山"] not in disfavoured
    constraints.advance(state, ids["明"])  # the head itself: written once, a reduplication may follow
    assert ids["明"] not in rule.favoured(state) and rule.favoured(state)[ids["月"]] == -2.0


def test_acrostic_heads_are_not_spent_before_their_lines(shipped):
    # without the heads reserved, 22 % of heads stood in an earlier line (明月照秋扇，月光…); with them, 3 %
    spent = total = 0
    for heads in ("明月清风", "春江花月", "山高水长", "天地人和"):
        for poem in shipped.generate(form="wujue", acrostic=heads, n=4, seed=1):
            assert poem.ok and [line[0] for line in poem.lines] == list(heads)
            spent += sum(head in "".join(poem.lines[:index]) for index, head in enumerate(heads))
            total += len(heads)
    assert spent <= 0.08 * total, (spent, total)


def test_generated_poems_reuse_fewer_characters(shipped):
    requests = [dict(form="qilv", title="秋夜", n=8, seed=seed, script="traditional") for seed in range(2)]
    free = [p.lines for r in requests for p in shipped.generate(**r, repeat_penalty=0)]
    kept = [p for r in requests for p in shipped.generate(**r)]
    assert all(poem.ok for poem in kept)
    assert measure([p.lines for p in kept]).repeated_characters < measure(free).repeated_characters / 1.5


@pytest.mark.parametrize("value", [-1, 10.5, "much", float("nan")])
def test_a_bad_repeat_penalty_is_refused(value):
    with pytest.raises(UserError) as caught:
        GenerationRequest(repeat_penalty=value)
    assert caught.value.field == "repeat_penalty"


def test_the_default_and_zero():
    assert GenerationRequest().repeat_penalty == REPEAT_PENALTY
    assert GenerationRequest(repeat_penalty=0).repeat_penalty == 0.0
