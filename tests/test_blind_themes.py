"""scripts/blind_themes.py: the blind theme reading (two arms' poems and plans, theme by theme; scoring)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from poetry_rnn.errors import UserError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
_spec = importlib.util.spec_from_file_location("blind_themes", REPO / "scripts" / "blind_themes.py")
blind_themes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blind_themes)

THEMES = ("思念远方的朋友", "雨", "加班到深夜")


def arm(label: str, marker: str, failed: str | None = None) -> dict:
    poems = []
    for index, theme in enumerate(THEMES):
        request = {"form": "wujue", "theme": theme, "n": 1, "seed": index}
        if theme == failed:
            poems.append(request | {"error": "no keywords could be found in the theme"})
        else:
            lines = [f"{marker}山{index}月明中", "春風吹柳枝", "故人何處是", "一夜到天涯"]
            poems.append(request | {"lines": lines, "plan": [f"{marker}山", "故人"]})
    return {"label": label, "commit": "abc1234", "poems": poems}


def test_the_sheet_pairs_the_arms_theme_by_theme_and_hides_which_is_which():
    before, after = arm("before", "甲", failed="雨"), arm("after", "乙")
    sheet, key = blind_themes.build_sheet([before, after], seed=5)
    # the theme one arm failed on is left off, and kept in the key
    assert sorted(key["items"]) == ["K1", "K2", "P1", "P2"]
    assert [[list(entry) for entry in failed] for failed in key["failed"]] == [
        [["雨", "no keywords could be found in the theme"]],
        [],
    ]
    assert "主题：雨" not in sheet and "主题：加班到深夜" in sheet
    for hidden in ("before", "after", "abc1234", "wujue", "seed"):
        assert hidden not in sheet
    for item, entry in key["items"].items():
        assert sorted(entry["sides"]) == [0, 1]
        # the side the key names as 甲 shows that arm's poem (or plan) as 甲
        block = sheet.split(f"{item}  主题：{entry['theme']}")[1].split("\n\n")[0]
        first_shown = block.split("甲：")[1][:1]
        assert first_shown == ("甲", "乙")[entry["sides"][0]]


def test_arms_of_other_themes_are_refused():
    other = arm("after", "乙")
    other["poems"] = other["poems"][:2]
    with pytest.raises(UserError, match="same themes"):
        blind_themes.build_sheet([arm("before", "甲"), other], seed=1)


def test_scores_are_read_back_to_the_arms_and_compared_per_theme():
    sheet, key = blind_themes.build_sheet([arm("before", "甲"), arm("after", "乙")], seed=2)
    # a reader who gives the second arm's poem fit 4 and the first 2, overall 3 to both; plans 5 against 1
    lines = ["reader: x"]
    for item, entry in key["items"].items():
        first, second = ((2, 4), (4, 2))[entry["sides"][0]]
        if item.startswith("P"):
            lines.append(f"{item}: {first} {second} 3 3")
        else:
            plans = (1, 5) if entry["sides"][0] == 0 else (5, 1)
            lines.append(f"{item}: {plans[0]} {plans[1]}  # a comment")
    ratings = {"x": blind_themes.parse_ratings("\n".join(lines), "x.txt", key["items"])}
    summary = blind_themes.summarize(key, ratings)
    assert summary["measures"]["fit"]["means"] == [2, 4]
    assert summary["measures"]["fit"]["difference"] == 2
    assert summary["measures"]["fit"]["themes_better_worse_equal"] == [3, 0, 0]
    assert summary["measures"]["overall"]["difference"] == 0
    assert summary["measures"]["plan_fit"]["means"] == [1, 5]
    assert "| fit | 2.00 | 4.00 | +2.00" in blind_themes.summary_markdown(summary)


def test_rounds_are_pooled_theme_by_theme(tmp_path, capsys):
    # two rounds of the same three themes: the second arm's poems fit better by 2, then by 0
    folders = []
    for name, gain in (("one", 2), ("two", 0)):
        _, key = blind_themes.build_sheet([arm("before", "甲"), arm("after", "乙")], seed=3)
        lines = []
        for item, entry in key["items"].items():
            scores = (2, 2 + gain) if entry["sides"][0] == 0 else (2 + gain, 2)
            lines.append(f"{item}: {scores[0]} {scores[1]} 3 3" if item.startswith("P") else f"{item}: 4 4")
        folder = tmp_path / name
        (folder / "ratings").mkdir(parents=True)
        (folder / "key.json").write_text(json.dumps(key, ensure_ascii=False), encoding="utf-8")
        (folder / "ratings" / "r.txt").write_text("\n".join(lines), encoding="utf-8")
        folders.append(folder)
    rounds = []
    for folder in folders:
        key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
        rounds.append((key, blind_themes.read_ratings(key, [folder / "ratings" / "r.txt"])))
    pooled = blind_themes.pool(rounds)
    assert pooled["fit"]["themes"] == 6 and pooled["fit"]["difference"] == 1
    assert pooled["overall"]["difference"] == 0 and pooled["plan_fit"]["difference"] == 0
    assert blind_themes.main(["pool", *map(str, folders)]) == 0
    assert "| fit | 6 | +1.00 ± 0.45 |" in capsys.readouterr().out
    assert (
        blind_themes.main(["pool", str(tmp_path)]) == 2
    )  # a folder without a key is refused, not a traceback


def test_a_ratings_file_missing_items_or_scores_is_refused_by_name():
    _, key = blind_themes.build_sheet([arm("before", "甲"), arm("after", "乙")], seed=2)
    with pytest.raises(UserError, match="no rating for"):
        blind_themes.parse_ratings("P1: 1 2 3 4", "r.txt", key["items"])
    with pytest.raises(UserError, match="P1 needs 4 scores"):
        blind_themes.parse_ratings("P1: 1 2", "r.txt", key["items"])


def test_sheet_and_score_commands_write_the_round(tmp_path):
    paths = []
    for name, marker in (("before", "甲"), ("after", "乙")):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(arm(name, marker), ensure_ascii=False), encoding="utf-8")
        paths.append(str(path))
    folder = tmp_path / "round"
    assert blind_themes.main(["sheet", *paths, "--round-dir", str(folder)]) == 0
    key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
    ratings = tmp_path / "r1.txt"
    ratings.write_text(
        "\n".join(f"{item}: " + ("3 3 3 3" if item[0] == "P" else "3 3") for item in key["items"])
    )
    assert blind_themes.main(["score", str(folder / "key.json"), str(ratings)]) == 0
    assert json.loads((folder / "summary.json").read_text())["measures"]["fit"]["difference"] == 0
    # a second sheet into the same folder would overwrite the key readers were given
    assert blind_themes.main(["sheet", *paths, "--round-dir", str(folder)]) == 2


def test_differing_only_leaves_off_the_pairs_that_are_the_same():
    before, after = arm("before", "甲"), arm("after", "乙")
    after["poems"][0] = before["poems"][0]  # the same poem and plan for the first theme
    after["poems"][2]["plan"] = before["poems"][2]["plan"]  # the same plan for the third
    sheet, key = blind_themes.build_sheet([before, after], seed=3, differing_only=True)
    poems = {entry["theme"] for item, entry in key["items"].items() if item[0] == "P"}
    plans = {entry["theme"] for item, entry in key["items"].items() if item[0] == "K"}
    assert poems == {"雨", "加班到深夜"} and plans == {"雨"}
    assert "主题：思念远方的朋友" not in sheet


def test_a_poem_without_a_plan_is_read_but_its_plan_pair_left_off():
    before, after = arm("before", "甲"), arm("after", "乙")
    after["poems"][1]["plan"] = []  # the new arm made no plan for the second theme
    sheet, key = blind_themes.build_sheet([before, after], seed=3)
    poems = [entry["theme"] for item, entry in key["items"].items() if item[0] == "P"]
    plans = [entry["theme"] for item, entry in key["items"].items() if item[0] == "K"]
    second = before["poems"][1]["theme"]
    assert second in poems and second not in plans and len(plans) == len(poems) - 1
    # the arm's plans by shape: the first and third theme's cover both couplets, the second none
    after["poems"][2]["plan"] = ["乙山"]
    assert blind_themes.plan_shapes(after["poems"]) == "plans: 1 for every couplet, 1 for some, 1 none"
