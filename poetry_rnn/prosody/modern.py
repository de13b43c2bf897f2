"""中华新韵 by the modern reading: each character as a speaker of Standard Mandarin reads it in its line.

The reading of a line comes from pypinyin, phrase-aware (its phrase dictionary reads 长 in 长安 as cháng
and in 生长 as zhǎng), on the simplified text. The rule, character by character:

0. Verse phrases first (VERSE_PHRASES): a short table of phrases whose reading in verse pypinyin's phrase
   dictionary misses or gets wrong (太华 huà, 奉和 hè, 燕然 yān, 同行 xíng). They are matched before the
   dictionary and win over any dictionary phrase that overlaps them: its greedy left-to-right match would
   otherwise read 学长 in 学长生 (long life) and 华山 in 九华山. The rest of the line is segmented as before.
1. Inside a phrase of pypinyin's phrase dictionary, the phrase's reading decides (one reading). pypinyin
   finds its phrases by greedy matching from the left, which can build one across the words of the line:
   万里长江 as 万 | 里长 | 江 (里长 lǐzhǎng, "village head"), 陌上相逢 as 陌 | 上相 | 逢 (相 xiàng), though
   万里 and 陌上 are words (the dictionary lists only phrases with a polyphone, so it lacks them). So a
   two-character phrase that reads a character against its usual tone class (the class most of the
   character's dictionary phrases read it in: 长 cháng in 407, zhǎng in 144) gives way where the line's
   word cut puts a word of two or more characters across it, sharing one of its characters and reaching
   outside it (万里 | 长江, 陌上 | 相逢, 唯 | 见 | 长江): its first character is read alone and the
   matching goes on after it (里, 长江). The word cut is jieba's, the most probable by its dictionary's
   word frequencies, with a set phrase of four or more characters that pypinyin's dictionary lacks cut
   into its words (万里长空 → 万里 长空). A phrase that reads its characters in their usual class keeps
   its place whatever the word cut says (人间 in 人间作, which jieba cuts 人 | 间作), and so does one that
   no word crosses (生长, 三更); on Tang regulated verse (`scripts/eval_xinyun.py --tang`) this reads 31
   fewer metered places against the meter than the greedy match alone, and 14 more with it. Except:
   一 and 不 keep their own tone (the dictionary writes their tone sandhi, 不见 bú jiàn, which is not the
   character's tone); a neutral-tone reading (东西 xi) takes the character's full tone of that syllable;
   a phrase reading the character as written does not have (OpenCC merged 隻 into 只) is ignored.
2. Outside any phrase, a character in VERSE_READINGS reads as verse reads it (塞 sài, not the colloquial
   sāi; 侯 hóu, not the hòu of 闽侯); checked against Tang regulated verse (`scripts/eval_xinyun.py --tang`).
   Any other character takes its standard reading: pypinyin's first toned reading of the character
   as written (traditional characters have their own entries: 髮 fà, 發 fā), or where at least 80 % of
   its dictionary phrases read it in another spelling of that tone class and rhyme group, that one
   (data/xinyun_polyphones.json's "standard": 泊 bó as 停泊, not pō; 尽 jìn, 似 sì), which changes what is
   shown, never a verdict; a reading that needs the sense (朝 zhāo/cháo, 行 xíng/háng) is left as it is.
   Mandarin's neutral-tone
   particles (NEUTRAL_PARTICLES: 的 de, 了 le, 着 zhe, 吗 ma, 呢 ne, 吧 ba, 啊 a …) read in the neutral tone,
   as a speaker says them, not in a full tone pypinyin also lists (的 dī, 吗 má, 了 liǎo, 着 zhāo): of no
   tone class at all (NEUTRAL_PARTICLES says how the checker treats them, and when 了 and 着 are verbs).
3. A character reads either way only when it is a true modern polyphone and nothing in the line
   decides: outside any phrase, and listed in data/xinyun_polyphones.json. That list
   (scripts/build_prosody_data.py) holds the characters whose readings in pypinyin's phrase dictionary
   are at least 10 phrases, with the tone class other than the standard reading's taking at least 20 %
   of them (长 cháng/zhǎng, 为 wéi/wèi, 应 yīng/yìng; not 看, whose kān is 11 %, nor 金 春 风, which have
   one reading). Its two readings: the standard one and the commonest of the other tone class.
4. At the end of a line, outside any phrase, a level character whose readings rhyme apart takes the
   reading most of its phrases have where that is not the standard one (the same file's "line_end"): 还
   ends a line as huán (归还 还乡, 87 % of its phrases; hái means "still" and ends no line), 都 as dū.

Tones 1–2 are 平, 3–4 仄. A reading's rhyme group comes from its final (14 groups, 一麻 … 十四姑).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from poetry_rnn.lazy_import import import_modules
from poetry_rnn.prosody.tones import PING, ZE
from poetry_rnn.script import normalize_variants, simplified_alike, to_simplified

# pypinyin's modules this module uses, imported on first use (lazy_import says why through import_modules)
PYPINYIN = ("pypinyin", "pypinyin.style", "pypinyin.constants", "pypinyin.seg.simpleseg")

DATA_DIR = Path(__file__).resolve().parent / "data"
POLYPHONES_FILE = "xinyun_polyphones.json"

XINYUN_GROUPS = ["麻", "波", "皆", "开", "微", "豪", "尤", "寒", "文", "唐", "庚", "齐", "支", "姑"]

# Final (pypinyin strict finals: ü written v, "iu" as iou, "ui" as uei, "un" as uen) → group.
_FINAL_GROUP: dict[str, str] = {}
for _group, _finals in {
    "麻": "a ia ua",
    "波": "o e uo io ê",
    "皆": "ie ve",
    "开": "ai uai",
    "微": "ei uei",
    "豪": "ao iao",
    "尤": "ou iou",
    "寒": "an ian uan van",
    "文": "en in uen vn",
    "唐": "ang iang uang",
    "庚": "eng ing ong iong ueng",
    "齐": "i er v",
    "姑": "u",
}.items():
    for _final in _finals.split():
        _FINAL_GROUP[_final] = _group
_APICAL_INITIALS = frozenset({"zh", "ch", "sh", "r", "z", "c", "s"})  # their "-i" is 支, not 齐
_OWN_TONE = frozenset("一不")  # the phrase dictionary writes their sandhi; verse counts the own tone
# Standard readings pypinyin gets wrong, as 现代汉语词典 and the 审音表 give them (迹 is jì; pypinyin lists
# 跡, its traditional form, only as jī, and 颇 萎 甸 俟 first in a reading today's dictionaries drop).
_STANDARD_FIXES = {
    "迹": "jì",
    "跡": "jì",
    "蹟": "jì",
    "颇": "pō",
    "頗": "pō",
    "萎": "wěi",
    "甸": "diàn",
    "俟": "sì",
    "阙": "què",  # 宫阙 城阙 (quē, "lacking", is the rarer 阙疑 补阙)
}
# Verse phrases (rule 0), as written in simplified script: each character in its standard reading for that
# sense (现代汉语词典). Each entry fixes a misreading of real Tang lines (tests/test_xinyun.py).
VERSE_PHRASES: dict[str, str] = {
    # a modern dictionary word must not take a character from the verse word beside it
    "同行": "tóng xíng",  # walk together (与月同行); tóngháng "same trade" is a modern word
    "长生": "cháng shēng",  # long life (学长生), not 学长 xuézhǎng "senior student"
    "相思": "xiāng sī",  # 苦相思, not 苦相 kǔxiàng "a bitter face"
    "分明": "fēn míng",  # 自分明, not 自分 zìfèn "reckon oneself"
    "分流": "fēn liú",  # 水分流, not 水分 shuǐfèn "moisture"
    "简朴": "jiǎn pǔ",  # pypinyin's dictionary has piáo, the surname's reading
    "羲和": "xī hé",  # the sun's charioteer (曦和韵紫霞), not 和韵
    "曦和": "xī hé",
    "李广不侯": "lǐ guǎng bù hóu",  # pypinyin writes hòu; the Tang line's meter wants 侯 level
    "的的": "dí dí",  # bright, clear (的的是愁端); 的 alone is the particle de (NEUTRAL_PARTICLES)
    # 几 jī (VERSE_READINGS has jǐ alone): the affairs of state, "almost"
    "万几": "wàn jī",
    "庶几": "shù jī",
    # 华 huà: Mount Hua and the places named for it; 九华山 is huá
    "太华": "tài huà",
    "华岳": "huà yuè",
    "华阴": "huà yīn",
    "九华": "jiǔ huá",
    # 和 hè: to answer a poem in kind
    "奉和": "fèng hè",
    "和诗": "hè shī",
    "追和": "zhuī hè",
    "和韵": "hè yùn",
    # 燕 yān: the state of Yan and its region (燕山 燕赵 燕京 are in the dictionary)
    "燕然": "yān rán",  # Mount Yanran (燕然未勒)
    "幽燕": "yōu yān",
    "燕歌": "yān gē",  # 燕歌行
    "燕台": "yān tái",  # the Gold Terrace of Yan
    # 乘 shèng: a war chariot, the measure of a state (万乘之君); chéng is to ride
    "万乘": "wàn shèng",
    "千乘": "qiān shèng",
    # 傍 páng: beside, as 旁 (路傍 is 路旁); bàng is to draw near
    "路傍": "lù páng",
    # 分 fèn: one's lot (无分 "not granted to"); fēn is to divide
    "有分": "yǒu fèn",
    "无分": "wú fèn",
    # 中 zhòng: to hit. 中 alone stays zhōng, not an open polyphone: Tang meter takes it level at 3,160 of
    # 3,177 fixed places, and zhòng is 12 % of its dictionary phrases (射中 命中 百发百中 decide there).
    # Only words that always mean "hit": not 中酒 (drunk), which Tang lines far more often write as 杯中酒
    # 尊中酒 (zhōng), nor 箭中 (百箭中心, the centre)
    "一箭中": "yī jiàn zhòng",
    "射中": "shè zhòng",
    # verse words a modern dictionary word would swallow or misread: 长相忆 长相思 (cháng, not 长相 zhǎngxiàng
    # "looks", nor 里长 in 千里长相送), 更相忆 (gèng: "again", the two readings no Mandarin reader mixes),
    # 重相逢 (chóng: "again"), 泪不干 (gān "dry", not 不干 gàn "won't do"), 还家 (huán: to return)
    "长相": "cháng xiāng",
    "更相": "gèng xiāng",
    "重相": "chóng xiāng",
    "不干": "bù gān",
    "还家": "huán jiā",
    "万重": "wàn chóng",  # layers upon layers (万重山); zhòng is weight
    "场圃": "cháng pǔ",  # a threshing floor and garden (开轩面场圃); chǎng is the modern default
    "千重": "qiān chóng",
    # 沈 shěn, the surname (VERSE_READINGS has chén alone): 沈约 沈侯, 沈宋 (沈佺期 and 宋之问), 沈谢, 沈郎;
    # script.SHEN_SURNAME_WORDS, where simplified output keeps 沈 (not 沉), lists the same words
    "沈约": "shěn yuē",
    "沈侯": "shěn hóu",
    "沈宋": "shěn sòng",
    "沈谢": "shěn xiè",
    "沈郎": "shěn láng",
    "沈生": "shěn shēng",
    "姓沈": "xìng shěn",
}
_VERSE_LONGEST = max(map(len, VERSE_PHRASES))
# A character alone in verse (rule 2), where the standard reading or the polyphone pair misreads it. The
# counts: tone at the places Tang regulated verse fixes (eval_xinyun.py --tang); 入声 characters (塞 咽 没)
# show only that verse never takes their level reading.
VERSE_READINGS: dict[str, str] = {
    "侯": "hóu",  # 298 of 298 level; hòu is only the place name 闽侯
    "遂": "suì",  # 51 of 51 oblique; suí only in 半身不遂
    "几": "jǐ",  # 29 of 29 oblique: "how many"; jī in phrases (几乎 茶几; 庶几 万几 above)
    "幾": "jǐ",  # 265 of 268 oblique
    "塞": "sài",  # 262 of 262 oblique: the frontier (塞鸿 紫塞); sāi "to stuff" is colloquial
    "咽": "yè",  # 88 of 89 oblique: to sob (泉声咽); yān in 咽喉, a dictionary phrase
    "没": "mò",  # to sink, to vanish (草没 出没); méi "not have" comes in phrases (没有)
    "沒": "mò",  # pypinyin lists only méi
    "间": "jiān",  # 1,199 of 1,217 level: among (白云间 腰间); jiàn (a gap, to alternate) in phrases (间隔 相间)
    "間": "jiān",
    "沈": "chén",  # 311 of 314 level: 沈 is 沉 in verse (沈沈 浮沈); shěn is the surname (phrases above)
}

# Mandarin's neutral-tone particles (结构助词 的, 动态助词 了 着, 语气词 吗 呢 吧 啊 …), with the neutral
# syllable a speaker says alone. 中华新韵 counts 阴平 阳平 as 平 and 上 去 as 仄; a neutral tone is neither,
# so such a particle is left unjudged at a 平 or 仄 place of the pattern (a note says it is 轻声), and it
# carries no rhyme: a 新韵 teacher does not let an unstressed, toneless particle be a 韵脚 (故友可安吗 does
# not rhyme in 麻). 了 and 着 are verbs too (了 liǎo "to end", 着 zhuó "to touch, to wear"; PARTICLE_VERBS):
# their phrases decide (了却 liǎo, 着意 zhuó), and alone they are the particle only right after a verb, as
# an aspect particle is (润了花, 看着你: jieba's dictionary tags 润 看 as verbs), the verb elsewhere (篱边着一花
# zhuó, 何时了 liǎo). The tags are a dictionary's, not a parse: a verb it tags otherwise (飞 流 照, nouns
# there) reads 着 zhuó. 地 and 得 stay out: verse has them as nouns and verbs (地 dì, 得 dé) far more often
# than as particles.
NEUTRAL_PARTICLES: dict[str, str] = {
    "的": "de",  # dí (的确) and dì (目的) come in phrases
    "了": "le",
    "着": "zhe",
    "吗": "ma",  # má only in 干吗, a phrase
    "嗎": "ma",
    "呢": "ne",  # ní in 呢喃, a phrase
    "吧": "ba",
    "啊": "a",
    "呀": "ya",
    "么": "me",
    "麼": "me",
    "嘛": "ma",
    "啦": "la",
}
PARTICLE_VERBS = {"了": "liǎo", "着": "zhuó"}  # alone, not after a verb

PHRASE = "phrase"  # the phrase dictionary decided the reading
STANDARD = "standard"  # no phrase: the character's standard reading
LINE_END = "line end"  # no phrase, at a line end: the reading its phrases mostly have (rule 4)
POLYPHONE = "polyphone"  # no phrase, a true modern polyphone: either tone
UNKNOWN = "unknown"  # pypinyin has no toned reading for it
NEUTRAL = "neutral"  # a neutral-tone particle read alone (的 de): no tone class


@dataclass(frozen=True)
class Syllable:
    """One toned Mandarin syllable: its spelling, tone class and 新韵 group (None: no rhyme, e.g. ń)."""

    pinyin: str  # with tone marks, as pypinyin writes it: "cháng"
    tone3: str  # "chang2"
    tone: str  # PING or ZE
    group: str | None


@dataclass(frozen=True)
class ModernReading:
    """How one character of a line is read today."""

    char: str
    syllables: tuple[Syllable, ...]  # one; two for a polyphone the line leaves open; none if unknown
    source: str  # PHRASE, STANDARD, LINE_END, POLYPHONE, NEUTRAL or UNKNOWN
    phrase: str = ""  # for PHRASE: the dictionary phrase that decided, as written in the line
    neutral: str = ""  # for NEUTRAL: the toneless syllable, "de"

    @property
    def pinyin(self) -> str:
        """The reading(s) with tone marks, "cháng" or "zhǎng/cháng"; a neutral-tone particle's "de"."""
        return "/".join(s.pinyin for s in self.syllables) or self.neutral

    @property
    def tones(self) -> frozenset[str]:
        """{PING}, {ZE}, both (an open polyphone), or empty (unknown)."""
        return frozenset(s.tone for s in self.syllables)

    @property
    def rhyme_groups(self) -> frozenset[str]:
        """新韵 groups this character can rhyme in here (its level readings' groups)."""
        return frozenset(s.group for s in self.syllables if s.tone == PING and s.group)


@lru_cache(maxsize=4096)
def syllable(pinyin: str) -> Syllable | None:
    """The toned syllable `pinyin` ("cháng"), or None for a neutral-tone or unreadable one."""
    import_modules(*PYPINYIN)
    from pypinyin import Style
    from pypinyin.style import convert

    final_tone = convert(pinyin, Style.FINALS_TONE3, strict=True)
    if not final_tone or not final_tone[-1].isdigit() or final_tone[-1] not in "1234":
        return None
    initial = convert(pinyin, Style.INITIALS, strict=True)
    final, number = final_tone[:-1], int(final_tone[-1])
    group = "支" if final == "i" and initial in _APICAL_INITIALS else _FINAL_GROUP.get(final)
    tone3 = convert(pinyin, Style.TONE3, strict=True)
    return Syllable(pinyin, tone3, PING if number <= 2 else ZE, group)


@lru_cache(maxsize=65536)
def listed_readings(char: str) -> tuple[str, ...]:
    """Every reading pypinyin lists for `char` as written (tone marks; neutral ones included), in its
    order; for a character pypinyin lacks, those of its simplified form. Where pypinyin's first reading is
    wrong today (_STANDARD_FIXES), the right one comes first."""
    import_modules(*PYPINYIN)
    from pypinyin.constants import PINYIN_DICT

    if len(char) != 1:
        return ()
    found = PINYIN_DICT.get(ord(char))
    if found is None:
        simple = to_simplified(char)
        found = PINYIN_DICT.get(ord(simple)) if len(simple) == 1 else None
    readings = tuple(found.split(",")) if found else ()
    fixed = _STANDARD_FIXES.get(char)
    return (fixed, *(r for r in readings if r != fixed)) if fixed else readings


def _toned(readings: tuple[str, ...]) -> list[Syllable]:
    return [s for s in map(syllable, readings) if s is not None]


@lru_cache(maxsize=1)
def _polyphone_table() -> dict:
    """data/xinyun_polyphones.json: "readings" (rule 3) and "line_end" (rule 4); empty without the file."""
    path = DATA_DIR / POLYPHONES_FILE
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _polyphones() -> dict[str, tuple[str, str]]:
    return {char: (pair[0], pair[1]) for char, pair in _polyphone_table().get("readings", {}).items()}


def _line_end_readings() -> dict[str, str]:
    return _polyphone_table().get("line_end", {})


def _usual_readings() -> dict[str, str]:
    return _polyphone_table().get("standard", {})


def line_end_reading(char: str) -> ModernReading:
    """`char` read at the end of a line, outside any phrase (rule 4): 还 huán; 了 liǎo and 着 zhuó, the verbs
    (PARTICLE_VERBS: the decoder's tables read a character so); otherwise `char_reading`."""
    char = normalize_variants(char)
    written = PARTICLE_VERBS.get(char) or _line_end_readings().get(char)
    found = syllable(written) if written else None
    if found is None:
        return char_reading(char)
    return ModernReading(normalize_variants(char), (found,), LINE_END)


def polyphone_readings(char: str) -> tuple[str, str] | None:
    """The two readings of a true modern polyphone (standard first), or None for any other character."""
    return _polyphones().get(normalize_variants(char))


@lru_cache(maxsize=65536)
def char_reading(char: str) -> ModernReading:
    """`char` read on its own: its standard reading, or both readings of a true modern polyphone."""
    char = normalize_variants(char)
    verse = VERSE_READINGS.get(char)
    found_verse = syllable(verse) if verse else None
    if found_verse is not None:
        return ModernReading(char, (found_verse,), STANDARD)
    if char in NEUTRAL_PARTICLES:
        return ModernReading(char, (), NEUTRAL, neutral=NEUTRAL_PARTICLES[char])
    pair = polyphone_readings(char)
    if pair is not None:
        found = tuple(s for s in map(syllable, pair) if s is not None)
        return ModernReading(char, found, POLYPHONE)
    toned = _toned(listed_readings(char))
    if not toned:
        return ModernReading(char, (), UNKNOWN)
    usual = _usual_readings().get(char)  # same tone class and rhyme group as toned[0]: what is shown
    return ModernReading(char, ((syllable(usual) if usual else None) or toned[0],), STANDARD)


def _phrase_reading(char: str, written: str, phrase: str) -> ModernReading | None:
    """`char` as a dictionary phrase reads it (`written`, tone marks), or None where that reading does not
    count (see the module docstring, rule 1)."""
    if char in _OWN_TONE:
        return char_reading(char)
    own = listed_readings(char)
    found = syllable(written)
    if found is None:  # neutral tone: the full tone of the same syllable
        import_modules(*PYPINYIN)
        from pypinyin import Style
        from pypinyin.style import convert

        bare = convert(written, Style.NORMAL, strict=True)
        same = [s for s in _toned(own) if convert(s.pinyin, Style.NORMAL, strict=True) == bare]
        if not same or len({s.tone for s in same}) != 1:
            return None
        found = same[0]
    elif own and written not in own:
        return None
    return ModernReading(char, (found,), PHRASE, phrase)


@lru_cache(maxsize=1)
def _phrase_tone_counts() -> dict[str, Counter[str]]:
    """Simplified character → how many of pypinyin's dictionary phrases read it in each tone class."""
    from pypinyin.constants import PHRASES_DICT

    counts: dict[str, Counter[str]] = {}
    for phrase, readings in PHRASES_DICT.items():
        for char, (written, *_) in zip(phrase, readings, strict=False):
            found = syllable(written)
            if found is not None:
                counts.setdefault(char, Counter())[found.tone] += 1
    return counts


def _reads_against_usual(phrase: str, readings: list[str]) -> bool:
    """Whether a dictionary phrase reads one of its characters in the tone class fewer of that character's
    phrases read it in (里长: 长 zhǎng; rule 1). 一 and 不 keep their own tone anyway."""
    for char, written in zip(phrase, readings, strict=True):
        found = syllable(written)
        if found is None or char in _OWN_TONE:
            continue
        counts = _phrase_tone_counts().get(char, Counter())
        if counts[found.tone] < sum(n for tone, n in counts.items() if tone != found.tone):
            return True
    return False


@lru_cache(maxsize=4096)
def _word_spans(simple: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each word of two or more characters in the line's word cut (rule 1): jieba's, with a
    word of four or more characters that pypinyin's dictionary lacks cut into its own words (万里长空 → 万里
    长空)."""
    from pypinyin.constants import PHRASES_DICT

    from poetry_rnn.keywords import dictionary_words, inner_words

    spans: list[tuple[int, int]] = []
    start = 0
    for word in dictionary_words(simple):
        parts = inner_words(word) if len(word) > 3 and word not in PHRASES_DICT else [word]
        for part in parts:
            if len(part) > 1:
                spans.append((start, start + len(part)))
            start += len(part)
    return tuple(spans)


def _crosses_a_word(simple: str, start: int, end: int) -> bool:
    """Whether a word of `simple`'s word cut shares a character with simple[start:end] and reaches
    outside it."""
    return any(s < start < e < end or start < s < end < e for s, e in _word_spans(simple))


def _verse_phrase(phrase: str) -> list[str]:
    return VERSE_PHRASES[phrase].split()


def _segments(simple: str) -> list[tuple[str, list[str] | None]]:
    """`simple` cut into pieces, each with its phrase reading (one syllable per character) or None: verse
    phrases first, the longest at each place from the left (rule 0), pypinyin's segmentation between, less
    a phrase that gives way to the words of the line (rule 1)."""
    from pypinyin.constants import PHRASES_DICT
    from pypinyin.seg.simpleseg import seg

    def reading(piece: str) -> list[str] | None:
        found = PHRASES_DICT.get(piece) if len(piece) > 1 else None
        return [r[0] for r in found] if found else None

    def dictionary(text: str, start: int) -> list[tuple[str, list[str] | None]]:
        pieces: list[tuple[str, list[str] | None]] = []
        rest = list(seg(text)) if text else []
        done = 0
        while rest:
            piece = rest.pop(0)
            read = reading(piece)
            here = start + done
            if read and len(piece) == 2 and _reads_against_usual(piece, read):
                if _crosses_a_word(simple, here, here + 2):
                    pieces.append((piece[0], None))
                    done += 1
                    rest = list(seg(text[done:]))
                    continue
            pieces.append((piece, read))
            done += len(piece)
        return pieces

    pieces: list[tuple[str, list[str] | None]] = []
    done = place = 0
    while place < len(simple):
        lengths = range(min(_VERSE_LONGEST, len(simple) - place), 1, -1)
        verse = next(
            (simple[place : place + n] for n in lengths if simple[place : place + n] in VERSE_PHRASES), None
        )
        if verse is None:
            place += 1
            continue
        pieces += dictionary(simple[done:place], done) + [(verse, _verse_phrase(verse))]
        place = done = place + len(verse)
    return pieces + dictionary(simple[done:], done)


@lru_cache(maxsize=65536)
def line_readings(line: str) -> tuple[ModernReading, ...]:
    """Each character of `line` (Chinese characters, either script) as a Mandarin reader reads it there."""
    import_modules(*PYPINYIN)
    chars = normalize_variants(line)
    simple = simplified_alike(chars)
    readings: list[ModernReading] = []
    for segment, phrase in _segments(simple):
        start = len(readings)
        for offset in range(len(segment)):
            char = chars[start + offset]
            written = chars[start : start + len(segment)]
            decided = _phrase_reading(char, phrase[offset], written) if phrase else None
            if phrase and char in NEUTRAL_PARTICLES and syllable(phrase[offset]) is None:  # 为了 wèile
                decided = ModernReading(char, (), NEUTRAL, written, NEUTRAL_PARTICLES[char])
            readings.append(decided or char_reading(char))
    for index, reading in enumerate(readings):  # 了 着: the particle after a verb, else the verb
        alone = reading.source == NEUTRAL and not reading.phrase
        if alone and reading.char in PARTICLE_VERBS and not _after_a_verb(simple, index):
            verb = syllable(PARTICLE_VERBS[reading.char])
            readings[index] = ModernReading(reading.char, (verb,) if verb else (), STANDARD)
    if readings and readings[-1].source == STANDARD:
        readings[-1] = line_end_reading(readings[-1].char)
    return tuple(readings)


def _after_a_verb(simple: str, index: int) -> bool:
    """Whether simple[index - 1] is a verb by jieba's dictionary (看 润 开; not 边 风 早)."""
    from poetry_rnn.keywords import dictionary_tag

    return index > 0 and dictionary_tag(simple[index - 1]).startswith("v")


@lru_cache(maxsize=1)
def surprising_pairs() -> dict[str, tuple[tuple[str, str | None, str | None], ...]]:
    """Two-character phrases of pypinyin's dictionary that read a character in a tone its own reading does
    not settle (相识: 相 xiāng, either tone alone; 看守: 看 kān, 仄 alone), by first character (simplified):
    (second character, first's tone there or None, second's tone there or None); None where the phrase
    reads the character as `char_reading` settles it. 一 and 不 (sandhi) and neutral tones are left out.
    The decoder steers by these before a line is finished; the finished line is judged by `line_readings`."""
    import_modules(*PYPINYIN)
    from pypinyin.constants import PHRASES_DICT

    found: dict[str, list[tuple[str, str | None, str | None]]] = {}
    phrases = {phrase: [r[0] for r in readings] for phrase, readings in PHRASES_DICT.items()}
    phrases.update({phrase: _verse_phrase(phrase) for phrase in VERSE_PHRASES})  # as the line reads them
    for phrase, readings in phrases.items():
        if len(phrase) != 2 or _OWN_TONE & set(phrase):
            continue
        tones: list[str | None] = []
        for char, written in zip(phrase, readings, strict=True):
            read = syllable(written)
            own = char_reading(char).tones
            tones.append(read.tone if read is not None and own and own != {read.tone} else None)
        if tones[0] or tones[1]:
            found.setdefault(phrase[0], []).append((phrase[1], tones[0], tones[1]))
    return {first: tuple(pairs) for first, pairs in found.items()}


__all__ = [
    "LINE_END",
    "NEUTRAL",
    "NEUTRAL_PARTICLES",
    "PARTICLE_VERBS",
    "PHRASE",
    "POLYPHONE",
    "STANDARD",
    "UNKNOWN",
    "VERSE_PHRASES",
    "VERSE_READINGS",
    "XINYUN_GROUPS",
    "ModernReading",
    "Syllable",
    "char_reading",
    "line_end_reading",
    "line_readings",
    "listed_readings",
    "polyphone_readings",
    "surprising_pairs",
    "syllable",
]
