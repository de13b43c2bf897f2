"""scripts/blind_couplets.py: the blind 对仗 reading (arms of generated couplets, real controls, scoring)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from poetry_rnn.blind.sheet import MODES
from poetry_rnn.errors import UserError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
_spec = importlib.util.spec_from_file_location("blind_couplets", REPO / "scripts" / "blind_couplets.py")
blind_couplets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blind_couplets)

COUPLET_ROW = re.compile(
    r"^[\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。$|^[\u4e00-\u9fff]{7}，[\u4e00-\u9fff]{7}。$"
)


def arm(path: Path, label: str, couplets: list[tuple[str, str]]) -> str:
    entries = [
        {"form": "wulv", "mode": "free", "request": {"seed": i}, "line": 2, "first": a, "second": b}
        for i, (a, b) in enumerate(couplets)
    ]
    path.write_text(json.dumps({"label": label, "commit": "abc", "options": {}, "couplets": entries}))
    return str(path)


def test_prompts_alternate_forms_and_cover_the_modes():
    prompts = blind_couplets.prompts(6)
    assert [p["form"] for p in prompts] == ["wulv", "qilv"] * 3
    assert sorted({(p["form"], p["mode"]) for p in prompts}) == sorted(
        (form, mode) for form in blind_couplets.FORMS for mode in MODES
    )
    assert all(("title" in p) == (p["mode"] == "title") for p in prompts)


def test_sheet_mixes_arms_once_each_with_real_controls(tmp_path, corpus_dir):
    shared = ("風急天高猿嘯哀", "渚清沙白鳥飛回")  # written by both arms: shown once, counted for both
    before = arm(tmp_path / "before.json", "before", [shared, ("江流天地外", "山色有無中")])
    after = arm(tmp_path / "after.json", "after", [shared, ("星垂平野闊", "月涌大江流")])
    round_dir = tmp_path / "couplets-x"
    argv = ["sheet", "--arm", before, "--arm", after, "--real-middle", "3", "--real-first", "2"]
    assert blind_couplets.main([*argv, "--round-dir", str(round_dir), "--corpus", str(corpus_dir)]) == 0
    sheet = (round_dir / "sheet.txt").read_text(encoding="utf-8")
    blocks = [block.split("\n") for block in sheet.strip().split("\n\n")]
    assert [block[0] for block in blocks] == [str(n) for n in range(1, 9)]  # 3 generated + 5 real
    assert all(len(block) == 2 and COUPLET_ROW.match(block[1]) for block in blocks)
    for hidden in ("before", "after", "real", "wulv", "abc"):
        assert hidden not in sheet
    key = json.loads((round_dir / "key.json").read_text(encoding="utf-8"))["couplets"]
    sources = sorted(entry["source"] for entry in key.values())
    assert sources == ["after", "before", "before+after", *["real first"] * 2, *["real middle"] * 3]
    for number, entry in key.items():
        assert blocks[int(number) - 1][1] == f"{entry['first']}，{entry['second']}。"
        assert entry["checker"] in ("工对", "宽对", "不对")
        if entry["source"].startswith("real"):
            assert entry["line"] == (0 if entry["source"] == "real first" else entry["line"])
            assert entry["line"] in (0, 2, 4) and entry["body"].startswith(entry["first"]) is (
                entry["line"] == 0
            )
    # a round is never built over
    with pytest.raises(UserError, match="already holds a sheet"):
        blind_couplets.run_sheet(
            blind_couplets.argparse.Namespace(
                round_dir=str(round_dir),
                arm=[before],
                seed=None,
                corpus=str(corpus_dir),
                real_middle=1,
                real_first=1,
            )
        )


KEY = {
    "round": "couplets-test",
    "couplets": {
        "1": {"source": "before", "arms": ["before"], "checker": "宽对"},
        "2": {"source": "after", "arms": ["after"], "checker": "工对"},
        "3": {"source": "before+after", "arms": ["before", "after"], "checker": "工对"},
        "4": {"source": "real middle", "checker": "工对"},
    },
}


def test_scores_known_ratings_into_known_shares():
    numbers = set(KEY["couplets"])
    ratings = {
        "r1": blind_couplets.parse_ratings("reader: r1\n1: 不 2\n2: 工 4\n3: 宽 3\n4: 工 5\n", "r1", numbers),
        "r2": blind_couplets.parse_ratings("1: 宽 2\n2: 工对 4  # clear\n3: 不 3\n4: 工 5\n", "r2", numbers),
        "r3": blind_couplets.parse_ratings("1: 不 1\n2: 不 3\n3: 宽 2\n4: 宽 4\n", "r3", numbers),
    }
    summary = blind_couplets.summarize(KEY, ratings)["sources"]
    assert summary["before"]["judged parallel"] == round(1 / 3, 3)
    assert summary["before"]["parallel by majority"] == 0.0
    assert (
        summary["after"]["judged 工对"] == round(2 / 3, 3) and summary["after"]["parallel by majority"] == 1.0
    )
    # each arm counts the couplet both wrote
    assert summary["arm before"]["couplets"] == 2 and summary["arm after"]["couplets"] == 2
    assert summary["arm after"]["judged parallel"] == round(4 / 6, 3)
    assert summary["arm before"]["checker 工对"] == 0.5
    assert summary["real middle"]["fluency"] == round(14 / 3, 2)
    # the checker called couplet 1 parallel (宽对) where two readers of three did not
    assert summary["before"]["checker agrees with the majority"] == 0.0
    assert summary["after"]["checker agrees with the majority"] == 1.0
    assert summary["real middle"]["checker agrees with the majority"] == 1.0
    assert "real, all" not in summary  # one real source: no pooled row


def test_a_sheet_of_real_couplets_alone_measures_the_checker(tmp_path, corpus_dir):
    round_dir = tmp_path / "couplets-real"
    argv = ["sheet", "--real-middle", "2", "--real-first", "1", "--real-last", "2"]
    assert blind_couplets.main([*argv, "--round-dir", str(round_dir), "--corpus", str(corpus_dir)]) == 0
    key = json.loads((round_dir / "key.json").read_text(encoding="utf-8"))
    entries = key["couplets"].values()
    assert sorted(e["source"] for e in entries) == ["real first", *["real last"] * 2, *["real middle"] * 2]
    assert all(e["line"] == 6 for e in entries if e["source"] == "real last")
    assert len({e["body"] for e in entries}) == 5  # one couplet a poem
    numbers = set(key["couplets"])
    ratings = {
        reader: blind_couplets.parse_ratings("".join(f"{n}: {verdict} 4\n" for n in numbers), reader, numbers)
        for reader, verdict in (("a", "工"), ("b", "宽"), ("c", "不"))
    }
    summary = blind_couplets.summarize(key, ratings)["sources"]
    checker_parallel = sum(e["checker"] != "不对" for e in entries)
    # every couplet is parallel by majority (工, 宽, 不): the checker agrees where it says parallel
    assert summary["real, all"]["couplets"] == 5
    assert summary["real, all"]["checker agrees with the majority"] == round(checker_parallel / 5, 3)
    empty = ["sheet", "--real-middle", "0", "--real-first", "0", "--round-dir", str(tmp_path / "none")]
    assert blind_couplets.main([*empty, "--corpus", str(corpus_dir)]) == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("1: 对 3\n2: 工 3\n3: 工 3\n4: 工 3\n", "line 1"),  # not a verdict
        ("1: 工 6\n2: 工 3\n3: 工 3\n4: 工 3\n", "line 1"),  # fluency out of range
        ("1: 工 3\n1: 工 3\n3: 工 3\n4: 工 3\n", "rated twice"),
        ("1: 工 3\n9: 工 3\n3: 工 3\n4: 工 3\n", "not on the sheet"),
        ("1: 工 3\n3: 工 3\n4: 工 3\n", "no rating for couplet"),
    ],
)
def test_malformed_ratings_are_refused_naming_the_line(text, message):
    with pytest.raises(UserError, match=message):
        blind_couplets.parse_ratings(text, "r.txt", set(KEY["couplets"]))


def test_generate_keeps_the_middle_couplets_of_seeded_poems(tmp_path, shipped):
    out = tmp_path / "arm.json"
    argv = ["generate", "--out", str(out), "--label", "now", "--poems", "2", "--seed", "5"]
    assert blind_couplets.main(argv) == 0
    found = json.loads(out.read_text(encoding="utf-8"))
    assert found["label"] == "now" and found["commit"]
    assert [(c["form"], c["line"]) for c in found["couplets"]] == [
        ("wulv", 2),
        ("wulv", 4),
        ("qilv", 2),
        ("qilv", 4),
    ]
    for couplet in found["couplets"]:
        poem = shipped.generate(**couplet["request"])[0]  # the same request writes the same poem
        assert poem.lines[couplet["line"] : couplet["line"] + 2] == [couplet["first"], couplet["second"]]
    assert [c["request"]["seed"] for c in found["couplets"]] == [5, 5, 6, 6]
