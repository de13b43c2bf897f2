"""Keywords of a poem or of a modern-Chinese theme sentence, with `jieba`.

jieba's dictionary and models are simplified Chinese, so text is converted to simplified first; each
keyword found is then mapped back to the characters of the input it came from (the model's traditional
characters for a traditional poem) and rendered in the requested script.

Two uses:
- `extract_keywords(text)`: one text at inference time (TextRank or jieba's TF-IDF). Only words in
  jieba's dictionary and single characters are kept: on classical verse jieba's new-word model invents
  "words" across word boundaries (結綬腰, 稱多士).
- `corpus_keywords(poems)`: keywords of every training poem, for conditioning. TextRank and part-of-speech
  tagging take minutes on the corpus, and jieba's IDF describes modern prose, so this segments each poem
  once (dictionary words only) and ranks words by TF-IDF with document frequencies from the corpus
  itself; cached on disk, keyed by a hash of the bodies.

jieba keeps its prefix-dictionary cache in a private temporary folder of this process (never a shared
file in /tmp, which jieba would unmarshal) and logs nothing below warnings.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.lazy_import import import_modules
from poetry_rnn.script import SCRIPTS, normalize_variants, to_simplified, to_traditional, words_to_traditional

METHODS = ("textrank", "tfidf")
MAX_TEXT_CHARS = 5000
KEYWORDS_VERSION = 1  # bump when corpus keyword extraction changes: cached results are then rebuilt
TEXTRANK_POS = ("ns", "n", "nr", "nz", "s", "t", "vn", "v")  # nouns first; verbs so a theme is never empty
MAX_KEYWORD_CHARS = 3  # longer dictionary entries are whole lines (欲窮千里目): a keyword must not give them
MIN_DOCUMENT_FREQUENCY = 3  # corpus keywords: a word seen in fewer poems is likely a segmentation accident
NOUN_BOOST = 1.5

# Function words and other words that say nothing about a poem's subject (simplified, as jieba sees them).
# fmt: off
STOPWORDS = frozenset(
    "之 乎 者 也 而 其 何 无 有 以 于 与 为 亦 又 乃 则 若 所 自 已 未 莫 非 皆 且 此 彼 谁 安 焉 哉 兮 矣 欲 将 能 可 得"
    " 不 是 在 了 的 着 过 吗 呢 吧 啊 我 你 他 她 它 这 那 个 一 二 三 四 五 六 七 八 九 十 百 两 几 各 每 诸 曾 更"
    " 还 复 犹 尚 只 但 却 便 即 遂 就 都 君 吾 余 尔 汝 子 相 共 同 如 似 来 去 见 知 多 少 中 上 下 时 日 年 人"
    " 我们 你们 他们 她们 自己 什么 怎么 怎样 如何 这样 那样 这个 那个 这些 那些 因为 所以 但是 虽然 如果 已经 一个"
    " 没有 不是 可以 就是 还是 还有 一些 一样 一起 一直 非常 十分 特别 真的 觉得 希望 想要 应该 可能 需要"
    " 不知 不见 不可 不得 何处 无人 何事 今日 如今 此时 今朝 明朝 当时 日日 年年 朝朝 夜夜 夜来 莫道 莫言 无端"
    " 何须 不须 唯有 惟有 只有 不如 何人 谁家 几时 何时 不能 不用 不堪 不曾 未曾 自有 只今 从此 从来 依旧 何必"
    " 应是 一片 一声 一枝".split()
)
# fmt: on
_CJK_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+$")

_lock = threading.Lock()
_ready = False


def _jieba():
    """jieba, initialised once per process: quiet, its cache in a private temporary folder."""
    global _ready
    import_modules("jieba")
    import jieba

    with _lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            logging.getLogger("jieba").setLevel(logging.WARNING)
            folder = tempfile.mkdtemp(prefix="poetry_rnn-jieba-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            jieba.dt.tmp_dir = folder
            jieba.dt.cache_file = os.path.join(folder, "jieba.cache")
            jieba.initialize()
            _ready = True
    return jieba


def dictionary_words(simplified: str) -> list[str]:
    """`simplified` (simplified Chinese) cut into words of jieba's dictionary: the most probable cut by
    the dictionary's word frequencies, without jieba's new-word model (which invents words in verse)."""
    return _jieba().lcut(simplified, HMM=False)


def dictionary_tag(word: str) -> str:
    """jieba's dictionary part of speech of `word` (simplified): "v" for a verb, "n" for a noun …; "" for a
    word it does not list. A lookup, not a tagging of any text."""
    _jieba()
    import_modules("jieba.posseg")
    from jieba import posseg

    return posseg.dt.word_tag_tab.get(word, "")


def inner_words(word: str) -> list[str]:
    """A word of jieba's dictionary (simplified) cut into the shorter words it is made of: the most
    probable cut by word frequencies other than the word itself (万里长空 → 万里 长空)."""
    tokenizer = _jieba().dt
    graph = tokenizer.get_DAG(word)  # start → the last index of each dictionary word starting there
    graph[0] = [end for end in graph[0] if end != len(word) - 1] or [0]
    route: dict[int, tuple[float, int]] = {}
    tokenizer.calc(word, graph, route)
    words: list[str] = []
    start = 0
    while start < len(word):
        end = route[start][1] + 1
        words.append(word[start:end])
        start = end
    return words


def _is_candidate(word: str, frequencies: dict) -> bool:
    """A CJK word that means something: not a stopword, and a real word (in jieba's dictionary) or one
    character."""
    return (
        len(word) <= MAX_KEYWORD_CHARS
        and bool(_CJK_WORD.match(word))
        and word not in STOPWORDS
        and (len(word) == 1 or frequencies.get(word, 0) > 0)
    )


def _in_script(original: str, script: str, context: str) -> str:
    """A piece of the user's text (`context`) in `script`, keeping its own traditional characters: only
    characters that are simplified-only change (so 後 stays 後 and is not re-derived from 后, and 余 of
    余光中的鄉愁 stays 余)."""
    if script == "simplified":
        return to_simplified(original)
    converted = words_to_traditional([original], context)[0]
    if len(converted) != len(original):
        return converted
    return "".join(
        normalize_variants(o) if to_simplified(o) != o else t
        for o, t in zip(original, converted, strict=True)
    )


def _map_back(words: Iterable[str], simplified: str, original: str, script: str, k: int) -> list[str]:
    """Each word found in the simplified text as the characters of the original it came from."""
    aligned = len(simplified) == len(original)
    out: list[str] = []
    for word in words:
        start = simplified.find(word) if aligned else -1
        source = original[start : start + len(word)] if start >= 0 else word
        rendered = _in_script(source, script, original)
        if rendered and rendered not in out:
            out.append(rendered)
        if len(out) == k:
            break
    return out


def extract_keywords(
    text: str, k: int = 4, method: str = "textrank", script: str = "traditional"
) -> list[str]:
    """Up to `k` keywords of a poem or a theme sentence (either script), best first, in `script`.
    TextRank prefers nouns; when it finds fewer than `k` words, TF-IDF fills in. May return fewer than `k`
    (or none) for text made only of function words."""
    if not isinstance(text, str) or not text.strip():
        raise UserError("theme: give a poem or a sentence to take keywords from", field="theme")
    if len(text) > MAX_TEXT_CHARS:
        raise UserError(f"theme: at most {MAX_TEXT_CHARS:,} characters, got {len(text):,}", field="theme")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 16:
        raise UserError(f"k: give a whole number of keywords from 1 to 16, got {k!r}", field="k")
    if method not in METHODS:
        raise UserError(f"method: choose one of {', '.join(METHODS)}, got {method!r}", field="method")
    if script not in SCRIPTS:
        raise UserError(f"script: choose one of {', '.join(SCRIPTS)}, got {script!r}", field="script")
    jieba = _jieba()
    import_modules("jieba.analyse")
    from jieba import analyse

    original = text.strip()
    simplified = to_simplified(original)
    frequencies = jieba.dt.FREQ
    found: list[str] = []
    if method == "textrank":
        found = analyse.textrank(simplified, topK=4 * k, allowPOS=TEXTRANK_POS)
    found = [w for w in found if _is_candidate(w, frequencies)]
    if len(found) < k:  # TextRank needs co-occurrences; short texts give it little
        extra = analyse.extract_tags(simplified, topK=4 * k)
        found += [w for w in extra if _is_candidate(w, frequencies) and w not in found]
    return _map_back(found, simplified, original, script, k)


# ---------------------------------------------------------------- a theme, in verse's words
MODERN_WORDS_FILE = Path(__file__).resolve().parent / "data" / "modern_words.json"
MODERN_WORDS_VERSION = 1
_modern_words: dict[str, str] | None = None


def modern_words() -> dict[str, str]:
    """Modern words (simplified) → the word verse uses for each (traditional): 朋友 → 故人, 远方 → 天涯."""
    global _modern_words
    if _modern_words is None:
        document = json.loads(MODERN_WORDS_FILE.read_text(encoding="utf-8"))
        if document.get("version") != MODERN_WORDS_VERSION:
            raise ValueError(f"{MODERN_WORDS_FILE.name}: version {document.get('version')!r}")
        _modern_words = dict(document["words"])
    return _modern_words


@functools.cache
def verse_words() -> frozenset[str]:
    """The verse words of the modern-words table (traditional): 故人, 天涯, 音書 … (built once)"""
    return frozenset(normalize_variants(word) for word in modern_words().values())


def _modern_spans(simplified: str) -> list[tuple[int, int]]:
    """(start, end) of each modern word of two or more characters the table knows in a text, longest first
    at each place."""
    table = modern_words()
    longest = max(map(len, table), default=1)
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(simplified):
        for size in range(min(longest, len(simplified) - start), 1, -1):
            if simplified[start : start + size] in table:
                spans.append((start, start + size))
                start += size
                break
        else:
            start += 1
    return spans


def _modern_words_in(simplified: str) -> list[str]:
    """The modern words the table knows in a text (simplified), in order."""
    return [simplified[start:end] for start, end in _modern_spans(simplified)]


def in_verse_words(text: str) -> str:
    """A text (a title) with each modern word of two or more characters the table knows replaced by its verse
    word, longest first, the rest kept as written (in traditional characters): 思念遠方的朋友 → 相思天涯的故人.
    A single character is left alone: verse uses 冷 and 哭 too (冷泉亭, 哭晁卿衡), where the table's 寒 and
    淚 are only for a theme in which jieba reads one of them as a word."""
    table = modern_words()
    simplified = to_simplified(text)
    original = text if len(simplified) == len(text) else simplified
    # the kept characters converted as the whole text reads (萬里 of 萬里之外的家鄉 stays 萬里, 万里 phrases)
    converted = to_traditional(original)
    if len(converted) != len(original):
        converted = "".join(to_traditional(char) for char in original)
    pieces: list[str] = []
    done = 0
    for start, end in _modern_spans(simplified):
        pieces.append(converted[done:start])
        pieces.append(table[simplified[start:end]])
        done = end
    pieces.append(converted[done:])
    return "".join(pieces)


# Modern function characters a title leaves out (traditional, as in_verse_words gives them).
TITLE_OMITS = frozenset("的了著過嗎呢吧啊我你他她它這那們在是把被給和與及就都也還又很太")


def theme_title(text: str) -> str:
    """A theme as a Tang title would say it, for the model's title conditioning: in verse's words, without
    modern function characters, in traditional characters (思念远方的朋友 → 相思天涯故人; 秋天的校园 →
    秋讀書). Titles tell the model what a poem is about more strongly than keywords do."""
    title = "".join(c for c in in_verse_words(_without_place_words(text.strip())) if c not in TITLE_OMITS)
    # two modern words with one verse word side by side say it once (教师节给老师: 吾師吾師 → 吾師)
    return re.sub(r"(.{2,}?)\1+", r"\1", title)


def _without_place_words(text: str) -> str:
    """`text` (either script) less the place character each of its words ends with, where `_without_place_word`
    drops it, or that follows a word of two or more characters: 春天的花园里 → 春天的花园, 公园 里 → 公园."""
    simplified = to_simplified(text)
    if len(simplified) != len(text):
        return text  # not one character for one: nothing is dropped
    frequencies = _jieba().dt.FREQ
    kept: list[str] = []
    start = 0
    previous = ""
    for word in _jieba().lcut(simplified):
        if not (word in PLACE_ENDINGS and len(previous) >= 2):
            kept.append(text[start : start + len(_without_place_word(word, frequencies))])
        start += len(word)
        previous = word
    return "".join(kept)


# Characters of place a modern phrase ends with (花园里, 窗户边): what it names is the word before them.
PLACE_ENDINGS = frozenset("里上中内外边旁前后")


def _without_place_word(word: str, frequencies: dict) -> str:
    """A modern word of three or more characters less a place character it ends with, where what is left
    is a word of its own (花园里 → 花园, whose 园里 no poem says); 山上 stays (山 alone is no word here)."""
    stem = word[:-1]
    if len(word) >= 3 and word[-1] in PLACE_ENDINGS and (stem in modern_words() or frequencies.get(stem)):
        return stem
    return word


# Words that say when the rest happens, relative to it, tagged as time words by jieba's dictionary (simplified)
RELATIVE_TIME_WORDS = frozenset({"过后", "后来", "之后", "之前", "时候"})


def theme_keywords(text: str, k: int = 4) -> list[str]:
    """Up to `k` keywords of a theme (either script), best first, as verse would say them, in traditional
    characters: the theme's keywords (extract_keywords) less numbers with their measure words (一只 of
    养了一只猫), each modern word replaced by its verse word (思念远方的朋友 → 天涯, 故人, 相思), then
    modern words, parts of set phrases and one-character nouns that TextRank passed over, in the order the
    theme has them (新年快乐 → 新年; 小桥流水人家 → 人家, 小桥, 流水; 养了一只猫 → 貓)."""
    found = extract_keywords(text, k=k, method="textrank", script="traditional")
    jieba = _jieba()
    import_modules("jieba.posseg")
    from jieba import posseg

    simplified = to_simplified(text.strip())
    frequencies = jieba.dt.FREQ
    table = modern_words()
    pieces = jieba.lcut(simplified)
    tags = posseg.dt.word_tag_tab  # the dictionary's part of speech: a lookup, not a tagging run
    # no numbers (一只), and no word that only places or times the rest (之外, 以后, 过后): no couplet's theme
    found = [
        word
        for word in found
        if len(word) < 2
        or (
            tags.get(to_simplified(word)) not in ("m", "f") and to_simplified(word) not in RELATIVE_TIME_WORDS
        )
    ]
    for word in pieces:
        flag = tags.get(word, "x")
        if word in table:
            found.append(word)
        elif len(word) > MAX_KEYWORD_CHARS:  # a set phrase (成语) is no keyword, but its words may be
            found += [
                part
                for part in jieba.lcut_for_search(word)
                if part != word and (part in table or (len(part) > 1 and _is_candidate(part, frequencies)))
            ]
        elif len(word) == 1 and flag[:1] in "nst" and flag != "nr" and _is_candidate(word, frequencies):
            found.append(word)  # TF-IDF keeps no word of one character: 猫 of 养了一只猫
    # a modern word jieba cuts in two (异地恋: 异地, 恋) is read whole, as in_verse_words reads it
    spanning = [word for word in _modern_words_in(simplified) if word not in pieces]
    found = [word for word in found if not any(to_simplified(word) in longer for longer in spanning)]
    found += spanning
    if not found:  # a theme of one character (雨, 秋), or one word jieba's keywords skip (晨跑: 晨, 跑)
        found = [char for word in pieces for char in word if _is_candidate(char, frequencies)]
    words: list[str] = []
    for word in found:
        plain = _without_place_word(to_simplified(word), frequencies)
        verse = table.get(plain) or words_to_traditional([word[: len(plain)]], context=text)[0]
        if verse not in words:
            words.append(verse)
    return words[:k]


# ---------------------------------------------------------------- corpus keywords (training)


def _cache_path(bodies: list[str], k: int, cache_dir: str | os.PathLike | None) -> Path:
    from poetry_rnn.files import default_cache_dir

    digest = hashlib.sha256()
    settings = [KEYWORDS_VERSION, k, MAX_KEYWORD_CHARS, MIN_DOCUMENT_FREQUENCY, NOUN_BOOST, sorted(STOPWORDS)]
    digest.update(json.dumps(settings, ensure_ascii=False).encode("utf-8"))
    for body in bodies:
        digest.update(body.encode("utf-8"))
        digest.update(b"\n")
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    return root / f"keywords-{digest.hexdigest()[:24]}.json"


def _rank_corpus(bodies: list[str], k: int) -> dict[str, list[str]]:
    jieba = _jieba()
    import_modules("jieba.posseg")
    from jieba import posseg

    frequencies = jieba.dt.FREQ
    tags = posseg.dt.word_tag_tab  # the dictionary's part of speech: a lookup, not a tagging run
    simplified = to_simplified("\n".join(bodies)).split("\n")
    if len(simplified) != len(bodies):  # never seen: OpenCC keeps line breaks; be safe
        simplified = [to_simplified(body) for body in bodies]
    # One segmentation a poem, dictionary words only (no new-word guessing): (word, offset) pairs.
    segmented: list[list[tuple[str, int]]] = []
    document_frequency: Counter[str] = Counter()
    for text in simplified:
        words, offset = [], 0
        for word in jieba.cut(text, HMM=False):
            if _is_candidate(word, frequencies):
                words.append((word, offset))
            offset += len(word)
        segmented.append(words)
        document_frequency.update({w for w, _ in words})
    count = len(bodies)
    weight = {
        w: math.log(count / n)
        * (1 + 0.5 * (len(w) - 1))
        * (NOUN_BOOST if tags.get(w, "x")[:1] in "nst" else 1)
        for w, n in document_frequency.items()
        if n >= MIN_DOCUMENT_FREQUENCY or count < 100 * MIN_DOCUMENT_FREQUENCY  # small corpora: all words
    }
    result: dict[str, list[str]] = {}
    for body, text, words in zip(bodies, simplified, segmented, strict=True):
        term_frequency = Counter(w for w, _ in words if w in weight)
        first = {}
        for word, offset in words:
            first.setdefault(word, offset)
        # TF-IDF, a little more for longer words (黃河 says more than 河) and for nouns; ties by position.
        ranked = sorted(term_frequency, key=lambda w: (-term_frequency[w] * weight[w], first[w]))
        aligned = len(text) == len(body)
        chosen: list[str] = []
        for word in ranked:
            keyword = body[first[word] : first[word] + len(word)] if aligned else to_traditional(word)
            if keyword not in chosen:
                chosen.append(keyword)
            if len(chosen) == k:
                break
        result[body] = chosen
    return result


def corpus_keywords(
    poems: Iterable, k: int = 3, cache_dir: str | os.PathLike | None = None, use_cache: bool = True
) -> dict[str, list[str]]:
    """{poem body: up to k keywords} for every poem (objects with `.body`), in the poems' own characters.
    Cached in `cache_dir` (default `$POETRY_RNN_CACHE` or ~/.cache/poetry_rnn), keyed by the bodies."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 16:
        raise UserError(f"k: give a whole number of keywords from 1 to 16, got {k!r}", field="k")
    bodies = sorted({poem.body for poem in poems})
    if not bodies:
        return {}
    path = _cache_path(bodies, k, cache_dir)
    if use_cache:
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(cached, dict) and len(cached) == len(bodies):
                return cached
        except (OSError, ValueError):
            pass  # not cached yet, or damaged
    started = time.perf_counter()
    result = _rank_corpus(bodies, k)
    logging.getLogger(__name__).info(
        "keywords for %d poems in %.1f s", len(bodies), time.perf_counter() - started
    )
    if use_cache:
        from poetry_rnn.files import write_atomic

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(result, ensure_ascii=False, separators=(",", ":")))
        except OSError:
            pass  # a read-only cache only costs time
    return result
