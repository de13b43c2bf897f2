"""Writing systems: traditional ↔ simplified (OpenCC) and the variant characters the rhyme tables need.

The Tang corpus is traditional, and so is the default model. Users may type simplified: a simplified
character stands for every traditional character that converts to it (发 → 發, 髮), see `SimplifiedIndex`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from poetry_rnn.lazy_import import import_modules

log = logging.getLogger(__name__)

SCRIPTS = ("traditional", "simplified")

# Variant forms in the corpus → the form the rhyme tables (and the model) use. Applied by corpus cleaning
# and to user input, so 爲 and 為 are one character everywhere.
# fmt: off
VARIANTS: dict[str, str] = {
    "爲": "為", "羣": "群", "衆": "眾", "牀": "床", "裏": "裡", "綫": "線", "媿": "愧", "眞": "真",
    "鴈": "雁", "峯": "峰", "僊": "仙", "囘": "回", "廻": "迴", "閒": "閑", "徧": "遍", "鷄": "雞",
    "嶋": "島", "晝": "晝", "粧": "妝", "菓": "果", "牋": "箋", "箇": "個", "甎": "磚", "盃": "杯",
    "衞": "衛", "鬭": "鬥", "讎": "仇", "歎": "嘆", "蹟": "跡", "迹": "跡", "鍊": "煉", "脣": "唇",
    "隄": "堤", "凴": "憑", "竝": "並", "啓": "啟", "靑": "青", "淸": "清", "溼": "濕", "潛": "潜",
    # Rare spellings in the corpus whose standard form is in the 平水韵 table (scripts/prosody_coverage.py).
    "疎": "疏", "劒": "劍", "猨": "猿", "鬬": "鬥", "斾": "旆", "蘂": "蕊", "堦": "階", "臯": "皋",
    "珮": "佩", "飜": "翻", "髪": "髮", "秪": "祇", "秖": "祇", "暎": "映", "妬": "妒", "隣": "鄰",
    "檝": "楫", "呌": "叫", "顇": "悴", "巵": "卮", "鏁": "鎖", "逈": "迥", "鵶": "鴉", "讐": "仇",
    "緜": "綿", "缾": "瓶", "壻": "婿", "壠": "壟", "栢": "柏", "棃": "梨", "鸎": "鶯", "筯": "箸",
    "帬": "裙", "碁": "棋", "牕": "窗", "藂": "叢", "趂": "趁", "邨": "村", "懽": "歡", "歘": "欻",
    "飡": "餐", "虵": "蛇", "徴": "徵", "峩": "峨", "輭": "軟", "畧": "略", "舃": "舄", "汚": "汙",
    "効": "效", "悞": "誤", "欵": "款", "穉": "稚", "怱": "匆", "犂": "犁", "鼈": "鱉", "輙": "輒",
    "瓌": "瑰", "勅": "敕", "胷": "胸", "湼": "涅", "郄": "郤", "慙": "慚", "鱠": "膾",
}
# fmt: on


def normalize_variants(text: str) -> str:
    """Map variant characters to the forms the rhyme tables use (爲 → 為)."""
    # translate() looks every character up in a dict; most text has no variant at all, and one regex search
    # tells that without visiting each character in Python
    return text.translate(_VARIANT_TABLE) if _VARIANT_CHARS.search(text) else text


_VARIANT_TABLE = str.maketrans(VARIANTS)
_VARIANT_CHARS = re.compile("[" + "".join(VARIANTS) + "]")


@lru_cache(maxsize=8)
def _converter(config: str):
    # Official OpenCC only (package `opencc`); `opencc-python-reimplemented` installs the same module name.
    import_modules("opencc")
    import opencc

    return opencc.OpenCC(config if config.endswith(".json") else f"{config}.json")


# OpenCC simplifies some traditional characters to forms in the CJK extension blocks, which common fonts
# cannot draw (劚 → 㔉, 艣 → 𫇛). Where a common simplified form exists it is used; otherwise the traditional
# character stays.
COMMON_SIMPLIFIED: dict[str, str] = {
    "艣": "橹", "礮": "炮", "竚": "伫", "勑": "敕", "蹔": "暂", "糺": "纠", "蒭": "刍", "勣": "绩", "緍": "缗",
}  # fmt: skip
_RARE_GLYPHS = re.compile("[\u3400-\u4dbf\U00020000-\U0003ffff]")


def is_rare_glyph(char: str) -> bool:
    """Whether `char` lies in a CJK extension block (A, B and beyond): missing from most fonts."""
    return bool(_RARE_GLYPHS.fullmatch(char))


def to_simplified(text: str) -> str:
    converted = _converter("t2s").convert(text)
    if not _RARE_GLYPHS.search(converted):
        return converted
    if len(converted) != len(text):  # a phrase changed length: go character by character
        converted = "".join(_converter("t2s").convert(c) for c in text)
    return "".join(
        COMMON_SIMPLIFIED.get(source, source)
        if is_rare_glyph(simple) and not is_rare_glyph(source)
        else simple
        for source, simple in zip(text, converted, strict=True)
    )


def simplified_alike(text: str) -> str:
    """`text` in simplified script, one character for each: where OpenCC would convert a phrase into one of
    another length, each character alone (a character it cannot convert stays)."""
    simple = to_simplified(text)
    if len(simple) == len(text):
        return simple
    return "".join(to_simplified(c)[:1] or c for c in text)


def is_simplified(text: str) -> bool:
    """Whether `text` reads as simplified: nothing in it is traditional only. A text of characters both
    scripts share counts too, so converting it to traditional is safe (浮云游子意 is 浮雲遊子意: 云
    "to say" exists in traditional script, but nothing here asks for that reading)."""
    return to_simplified(text) == text


VERSE_SPELLINGS_FILE = Path(__file__).resolve().parent / "data" / "verse_spellings.json"


@lru_cache(maxsize=1)
def verse_spellings() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """(simplified character → the traditional one Tang verse writes, where OpenCC's choice alone differs;
    simplified word → its own spelling, where the corpus spells it otherwise; the characters both scripts
    write that OpenCC would change but Tang verse writes as they are: 里 云 后 干 …), from
    `scripts/build_verse_spellings.py`; empty, with a warning, when the file is missing (the package
    data was left out): conversion then follows OpenCC alone."""
    try:
        data = json.loads(VERSE_SPELLINGS_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.warning("%s is missing: script conversion follows OpenCC alone", VERSE_SPELLINGS_FILE)
        return {}, {}, frozenset()
    return dict(data["chars"]), dict(data["words"]), frozenset(data.get("as_written", ""))


def to_traditional(text: str, verse: bool = True, in_traditional_text: bool | None = None) -> str:
    """Traditional script by OpenCC; with `verse`, a character OpenCC converts by itself (no phrase decided
    it) takes the form Tang verse writes for it: 疏钟 → 疏鐘, not 疏鍾; 征鸿 → 征鴻, not 徵鴻. A text already
    in traditional script (it holds a character only traditional writes) keeps the characters both
    scripts write as written: 萬里 stays 萬里, where OpenCC alone, knowing the phrase only as 万里, makes
    it 萬裡; its simplified characters are converted (萬里归乡 → 萬里歸鄉). `in_traditional_text`: whether
    `text` is a piece of a traditional text (None: judged by `text` alone)."""
    converted = normalize_variants(_converter("s2t").convert(text))
    if not verse:
        return converted
    chars, words, as_written = verse_spellings()
    if len(converted) != len(text):
        return converted
    spelled = list(converted)
    if in_traditional_text if in_traditional_text is not None else not is_simplified(text):
        spelled = [c if c in as_written else spelled[k] for k, c in enumerate(text)]
    if not any(c in chars for c in text):
        return "".join(spelled)
    for k, simple in enumerate(text):
        preferred = chars.get(simple)
        if preferred is None or simple in as_written and spelled[k] == simple:
            continue
        # the corpus's spelling of the word first, then OpenCC's phrases, then the verse form
        before, after = words.get(text[k - 1 : k + 1]) if k else None, words.get(text[k : k + 2])
        if before or after:
            spelled[k] = before[1] if before else after[0]
        elif converted[k] == _opencc_alone(simple):
            spelled[k] = preferred
    return "".join(spelled)


def words_to_traditional(words: Sequence[str], context: str | None = None) -> list[str]:
    """Each of `words` in traditional script, converted as the text they come from reads (`context`, or the
    words together): where that text is traditional, a word keeps the characters both scripts write even
    when it holds nothing else (里 among 白雲、里 stays 里; 余光 in 余光中的鄉愁 stays 余光)."""
    traditional = not is_simplified("\n".join(words) if context is None else context)
    return [to_traditional(word, in_traditional_text=traditional) for word in words]


@lru_cache(maxsize=4096)
def _opencc_alone(char: str) -> str:
    return to_traditional(char, verse=False)


# OpenCC configurations that turn a Japanese (新字体) or Taiwan / Hong Kong spelling into OpenCC's standard
# traditional form.
_TO_STANDARD = ("jp2t", "tw2t", "hk2t")


@lru_cache(maxsize=65536)
def standard_forms(char: str) -> frozenset[str]:
    """The standard traditional characters `char` is a variant spelling of (隠 → {隱}, 敍 → {敘}); empty when
    it is none, or when `char` is not one character. Unlike `normalize_variants` (the corpus's own spellings,
    folded everywhere), these are looked up only for a character that has no reading of its own
    (prosody.rhyme), so no table character's reading ever changes."""
    if len(char) != 1:
        return frozenset()
    found = {normalize_variants(_converter(config).convert(char)) for config in _TO_STANDARD}
    return frozenset(form for form in found if len(form) == 1 and form != char)


# Verse writes 沈 for 沉 (to sink, deep): at 311 of 314 places Tang meter fixes, 沈 is level, as 沉 is. OpenCC
# keeps 沈, which a reader of simplified script takes for the surname shěn; the surname's words keep it. The
# 新韵 reading (prosody.modern.VERSE_PHRASES) reads these same words shěn, and 平水韵 lets 沈 be 仄 in them
# (prosody.rhyme.RARE_READING_WORDS).
_SIMPLIFIED_VERSE_FORMS = {"沈": "沉"}
SHEN_SURNAME_WORDS = frozenset({"沈约", "沈侯", "沈宋", "沈谢", "沈郎", "沈生", "姓沈"})  # simplified


def verse_simplified(text: str) -> str:
    """Simplified script as a reader of verse needs it: `to_simplified`, then 沈 → 沉 outside the surname's
    words (月沈沈 → 月沉沉; 沈郎 stays)."""
    simplified = to_simplified(text)
    if not any(c in _SIMPLIFIED_VERSE_FORMS for c in simplified):
        return simplified
    return "".join(
        _SIMPLIFIED_VERSE_FORMS.get(char, char)
        if not {simplified[k - 1 : k + 1] if k else "", simplified[k : k + 2]} & SHEN_SURNAME_WORDS
        else char
        for k, char in enumerate(simplified)
    )


def convert(text: str, script: str) -> str:
    """Render text in `script` ("traditional" or "simplified"), as verse is read in it."""
    if script == "simplified":
        return verse_simplified(text)
    if script == "traditional":
        return to_traditional(text)
    raise ValueError(f"unknown script {script!r}; choose one of {', '.join(SCRIPTS)}")


class SimplifiedIndex:
    """For a traditional character set (a model's vocabulary): which of its characters each character of
    user input can stand for. A traditional character stands for itself; a simplified one for every
    character of the set that converts to it (发 → {發, 髮})."""

    def __init__(self, characters: Iterable[str]):
        self.characters = frozenset(normalize_variants(c) for c in characters if len(c) == 1)
        self._by_simplified: dict[str, set[str]] = {}
        chars = sorted(self.characters)
        for trad, simp in zip(chars, simplified_alike("".join(chars)), strict=True):
            self._by_simplified.setdefault(simp, set()).add(trad)

    def candidates(self, char: str) -> set[str]:
        """Characters of the set that `char` (either script) may stand for; empty if none."""
        char = normalize_variants(char)
        found = set(self._by_simplified.get(char, ()))
        if char in self.characters:
            found.add(char)
        if not found:
            trad = to_traditional(char)
            if trad in self.characters:
                found.add(trad)
        return found
