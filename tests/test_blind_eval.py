"""Blind evaluation (poetry_rnn.blind and scripts/blind_eval.py): the rating sheet shows only numbers and
poems, the key keeps the sources apart, ratings score into the right means, and malformed ratings are
refused with the line named."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from poetry_rnn.blind import ratings as blind_ratings
from poetry_rnn.blind import sheet as blind_sheet
from poetry_rnn.blind import summary as blind_summary
from poetry_rnn.corpus import FORMS, load_corpus
from poetry_rnn.errors import UserError

REPO = Path(__file__).resolve().parent.parent
SMALL_CORPUS = REPO / "tests" / "data" / "poet.tang.small.json"

_spec = importlib.util.spec_from_file_location("blind_eval", REPO / "scripts" / "blind_eval.py")
blind_eval = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blind_eval)

GENERATED = [
    {"source": "generated", "form": "wujue", "mode": "free", "lines": ["山雲生遠樹", "風雨滿城城", "何處歸來客", "長歌送月明"]},
    {"source": "generated", "form": "wujue", "mode": "title", "lines": ["秋風吹落葉", "寒雁過江樓", "獨坐空庭晚", "無人問白頭"]},
    {"source": "generated", "form": "qijue", "mode": "theme", "lines": ["江上秋風起暮雲", "孤舟一葉入斜曛", "故園千里無消息", "夜夜寒砧不可聞"]},
]  # fmt: skip
REAL = [
    {"source": "real", "form": "wujue", "title": "登鸛雀樓", "author": "王之渙", "lines": ["白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓"]},
    {"source": "real", "form": "wujue", "title": "相思", "author": "王維", "lines": ["紅豆生南國", "春來發幾枝", "願君多采擷", "此物最相思"]},
    {"source": "real", "form": "qijue", "title": "早發白帝城", "author": "李白", "lines": ["朝辭白帝彩雲間", "千里江陵一日還", "兩岸猿聲啼不住", "輕舟已過萬重山"]},
]  # fmt: skip
POEM_ROW = re.compile(r"^[\u4e00-\u9fff]+，[\u4e00-\u9fff]+。$")


def sheet_blocks(sheet: str) -> list[list[str]]:
    return [block.split("\n") for block in sheet.strip("\n").split("\n\n")]


def test_prompt_suite_covers_every_form_in_every_mode():
    prompts = blind_sheet.prompt_suite(12)
    assert sorted((p["form"], p["mode"]) for p in prompts) == sorted(
        (form, mode) for form in FORMS for mode in blind_sheet.MODES
    )
    for prompt in prompts:
        assert ("title" in prompt) == (prompt["mode"] == "title")
        assert ("theme" in prompt) == (prompt["mode"] == "theme")
    assert blind_sheet.prompt_suite(24)[:12] == prompts


def test_sheet_shows_only_numbers_and_poems():
    sheet, key = blind_sheet.build_sheet(GENERATED + REAL, seed=7)
    blocks = sheet_blocks(sheet)
    assert [block[0] for block in blocks] == [str(n) for n in range(1, 7)]
    for block in blocks:
        assert all(POEM_ROW.match(row) for row in block[1:]), block
        assert len(block) - 1 == len(key[block[0]]["lines"]) // 2
    for hidden in ("登鸛雀樓", "王之渙", "王維", "李白", "generated", "real", "wujue", "title", "theme"):
        assert hidden not in sheet
    # every poem is on the sheet exactly under the number the key gives it
    for number, entry in key.items():
        assert blind_sheet.render(entry["lines"]) == blocks[int(number) - 1][1:]
    assert sorted(e["source"] for e in key.values()) == ["generated"] * 3 + ["real"] * 3
    assert {e["author"] for e in key.values() if e["source"] == "real"} == {"王之渙", "王維", "李白"}
    assert all("author" not in e for e in key.values() if e["source"] == "generated")


def test_sheet_is_reproducible_and_shuffled_by_seed():
    first, _ = blind_sheet.build_sheet(GENERATED + REAL, seed=7)
    again, _ = blind_sheet.build_sheet(GENERATED + REAL, seed=7)
    other, _ = blind_sheet.build_sheet(GENERATED + REAL, seed=8)
    assert first == again
    assert sorted(first.split("\n")) == sorted(other.split("\n")) and first != other


def test_simplified_sheet_converts_both_sources_alike():
    sheet, key = blind_sheet.build_sheet(GENERATED + REAL, seed=7, script="simplified")
    for traditional, simplified in (("雲", "云"), ("風", "风"), ("盡", "尽"), ("黃", "黄")):
        assert traditional not in sheet and simplified in sheet
    assert any("黃河入海流" in e["source_lines"] for e in key.values())  # the key keeps the original
    with pytest.raises(UserError, match="script"):
        blind_sheet.build_sheet(GENERATED, seed=7, script="seal")


def test_real_poems_come_from_the_test_split_with_the_forms_asked():
    corpus = load_corpus(str(SMALL_CORPUS), use_cache=False)
    test_bodies = {"".join(p.lines) for p in corpus.split("test")}
    poems = blind_sheet.real_poems(corpus, ["wujue", "qijue", "qijue", "qilv"], seed=3)
    assert sorted(p["form"] for p in poems) == ["qijue", "qijue", "qilv", "wujue"]
    assert all("".join(p["lines"]) in test_bodies for p in poems)
    assert len({"".join(p["lines"]) for p in poems}) == 4
    assert not any(p["shown_before"] for p in poems)
    # the only test 七律 was shown before: it comes again, marked, as there is no other; two cannot
    qilv = "".join(next(p["lines"] for p in poems if p["form"] == "qilv"))
    again = blind_sheet.real_poems(corpus, ["qilv", "qijue"], seed=3, exclude={qilv})
    assert [("".join(p["lines"]) == qilv, p["shown_before"]) for p in again if p["form"] == "qilv"] == [
        (True, True)
    ]
    assert not next(p for p in again if p["form"] == "qijue")["shown_before"]
    with pytest.raises(UserError, match="1 qilv poems; 2 are needed"):
        blind_sheet.real_poems(corpus, ["qilv", "qilv"], seed=3, exclude={qilv})


class StubPoem:
    def __init__(self, lines):
        self.lines = lines


class StubGenerator:
    def __init__(self):
        self.requests = []

    def generate(self, **request):
        self.requests.append(request)
        return [StubPoem(["春風吹客衣"] * 4)]


def test_generate_poems_asks_one_seeded_poem_per_prompt():
    generator = StubGenerator()
    prompts = blind_sheet.prompt_suite(5)
    poems = blind_sheet.generate_poems(generator, prompts, seed=100, options={"candidates": 8})
    assert [r["seed"] for r in generator.requests] == [100, 101, 102, 103, 104]
    assert all(r["n"] == 1 and r["candidates"] == 8 and "mode" not in r for r in generator.requests)
    # generated poems come in the real poems' script, not in the API's default (simplified)
    assert all(r["script"] == "traditional" for r in generator.requests)
    assert generator.requests[4]["title"] == prompts[4]["title"]
    assert [p["mode"] for p in poems] == [p["mode"] for p in prompts]
    with pytest.raises(UserError, match="script"):
        blind_sheet.generate_poems(generator, prompts, seed=1, options={"script": "simplified"})


def test_sheet_command_end_to_end(tmp_path):
    """The shipped model and the small corpus: a round folder with a sheet and a separate key."""
    round_dir = tmp_path / "round-20260101-a"
    argv = ["sheet", "--generated", "4", "--round-dir", str(round_dir), "--corpus", str(SMALL_CORPUS)]
    assert blind_eval.main(argv) == 0
    sheet = (round_dir / "sheet.txt").read_text(encoding="utf-8")
    key = json.loads((round_dir / "key.json").read_text(encoding="utf-8"))
    assert key["counts"] == {"generated": 4, "real": 4, "real_shown_before": 0}
    assert sorted(p["form"] for p in key["poems"].values()) == sorted(FORMS * 2)
    for block in sheet_blocks(sheet):
        assert block[0].isdigit() and all(POEM_ROW.match(row) for row in block[1:])
    assert blind_eval.main(argv) == 2  # never a second sheet in one round
    # a later round prefers real poems this one did not show; the small test split has one 七律, so that
    # one comes again, marked in the key
    later = tmp_path / "round-b"
    assert (
        blind_eval.main(
            ["sheet", "--generated", "4", "--round-dir", str(later), "--corpus", str(SMALL_CORPUS)]
        )
        == 0
    )
    again = json.loads((later / "key.json").read_text(encoding="utf-8"))
    shown = [p["form"] for p in again["poems"].values() if p.get("shown_before")]
    assert "qilv" in shown and again["counts"]["real_shown_before"] == len(shown)


KEY = {
    "round": "round-test",
    "poems": {
        "1": {"source": "generated", "form": "wujue", "mode": "free", "lines": []},
        "2": {"source": "real", "form": "wujue", "lines": []},
        "3": {"source": "generated", "form": "qijue", "mode": "title", "lines": []},
        "4": {"source": "real", "form": "qijue", "lines": []},
    },
}
READER_A = """# reader A
reader: A
1: H 4 3 2 3
2: H 5 5 4 5   # known
3: M 2 1 1 1   # stock phrases
4: M 3 3 3 3
"""
READER_B = {"reader": "B", "ratings": {"1": ["M", 2, 2, 2, 2], "2": ["H", 4, 4, 4, 4],
            "3": {"guess": "M", "fluency": 1, "coherence": 1, "meaning": 1, "overall": 1},
            "4": {"guess": "h", "fluency": 5, "coherence": 4, "meaning": 4, "overall": 5, "known": True}}}  # fmt: skip


def test_scores_known_ratings_into_known_means():
    _, a = blind_ratings.parse_ratings(READER_A, "a.txt")
    reader, b = blind_ratings.parse_ratings(json.dumps(READER_B), "b.json")
    assert reader == "B"
    summary = blind_summary.summarize(KEY, {"A": a, "B": b})
    generated, real = summary["by_source"]["generated"], summary["by_source"]["real"]
    assert generated["overall"]["mean"] == (3 + 1 + 2 + 1) / 4
    assert generated["fluency"] == {"n": 4, "mean": 2.25, "sd": 1.258, "min": 1, "max": 4}
    assert real["overall"]["mean"] == (5 + 3 + 4 + 5) / 4
    assert summary["generated_judged_human"] == 1 / 4
    assert summary["real_judged_machine"] == 1 / 4
    assert summary["by_form"]["wujue"]["generated"]["overall"]["mean"] == 2.5
    assert summary["by_form"]["qijue"]["real"]["judged_machine"] == 0.5
    assert summary["by_mode"]["title"]["overall"]["mean"] == 1.0
    assert summary["by_reader"]["A"]["generated"]["judged_human"] == 0.5
    assert summary["by_reader"]["B"]["real"]["meaning"]["mean"] == 4.0
    assert summary["by_poem"]["1"] == {
        "source": "generated",
        "form": "wujue",
        "overall": 2.5,
        "judged_human": 1,
        "known": 0,
    }
    assert summary["by_poem"]["2"]["known"] == 1 and summary["by_poem"]["4"]["known"] == 1
    assert summary["known_ratings"] == 2
    markdown = blind_summary.summary_markdown(summary)
    assert "| generated |" in markdown
    assert "| 1 | generated | wujue | 2.50 | 1 | 0 |" in markdown  # the per-poem table, as in summary.json


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1: H 4 3 3 4\n2: H 4 3 6 4\n", "line 2: meaning must be a whole number from 1 to 5, got '6'"),
        ("1: H 4 3 3 4\n\n3: X 4 3 3 4\n", "line 3: the guess must be H"),
        ("1: H 4 3 3\n", "line 1: expected a guess"),
        ("1: H 4 3 3 4\n2 H 4 3 3 4\n", "line 2: expected 'N: H 4 3 3 4'"),
        ("1: H 4 3 3 4\n1: M 1 1 1 1\n", "line 2: poem 1 is rated again"),
        ("1: H 4 3 3 4\n2: H 4 3 0 4\n", "line 2: meaning"),
        ("1: H 4 3 3 4.5\n", "line 1: overall"),
    ],
)
def test_malformed_ratings_name_the_line(text, message):
    with pytest.raises(UserError, match=re.escape(message)):
        blind_ratings.parse_ratings(text, "r.txt")


def test_json_ratings_errors_name_the_poem():
    with pytest.raises(UserError, match="poem 2: missing overall"):
        blind_ratings.parse_ratings(
            '{"ratings": {"2": {"guess": "H", "fluency": 4, "coherence": 3, "meaning": 3}}}', "r"
        )
    with pytest.raises(UserError, match="poem 1: fluency must be a whole number"):
        blind_ratings.parse_ratings('{"ratings": {"1": ["H", true, 3, 3, 3]}}', "r")
    with pytest.raises(UserError, match="not valid JSON"):
        blind_ratings.parse_ratings('{"ratings": ', "r")


def test_incomplete_ratings_are_refused():
    _, ratings = blind_ratings.parse_ratings("1: H 4 3 3 4\n2: M 1 1 1 1\n7: M 1 1 1 1\n", "r.txt")
    with pytest.raises(UserError, match=r"no rating for poem 3, 4; poem 7 is not on the sheet"):
        blind_ratings.check_complete(ratings, {1, 2, 3, 4}, "r.txt")


def test_score_command_writes_the_summary(tmp_path, capsys):
    key_path = tmp_path / "key.json"
    key_path.write_text(json.dumps(KEY), encoding="utf-8")
    (tmp_path / "a.txt").write_text(READER_A, encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(READER_B), encoding="utf-8")
    assert blind_eval.main(["score", str(key_path), str(tmp_path / "a.txt"), str(tmp_path / "b.json")]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["readers"] == ["A", "B"] and summary["ratings"] == 8
    assert "generated poems judged human: **25%**" in (tmp_path / "summary.md").read_text(encoding="utf-8")
    (tmp_path / "c.txt").write_text("1: H 4 3 3 4\n2: H 4 3 3 4\n3: H 4 3 3 4\n", encoding="utf-8")
    assert blind_eval.main(["score", str(key_path), str(tmp_path / "c.txt")]) == 2
    assert "c.txt: no rating for poem 4" in capsys.readouterr().err


def test_arms_are_parsed_over_the_common_options():
    arms = blind_sheet.parse_arms(["one=", 'eight={"candidates": 8}'], {"temperature": 0.8})
    assert arms == {"one": {"temperature": 0.8}, "eight": {"temperature": 0.8, "candidates": 8}}
    assert blind_sheet.parse_arms([], {"beam": 4}) == {"generated": {"beam": 4}}
    for bad in ("=", "a b={}", "x=[1]", "x={oops", "x={}|x={}"):
        with pytest.raises(UserError, match="--arm takes NAME=JSON"):
            blind_sheet.parse_arms(bad.split("|"), {})


def test_options_must_be_a_json_object():
    assert blind_sheet.parse_options('{"temperature": 0.8}') == {"temperature": 0.8}
    assert blind_sheet.parse_options(None) == {} == blind_sheet.parse_options("")
    for bad in ("{oops", "[1]", "0.8"):  # a traceback before, for text that is not JSON
        with pytest.raises(UserError, match="--options must be a JSON object"):
            blind_sheet.parse_options(bad)


def test_arms_share_a_poem_both_wrote_and_are_scored_apart():
    same = {"source": "generated", "form": "wujue", "mode": "free", "lines": ["甲", "乙"]}
    merged = blind_sheet.merge_arms(
        {"a": [same, {**same, "lines": ["丙", "丁"]}], "b": [dict(same), {**same, "lines": ["戊", "己"]}]}
    )
    assert [(p["lines"], p["arms"]) for p in merged] == [
        (["甲", "乙"], ["a", "b"]),
        (["丙", "丁"], ["a"]),
        (["戊", "己"], ["b"]),
    ]
    key = {"round": "arms", "poems": {**KEY["poems"]}}
    key["poems"]["1"] = {**key["poems"]["1"], "arms": ["a", "b"]}
    key["poems"]["3"] = {**key["poems"]["3"], "arms": ["b"]}
    _, a = blind_ratings.parse_ratings(READER_A, "a.txt")
    summary = blind_summary.summarize(key, {"A": a})
    assert summary["by_arm"]["a"]["overall"]["mean"] == 3  # poem 1 only
    assert summary["by_arm"]["b"]["overall"]["mean"] == 2  # poems 1 and 3
    assert summary["by_arm"]["b"]["judged_human"] == 0.5
    assert "| a |" in blind_summary.summary_markdown(summary)


def _arms_round(folder: Path, first: list[int], second: list[int]) -> None:
    """A round of three prompts (seeds 1-3), arms x and y on each, 6 generated poems rated by one reader:
    overall `first` for x's poems and `second` for y's (fluency, coherence, meaning 3 throughout)."""
    poems, lines = {}, []
    for index, (seed, x, y) in enumerate(zip((1, 2, 3), first, second, strict=True)):
        for offset, (arm, overall) in enumerate((("x", x), ("y", y))):
            number = str(2 * index + offset + 1)
            poems[number] = {
                "source": "generated", "form": "wujue", "mode": "free", "arms": [arm],
                "request": {"form": "wujue", "seed": seed, "n": 1},
            }  # fmt: skip
            lines.append(f"{number}: M 3 3 3 {overall}")
    folder.mkdir()
    (folder / "key.json").write_text(json.dumps({"round": folder.name, "poems": poems}), encoding="utf-8")
    (folder / "ratings").mkdir()
    (folder / "ratings" / "r.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_arms_are_compared_prompt_by_prompt_and_pooled_over_rounds(tmp_path, capsys):
    _arms_round(tmp_path / "one", [3, 2, 4], [2, 2, 2])  # x − y: +1, 0, +2
    _arms_round(tmp_path / "two", [1, 3, 3], [2, 3, 2])  # −1, 0, +1
    key = json.loads((tmp_path / "one" / "key.json").read_text(encoding="utf-8"))
    _, ratings = blind_ratings.parse_ratings(
        (tmp_path / "one" / "ratings" / "r.txt").read_text("utf-8"), "r.txt"
    )
    paired = blind_summary.summarize(key, {"r": ratings})["paired"]["x − y"]
    assert paired["prompts"] == 3 and paired["fluency"]["mean"] == 0
    assert paired["overall"] == {"mean": 1.0, "se": 0.5774, "better": 2, "equal": 1, "worse": 0}
    assert "| x − y | 3 |" in blind_summary.summary_markdown(blind_summary.summarize(key, {"r": ratings}))
    pair = ["--pair", str(tmp_path / "one"), "x", "y", "--pair", str(tmp_path / "two"), "x", "y"]
    assert blind_eval.main(["pool", *pair]) == 0
    out = capsys.readouterr().out
    assert "| 6 |" in out and "+0.50 ± 0.43 (3/2/1)" in out  # overall over both rounds
    assert blind_eval.main(["pool", "--pair", str(tmp_path / "one"), "x", "z"]) == 2
    assert "no arm 'z' (its arms: x, y)" in capsys.readouterr().err


def test_an_arm_may_write_with_its_own_model(tmp_path):
    """Two models side by side on one sheet: the arm naming a model folder gets that model's poems."""
    from tiny_model import tiny_model_for_tests

    from poetry_rnn.model import PoetryLM

    shipped = PoetryLM.from_pretrained(REPO / "data" / "default_model")
    tiny_model_for_tests(shipped.tokenizer, seed=5).save_pretrained(tmp_path / "tiny")
    round_dir = tmp_path / "round-20260101-m"
    argv = ["sheet", "--generated", "4", "--round-dir", str(round_dir), "--corpus", str(SMALL_CORPUS),
            "--arm", "shipped={}", "--arm", f'tiny={{"model": "{tmp_path / "tiny"}"}}']  # fmt: skip
    assert blind_eval.main(argv) == 0
    key = json.loads((round_dir / "key.json").read_text(encoding="utf-8"))
    assert key["arms"]["tiny"] == {"model": str(tmp_path / "tiny")} and key["arms"]["shipped"] == {}
    generated = [p for p in key["poems"].values() if p["source"] == "generated"]
    by_arm = {arm: [p for p in generated if arm in p["arms"]] for arm in ("shipped", "tiny")}
    assert len(by_arm["shipped"]) == len(by_arm["tiny"]) == 4
    # a random model writes other poems than the trained one (on the same prompts and seeds)
    assert {tuple(p["lines"]) for p in by_arm["shipped"]} != {tuple(p["lines"]) for p in by_arm["tiny"]}
    assert all("model" not in p["request"] for p in generated)
    with pytest.raises(UserError, match='--arm bad: "model" must name a model folder'):
        blind_sheet.parse_arms(['bad={"model": 3}'], {})


def test_only_a_plain_known_marks_a_recognised_poem(tmp_path):
    text = "1: H 3 3 3 3  # unknown to me\n2: H 4 4 4 4  # not known\n3: M 2 2 2 2  # known: 王维\n"
    _, ratings = blind_ratings.parse_ratings(text, "r.txt")
    assert [ratings[n].known for n in (1, 2, 3)] == [False, False, True]
    with pytest.raises(UserError, match='"known" must be true or false'):
        blind_ratings.parse_ratings('{"ratings": {"1": {"guess": "H", "fluency": 3, "coherence": 3, '
                                 '"meaning": 3, "overall": 3, "known": "yes"}}}', "r.json")  # fmt: skip


def test_a_ratings_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_text("reader: bom\n1: H 4 3 3 4\n", encoding="utf-8-sig")
    key = {"poems": {"1": {"source": "real"}}}
    assert list(blind_ratings.load_ratings(key, [path])) == ["bom"]


def test_unknown_generate_options_and_an_arm_without_json_are_refused():
    with pytest.raises(UserError, match=r"--options: unknown option\(s\) candidate; generate\(\) takes"):
        blind_sheet.parse_options('{"candidate": 8}')
    with pytest.raises(UserError, match="--arm takes NAME=JSON"):
        blind_sheet.parse_arms(["one"], {})
    with pytest.raises(UserError, match=r"--arm b: unknown option\(s\) temprature"):
        blind_sheet.parse_arms(['b={"temprature": 0.5}'], {})
    assert blind_sheet.parse_arms(['a={"model": "x", "temperature": 0.5}'], {}) == {
        "a": {"model": "x", "temperature": 0.5}
    }
