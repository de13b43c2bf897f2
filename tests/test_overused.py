"""Overused phrases: the measure (quality.py), the soft rule (decoding/rules/phrases.py), the table beside a
model's weights, and the request option that turns the rule off."""

from __future__ import annotations

import argparse
import json
import math
import shutil

import pytest
import torch

from poetry_rnn.decoding import ConstraintSet, VocabularyTables
from poetry_rnn.decoding.rules.phrases import TABLE_FILE, OverusedPhraseRule, read_table, write_table
from poetry_rnn.generation import PoetryGenerator
from poetry_rnn.generation.command import configure_parser, request_options
from poetry_rnn.generation.request import GenerationRequest
from poetry_rnn.quality import PhraseShares, measure, overused_phrases
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer

CHARS = "不知何處是春風吹落江南山月明夜人間事十年來去花開"


# ------------------------------------------------------------------------------------------ the measure
def test_a_phrase_is_overused_only_where_it_is_common_here_and_rare_in_the_reference():
    reference = PhraseShares([["山月明夜來", "江南花開落"]] * 150 + [["不知何處去", "春風吹落花"]])
    assert reference.poems == 151 and reference.share("不知何處") == pytest.approx(1 / 151)
    assert reference.share("從未見過") == pytest.approx(0.5 / 151)  # never seen: half a poem
    poems = (
        [["不知何處去", "江南山月明"]] * 5
        + [["山月明夜來", "春風吹落花"]] * 5
        + [["江南花開落", "人間事"]] * 90
    )
    found = overused_phrases(poems, reference)
    # 「不知何處」 in 5 % here against 0.7 % there: not ten times; 「南山月」 (5 % against never) is
    assert "不知何處" not in found and "江南山" in found and "南山月" in found
    assert found["南山月"] == (pytest.approx(0.05), pytest.approx(0.5 / 151))
    # common in the reference as well: not overused however often it is used here
    assert "山月明" not in found and "江南花" not in found
    # fewer than three poems are no evidence, whatever the share
    assert "江南山" not in overused_phrases(poems[:2] + poems[5:7], reference)


def test_measure_reports_the_share_of_poems_with_an_overused_phrase():
    reference = PhraseShares([["山月明夜來", "江南花開落"]] * 200)
    poems = [["不知何處去", "山月明夜來"]] * 4 + [["山月明夜來", "江南花開落"]] * 96
    report = measure(poems, reference=reference)
    assert report.poems_with_overused_phrase == pytest.approx(0.04)
    assert report.overused_phrases == len(overused_phrases(poems, reference)) > 0
    assert report.examples["overused_phrase"][0].startswith("不知何")
    assert measure(poems).poems_with_overused_phrase is None  # no reference, no figure


# ------------------------------------------------------------------------------------------ the rule
def _rule_and_tokenizer(penalties):
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *dict.fromkeys(CHARS)])
    tables = VocabularyTables.build(tokenizer)
    rule = OverusedPhraseRule(tables, penalties)
    return rule, ConstraintSet(tables, [rule]), tokenizer


def test_the_piece_completing_a_listed_phrase_is_disfavoured_in_that_line_only():
    rule, constraints, tokenizer = _rule_and_tokenizer({"不知何處": 3.0, "知何處": 1.5, "春風吹": 9.0})
    state = constraints.new_state()
    for piece in tokenizer.encode("不知何"):
        assert rule.favoured(state) == {} or state.position == 2
        constraints.advance(state, piece)
    # both 「不知何處」 and 「知何處」 end here: the stronger penalty counts, once
    assert dict(rule.favoured(state)) == {tokenizer.piece_to_id("處"): -3.0}
    state = constraints.new_state()
    for piece in tokenizer.encode("春風"):
        constraints.advance(state, piece)
    assert dict(rule.favoured(state)) == {tokenizer.piece_to_id("吹"): -4.0}  # at most MAX_PENALTY
    # a phrase does not run across a line end
    state = constraints.new_state()
    for piece in tokenizer.encode("江南山月春") + [tokenizer.piece_to_id("，")] + tokenizer.encode("風"):
        constraints.advance(state, piece)
    assert rule.favoured(state) == {}


def test_the_constraint_set_passes_the_penalty_to_the_sampler_without_excluding_the_piece():
    _, constraints, tokenizer = _rule_and_tokenizer({"江南春": 2.5})
    state = constraints.new_state()
    for piece in tokenizer.encode("江南"):
        constraints.advance(state, piece)
    penalties = constraints.plan([state]).penalties.dense()[0]
    spring = tokenizer.piece_to_id("春")
    assert float(penalties[spring]) == pytest.approx(-2.5)
    assert math.isfinite(float(penalties[spring]))  # disfavoured, never excluded
    others = torch.cat([penalties[:spring], penalties[spring + 1 :]])
    assert float(others.max()) == 0.0  # nothing else is touched


# ------------------------------------------------------------------------------------------ the table
def test_table_round_trip_and_bad_tables(tmp_path, caplog):
    assert read_table(tmp_path) is None  # no table: nothing avoided, nothing said
    write_table(tmp_path, {"不知何處": 3.25, "春風吹": 1.0}, {"made_by": "a test"})
    assert read_table(tmp_path) == {"不知何處": 3.25, "春風吹": 1.0}
    for bad in ['{"format": 2, "phrases": {}}', '{"format": 1, "phrases": {"處": 1}}',
                '{"format": 1, "phrases": {"不知何處": -1}}', "not json", '{"format": 1}']:  # fmt: skip
        (tmp_path / TABLE_FILE).write_text(bad, encoding="utf-8")
        caplog.clear()
        assert read_table(tmp_path) is None
        assert "overused phrases not avoided" in caplog.text


def test_the_generator_avoids_the_phrases_listed_beside_its_model_when_asked(tiny_model_dir, tmp_path):
    """Every three-character phrase the tiny model wrote, listed in its folder: written again far less with
    `avoid_overused=True` (`--avoid-overused`); by default the table is not used and the poems are as
    without it; every rule still holds."""
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    bare = PoetryGenerator.from_pretrained(directory, precision="fp32")
    requests = [dict(form="wujue", n=8, seed=seed, script="traditional") for seed in range(4)]
    before = [poem.lines for request in requests for poem in bare.generate(**request)]
    listed = PhraseShares(before, lengths=(3,)).counts
    write_table(directory, {phrase: 4.0 for phrase in listed}, {"made_by": "a test"})
    avoiding = PoetryGenerator.from_pretrained(directory, precision="fp32")
    assert avoiding.overused_phrases == {phrase: 4.0 for phrase in listed}
    after = [poem for request in requests for poem in avoiding.generate(**request, avoid_overused=True)]
    assert all(poem.ok for poem in after)

    def uses(poems):
        return sum(listed[phrase] > 0 for poem in poems for phrase in PhraseShares([poem], (3,)).counts)

    assert uses([poem.lines for poem in after]) < uses(before) / 2
    by_default = [poem.lines for r in requests for poem in avoiding.generate(**r)]
    assert by_default == before
    document = json.loads((directory / TABLE_FILE).read_text(encoding="utf-8"))
    assert document["format"] == 1 and document["made_by"] == "a test"


def test_the_option_is_off_by_default_and_read_from_the_command_line():
    assert GenerationRequest().avoid_overused is False
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    assert request_options(parser.parse_args(["--avoid-overused"]))["avoid_overused"] is True
    assert request_options(parser.parse_args([]))["avoid_overused"] is False
