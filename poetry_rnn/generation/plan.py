"""A plan: one keyword per couplet, so that a poem stays in one scene and moves (起承转合).

    make_plan(couplets=4, seeds=["送別"], seed=7)   # Plan(keywords=('秋', '岸', '楊柳', '舟'), source='title')

Planning-based generators first choose what each part of a poem is about and then write it. Here a plan
is one short word (one or two characters) per couplet: 2 for a 绝句, 4 for a 律诗. Its keywords come
- from the title, the keywords and the theme of the request: those that are plan keywords fill the first
  slots, and all of them choose the rest (a title's words are read character by character too, 春望: 春;
  a theme's only whole, or through the table's longer words in them: no 鐵 of 高鐵);
- or, with none of these, from the corpus: the first keyword drawn by how often poems have it (seeded by
  the request's seed), the rest as for a title;
- or from the user (`plan="春风,柳,孤城,归"`, checked by `parse_plan`).
The rest are drawn from a keyword's neighbours in the corpus (poems that have one keyword often have the
other: a 送别 poem has 楊柳, 帆, 鄉), favouring those that go with every keyword chosen so far, and put in
the order in which poems tend to use them (a scene first, a feeling last). The table of keywords and
neighbours is built from the train split by scripts/build_plan_data.py (prosody/data/plan_keywords.json).

While a couplet is written, poetry_rnn.decoding.rules.plan.PlanRule favours its keyword; reranking favours
candidates whose couplets contain their keywords (generation.rerank).
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.keywords import in_verse_words, verse_words
from poetry_rnn.prosody.rhyme import is_cjk
from poetry_rnn.script import convert, normalize_variants, words_to_traditional

__all__ = [
    "DATA_FILE",
    "Plan",
    "PlanTable",
    "couplets_following",
    "load_table",
    "make_plan",
    "parse_plan",
    "plan_share",
    "request_plan",
    "PLAN_BONUS",
    "PLAN_OPENING",
]

DATA_FILE = Path(__file__).resolve().parent.parent / "prosody" / "data" / "plan_keywords.json"
DATA_VERSION = 1
MAX_WORD_CHARS = 2
# Whether requests without a plan get one (title, keywords or theme requests; not free ones, whose drawn
# keywords readers did not miss, nor those with an acrostic or a first line, which already say how the
# poem goes): see docs/experiments.md.
AUTOMATIC = True
PLAN_OPENING = 0.2  # the share of the bonus at a couplet's first character, rising to all of it at its last
PLAN_BONUS = 10.0  # added to the log-weight of the keyword's pieces while its couplet lacks it (measured)
OFF = frozenset({"off", "none", "no", "无", "無", "关", "關"})  # besides "": what turns the plan off
DRAW = "draw"  # a plan drawn from the corpus, for any request (parse_plan's answer to these words):
DRAW_WORDS = frozenset({DRAW, "random", "随机", "隨機"})
FREE_KEYWORDS = 300  # free plans start from one of this many keywords of the most poems
COMMON_POEMS = 200  # a character of a title word fills a slot only if it is a keyword of this many poems
FREQUENCY_DAMPING = (
    1.0  # free plans draw their first keyword ∝ poems ** this (below 1: rarer words more often)
)
CHOICES = 5  # each keyword after the first is drawn from this many best-scored neighbours
CHOICE_TEMPERATURE = 0.35  # ... with probability ∝ exp(score / this)
CHOSEN_WEIGHT = 0.7  # a keyword chosen by the plan counts this much beside a keyword of the request
MISSING_SCORE = -1.5  # a candidate that is no neighbour of some keyword: below every kept neighbour
# The last character of a Chinese place name says what kind of place it is (通名: 青海湖 a lake, 鼓浪嶼 an
# island, 梵淨山 a mountain): a name the table lacks plans with that. Only landscape kinds whose words in the
# table go with such places: not 海 (上海), 池 (電池), nor 城, 州, 鎮, 河, 關, whose Tang words are soldiers
# and governors.
PLACE_KINDS = frozenset("湖山江島嶼峰寺塔橋園村溪泉潭灣峽灘亭洲谷")
_SPLIT = re.compile(r"[\s,，、;；/|·]+")


@dataclass(frozen=True)
class Plan:
    """One keyword per couplet, in the characters the model writes; `source` says where they came from
    (title, theme, keywords, free or given)."""

    keywords: tuple[str, ...]
    source: str

    def shown(self, script: str) -> list[str]:
        """The keywords in the user's script."""
        return [convert(word, script) for word in self.keywords]


# ------------------------------------------------------------------------------------------ the request
def parse_plan(value, couplets: int) -> tuple[str, ...] | str | None:
    """A plan as a request gives it: None (automatic), () for no plan ("" or "off"), DRAW for one drawn from
    the corpus ("draw", 随机), or one keyword per couplet (a string separated by commas, spaces or 、, or a
    list), each one or two Chinese characters, returned in traditional characters; fewer keywords than
    couplets leave the last couplets free. UserError naming what is wrong otherwise."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in OFF or not value.strip():
            return ()
        if value.strip().lower() in DRAW_WORDS:
            return DRAW
        items = [item for item in _SPLIT.split(value.strip()) if item]
    elif isinstance(value, (list, tuple)):
        items = [item for item in value if not (isinstance(item, str) and not item.strip())]
        if not items:
            return ()
    else:
        raise UserError.of("plan_not_keywords", "plan", value=value)
    words = []
    for item in items:
        if not isinstance(item, str):
            raise UserError.of("plan_keyword_not_text", "plan", value=item)
        word = "".join(item.split())
        if not 1 <= len(word) <= MAX_WORD_CHARS or not all(is_cjk(c) for c in word):
            raise UserError.of("plan_keyword_chars", "plan", word=word)
        words.append(word)
    words = words_to_traditional(words)  # as the plan reads as a whole (里 among traditional words stays 里)
    if len(words) > couplets:
        plural = "s" if len(words) != 1 else ""
        raise UserError.of("plan_count", "plan", given=len(words), plural=plural, couplets=couplets)
    return tuple(words)


# ------------------------------------------------------------------------------------------ the table
class PlanTable:
    """The keywords of the train split (poems that have each, where in a poem it stands) and each key's
    best neighbours with their scores (see scripts/build_plan_data.py)."""

    def __init__(self, document: dict):
        if document.get("version") != DATA_VERSION:
            raise ValueError(f"plan data version {document.get('version')!r}, expected {DATA_VERSION}")
        self.keywords: dict[str, tuple[int, int]] = {w: (n, p) for w, (n, p) in document["keywords"].items()}
        self.neighbours: dict[str, dict[str, float]] = {
            key: {word: score for word, score in found} for key, found in document["neighbours"].items()
        }
        self._longest_key = max((len(k) for k in self.neighbours), default=1)

    def position(self, word: str) -> int:
        """Where in a poem the keyword tends to stand: 0 the first couplet … 100 the last."""
        return self.keywords.get(word, (0, 50))[1]

    def keys_in(self, text: str, shortest: int = 1) -> list[str]:
        """The table's words in a text, longest first at each place: its keys and, of one character, its
        keywords (a title: 月夜 and 憶 in 月夜憶舍弟); with `shortest=2` its keys and keywords of two or more
        characters only (a theme's word: 梅雨 of 梅雨季, never a character cut out of it)."""
        text = normalize_variants(text)
        found: list[str] = []
        start = 0
        while start < len(text):
            for size in range(min(self._longest_key, len(text) - start), shortest - 1, -1):
                piece = text[start : start + size]
                listed = piece in self.keywords and (size == 1 or shortest > 1)
                if piece in self.neighbours or listed:
                    found.append(piece)
                    start += size
                    break
            else:
                start += 1
        return list(dict.fromkeys(found))


_table: PlanTable | None = None
_lock = threading.Lock()


def load_table() -> PlanTable:
    """The shipped table (loaded once)."""
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = PlanTable(json.loads(DATA_FILE.read_text(encoding="utf-8")))
    return _table


# ------------------------------------------------------------------------------------------ planning
def make_plan(
    couplets: int,
    seeds: Sequence[str] = (),
    seed: int = 0,
    writable: Callable[[str], bool] = lambda word: True,
    source: str | None = None,
    table: PlanTable | None = None,
    theme_words: Sequence[str] = (),
    attested: Callable[[str], bool] = lambda word: False,
    related_only: bool = False,
) -> Plan:
    """A plan of `couplets` keywords. `seeds`: words of the request (title words, keywords; traditional);
    the plan keywords among them fill the first slots, and all of them choose the rest. `theme_words`: a
    theme's keywords, already in verse's words (keywords.theme_keywords), used after the seeds and only
    whole; `attested(word)` says whether the corpus's lines use one the table lacks (西湖, 小院). Without
    either the first keyword is drawn from the corpus. `related_only` (a theme's plan): where the table
    has nothing that goes with the words chosen, the last couplets are left free rather than given keywords
    drawn at random (西湖 → 天, 洞, 華陽), and a theme that gives the plan no word gives it none (Plan(()));
    the model, told the theme as a title, writes those couplets. `writable(word)` says whether the model
    can write a word. The same arguments give the same plan."""
    table = table or load_table()
    rng = random.Random(seed)
    queries: dict[str, float] = {}  # key → weight in the neighbours' scores
    chosen: list[str] = []
    for seed_word in (normalize_variants(w) for w in seeds):
        # the table's words in it, read as verse would say it (夏天的雨: 夏, 雨, not the 天 of 夏天)
        keys = [seed_word] if seed_word in table.neighbours else table.keys_in(in_verse_words(seed_word))
        for key in keys:
            queries.setdefault(key, 1.0)
        # the word itself, or the table's words in it (月夜 in 月夜憶舍弟); a single character only if
        # common (春 of 春望, not 士 of 將士)
        for word in [seed_word, *keys]:
            common = word == seed_word or len(word) > 1 or table.keywords.get(word, (0,))[0] >= COMMON_POEMS
            if len(chosen) < couplets and common and _usable(word, chosen, table, writable):
                chosen.append(word)
    for theme_word in (normalize_variants(w) for w in theme_words):
        keys, slots = _theme_word_keys(theme_word, table, attested)
        for key in keys:
            queries.setdefault(key, 1.0)
        for word in slots:
            if len(chosen) < couplets and _usable(word, chosen, table, writable, listed=False):
                chosen.append(word)
    given = len(chosen)
    if not chosen and not queries:
        if related_only:
            return Plan((), source or "theme")
        chosen.append(_draw_first(table, rng, writable))
        source = source or "free"
    for word in chosen:
        queries.setdefault(word, CHOSEN_WEIGHT)
    while len(chosen) < couplets:
        word = _draw_neighbour(table, queries, chosen, rng, writable, related_only)
        if word is None:
            break
        chosen.append(word)
        queries.setdefault(word, CHOSEN_WEIGHT)
    # the request's own keywords first; the others in the order poems tend to use them
    planned = chosen[:given] + sorted(chosen[given:], key=table.position)
    return Plan(tuple(planned), source or "title")


def _theme_word_keys(
    word: str, table: PlanTable, attested: Callable[[str], bool]
) -> tuple[list[str], list[str]]:
    """(the keys a theme's word asks the table with, the words it may fill a slot with), never a single
    character cut out of it: a word verse uses (the table's, a verse word of keywords.modern_words such as
    音書, or one the corpus's lines have, such as 西湖) fills a slot whole; a modern word none of them knows
    (高鐵, 網戀, 曬太陽) only through the table's longer words in it, read as verse would say it (梅雨季:
    梅雨; 曬太陽 → 曬白日: 白日). Its characters alone would steer the poem elsewhere (鐵 to weapons, 網 to
    birds and cages); only an unknown place name's last character, the kind of place (PLACE_KINDS: 湖 of
    青海湖), asks the table and fills a slot. (Not for a name verse has: 西湖 is no 洞庭, 湖's first neighbour.)"""
    if word in table.neighbours:
        return [word], [word]
    verse = in_verse_words(word)
    longer = table.keys_in(verse, shortest=2)
    kind = [word[-1]] if len(word) > 1 and word[-1] in PLACE_KINDS and word[-1] in table.neighbours else []
    if (
        word in table.keywords
        or word in verse_words()
        or (verse == word and len(word) > 1 and attested(word))
    ):
        return [key for key in longer if key != word], [word]
    if not longer and kind:  # a place the table lacks (青海湖): the kind of place (湖) asks, and fills a slot
        return kind, [key for key in kind if key in table.keywords]
    return longer, longer


def _usable(
    word: str,
    chosen: Sequence[str],
    table: PlanTable,
    writable: Callable[[str], bool],
    listed: bool = True,
) -> bool:
    """Whether a word may fill a slot: short, sharing no character with a keyword chosen, writable, and
    (where `listed`) a keyword of the table."""
    return (
        (word in table.keywords or not listed)
        and len(word) <= MAX_WORD_CHARS
        and not any(set(word) & set(other) for other in chosen)
        and writable(word)
    )


def _draw_first(table: PlanTable, rng: random.Random, writable: Callable[[str], bool]) -> str:
    """A keyword of many poems, drawn by how many: rarer ones are names and oddities (芒, 趨)."""
    common = sorted(table.keywords, key=lambda w: (-table.keywords[w][0], w))[:FREE_KEYWORDS]
    words = [w for w in sorted(common) if w in table.neighbours and writable(w)]
    weights = [table.keywords[w][0] ** FREQUENCY_DAMPING for w in words]
    return rng.choices(words, weights)[0]


def _draw_neighbour(
    table: PlanTable,
    queries: dict[str, float],
    chosen: Sequence[str],
    rng: random.Random,
    writable: Callable[[str], bool],
    related_only: bool = False,
) -> str | None:
    """A keyword that goes with the queries (their neighbours' scores, weighted), sharing no character with
    a keyword chosen or asked for; where none does, one drawn as for a free plan, or None if
    `related_only`."""
    taken = set("".join(chosen)) | set("".join(queries))
    candidates = {w for key in queries for w in table.neighbours.get(key, {})}
    scored = []
    for word in sorted(candidates):
        if set(word) & taken or not _usable(word, chosen, table, writable):
            continue
        score = sum(
            weight * table.neighbours.get(key, {}).get(word, MISSING_SCORE) for key, weight in queries.items()
        )
        scored.append((score / sum(queries.values()), word))
    if not scored and related_only:
        return None
    if not scored:  # nothing goes with them in the corpus: a keyword drawn as for a free plan
        for _ in range(100):
            word = _draw_first(table, rng, writable)
            if not set(word) & taken:
                return word
        return _draw_first(table, rng, writable)
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[:CHOICES]
    top = best[0][0]
    weights = [math.exp((score - top) / CHOICE_TEMPERATURE) for score, _ in best]
    return rng.choices([word for _, word in best], weights)[0]


# ------------------------------------------------------------------------------------------ following
def couplets_following(lines: Sequence[str], keywords: Sequence[str]) -> list[bool]:
    """Per couplet of the plan, whether the poem up to the couplet's end contains its keyword (variants as
    one): a keyword an earlier line has is met, as the plan rule takes it."""
    found = []
    for index, word in enumerate(keywords):
        written = lines[: 2 * index + 2]
        word = normalize_variants(word)
        found.append(any(word in normalize_variants(line) for line in written))
    return found


def plan_share(followed: Sequence[bool]) -> float | None:
    """The share of couplets that contain their keyword, from couplets_following (None without a plan)."""
    return sum(followed) / len(followed) if followed else None


# ------------------------------------------------------------------------------------------ one request
def request_plan(
    given: tuple[str, ...] | str | None,
    couplets: int,
    seeds: Sequence[str],
    automatic: bool,
    seed: int,
    writable: Callable[[str], bool],
    source: str,
    theme_words: Sequence[str] = (),
    attested: Callable[[str], bool] = lambda word: False,
    related_only: bool = False,
) -> Plan | None:
    """The plan of one request: the user's (`given`, from parse_plan; () for none), else, where `automatic`
    (and the request is not a free one) or `given` is DRAW, one made from `seeds` (the title and keywords,
    traditional) and `theme_words` (a theme's keywords), or drawn from the corpus where they give none,
    with the request's seed; `attested(word)`: whether verse uses a word, `related_only`: a theme's plan
    (make_plan); None for a plan with no keyword. UserError where the model cannot write a keyword the user
    gave."""
    if given == ():
        return None
    if given == DRAW:
        automatic = True
    elif given is None and source == "free":
        return None
    elif given is not None:
        missing = [word for word in given if not writable(word)]
        if missing:
            raise UserError.of("plan_not_writable", "plan", words="、".join(missing))
        return Plan(tuple(given), "given")
    if not (automatic and AUTOMATIC):
        return None
    plan = make_plan(
        couplets,
        seeds,
        seed,
        writable,
        source,
        theme_words=theme_words,
        attested=attested,
        related_only=related_only,
    )
    return plan if plan.keywords else None
