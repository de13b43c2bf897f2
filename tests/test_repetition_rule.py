"""The repetition rule's line and couplet part (issue 13) on a small vocabulary, and its data file.

Reduplications only at attested slots, never the same one twice in a poem, no character twice in a line
otherwise, a couplet's second line repeating its first only at the same position; characters the user
gives are never blocked.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from tiny_model import tiny_model_for_tests

from poetry_rnn.decoding import ConstraintSet, FormRule, SamplingOptions, VocabularyTables, sample
from poetry_rnn.decoding.rules import AcrosticRule, LineRepetition, RepetitionRule
from poetry_rnn.model import FloatStepper
from poetry_rnn.quality import (
    SLOTS_FILE,
    ReduplicationSlots,
    reduplications,
    repeats_outside_reduplication,
    shipped_slots,
)
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer

REPO = Path(__file__).resolve().parent.parent
CHARS = "山風花春秋人天雲江流明月日水樹草夜色落去蕭寂"
# 蕭蕭 reads as a word at the start of a 5-character line; 寂寂 only at its third character
SLOTS = ReduplicationSlots([(5, 0, "蕭"), (5, 2, "寂")])


def build(
    *extra_rules,
    chars: str = CHARS,
    multi: tuple[str, ...] = (),
    slots: ReduplicationSlots | None = SLOTS,
    max_repeat=None,
):
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *dict.fromkeys(chars), *multi])
    tables = VocabularyTables.build(tokenizer)
    rule = RepetitionRule(tables, max_repeat, lines=LineRepetition(5, slots))
    rules = [FormRule(tables, 5, 4), *(make(tables) for make in extra_rules), rule]
    return tokenizer, tables, rule, ConstraintSet(tables, rules)


def written(constraints, tokenizer, text: str):
    """A fresh state advanced through `text` (，。 as the line ends)."""
    state = constraints.new_state()
    for char in text:
        constraints.advance(state, tokenizer.piece_to_id(char))
    return state


def allows(rule, state, tokenizer, char: str) -> bool:
    return tokenizer.piece_to_id(char) not in set(rule.blocked(state))


def test_a_reduplication_only_at_an_attested_slot():
    tokenizer, _, rule, constraints = build()
    assert allows(rule, written(constraints, tokenizer, "蕭"), tokenizer, "蕭")  # 蕭蕭 at 0: attested
    assert not allows(rule, written(constraints, tokenizer, "山蕭"), tokenizer, "蕭")  # at 1: not
    assert not allows(rule, written(constraints, tokenizer, "寂"), tokenizer, "寂")  # 寂寂 at 0: not
    assert allows(rule, written(constraints, tokenizer, "山風寂"), tokenizer, "寂")  # at 2: attested


def test_no_character_twice_in_a_line_outside_a_reduplication():
    tokenizer, _, rule, constraints = build()
    state = written(constraints, tokenizer, "山風花")
    assert not allows(rule, state, tokenizer, "山") and not allows(rule, state, tokenizer, "風")
    assert allows(rule, state, tokenizer, "月")
    state = written(constraints, tokenizer, "蕭蕭")
    assert not allows(rule, state, tokenizer, "蕭")  # no run of three
    # a new line starts afresh (outside a couplet's second line)
    assert allows(rule, written(constraints, tokenizer, "山風花春秋，明月日水樹。"), tokenizer, "山")


def test_characters_that_are_one_once_simplified_count_as_one():
    # 髮 and 發 are both 发: 山髮發 would read 山发发 in the default simplified output
    tokenizer, _, rule, constraints = build(chars=CHARS + "髮發")
    assert not allows(rule, written(constraints, tokenizer, "山髮"), tokenizer, "發")
    assert not allows(rule, written(constraints, tokenizer, "髮山"), tokenizer, "發")
    assert allows(rule, written(constraints, tokenizer, "山風"), tokenizer, "發")
    # a couplet's second line: not at another position than the first line's 髮, as with 髮 itself
    state = written(constraints, tokenizer, "髮山花春秋，明")
    assert not allows(rule, state, tokenizer, "發") and not allows(rule, state, tokenizer, "髮")


def test_the_same_reduplication_never_twice_in_a_poem():
    tokenizer, _, rule, constraints = build()
    state = written(constraints, tokenizer, "蕭蕭山風花，明月日水樹。蕭")
    assert not allows(rule, state, tokenizer, "蕭")


def test_a_couplet_repeats_its_first_line_only_at_the_same_position():
    tokenizer, _, rule, constraints = build()
    state = written(constraints, tokenizer, "江山春風落，")
    assert allows(rule, state, tokenizer, "江")  # 江… ，江…: mirrored
    assert not allows(rule, state, tokenizer, "春")  # 春 stood third
    state = written(constraints, tokenizer, "江山春風落，明月")
    assert allows(rule, state, tokenizer, "春") and not allows(rule, state, tokenizer, "江")
    # the next couplet is free of the first one's characters
    assert allows(rule, written(constraints, tokenizer, "江山春風落，明月夜色去。"), tokenizer, "春")


def test_pieces_of_several_characters_are_judged_by_every_character():
    tokenizer, _, rule, constraints = build(multi=("蕭蕭", "寂寂", "明月", "山風"))
    assert allows(rule, written(constraints, tokenizer, ""), tokenizer, "蕭蕭")  # at 0: attested
    assert not allows(rule, written(constraints, tokenizer, ""), tokenizer, "寂寂")  # at 0: not
    assert allows(rule, written(constraints, tokenizer, "山風"), tokenizer, "寂寂")  # at 2: attested
    assert not allows(rule, written(constraints, tokenizer, "山"), tokenizer, "蕭蕭")  # at 1: not
    assert allows(rule, written(constraints, tokenizer, "蕭"), tokenizer, "蕭")
    assert not allows(rule, written(constraints, tokenizer, "明"), tokenizer, "明月")  # 明 twice
    state = written(constraints, tokenizer, "花山風月落，")
    assert not allows(rule, state, tokenizer, "山風")  # 山 stood second in the first line
    assert allows(rule, written(constraints, tokenizer, "花山風月落，春"), tokenizer, "山風")  # mirrored


def test_a_reduplication_never_splits_a_word_beside_it():
    # 風寂 ends a word (寂寂 may not take its first 寂), 蕭山 begins one (蕭蕭 may not give its second 蕭)
    slots = ReduplicationSlots(
        [(5, 0, "蕭"), (5, 2, "寂")], words_before={"寂": "風"}, words_after={"蕭": "山"}
    )
    tokenizer, _, rule, constraints = build(slots=slots, multi=("山風", "寂寂"))
    assert not allows(rule, written(constraints, tokenizer, "山風寂"), tokenizer, "寂")  # 風寂 is a word
    assert allows(rule, written(constraints, tokenizer, "山花寂"), tokenizer, "寂")  # 花寂 is not
    assert not allows(rule, written(constraints, tokenizer, "山風"), tokenizer, "寂寂")  # a longer piece too
    state = written(constraints, tokenizer, "蕭蕭")
    assert not allows(rule, state, tokenizer, "山") and not allows(rule, state, tokenizer, "山風")
    assert allows(rule, state, tokenizer, "花")
    assert allows(rule, written(constraints, tokenizer, "蕭"), tokenizer, "蕭")  # the slot itself is free
    assert allows(rule, written(constraints, tokenizer, "花"), tokenizer, "山")  # 山 only after 蕭蕭


def test_without_the_slot_table_any_reduplication_is_allowed_but_the_line_rules_hold():
    tokenizer, _, rule, constraints = build(slots=None)
    assert allows(rule, written(constraints, tokenizer, "山蕭"), tokenizer, "蕭")
    assert not allows(rule, written(constraints, tokenizer, "山蕭風"), tokenizer, "蕭")


def test_max_repeat_keeps_its_meaning_beside_the_line_rules():
    for max_repeat, allowed in ((1, False), (2, True), (None, True)):
        tokenizer, _, rule, constraints = build(max_repeat=max_repeat)
        state = written(constraints, tokenizer, "山風花春秋，明月日水樹。")
        assert allows(rule, state, tokenizer, "山") is allowed, max_repeat  # used once in the poem


def test_sampled_poems_keep_the_rules_and_given_heads_are_never_blocked():
    # 江 heads lines 1 and 2 (mirrored), 春 heads line 4 though line 3 may use it: the heads are dictated.
    heads = [{"江"}, {"江"}, {"山"}, {"春"}]
    tokenizer, tables, rule, constraints = build(lambda tables: AcrosticRule(tables, heads))
    stepper = FloatStepper(tiny_model_for_tests(tokenizer))
    prefix = [tokenizer.form_id("wujue"), tokenizer.bos_id]
    search = sample(
        stepper,
        constraints,
        prefix,
        constraints.new_state(),
        24,
        SamplingOptions(temperature=1.5, top_p=1.0),
        torch.Generator().manual_seed(5),
        30,
    )
    with torch.inference_mode():
        while True:
            try:
                next(search)
            except StopIteration as stop:
                states = stop.value
                break
    finished = [s for s in states if s.finished and not s.dead]
    assert len(finished) >= 12
    for state in finished:
        lines = state.lines
        assert [line[0] for line in lines] == ["江", "江", "山", "春"]
        for line in lines:
            assert not repeats_outside_reduplication(line), lines
            assert all(SLOTS.is_attested(line, i) for i in reduplications(line)), lines
        for first, second in (lines[0:2], lines[2:4]):
            assert all(c not in first or first[i] == c for i, c in enumerate(second) if i > 0), lines


def test_the_shipped_slot_table_is_the_train_split_of_the_regular_line_lengths():
    document = json.loads(SLOTS_FILE.read_text(encoding="utf-8"))
    assert set(document["slots"]) == {"5", "7"}
    assert [len(p) for p in document["slots"]["5"]] and len(document["slots"]["7"]) == 6
    slots = shipped_slots()
    assert slots is not None and len(slots) > 1000
    assert (7, 0, "蕭") in slots  # 「蕭蕭遠樹疏林外」
    assert (5, 3, "燕") not in slots and (5, 2, "已") not in slots  # 「春風上燕燕」「秋花已已遲」
    # the words a reduplication may not split: 「滿城城」「丹青青草」「何處處」「依依舊」 are refused
    assert slots.splits_word("春滿城城裡", 2) and slots.splits_word("丹青青草是", 1)
    assert slots.splits_word("不知何處處", 3) and slots.splits_word("客舍依依舊路難", 2)
    assert not slots.splits_word("蕭蕭遠樹疏林外", 0) and not slots.splits_word("門前寂寂苔痕冷", 2)


def test_the_shipped_slot_table_is_what_the_build_script_makes(corpus_dir, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "build_slots", REPO / "scripts" / "build_reduplication_slots.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--corpus", str(corpus_dir), "--out", str(tmp_path / "slots.json")]) == 0
    assert (tmp_path / "slots.json").read_text(encoding="utf-8") == SLOTS_FILE.read_text(encoding="utf-8")


def test_a_missing_slot_table_falls_back_with_a_note(tmp_path, monkeypatch, caplog):
    import poetry_rnn.quality as quality

    monkeypatch.setattr(quality, "SLOTS_FILE", tmp_path / "missing.json")
    quality.shipped_slots.cache_clear()
    try:
        assert quality.shipped_slots() is None
        assert "no table of attested reduplications" in caplog.text
    finally:
        quality.shipped_slots.cache_clear()
    with pytest.raises(ValueError):
        ReduplicationSlots.from_json({"format": 99, "slots": {}})
