"""Line selection (decoding/search.py, `select_lines`): after each line the likelier half of the sampled
candidates continue in place of the others."""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import pytest

from poetry_rnn.decoding.search import _line_survivors
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.generation import PoetryGenerator
from poetry_rnn.generation.command import configure_parser, request_options
from poetry_rnn.generation.generator import echoed_line, poem_requests
from poetry_rnn.generation.request import GenerationRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


def _state(logprob: float, steps: int = 10, dead: bool = False) -> DecodingState:
    return DecodingState(logprob=logprob, steps=steps, dead=dead, line=1)


def test_the_weaker_half_and_the_dead_continue_the_likelier_half():
    # mean log-probabilities -1, -3, -2, -4; row 4 died
    states = [_state(-10), _state(-30), _state(-20), _state(-40), _state(-5, dead=True)]
    # rows 0 and 2 stay; rows 1, 3 and 4 copy them in turn, the likeliest first
    assert _line_survivors(states) == [0, 0, 2, 2, 0]


def test_nothing_to_select_with_fewer_than_two_live_candidates():
    assert _line_survivors([_state(-10), _state(-3, dead=True)]) is None


def test_selected_poems_are_likelier_and_keep_every_rule(shipped):
    """The shipped model over 16 seeded prompts: the chosen poem's mean log-probability a piece is higher
    with selection than without (by about 0.2 on unseen prompts, scripts in docs/experiments.md)."""
    requests = [
        dict(form=form, seed=seed, script="traditional", **({"title": "秋夜"} if seed % 2 else {}))
        for seed in range(4)
        for form in ("wujue", "qijue", "wulv", "qilv")
    ]
    selected = [shipped.generate(**request)[0] for request in requests]
    free = [shipped.generate(**request, select_lines=False)[0] for request in requests]
    assert all(poem.ok for poem in selected)
    gain = statistics.mean(s.score - f.score for s, f in zip(selected, free, strict=True))
    assert gain > 0.05


def test_the_option_defaults_on_reads_the_command_line_and_applies_to_one_poem(tiny_model_dir):
    assert GenerationRequest().select_lines is True
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    assert request_options(parser.parse_args(["--no-line-selection"]))["select_lines"] is False
    assert request_options(parser.parse_args([]))["select_lines"] is True
    generator = PoetryGenerator.from_pretrained(tiny_model_dir, precision="fp32")
    resolved = generator._resolve(GenerationRequest(form="qilv"))
    assert resolved.options.select_lines == frozenset(range(1, 8))  # every line but the last
    # a beam keeps its own search
    for options in ({"beam": 2}, {"select_lines": False}):
        assert (
            generator._resolve(GenerationRequest(form="qilv", **options)).options.select_lines == frozenset()
        )
    # several poems would share their first lines: they are resolved one by one (poem_requests)
    with pytest.raises(ValueError, match="one poem, not n=2"):
        generator._resolve(GenerationRequest(form="qilv", n=2))
    poems = generator.generate(form="wujue", seed=3)
    assert poems[0].ok


def test_several_poems_are_decoded_one_by_one_each_as_its_own_one_poem_request(shipped):
    """With line selection the candidates of one search share their first lines, so n poems are n searches:
    each poem is the one-poem request of its seed, and no two poems share a line."""
    poems = shipped.generate(form="qijue", title="送別", n=3, seed=40, script="traditional")
    assert sorted(poem.seed for poem in poems) == [40, 41, 42]
    assert [p.rank_score for p in poems] == sorted((p.rank_score for p in poems), reverse=True)
    for poem in poems:
        alone = shipped.generate(form="qijue", title="送別", seed=poem.seed, script="traditional")[0]
        assert alone.text == poem.text
    lines = [line for poem in poems for line in poem.lines]
    assert len(set(lines)) == len(lines)


def test_a_requests_poems_do_not_echo_each_others_lines(shipped):
    """Four acrostics on 春江花月 (seed 1) had 花落不知何处去 in three poems and 春风吹断/吹动柳条丝 in two: a
    poem that all but repeats a line of an earlier one draws again, and its seed still writes it alone."""
    poems = shipped.generate(form="qijue", acrostic="春江花月", n=4, seed=1)
    assert len(poems) == 4
    for number, poem in enumerate(poems):
        others = [other.lines for other in poems[:number] + poems[number + 1 :]]
        assert echoed_line(poem.lines, others) is None, (poem.lines, others)
        assert shipped.generate(form="qijue", acrostic="春江花月", seed=poem.seed)[0].text == poem.text
    # a given first line is every poem's, not an echo: no poem here draws again for it
    given = shipped.generate(form="wujue", first_line="白日依山尽", n=3, seed=5)
    assert {poem.lines[0] for poem in given} == {"白日依山尽"}
    assert sorted(poem.seed for poem in given) == [5, 6, 7]


def test_the_variety_script_counts_echoes_in_a_request(shipped, capsys):
    from eval_request_variety import main, measure

    report = measure(shipped, 4, [1], forms=("qijue",), prompts=({"acrostic": "春夏秋冬"},))
    assert (report.requests, report.pairs) == (1, 6)
    assert report.requests_with_echo == report.pairs_with_echo == report.pairs_sharing_a_line == 0
    assert 0 < report.shared_bigrams < 0.5  # the heads' 春风, 秋风 … and what else two poems share
    assert main(["--n", "1"]) == 2 and "--n must be 2 to 8" in capsys.readouterr().err


def test_an_echo_is_a_line_again_or_but_for_one_character():
    earlier = [["花落不知何处去", "月明惆怅是谁期"]]
    assert echoed_line(["春风吹动柳条丝", "花落不知何处宿"], earlier) == "花落不知何处宿"
    assert echoed_line(["月明惆怅是谁期"], earlier) == "月明惆怅是谁期"
    assert echoed_line(["花落不知人寂寞", "月明何处是渔舟"], earlier) is None  # three characters apart
    assert echoed_line(["花落不知何"], earlier) is None  # another length
    assert echoed_line(["花落不知何处去"], []) is None


def test_families_share_out_the_candidates():
    families = poem_requests(GenerationRequest(n=4, seed=7, candidates=12))
    assert [(f.n, f.seed, f.candidates) for f in families] == [(1, s, 3) for s in (7, 8, 9, 10)]
    drawn = poem_requests(GenerationRequest(n=2))
    assert drawn[1].seed == drawn[0].seed + 1 and drawn[0].candidates is None  # a one-poem request's
    assert [f.seed for f in poem_requests(GenerationRequest(n=1, seed=9))] == [9]
    for several in ({"n": 3, "select_lines": False}, {"n": 3, "beam": 4}):
        assert [f.seed for f in poem_requests(GenerationRequest(**several, seed=5))] == [5, 6, 7]


@pytest.mark.parametrize("options", [{"select_lines": False}, {"beam": 4}], ids=["no line selection", "beam"])
def test_each_poems_seed_writes_it_again_alone(shipped, options):
    poems = shipped.generate(form="wujue", n=3, seed=1, **options)
    # seeds 1, 2, 3, but for a poem that echoed an earlier one's line and drew again with a fresh seed
    seeds = [p.seed for p in poems]
    assert 1 in seeds and len(set(seeds)) == 3
    for poem in poems:
        assert shipped.generate(form="wujue", n=1, seed=poem.seed, **options)[0].text == poem.text


def test_the_app_switches_it_off_and_says_so_in_both_languages():
    from poetry_rnn.app.handlers import build_request
    from poetry_rnn.app.text import LABELS

    options = ("qijue", "free", "", "pingshui", "auto", "auto", "strict", 2, 0.7, 0.95, 3, "simplified", "")
    assert build_request(*options)[0].select_lines is True
    assert build_request(*options, None)[0].select_lines is True  # an API call that left it out
    assert build_request(*options, False)[0].select_lines is False
    assert "逐句择优" in LABELS["zh"]["select_lines"] and "Line selection" in LABELS["en"]["select_lines"]


def test_a_selected_candidate_carries_its_own_history(tiny_model_dir):
    """After selection a copied candidate goes on from the hidden state of the one it copies: its score
    (the mean log-probability of the characters it chose) is what the model gives its text read afresh.
    With no tone, rhyme or plan, only punctuation and </s> are dictated, so every character was chosen."""
    import torch

    from poetry_rnn.format import conditioning_ids, render_body

    generator = PoetryGenerator.from_pretrained(tiny_model_dir, precision="fp32")
    tokenizer, model = generator.tokenizer, generator.model
    for seed in range(3):
        poem = generator.generate(
            form="qijue", tone="off", rhyme_scheme="none", plan="off", seed=seed, script="traditional"
        )[0]
        prefix = conditioning_ids(tokenizer, form="qijue")
        body = tokenizer.encode(render_body(poem.lines))
        with torch.no_grad():
            output, _ = model(torch.tensor([prefix + body[:-1]]))
        log_probs = torch.log_softmax(output[0].float(), dim=-1)[len(prefix) - 1 :]
        chosen = [
            float(log_probs[position, piece])
            for position, piece in enumerate(body)
            if tokenizer.id_to_piece(piece) not in "，。"
        ]
        assert abs(sum(chosen) / len(chosen) - poem.score) < 1e-3
