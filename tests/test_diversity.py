"""Beam search and sampling write another poem for every seed and prompt (issue 13), and the same poem again
for the same request: the stochastic beam's keys, the search on a tiny model, the shipped model's poems, and
the measure of scripts/eval_diversity.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from test_decoding import verse_constraints
from tiny_model import tiny_model_for_tests

from poetry_rnn.decoding.search import beam_search, perturbed_keys
from poetry_rnn.model import FloatStepper
from poetry_rnn.prosody.check import analyze
from poetry_rnn.prosody.rhyme import get_scheme

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from eval_diversity import Pair, duplicate_shares  # noqa: E402

TITLES = ("秋夜", "送別", "春江", "山居")


# ------------------------------------------------------------------------------------------ the keys
def test_the_best_child_key_is_the_parent_key_and_follows_the_distribution():
    log_probs = torch.log_softmax(torch.tensor([2.0, 1.0, 0.5, -1.0], dtype=torch.float64), 0)
    rows = 40_000
    children = torch.cat([log_probs, torch.tensor([float("-inf")])]).expand(rows, -1).clone()  # 4: excluded
    # the beams' own keys: Gumbel draws around their log-probability (0 here: the children's sum to 1)
    uniform = torch.rand(rows, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    parents = -torch.log(-torch.log(uniform))
    keys = perturbed_keys(children, parents, torch.Generator().manual_seed(0))
    best = keys.max(1)
    assert torch.allclose(best.values, parents)  # the key of a sampled child is its beam's key
    assert bool((keys <= parents.unsqueeze(1) + 1e-5).all()) and bool(torch.isinf(keys[:, 4]).all())
    # the best child is a sample from the beam's distribution over its allowed pieces
    expected = log_probs.exp()
    frequencies = torch.bincount(best.indices, minlength=5).double() / rows
    assert frequencies[4] == 0
    assert torch.allclose(frequencies[:4], expected, atol=0.01), (frequencies, expected)


# ------------------------------------------------------------------------------------------ the search
def _beam(seed: int | None, temperature: float | None = None, width: int = 4):
    tokenizer, _, constraints = verse_constraints("wujue")
    model = FloatStepper(tiny_model_for_tests(tokenizer, seed=1))
    prefix = [tokenizer.form_id("wujue"), tokenizer.bos_id]
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        search = beam_search(
            model, constraints, prefix, constraints.new_state(), width, 30, None, generator, temperature
        )
        while True:
            try:
                next(search)
            except StopIteration as stop:
                return stop.value


def _texts(states) -> list[str]:
    return ["".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(s.lines)) for s in states]


def test_the_stochastic_beam_draws_from_its_seed_and_keeps_every_rule():
    first = _texts(_beam(seed=1, temperature=0.5))
    assert len(first) == 4 and len(set(first)) == 4
    assert _texts(_beam(seed=1, temperature=0.5)) == first
    others = {tuple(_texts(_beam(seed=seed, temperature=0.5))) for seed in (2, 3, 4)}
    assert tuple(first) not in others and len(others) == 3
    for text in first:
        assert analyze(text, get_scheme("pingshui")).ok, text


def test_temperature_zero_is_the_plain_beam():
    plain = _texts(_beam(seed=None))
    assert _texts(_beam(seed=1, temperature=0.0)) == plain == _texts(_beam(seed=2, temperature=0.0))
    assert _texts(_beam(seed=1, temperature=0.5)) != plain


# ------------------------------------------------------------------------------------------ the shipped model
@pytest.mark.parametrize("mode", [dict(beam=3), dict()], ids=["beam", "sampling"])
def test_each_seed_writes_its_own_poem_and_the_same_seed_the_same(shipped, mode):
    texts = [shipped.generate(form="wujue", n=1, seed=seed, **mode)[0].text for seed in (1, 2, 3, 4)]
    assert len(set(texts)) == len(texts), texts
    assert shipped.generate(form="wujue", n=1, seed=2, **mode)[0].text == texts[1]


@pytest.mark.parametrize("mode", [dict(beam=3), dict()], ids=["beam", "sampling"])
def test_each_title_gets_its_own_poem_under_one_seed(shipped, mode):
    texts = [shipped.generate(form="wujue", n=1, seed=7, title=title, **mode)[0].text for title in TITLES]
    assert len(set(texts)) == len(texts), texts


def test_a_beam_request_returns_distinct_poems_best_first(shipped):
    poems = shipped.generate(form="wujue", beam=4, n=4, seed=11)
    assert len({p.text for p in poems}) == len(poems) >= 3
    ranks = [p.rank_score for p in poems]
    assert ranks == sorted(ranks, reverse=True)


# ------------------------------------------------------------------------------------------ the measure
def test_duplicate_shares_count_pairs_that_share_their_poem():
    texts = {
        Pair("wujue", 0, 1): "甲",
        Pair("wujue", 0, 2): "甲",  # another seed of the same prompt
        Pair("wujue", 1, 1): "甲",  # another prompt
        Pair("wujue", 1, 2): "乙",
        Pair("qilv", 0, 1): "乙",  # another form: counts only as "any"
        Pair("qilv", 0, 2): "丙",
    }
    across_seeds, across_prompts, any_other = duplicate_shares(texts)
    assert across_seeds == pytest.approx(2 / 6)
    assert across_prompts == pytest.approx(3 / 6)
    assert any_other == pytest.approx(5 / 6)
    assert duplicate_shares({Pair("wujue", 0, seed): str(seed) for seed in range(3)}) == (0.0, 0.0, 0.0)


def test_requests_that_differ_only_in_their_rules_draw_their_own_poems(shipped):
    # Before the rules were mixed into the random stream, the looser request drew the same characters as
    # the strict one and, its poem keeping both sets of rules, returned the very same poem (seed 518).
    strict = shipped.generate(form="qijue", seed=518, rhyme_scheme="pingshui", tone="strict")[0]
    loose = shipped.generate(form="qijue", seed=518, rhyme_scheme="none", tone="standard")[0]
    assert strict.text != loose.text
    assert (
        shipped.generate(form="qijue", seed=518, rhyme_scheme="none", tone="standard")[0].text == loose.text
    )
