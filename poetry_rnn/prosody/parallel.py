"""对仗: whether the two lines of a couplet face each other, word by word.

    judge_couplet("無邊落木蕭蕭下", "不盡長江滾滾來")  → CoupletVerdict(kind="工对", score=…, pairs=…)
    couplet_scores(first, second)                      → (loose, strict): the cheap call for a reranker
    score_second_lines(first, candidates)              → one score per candidate second line

The two lines are aligned by position and read by their segmentation (five characters: 2+2+1 or 2+1+2;
seven: 2+2+2+1 or 2+2+1+2, the 4+3 reading being the same cut), one cut for both lines (`segments`): the
one whose two-character words the corpus attests as words (寒月/故鄉, not 嘶寒/夢故). Each
facing pair of characters is judged by what a character is: its classes (天文 地理 时令 植物 动物 器物
宫室 人伦 形体 名物, 数目 颜色 方位, 代词 副词 介连, 动作 形状), learned from the Tang corpus's own parallel couplets and 聲律啓蒙 by
`scripts/build_parallel_data.py` into `data/parallel.json`, and whether the pair itself is attested as
facing there. Reduplication must face reduplication (one alone: 不对); the two lines may share no
character (a repeated character inside each line, mirrored — 巴峽…巫峽 / 襄陽…洛陽 — is not sharing).

A couplet is 工对 when both its loose and strict scores reach the thresholds chosen on the VALID split,
宽对 when the loose one does, else 不对. Scores are means over positions, 0..1. The table is read once,
lazily, on the first call; either script is accepted (simplified characters are looked up as traditional).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from poetry_rnn.cache import BoundedCache
from poetry_rnn.errors import UserError
from poetry_rnn.prosody.patterns import is_pailv_length
from poetry_rnn.prosody.rhyme import is_cjk
from poetry_rnn.script import is_simplified, normalize_variants, to_traditional

DATA_FILE = Path(__file__).resolve().parent / "data" / "parallel.json"
DATA_VERSION = 1

# Each class with its word-class group (for the labels). Same class → 工对; how well two classes face each
# other in a 宽对 is learned (the table's `compat`, e.g. 方位 faces 时令: 東南/日夜).
CLASSES: tuple[tuple[str, str], ...] = (
    ("天文", "名"), ("地理", "名"), ("时令", "名"), ("植物", "名"), ("动物", "名"), ("器物", "名"),
    ("宫室", "名"), ("人伦", "名"), ("形体", "名"), ("名物", "名"), ("数目", "数"), ("颜色", "色"),
    ("方位", "方"), ("代词", "代"), ("副词", "虚"), ("介连", "虚"), ("动作", "动"), ("形状", "形"),
)  # fmt: skip
_CLASS_INDEX = {name: k for k, (name, _) in enumerate(CLASSES)}

UNKNOWN_SCORE = 0.4  # a character not in the table (rare) neither helps nor sinks a couplet
# A two-character word whose last character is a function word (副词, 介连: 雲俱, 頭先, 人已) is no word: an
# adverb, a preposition or an interrogative binds to what follows it. Its word score loses this many
# strengths (doublings of the corpus's attestation) times the character's share of those classes.
FUNCTION_END_PENALTY = 2.0
SHARED_PENALTY = 0.15  # per character the two lines share
# A word pair is 工 (strict) or 宽 (loose) from these mean scores of its characters: for the report only.
PAIR_STRICT = 0.6
PAIR_LOOSE = 0.45
MAX_COUPLET_CHARS = 11  # 聲律啓蒙 pairs reach eleven characters; verse lines have 5 or 7
_ENTRY = re.compile(r"(\D+?)(\d+)")


@dataclass(frozen=True)
class FacingPair:
    """One facing word pair: the characters at positions [start, end) of both lines."""

    left: str
    right: str
    start: int
    end: int
    relation: str  # 工 (same class or attested), 宽 (same word class), 不 (neither)
    label: str  # e.g. "植物/地理", "叠字", "重字"
    score: float

    def to_dict(self) -> dict:
        return {
            "left": self.left,
            "right": self.right,
            "positions": [self.start, self.end],
            "relation": self.relation,
            "label": self.label,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class CoupletVerdict:
    first: str
    second: str
    kind: str  # 工对 宽对 不对
    score: float  # 0..1, the loose score
    strict_score: float
    pairs: tuple[FacingPair, ...]
    shared: str  # characters the two lines share (not mirrored repetition)
    line: int | None = None  # the first line's index in its poem, when judged as part of one

    @property
    def parallel(self) -> bool:
        return self.kind != "不对"

    def deciding_pairs(self) -> tuple[FacingPair, ...]:
        """The pairs that decide the verdict: for 不对 the failing ones (none when every pair faces at least
        loosely: then the shared characters or the loose pairs' mean decide, as `shortfall` says), for a
        parallel couplet the strict ones (else the strongest)."""
        wanted = "工" if self.parallel else "不"
        found = tuple(p for p in self.pairs if p.relation == wanted)
        if found or not self.pairs or not self.parallel:
            return found
        return (max(self.pairs, key=lambda p: p.score),)

    def shortfall(self, loose_threshold: float) -> tuple[str, str]:
        """Why a 不对 couplet falls short, in Chinese and in English ("" for a parallel one): the pairs that
        do not face; the characters both lines use, which 对仗 avoids; and, where no pair fails and the
        shared characters are not enough to sink it (the mean before their penalty reaches
        `loose_threshold`), the pairs that face only loosely (宽), whose mean falls short."""
        if self.parallel:
            return "", ""
        zh, en = [], []
        failing = self.deciding_pairs()
        if failing:
            zh.append("".join(f"「{p.left}/{p.right}」" for p in failing) + "不相对")
            en.append(", ".join(f"{p.left}/{p.right}" for p in failing) + " do not face each other")
        if self.shared:
            zh.append(f"两句同用「{self.shared}」，对仗忌同字")
            en.append(f"both lines use {self.shared}, which parallel lines avoid")
        length = sum(p.end - p.start for p in self.pairs)
        unpenalised = sum(p.score * (p.end - p.start) for p in self.pairs) / length if length else 0.0
        if not failing and (not self.shared or unpenalised < loose_threshold):
            loose = [p for p in self.pairs if p.relation == "宽"]
            if loose and len(loose) == len(self.pairs):
                zh.append("各词仅宽对")
                en.append("every word faces only loosely")
            elif loose:
                zh.append("".join(f"「{p.left}/{p.right}」" for p in loose) + "仅宽对")
                en.append(", ".join(f"{p.left}/{p.right}" for p in loose) + " face only loosely")
        return "，".join(zh), "; ".join(en)

    def to_dict(self) -> dict:
        out = {
            "parallel": self.parallel,
            "kind": self.kind,
            "score": round(self.score, 3),
            "strict_score": round(self.strict_score, 3),
            "pairs": [p.to_dict() for p in self.pairs],
            "shared": self.shared,
        }
        return {"lines": [self.line, self.line + 1], **out} if self.line is not None else out


class ParallelTable:
    """The learned table: classes per character, attested pairs and the verdict thresholds."""

    def __init__(self, data: dict):
        if data.get("version") != DATA_VERSION:
            raise ValueError(f"parallel data version {data.get('version')!r}, expected {DATA_VERSION}")
        self.classes: dict[str, tuple[tuple[int, float], ...]] = {}
        self.probabilities: dict[str, tuple[tuple[int, float], ...]] = {}
        self._main_class: dict[str, str] = {}
        for char, entry in data["chars"].items():
            found = tuple((_CLASS_INDEX[name], int(percent) / 100) for name, percent in _ENTRY.findall(entry))
            self.classes[char] = _unit(found)
            self.probabilities[char] = found
            if found:
                self._main_class[char] = CLASSES[max(found, key=lambda kp: kp[1])[0]][0]
        size = len(CLASSES)
        self.compat = data.get("compat") or [[float(i == j) for j in range(size)] for i in range(size)]
        text = data["pairs"]
        self.pairs = frozenset(text[i : i + 2] for i in range(0, len(text), 2))
        # two-character words attested by the corpus's rhythm, with their strength (1 … ; absent: 0)
        self.words = {
            text[i : i + 2]: int(strength)
            for strength, text in (data.get("words") or {}).items()
            for i in range(0, len(text), 2)
        }
        thresholds = data.get("thresholds") or {}
        self.loose_threshold = float(thresholds.get("loose", 0.5))
        self.strict_threshold = float(thresholds.get("strict", 0.6))
        self._memo: BoundedCache[tuple[float, float]] = BoundedCache(200_000)

    # -- characters ------------------------------------------------------------------------------------
    def main_class(self, char: str) -> str | None:
        return self._main_class.get(char)

    def predicate_weight(self, char: str) -> float:
        """How likely `char` is a predicate (a verb, adjective or function word): its classes' share."""
        return sum(p for k, p in self.probabilities.get(char, ()) if CLASSES[k][0] in _PREDICATE_CLASSES)

    def word_score(self, word: str) -> float:
        """How well two characters read as one word: the strength of the corpus's attestation (about
        log2 of how much more often they stand where a line has a word than across a word boundary; 0 when
        unattested), less FUNCTION_END_PENALTY times the share of function-word classes of the last one."""
        ending = sum(p for k, p in self.probabilities.get(word[-1], ()) if CLASSES[k][0] in _FUNCTION_CLASSES)
        return self.words.get(word, 0) - FUNCTION_END_PENALTY * ending

    def pair_scores(self, a: str, b: str) -> tuple[float, float]:
        """(loose, strict) for two different characters facing each other; memoised per pair."""
        key = a + b if a < b else b + a
        found = self._memo.get(key)
        if found is not None:
            return found
        ca, cb = self.classes.get(a), self.classes.get(b)
        if ca is None or cb is None:
            found = (UNKNOWN_SCORE, UNKNOWN_SCORE)
        else:
            strict = 1.0 if key in self.pairs else _dot(ca, cb)
            loose = max(strict, self._compat_score(a, b))
            found = (loose, strict)
        return self._memo.put(key, found)

    def _compat_score(self, a: str, b: str) -> float:
        compat = self.compat
        return sum(p * q * compat[i][j] for i, p in self.probabilities[a] for j, q in self.probabilities[b])

    # -- couplets --------------------------------------------------------------------------------------
    def position_scores(self, first: str, second: str) -> tuple[list[float], list[float], str]:
        """Per position (loose, strict) scores and the characters the lines share."""
        n = len(first)
        loose = [0.0] * n
        strict = [0.0] * n
        for i, (a, b) in enumerate(zip(first, second, strict=True)):
            if a != b:  # the same character facing itself faces nothing: 0
                loose[i], strict[i] = self.pair_scores(a, b)
        for i in range(n - 1):
            doubled_first = first[i] == first[i + 1]
            doubled_second = second[i] == second[i + 1]
            if doubled_first and doubled_second and first[i] != second[i]:
                loose[i] = loose[i + 1] = strict[i] = strict[i + 1] = 1.0
            elif doubled_first != doubled_second:  # a reduplication facing none faces nothing
                loose[i] = loose[i + 1] = strict[i] = strict[i + 1] = 0.0
        return loose, strict, _shared(first, second)

    def scores(self, first: str, second: str) -> tuple[float, float]:
        """(loose, strict) of a couplet of two equal-length lines already in traditional characters: the
        mean over positions, less a penalty per shared character; 0 for a reduplication in one line alone
        (no real middle couplet has one: 0 of 740 in the valid split's regular 律诗, against 8 % of first
        couplets), which no other pair makes up for."""
        if unmirrored_doubling(first, second):
            return 0.0, 0.0
        return _means(*self.position_scores(first, second))

    def kind(self, loose: float, strict: float) -> str:
        if loose < self.loose_threshold:
            return "不对"
        return "工对" if strict >= self.strict_threshold else "宽对"

    def judge(self, first: str, second: str) -> CoupletVerdict:
        loose_at, strict_at, shared = self.position_scores(first, second)
        loose, strict = (
            (0.0, 0.0) if unmirrored_doubling(first, second) else _means(loose_at, strict_at, shared)
        )
        pairs = []
        for start, end in segments(first, second, self):
            left, right = first[start:end], second[start:end]
            unit_loose = sum(loose_at[start:end]) / (end - start)
            unit_strict = sum(strict_at[start:end]) / (end - start)
            relation = "工" if unit_strict >= PAIR_STRICT else "宽" if unit_loose >= PAIR_LOOSE else "不"
            pairs.append(FacingPair(left, right, start, end, relation, self._label(left, right), unit_loose))
        return CoupletVerdict(first, second, self.kind(loose, strict), loose, strict, tuple(pairs), shared)

    def _label(self, left: str, right: str) -> str:
        if len(left) == 2 and (left[0] == left[1]) != (right[0] == right[1]):
            return "叠字不对"
        if len(left) == 2 and left[0] == left[1] and right[0] == right[1]:
            return "叠字"
        if any(a == b for a, b in zip(left, right, strict=True)):
            return "重字"
        # The head of a classical compound is its last character (落木: 木, 長江: 江).
        return f"{self.main_class(left[-1]) or '?'}/{self.main_class(right[-1]) or '?'}"


def segments(first: str, second: str, table: ParallelTable | None = None) -> list[tuple[int, int]]:
    """The word units of a couplet, one cut for both lines: pairs of characters from the start, the last
    three read as 2+1 (國破|山河|在, 落木|蕭蕭|下) or 1+2 (開軒|面|場圃, 隨風|潛|入夜, 竹喧|歸|浣女).

    A doubling is a word (蕭蕭|下 but 淒淒|去). Else the cut kept is the one whose two-character words, in
    both lines together, read better as words (`ParallelTable.word_score`): 戰馬|嘶|寒月 and 征人|夢|故鄉,
    for the corpus attests 寒月 and 故鄉 as words and not 嘶寒 and 夢故; 誰知|今夜|月 and 猶照|舊時|樓; 頭|先白
    and 夢|亦空, for a word does not end in an adverb (頭先, 夢亦). Where the two readings score alike
    (neither attested, no function word), the characters' classes decide (`_tail_by_classes`).
    The verdict itself does not depend on the cut: it is a mean over the facing characters, which are the
    same under either; the cut names the words that face (and those that fail)."""
    n = len(first)
    if n < 3:
        return [(0, n)]
    head = [(i, i + 2) for i in range(0, n - 3, 2)]
    tail = n - 3
    if n % 2 == 0:  # even lengths (聲律啓蒙 phrases) are pairs throughout
        return [(i, min(i + 2, n)) for i in range(0, n, 2)]
    two_one = [*head, (tail, tail + 2), (tail + 2, n)]
    one_two = [*head, (tail, tail + 1), (tail + 1, n)]
    if first[-1] == first[-2] and second[-1] == second[-2]:
        return one_two
    if (first[tail] == first[tail + 1] and second[tail] == second[tail + 1]) or table is None:
        return two_one
    lines = (first, second)
    lean = sum(table.word_score(line[tail : tail + 2]) - table.word_score(line[tail + 1 :]) for line in lines)
    if lean != 0:
        return two_one if lean > 0 else one_two
    return one_two if _tail_by_classes(lines, table) else two_one


def _tail_by_classes(lines: tuple[str, str], table: ParallelTable) -> bool:
    """Whether the last three characters read 1+2 by their classes alone, where the corpus attests neither
    reading's words: a numeral or colour opens a two-character word (千秋|雪, 黃牛|峽); else 1+2 when in both
    lines the tail's first character is likelier a predicate (a verb, adjective or function word) than its
    last one, or when both open with a verb or function word and the two lines together lean that way."""
    tail = len(lines[0]) - 3
    if any(table.main_class(line[tail]) in _MODIFIER_CLASSES for line in lines):
        return False
    lead = [table.predicate_weight(line[tail]) - table.predicate_weight(line[-1]) for line in lines]
    verbal = all(table.main_class(line[tail]) in _VERBAL_CLASSES for line in lines)
    return all(x > 0 for x in lead) or (verbal and sum(lead) > 0)


_VERBAL_CLASSES = frozenset({"动作", "副词", "介连"})
_PREDICATE_CLASSES = frozenset({*_VERBAL_CLASSES, "形状"})
_MODIFIER_CLASSES = frozenset({"数目", "颜色"})
_FUNCTION_CLASSES = frozenset({"副词", "介连"})


def _means(loose: list[float], strict: list[float], shared: str) -> tuple[float, float]:
    """(loose, strict) means over positions, less SHARED_PENALTY per character the lines share."""
    penalty = SHARED_PENALTY * len(shared)
    n = len(loose)
    return max(0.0, sum(loose) / n - penalty), max(0.0, sum(strict) / n - penalty)


def unmirrored_doubling(first: str, second: str) -> bool:
    """Whether one line reduplicates a character (蕭蕭) where the other does not (滾滾 would mirror it)."""
    return any(
        (first[i] == first[i + 1]) != (second[i] == second[i + 1])
        for i in range(min(len(first), len(second)) - 1)
    )


def _dot(x: tuple[tuple[int, float], ...], y: tuple[tuple[int, float], ...]) -> float:
    total = 0.0
    for i, p in x:
        for j, q in y:
            if i == j:
                total += p * q
    return total


def _unit(entries: tuple[tuple[int, float], ...]) -> tuple[tuple[int, float], ...]:
    """Scale to unit length, so that a character facing one of its own classes scores 1."""
    norm = math.sqrt(sum(p * p for _, p in entries)) or 1.0
    return tuple((k, p / norm) for k, p in entries)


def _shared(first: str, second: str) -> str:
    """Characters in both lines. (Repetition inside each line, mirrored — 巴峽…巫峽 / 襄陽…洛陽 — shares
    nothing.)"""
    return "".join(sorted(set(first) & set(second)))


# ---------------------------------------------------------------------------------------------------
# The shared table and the public calls
# ---------------------------------------------------------------------------------------------------
_lock = threading.Lock()
_table: ParallelTable | None = None


def load_table(path: str | Path | None = None) -> ParallelTable:
    """The shipped table (read once per process), or the one at `path` (read every call)."""
    global _table
    if path is not None:
        return ParallelTable(json.loads(Path(path).read_text(encoding="utf-8")))
    if _table is None:
        with _lock:
            if _table is None:
                _table = ParallelTable(json.loads(DATA_FILE.read_text(encoding="utf-8")))
    return _table


def normalize_lines(lines: Sequence[str]) -> list[str]:
    """Lines in the table's spelling: variants normalised, and the whole text converted to traditional at
    once, so that OpenCC reads each character in context (新雨后 → 新雨後, while 后 alone is also a
    traditional character), when it is simplified (nothing in it traditional only, as the generator reads
    its input: 浮云游子意 is 浮雲遊子意, though 云 "to say" is in the table) or has a character the table
    lacks."""
    classes = load_table().classes
    joined = "\n".join(normalize_variants(line) for line in lines)
    simplified = is_simplified(joined)
    if not simplified and all(c in classes for c in joined if c != "\n"):
        return joined.split("\n")
    converted = to_traditional(joined).split("\n")
    spelled = joined.split("\n")
    if [len(line) for line in converted] != [len(line) for line in spelled]:
        return spelled  # OpenCC maps characters one to one; should it ever not, keep the input
    return converted


def validate_couplet(first: str, second: str) -> tuple[str, str]:
    """Both lines, spaces removed; UserError unless two equal-length runs of Chinese characters."""
    if not isinstance(first, str) or not isinstance(second, str):
        raise UserError("a couplet is two lines of text", field="text")
    first, second = "".join(first.split()), "".join(second.split())
    for line in (first, second):
        other = sorted({c for c in line if not is_cjk(c)})
        if other:
            raise UserError(
                f"a couplet line may contain only Chinese characters; found {' '.join(other)[:100]}",
                field="text",
            )
        if not 1 <= len(line) <= MAX_COUPLET_CHARS:
            raise UserError(
                f"a couplet line has 1 to {MAX_COUPLET_CHARS} characters (verse: 5 or 7); got {len(line)}",
                field="text",
            )
    if len(first) != len(second):
        raise UserError(
            f"the two lines of a couplet have the same length; got {len(first)} and {len(second)}",
            field="text",
        )
    return first, second


def judge_couplet(first: str, second: str) -> CoupletVerdict:
    """The verdict on a couplet (either script), with its facing word pairs."""
    first, second = validate_couplet(first, second)
    verdict = load_table().judge(*normalize_lines([first, second]))
    return _as_written(verdict, first, second)


def _as_written(verdict: CoupletVerdict, first: str, second: str) -> CoupletVerdict:
    """The verdict with its words as the user wrote them (the table's spelling may differ)."""
    if (verdict.first, verdict.second) == (first, second):
        return verdict
    pairs = tuple(
        FacingPair(
            first[p.start : p.end], second[p.start : p.end], p.start, p.end, p.relation, p.label, p.score
        )
        for p in verdict.pairs
    )
    shared = _shared(first, second) or verdict.shared
    return CoupletVerdict(first, second, verdict.kind, verdict.score, verdict.strict_score, pairs, shared)


def judge_lines(lines: Sequence[str]) -> list[CoupletVerdict | None]:
    """A verdict per couplet (lines 0–1, 2–3, …) of lines of Chinese characters only; None for a couplet
    whose lines differ in length. A last odd line has no couplet."""
    table = load_table()
    spelled = normalize_lines(lines)
    verdicts: list[CoupletVerdict | None] = []
    for i in range(0, len(lines) - 1, 2):
        first, second = lines[i], lines[i + 1]
        if len(first) != len(second) or not first:
            verdicts.append(None)
            continue
        verdict = _as_written(table.judge(spelled[i], spelled[i + 1]), first, second)
        verdicts.append(replace(verdict, line=i))
    return verdicts


def couplet_scores(first: str, second: str) -> tuple[float, float]:
    """(loose, strict) scores of a couplet, 0..1, without the pairs: for rerankers. No validation: two
    equal-length lines of Chinese characters (either script) are expected."""
    return load_table().scores(*normalize_lines([first, second]))


def couplet_kind(first: str, second: str) -> str:
    """工对, 宽对 or 不对 for two equal-length lines (no validation, no pairs)."""
    return load_table().kind(*couplet_scores(first, second))


def score_second_lines(first: str, candidates: Iterable[str]) -> list[float]:
    """The loose score of each candidate second line against the first line (0 for a length mismatch)."""
    table = load_table()
    spelled = normalize_lines([first, *candidates])
    first = spelled[0]
    return [table.scores(first, c)[0] if len(c) == len(first) else 0.0 for c in spelled[1:]]


# The couplets' names, by the poem's line count: the one place the checker, the CLI and the app take them
# from. A 律诗's four are the parts of its body, head to tail (首 颔 颈 尾). A 绝句 has no middle, so its two
# are named by their order, 前联 and 后联: 首联/尾联 would call them a 律诗's free first and last couplets,
# while both may be parallel like a 律诗's middle (杜甫's 「两个黄鹂鸣翠柳，一行白鹭上青天」 and the next).
_COUPLET_NAMES = {4: ("前联", "后联"), 8: ("首联", "颔联", "颈联", "尾联")}
_COUPLET_NAMES_EN = {
    4: ("first couplet", "second couplet"),
    8: ("opening couplet", "chin couplet", "neck couplet", "closing couplet"),
}


def couplet_names(line_count: int) -> tuple[str, ...]:
    """The Chinese names of the couplets of a poem of `line_count` lines, in order: a 绝句's two, a 律诗's
    four, a 排律's 首联, 第二联 … and 尾联; () for a count that has none."""
    if is_pailv_length(line_count):  # a 排律's middle couplets are named by their order
        middle = tuple(f"第{_ordinal(k + 1)}联" for k in range(1, line_count // 2 - 1))
        return ("首联", *middle, "尾联")
    return _COUPLET_NAMES.get(line_count, ())


def couplet_names_en(line_count: int) -> tuple[str, ...]:
    """The English names of the couplets `couplet_names` gives: a 律诗's opening, chin, neck and closing
    couplets, a 排律's middle ones by their order (couplet 2 …)."""
    chinese = couplet_names(line_count)
    if not chinese or line_count in _COUPLET_NAMES_EN:
        return _COUPLET_NAMES_EN.get(line_count, ())
    return ("opening couplet", *(f"couplet {k}" for k in range(2, len(chinese))), "closing couplet")


_ORDINALS = "一二三四五六七八九"


def _ordinal(number: int) -> str:
    """一 … 九十九 (十一, 二十, 二十五)."""
    tens, ones = divmod(number, 10)
    return (f"{_ORDINALS[tens - 1] if tens > 1 else ''}十" if tens else "") + (
        _ORDINALS[ones - 1] if ones else ""
    )


def stolen_spring(couplets: Iterable[CoupletVerdict], form: str | None) -> dict | None:
    """The 偷春格 licence of a 律诗 whose 颔联 is not parallel while its 首联 is a 工对 and its 颈联 parallel
    (李白《送友人》: 青山横北郭，白水绕东城 faces in place of the next couplet), as the analysis reports a
    licence: {line, kind, positions, note}; None for any other poem. A 宽对 首联 does not count: first
    couplets read as 宽对 by chance far more often than as 工对."""
    if form not in ("wulv", "qilv"):
        return None
    kinds = {couplet.line: couplet.kind for couplet in couplets}
    if kinds.get(0) != "工对" or kinds.get(2) != "不对" or kinds.get(4, "不对") == "不对":
        return None
    note = (
        "首联工对而颔联不对，为偷春格，颔联不对仗不算问题 "
        "(the first couplet is parallel in place of the second: the accepted 偷春格, no fault)"
    )
    return {"line": 2, "kind": "偷春格", "positions": [], "note": note}


def middle_couplet_faults(couplets: Iterable[CoupletVerdict], form: str | None) -> list[tuple[int, str]]:
    """(first line, message) for each middle couplet of a 律诗 (lines 3–4, 5–6) or a 排律 (every couplet but
    the first and the last) that is not parallel, but for a 律诗's 颔联 a 偷春格 excuses (`stolen_spring`);
    the first and last couplets, and every couplet of other forms, are free. The message says what falls
    short (`CoupletVerdict.shortfall`): the pairs that do not face, a character both lines use, or words
    that face only loosely — never a 宽 pair as 不相对."""
    if form not in ("wulv", "qilv", "wupailv", "qipailv"):
        return []
    couplets = list(couplets)
    excused = 2 if stolen_spring(couplets, form) else None
    line_count = 2 * len(couplets)
    names, names_en = couplet_names(line_count), couplet_names_en(line_count)
    threshold = load_table().loose_threshold
    faults = []
    for couplet in couplets:
        middle = 2 <= couplet.line <= line_count - 4
        if middle and not couplet.parallel and couplet.line != excused:
            name, name_en = names[couplet.line // 2], names_en[couplet.line // 2]
            zh, en = couplet.shortfall(threshold)
            faults.append(
                (
                    couplet.line,
                    f"第{couplet.line + 1}、{couplet.line + 2}句（{name}）不对仗{'：' + zh if zh else ''} "
                    f"(lines {couplet.line + 1}–{couplet.line + 2}, the {name_en} ({name}), are not parallel"
                    f"{': ' + en if en else ''})",
                )
            )
    return faults
