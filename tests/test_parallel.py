"""The 对仗 analysis (prosody/parallel.py) and its shipped data file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from poetry_rnn.errors import UserError
from poetry_rnn.prosody.parallel import (
    CLASSES,
    DATA_FILE,
    DATA_VERSION,
    couplet_kind,
    couplet_scores,
    judge_couplet,
    judge_lines,
    load_table,
    score_second_lines,
    segments,
)
from poetry_rnn.script import to_simplified

REPO = Path(__file__).resolve().parent.parent
# Middle couplets every reader of the form calls parallel.
PARALLEL = [
    ("無邊落木蕭蕭下", "不盡長江滾滾來"),  # 杜甫 登高 颔联
    ("萬里悲秋常作客", "百年多病獨登臺"),  # 登高 颈联
    ("感時花濺淚", "恨別鳥驚心"),  # 杜甫 春望 颔联
    ("烽火連三月", "家書抵萬金"),  # 春望 颈联
    ("明月松間照", "清泉石上流"),  # 王维 山居秋暝 颔联
    ("大漠孤煙直", "長河落日圓"),  # 王维 使至塞上 颈联
    ("親朋無一字", "老病有孤舟"),  # 杜甫 登岳阳楼 颈联
    ("晴川歷歷漢陽樹", "芳草萋萋鸚鵡洲"),  # 崔颢 黄鹤楼 颈联
]
# Couplets that are not parallel: first couplets of well-known 律诗, and 静夜思's opening.
NOT_PARALLEL = [
    ("床前明月光", "疑是地上霜"),  # 李白 静夜思
    ("空山新雨後", "天氣晚來秋"),  # 山居秋暝 首联
    ("昔人已乘黃鶴去", "此地空餘黃鶴樓"),  # 黄鹤楼 首联
    ("白頭搔更短", "渾欲不勝簪"),  # 春望 尾联
    ("借問酒家何處有", "牧童遙指杏花村"),  # 杜牧 清明
]


# ---------------------------------------------------------------------------------------------------
# The shipped data file (no corpus needed)
# ---------------------------------------------------------------------------------------------------
def test_data_file_is_compact_and_complete():
    assert DATA_FILE.stat().st_size < 400_000
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert data["version"] == DATA_VERSION
    assert len(data["chars"]) > 4000
    assert len(data["pairs"]) % 2 == 0 and len(data["pairs"]) > 10_000
    assert len(data["compat"]) == len(CLASSES) and all(len(row) == len(CLASSES) for row in data["compat"])
    assert 0 < data["thresholds"]["loose"] < data["thresholds"]["strict"] < 1


def test_learned_classes_reach_characters_beyond_the_seeds():
    table = load_table()
    # None of these is a seed character: the corpus placed them.
    assert table.main_class("嶽") == "地理"
    assert table.main_class("蕉") == "植物"
    assert table.main_class("笙") == "器物"
    assert table.main_class("坤") in ("地理", "天文")


def test_class_compatibility_is_learned_symmetric_and_same_class_strongest():
    compat = load_table().compat
    names = [name for name, _ in CLASSES]
    size = len(names)
    assert all(compat[i][j] == compat[j][i] for i in range(size) for j in range(size))
    # a class faces itself better than it faces an unrelated word class
    assert compat[names.index("植物")][names.index("植物")] > compat[names.index("植物")][names.index("副词")]
    assert compat[names.index("数目")][names.index("数目")] > compat[names.index("数目")][names.index("天文")]


@pytest.mark.parametrize(("first", "second"), PARALLEL)
def test_famous_middle_couplets_are_parallel(first, second):
    verdict = judge_couplet(first, second)
    assert verdict.parallel, (verdict.kind, verdict.score, verdict.pairs)
    assert verdict.kind in ("工对", "宽对")
    assert couplet_kind(first, second) == verdict.kind


@pytest.mark.parametrize(("first", "second"), NOT_PARALLEL)
def test_couplets_that_do_not_face_each_other(first, second):
    verdict = judge_couplet(first, second)
    assert verdict.kind == "不对", (verdict.score, verdict.pairs)
    assert verdict.deciding_pairs(), "a 不对 verdict names the pairs that fail"
    assert all(p.relation == "不" for p in verdict.deciding_pairs()) or len(verdict.deciding_pairs()) == 1


def test_deng_gao_pairs_read_by_segmentation():
    verdict = judge_couplet("無邊落木蕭蕭下", "不盡長江滾滾來")
    assert [(p.left, p.right) for p in verdict.pairs] == [
        ("無邊", "不盡"),
        ("落木", "長江"),
        ("蕭蕭", "滾滾"),
        ("下", "來"),
    ]
    doubled = verdict.pairs[2]
    assert doubled.label == "叠字" and doubled.relation == "工" and doubled.score == 1.0
    data = verdict.to_dict()
    assert set(data) == {"parallel", "kind", "score", "strict_score", "pairs", "shared"}
    assert data["pairs"][2] == {
        "left": "蕭蕭",
        "right": "滾滾",
        "positions": [4, 6],
        "relation": "工",
        "label": "叠字",
        "score": 1.0,
    }


def test_segmentation_of_five_character_lines():
    # 白日|依山|盡 as a reader recites it (依山/入海 face, 盡/流 face); 國破|山河|在; 戰馬|嘶|寒月
    assert segments("白日依山盡", "黃河入海流", load_table()) == [(0, 2), (2, 4), (4, 5)]
    assert segments("國破山河在", "城春草木深", load_table()) == [(0, 2), (2, 4), (4, 5)]
    assert segments("戰馬嘶寒月", "征人夢故鄉", load_table()) == [(0, 2), (2, 3), (3, 5)]


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        ("战马嘶寒月", "征人梦故乡", [("战马", "征人"), ("嘶", "梦"), ("寒月", "故乡")]),
        ("谁知今夜月", "犹照旧时楼", [("谁知", "犹照"), ("今夜", "旧时"), ("月", "楼")]),
        ("未遂封侯志", "空余种豆田", [("未遂", "空余"), ("封侯", "种豆"), ("志", "田")]),
        ("北岭云初起", "西窗月正幽", [("北岭", "西窗"), ("云", "月"), ("初起", "正幽")]),
        ("归来人已老", "落日照汀洲", [("归来", "落日"), ("人", "照"), ("已老", "汀洲")]),
        (
            "他乡久客头先白",
            "故国多情梦亦空",
            [("他乡", "故国"), ("久客", "多情"), ("头", "梦"), ("先白", "亦空")],
        ),
    ],
)
def test_the_cut_keeps_the_words_the_corpus_attests(first, second, words):
    # A student's drafts (an audit): 寒月/故乡 are words and 嘶寒/梦故 are not; 头先, 云初 and 人已 end in an
    # adverb, which binds to what follows it. The verdict is the same under any cut.
    verdict = judge_couplet(first, second)
    assert [(p.left, p.right) for p in verdict.pairs] == words
    assert (verdict.kind, verdict.score) == (couplet_kind(first, second), couplet_scores(first, second)[0])


def test_a_parallelism_fault_names_the_words_that_fail():
    from poetry_rnn.prosody.parallel import middle_couplet_faults

    lines = "古渡秋风起 孤舟客路愁 归来人已老 落日照汀洲 远树烟中没 寒江月下流 他年归故里 一醉卧高楼".split()
    faults = middle_couplet_faults([v for v in judge_lines(lines) if v], "wulv")
    assert [line for line, _ in faults] == [2]
    assert "「人/照」「已老/汀洲」不相对" in faults[0][1]  # not 「人已/照汀」「老/洲」


def test_a_parallelism_fault_with_no_failing_pair_names_the_shared_character():
    # An audit's draft (16g): every word pair faces (山前/山后 宽, 春雨/暮云 工, 细/收 宽); the shared 山 alone sinks
    # the 颔联. The fault named 细/收, which its own list rates 宽, as 不相对.
    from poetry_rnn.prosody.check import analyze

    text = "古渡秋风起，孤舟客路愁。山前春雨细，山后暮云收。远树烟中没，寒江月下流。他年归故里，一醉卧高楼。"
    analysis = analyze(text)
    couplet = analysis.couplets[1]
    assert couplet.kind == "不对" and couplet.shared == "山"
    assert [p.relation for p in couplet.pairs] == ["宽", "工", "宽"]
    assert couplet.deciding_pairs() == ()
    [fault] = analysis.parallel_faults
    assert "不相对" not in fault.message and "细/收" not in fault.message
    assert "两句同用「山」，对仗忌同字" in fault.message
    assert "仅宽对" not in fault.message  # without the shared 山 the couplet would be parallel


def test_a_couplet_whose_words_face_only_loosely_says_so():
    # Two lines of the corpus: no pair fails, none is shared, but no word faces strictly and the mean falls
    # short of 宽对.
    verdict = judge_couplet("川魚安可羨", "州傳多古跡")
    assert verdict.kind == "不对" and not verdict.shared and verdict.deciding_pairs() == ()
    assert verdict.shortfall(load_table().loose_threshold) == ("各词仅宽对", "every word faces only loosely")
    assert judge_couplet("白日依山盡", "黃河入海流").shortfall(load_table().loose_threshold) == ("", "")


def test_famous_couplets_are_cut_as_readers_cut_them():
    # 109 couplets of 唐诗三百首 and the audit's drafts with a reader's cut (scripts/eval_parallel_cuts.py):
    # 103 cut alike (94.5 %; by the characters' classes alone, 84, 77.1 %)
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "eval_parallel_cuts", REPO / "scripts" / "eval_parallel_cuts.py"
    )
    evaluation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluation)
    right, total, wrong, _ = evaluation.evaluate()
    assert total >= 100
    assert right / total >= 0.92, "\n".join(wrong)


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (
            "开轩面场圃",
            "把酒话桑麻",
            [("开轩", "把酒"), ("面", "话"), ("场圃", "桑麻")],
        ),  # 孟浩然《过故人庄》
        ("随风潜入夜", "润物细无声", [("随风", "润物"), ("潜", "细"), ("入夜", "无声")]),  # 杜甫《春夜喜雨》
        ("竹喧归浣女", "莲动下渔舟", [("竹喧", "莲动"), ("归", "下"), ("浣女", "渔舟")]),  # 王维《山居秋暝》
        (
            "两个黄鹂鸣翠柳",
            "一行白鹭上青天",
            [("两个", "一行"), ("黄鹂", "白鹭"), ("鸣", "上"), ("翠柳", "青天")],
        ),
    ],
)
def test_a_couplet_read_two_one_two_faces_word_by_word(first, second, words):
    # Each couplet's single character is its verb, in both lines, though the table's main class of 面 细 下
    # 上 is not a verb; the verdict, a mean over the facing characters, is the same under either cut.
    verdict = judge_couplet(first, second)
    assert [(p.left, p.right) for p in verdict.pairs] == words
    assert verdict.score == pytest.approx(couplet_scores(first, second)[0])


def test_a_numeral_opens_a_word_rather_than_standing_alone():
    # 杜甫 窗含西嶺|千秋|雪: 千秋 is one word, not 千 facing 萬 as a verb would
    assert segments("窗含西嶺千秋雪", "門泊東吳萬里船", load_table())[-2:] == [(4, 6), (6, 7)]


def test_reduplication_must_face_reduplication():
    doubled = judge_couplet("無邊落木蕭蕭下", "不盡長江滾滾來")
    broken = judge_couplet("無邊落木蕭蕭下", "不盡長江東流來")
    assert doubled.kind == "工对" and doubled.pairs[2].label == "叠字"
    # a reduplication facing none: not parallel, however well the other words face
    assert broken.kind == "不对" and broken.score == 0.0
    assert broken.pairs[2].label == "叠字不对" and broken.pairs[2].relation == "不"
    assert broken.pairs[0].relation != "不"  # 無邊/不盡 still face each other
    assert judge_couplet("東流不盡長江來", "蕭蕭無邊落木下").kind == "不对"  # either line


def test_shared_characters_are_not_parallel():
    same = judge_couplet("明月松間照", "明月松間照")
    assert same.kind == "不对" and same.score == 0.0 and same.shared == "明月松照間"
    assert all(p.label == "重字" for p in same.pairs)
    # one shared character lowers the score of an otherwise parallel couplet
    shared = judge_couplet("明月松間照", "清泉石間流")
    assert "間" in shared.shared and shared.score < judge_couplet("明月松間照", "清泉石上流").score


def test_either_script_gives_the_same_verdict():
    for first, second in PARALLEL + NOT_PARALLEL:
        traditional = judge_couplet(first, second)
        simplified = judge_couplet(to_simplified(first), to_simplified(second))
        assert (simplified.kind, round(simplified.score, 6)) == (
            traditional.kind,
            round(traditional.score, 6),
        )
        assert simplified.first == to_simplified(first)  # words reported as written
        assert simplified.pairs[0].left == to_simplified(first)[: simplified.pairs[0].end]
    # every character of 浮云游子意 is in the table as written (云 "to say"): simplified still reads as 浮雲遊子
    alone = judge_couplet("浮云游子意", "落日故人情")
    assert (alone.kind, alone.score) == (judge_couplet("浮雲遊子意", "落日故人情").kind, 1.0)
    assert couplet_scores("浮云游子意", "落日故人情") == couplet_scores("浮雲遊子意", "落日故人情")


def test_scores_agree_with_the_verdict_and_rank_second_lines():
    first, second = PARALLEL[0]
    loose, strict = couplet_scores(first, second)
    verdict = judge_couplet(first, second)
    assert (loose, strict) == (verdict.score, verdict.strict_score)
    candidates = [second, "牧童遙指杏花村", "此地空餘黃鶴樓", "不盡長江"]
    scores = score_second_lines(first, candidates)
    assert scores[0] == max(scores) and scores[0] > scores[1] and scores[0] > scores[2]
    assert scores[3] == 0.0  # a candidate of another length cannot face the line


def test_judge_lines_gives_one_verdict_per_couplet():
    lines = ["國破山河在", "城春草木深", "感時花濺淚", "恨別鳥驚心", "烽火連三月"]
    verdicts = judge_lines(lines)
    assert [v.line for v in verdicts] == [0, 2]  # the odd last line has no partner
    assert verdicts[1].to_dict()["lines"] == [2, 3]
    assert judge_lines(["白日依山盡", "黃河入海流流"]) == [None]


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("白日依山盡", "黃河入海", "same length"),
        ("white sun", "黃河入海流", "only Chinese"),
        ("白日依山盡😀", "黃河入海流流", "only Chinese"),
        ("山" * 12, "水" * 12, "1 to 11"),
        ("", "", "1 to 11"),
    ],
)
def test_bad_couplets_are_refused_clearly(first, second, message):
    with pytest.raises(UserError, match=message):
        judge_couplet(first, second)


def test_judging_is_fast_enough_for_a_reranker():
    couplets = (PARALLEL + NOT_PARALLEL) * 250  # 3,250 couplets
    started = time.perf_counter()
    for first, second in couplets:
        couplet_scores(first, second)
    per_couplet = (time.perf_counter() - started) / len(couplets)
    assert per_couplet < 0.002  # 2 ms even on a loaded machine; about 30 µs unloaded


# ---------------------------------------------------------------------------------------------------
# On the corpus (skipped without ../shared/data)
# ---------------------------------------------------------------------------------------------------
def test_test_split_separates_middle_from_first_couplets(corpus_dir):
    from poetry_rnn.corpus import load_corpus

    poems = load_corpus(str(corpus_dir)).split("test", ["wulv", "qilv"])
    assert len(poems) > 300
    middle = [couplet_kind(p.lines[i], p.lines[i + 1]) != "不对" for p in poems for i in (2, 4)]
    first = [couplet_kind(p.lines[0], p.lines[1]) != "不对" for p in poems]
    assert sum(middle) / len(middle) >= 0.85
    assert sum(first) / len(first) <= 0.35


def test_build_script_reproduces_the_shipped_file(corpus_dir, tmp_path):
    import importlib.util

    lexicon = corpus_dir.parent / "lexicon"
    if not (lexicon / "shenglvqimeng.json").exists():
        pytest.skip(f"聲律啓蒙 not found at {lexicon}")
    spec = importlib.util.spec_from_file_location(
        "build_parallel_data", REPO / "scripts" / "build_parallel_data.py"
    )
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    out = tmp_path / "parallel.json"
    assert build.main(["--corpus", str(corpus_dir), "--lexicon", str(lexicon), "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(DATA_FILE.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------------
# The 对仗 rule of the decoder (decoding/rules/parallel.py), on the shipped model's vocabulary
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vocabulary():
    from poetry_rnn.decoding.vocabulary import VocabularyTables
    from poetry_rnn.tokenizer.registry import load_tokenizer

    directory = REPO / "data" / "default_model"
    if not (directory / "tokenizer.json").exists():
        pytest.skip("no shipped model in data/default_model")
    return VocabularyTables.build(load_tokenizer(directory))


def couplet_rule(vocabulary, chars_per_line: int, heads=None, **options):
    """A rule making line 1 face line 0, in a constraint set of its own, and a fresh state."""
    from poetry_rnn.decoding.constraint_set import ConstraintSet
    from poetry_rnn.decoding.rules.parallel import ParallelRule

    rule = ParallelRule(vocabulary, chars_per_line, [1], heads, **options)
    constraints = ConstraintSet(vocabulary, [rule])
    return rule, constraints, constraints.new_state()


def write(vocabulary, constraints, state, text: str) -> None:
    for char in text:
        piece = vocabulary.comma_id if char == "，" else vocabulary.ids_of_text[char][0]
        constraints.advance(state, piece)


def test_facing_scores_equal_the_tables_pair_scores(vocabulary):
    from poetry_rnn.decoding.rules.parallel import facing_scores

    facing = facing_scores(vocabulary)
    table = load_table()
    chars = sorted({c for first, second in PARALLEL + NOT_PARALLEL for c in first + second})
    for a in chars:
        for b in chars:
            expected = 0.0 if a == b else table.pair_scores(a, b)[0]
            assert facing.score(a, b) == pytest.approx(expected, abs=1e-6), (a, b)


def test_rule_leaves_the_first_line_free_and_excludes_what_cannot_face_it(vocabulary):
    from poetry_rnn.decoding.rules.parallel import DEFAULT_FLOOR, facing_scores

    rule, constraints, state = couplet_rule(vocabulary, 5)
    assert rule.mask(state) is None  # the first line is free
    first = "明月松間照"
    write(vocabulary, constraints, state, first + "，")
    allowed = rule.mask(state)
    facing = facing_scores(vocabulary)
    for char, pieces in vocabulary.ids_of_text.items():
        expected = char not in first and facing.score("明", char) >= DEFAULT_FLOOR - 1e-5
        assert bool(allowed[pieces[0]]) == expected, char
    assert allowed[vocabulary.ids_of_text["清"][0]]  # 明/清 face each other
    assert not allowed[vocabulary.ids_of_text["月"][0]]  # a character of the first line


def test_a_line_ends_only_as_a_parallel_couplet(vocabulary):
    rule, constraints, state = couplet_rule(vocabulary, 5)
    first = "明月松間照"
    write(vocabulary, constraints, state, first + "，清泉石上")
    allowed = rule.mask(state)
    kinds = {}
    for char, pieces in vocabulary.ids_of_text.items():
        if len(char) == 1 and bool(allowed[pieces[0]]):
            kinds[char] = couplet_kind(first, "清泉石上" + char)
    assert kinds and "流" in kinds
    assert all(kind != "不对" for kind in kinds.values())
    # a last character that would leave the couplet 不对 is refused even where the floor lets it through
    write(vocabulary, constraints, state, "流")
    assert rule.mask(state) is None  # parallel: the line may end
    _, constraints, state = couplet_rule(vocabulary, 5)
    write(vocabulary, constraints, state, first + "，明月松間")
    weak = constraints.rules[0].mask(state)
    assert not weak.any()  # every position shares a character: nothing can rescue the couplet


def test_the_rules_tally_is_the_checkers_score(vocabulary):
    for first, second in [PARALLEL[0], PARALLEL[4], ("無邊落木蕭蕭下", "不盡長江滾滾來")]:
        rule, constraints, state = couplet_rule(vocabulary, len(first))
        write(vocabulary, constraints, state, first + "，" + second)
        loose, _ = couplet_scores(first, second)
        assert state.rule_states[rule].total / len(first) == pytest.approx(loose, abs=1e-5)


def test_doubling_must_mirror(vocabulary):
    rule, constraints, state = couplet_rule(vocabulary, 7)
    write(vocabulary, constraints, state, "無邊落木蕭蕭下，不盡長江滾")
    allowed = rule.mask(state)
    assert allowed[vocabulary.ids_of_text["滾"][0]]  # 蕭蕭 faces 滾滾, and nothing else does
    assert [c for c, p in vocabulary.ids_of_text.items() if bool(allowed[p[0]])] == ["滾"]
    # at the start of a line too, for a character that faces 夜 poorly alone (夜夜 faces 紛紛)
    _, constraints, early = couplet_rule(vocabulary, 7)
    write(vocabulary, constraints, early, "夜夜坐思清曉滿，紛")
    assert constraints.rules[0].mask(early)[vocabulary.ids_of_text["紛"][0]]
    # a doubling only the second line has is excluded
    _, constraints, plain = couplet_rule(vocabulary, 7)
    write(vocabulary, constraints, plain, "無邊落木蕭山下，不盡長江滾")
    assert not constraints.rules[0].mask(plain)[vocabulary.ids_of_text["滾"][0]]


def test_head_words_face_as_words(vocabulary):
    from poetry_rnn.decoding.rules.parallel import DEFAULT_FLOOR, facing_scores

    facing = facing_scores(vocabulary)
    first = "無邊落木蕭蕭下"

    def second_characters(opening: str, word_floor: float) -> set[str]:
        rule, constraints, state = couplet_rule(vocabulary, 7, word_floor=word_floor)
        write(vocabulary, constraints, state, first + "，" + opening)
        allowed = rule.mask(state)
        return {c for c, p in vocabulary.ids_of_text.items() if len(c) == 1 and bool(allowed[p[0]])}

    for opening in ("不", "長"):  # 不 faces 無 well (不盡), 長 poorly
        written = facing.score("無", opening)
        by_characters = second_characters(opening, 0.0)
        by_words = second_characters(opening, 0.7)
        assert by_words and by_words <= by_characters
        # the word's second character is held to what the word as a whole still needs
        need = max(DEFAULT_FLOOR, 1.4 - written)
        assert all(facing.score("邊", c) >= need - 1e-4 for c in by_words)
        assert (len(by_words) < len(by_characters)) == (need > DEFAULT_FLOOR + 0.01)
    assert facing.score("無", "長") < facing.score("無", "不")


def test_acrostic_heads_are_dictated_and_kept_out_of_the_first_line(vocabulary):
    rule, constraints, state = couplet_rule(vocabulary, 5, heads=[{"明"}, {"月"}])
    first_allowed = rule.mask(state)
    assert first_allowed is not None and not first_allowed[vocabulary.ids_of_text["月"][0]]
    write(vocabulary, constraints, state, "清泉石上流，")
    assert rule.mask(state) is None  # the head is dictated: the rule yields


def test_after_a_head_that_faces_poorly_the_line_goes_on(vocabulary):
    """藏头 天地人和国泰民安: the head 和 faces 人 at 0.13. The head word's second character was held to making up
    for it (2 × 0.6 − 0.13 > 1: nothing could), so every 七律 with these heads died there; it faces at the
    word floor, and the rest of the line brings the couplet's mean up (the checker's own judgement at the end)."""
    from poetry_rnn.decoding.rules.parallel import DEFAULT_WORD_FLOOR, facing_scores

    facing = facing_scores(vocabulary)
    rule, constraints, state = couplet_rule(vocabulary, 7, heads=[{"人"}, {"和"}])
    write(vocabulary, constraints, state, "人事已隨流水去，和")
    assert facing.score("人", "和") < 2 * DEFAULT_WORD_FLOOR - 1
    allowed = rule.mask(state)
    chars = {c for c, p in vocabulary.ids_of_text.items() if len(c) == 1 and bool(allowed[p[0]])}
    assert "親" in chars  # 和親 faces 人事 (the generated 和亲何处濯尘清)
    assert all(facing.score("事", c) >= DEFAULT_WORD_FLOOR - 1e-4 for c in chars)


def test_a_head_both_lines_share_is_no_dead_end(vocabulary):
    """藏头 年年有余岁岁平安: both lines of the 颈联 open with 岁. The first line kept clear of the second's head,
    its own, so it could not start; now it starts, and the second line makes up for the shared character."""
    rule, constraints, state = couplet_rule(vocabulary, 7, heads=[{"歲"}, {"歲"}])
    allowed = rule.mask(state)
    assert allowed is None or allowed[vocabulary.ids_of_text["歲"][0]]
    # a couplet the generator wrote (岁月已随流水去，岁华何处到柴关): the checker's 宽对, the rule's too
    write(vocabulary, constraints, state, "歲月已隨流水去，歲華何處到柴關")
    assert rule.mask(state) is None and couplet_kind("歲月已隨流水去", "歲華何處到柴關") != "不对"


def test_a_first_line_does_not_double_where_the_mirror_cannot_follow(vocabulary):
    """A doubling at the first line's end would need a doubled rhyme; after an acrostic head, a doubled head."""
    rule, constraints, state = couplet_rule(vocabulary, 5)
    write(vocabulary, constraints, state, "白日依山")
    assert not rule.mask(state)[vocabulary.ids_of_text["山"][0]]  # 山山 at the end: refused
    _, constraints, early = couplet_rule(vocabulary, 5)
    write(vocabulary, constraints, early, "白")
    assert constraints.rules[0].mask(early) is None  # without a dictated head, 白白 may open the line
    rule, constraints, headed = couplet_rule(vocabulary, 5, heads=[{"明"}, {"月"}])
    write(vocabulary, constraints, headed, "白")
    assert not rule.mask(headed)[vocabulary.ids_of_text["白"][0]]  # the next line's head cannot double
    assert rule.mask(headed)[vocabulary.ids_of_text["雲"][0]]


def test_the_mirror_of_a_doubling_is_prepared_one_character_early(vocabulary):
    """Where the first line doubles next (蕭蕭 at 4-5), the second line writes at 4 only a character that may
    double at that place of a line: with the shipped slots, an attested reduplication; without, anything."""
    from poetry_rnn.quality import ReduplicationSlots

    slots = ReduplicationSlots([(7, 4, "滾"), (7, 4, "漫")])

    def allowed_at_four(**options) -> set[str]:
        rule, constraints, state = couplet_rule(vocabulary, 7, **options)
        write(vocabulary, constraints, state, "無邊落木蕭蕭下，不盡長江")
        allowed = rule.mask(state)
        return {c for c, p in vocabulary.ids_of_text.items() if len(c) == 1 and bool(allowed[p[0]])}

    free, prepared = allowed_at_four(), allowed_at_four(slots=slots)
    assert "滾" in prepared and prepared <= {"滾", "漫"}
    assert len(free) > len(prepared) and "滾" in free
    # where the first line does not double next, the slots change nothing
    rule, constraints, state = couplet_rule(vocabulary, 7, slots=slots)
    write(vocabulary, constraints, state, "無邊落木蕭蕭下，不盡")
    _, bare, plain = couplet_rule(vocabulary, 7)
    write(vocabulary, bare, plain, "無邊落木蕭蕭下，不盡")
    assert torch.equal(rule.mask(state), bare.rules[0].mask(plain))
