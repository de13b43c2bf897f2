"""Reranking (poetry_rnn/generation/rerank.py): relevance as the model's own probabilities say, the order of
the returned poems, and distinct poems for distinct prompts and seeds (issue 13)."""

from __future__ import annotations

import pytest
import torch
from tiny_model import tiny_model_for_tests

from poetry_rnn.generation.generator import PoetryGenerator
from poetry_rnn.generation.plan import plan_share
from poetry_rnn.generation.rerank import PLAN_WEIGHT, RELEVANCE_WEIGHT, rank_score, relevance_scores
from poetry_rnn.model import FloatStepper, Int8Stepper, ModelConfig, PoetryLM
from poetry_rnn.tokenizer import PUNCTUATION, SPECIALS, CharTokenizer

CHARS = "山風花春秋人天雲江流明月日水樹草夜色落去"


def stepped_log_likelihood(stepper, prefix: list[int], body: list[int]) -> float:
    """log P(body | prefix) one piece at a time, the way decoding walks the model."""
    log_probs, state = stepper.prefix(prefix, 1)
    total = 0.0
    for piece in body:
        total += float(log_probs[0, piece])
        log_probs, state = stepper.step(torch.tensor([piece]), state)
    return total


def adaptive_model(tokenizer, cell: str) -> PoetryLM:
    """A tiny model whose adaptive softmax has two tail clusters within the small vocabulary."""
    torch.manual_seed(1)
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size, cell=cell, embedding_dim=16, hidden_size=24, cutoffs=(14, 26)
    )
    return PoetryLM(config).eval()


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("tails", [False, True])
def test_relevance_is_the_per_piece_log_likelihood_ratio_of_the_two_prefixes(cell, tails):
    tokenizer = CharTokenizer([*SPECIALS, *PUNCTUATION, *CHARS])
    model = adaptive_model(tokenizer, cell) if tails else tiny_model_for_tests(tokenizer, cell=cell)
    if tails:  # the bodies below use pieces of the shortlist and of both tails
        assert model.has_adaptive_softmax and tokenizer.vocab_size > 26
    stepper = FloatStepper(model)
    conditioned = [
        tokenizer.form_id("wujue"),
        tokenizer.title_id,
        *tokenizer.encode("秋夜"),
        tokenizer.bos_id,
    ]
    plain = [tokenizer.form_id("wujue"), tokenizer.bos_id]
    # bodies of different lengths: the padding of the shorter ones must not count
    bodies = [
        [*tokenizer.encode("山風花春秋，"), tokenizer.eos_id],
        [*tokenizer.encode("明月"), tokenizer.eos_id],
        [tokenizer.eos_id],
    ] * 12  # more than one batch of rows
    found = relevance_scores(stepper, conditioned, plain, bodies, tokenizer.pad_id)
    with torch.inference_mode():
        expected = [
            (stepped_log_likelihood(stepper, conditioned, b) - stepped_log_likelihood(stepper, plain, b))
            / len(b)
            for b in bodies
        ]
    assert found == pytest.approx(expected, abs=1e-4)
    assert len(set(round(x, 6) for x in found)) == 3  # the three bodies differ
    assert relevance_scores(stepper, conditioned, plain, [], tokenizer.pad_id) == []


def test_rank_score_adds_weighted_relevance_only_where_there_is_one():
    assert rank_score(-3.0, None) == -3.0
    assert rank_score(-3.0, 0.2) == pytest.approx(-3.0 + RELEVANCE_WEIGHT * 0.2)
    assert rank_score(-3.0, 0.2, weight=0.0) == -3.0
    assert rank_score(-3.0, None, plan=0.5) == pytest.approx(-3.0 + PLAN_WEIGHT * 0.5)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir) -> PoetryGenerator:
    return PoetryGenerator.from_pretrained(tiny_model_dir)


@pytest.mark.parametrize(
    "options", [dict(title="秋夜"), dict(keywords=["雁", "霜"]), dict(beam=4, title="送別")]
)
def test_poems_come_best_first_by_rank_score_with_their_parts(tiny, options):
    poems = tiny.generate(form="wujue", n=4, candidates=6, seed=3, **options)
    assert len(poems) >= 2
    assert all(p.relevance is not None for p in poems)
    ranks = [p.rank_score for p in poems]
    assert ranks == sorted(ranks, reverse=True)
    for poem in poems:
        planned = PLAN_WEIGHT * plan_share(poem.plan_followed) if poem.plan else 0.0  # a plan's couplets met
        assert poem.rank_score == pytest.approx(poem.score + RELEVANCE_WEIGHT * poem.relevance + planned)
        record = poem.to_dict()
        assert record["relevance"] == round(poem.relevance, 4) and record["rank_score"] == round(
            poem.rank_score, 4
        )


def test_without_a_title_or_keywords_the_rank_is_the_score(tiny):
    poems = tiny.generate(form="wujue", n=3, seed=4, plan="off")  # (a plan adds its share: test_plan.py)
    assert all(p.relevance is None and p.rank_score == p.score for p in poems)
    assert [p.score for p in poems] == sorted((p.score for p in poems), reverse=True)
    assert poems[0].to_dict()["relevance"] is None


PROMPTS = [dict(title="秋夜"), dict(title="送別"), dict(title="春江"), dict(keywords=["雁", "霜"]), dict()]


@pytest.mark.parametrize("form", ["wujue", "qilv"])
def test_beam_search_writes_another_poem_for_each_prompt(shipped, form):
    texts = [shipped.generate(form=form, beam=4, n=1, **prompt)[0].text for prompt in PROMPTS]
    assert len(set(texts)) == len(PROMPTS), texts


def test_sampling_writes_another_poem_for_each_seed_and_prompt(shipped):
    texts = [shipped.generate(form="wujue", n=1, seed=seed, **p)[0].text for seed in (1, 2) for p in PROMPTS]
    assert len(set(texts)) == len(texts), texts


def test_the_int8_stepper_scores_relevance_close_to_fp32(shipped):
    if not isinstance(shipped.stepper, Int8Stepper):
        pytest.skip("the shipped generator runs in fp32 here")
    poems = shipped.generate(form="wujue", n=3, candidates=3, seed=7, title="秋夜")
    fp32 = PoetryGenerator(shipped.model, shipped.tokenizer, precision="fp32")
    again = fp32.generate(form="wujue", n=3, candidates=3, seed=7, title="秋夜")
    by_text = {p.text: p.relevance for p in again}
    for poem in poems:
        if poem.text in by_text:
            assert poem.relevance == pytest.approx(by_text[poem.text], abs=0.02)


def test_parallel_couplets_count_in_the_rank(shipped):
    from poetry_rnn.generation.rerank import PARALLEL_WEIGHT

    poems = shipped.generate(form="wulv", n=3, candidates=6, seed=4, plan="off")
    assert [p.rank_score for p in poems] == sorted((p.rank_score for p in poems), reverse=True)
    for poem in poems:
        strict = [c.strict_score for c in poem.analysis.couplets if c.line in (2, 4)]
        assert len(strict) == 2
        assert poem.rank_score == pytest.approx(poem.score + PARALLEL_WEIGHT * sum(strict) / 2)
    free = shipped.generate(form="wulv", n=3, candidates=6, seed=4, parallel=False, plan="off")
    assert all(p.rank_score == p.score for p in free)
