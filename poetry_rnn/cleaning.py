"""The cleaning rules: from a raw poem body to its lines, its form and its split.

Editorial notes are removed (`（一作…）`, `(…)`, `〖1〗`, footnote numbers `[一]`), restored text in square
brackets is kept (`[汀]洲` → `汀洲`); a body is refused when a glyph is missing (`□`, a `{…}` glyph
description, private-use or ideographic-description characters), when the editors mark a character as lost
(`囗`, 「近城多囗囗」), when a note is left open in the middle of the text, or when anything but CJK and
line punctuation remains. Punctuation is normalised to `，。？！；`,
variant characters to one form (爲 → 為). Each poem's form comes from its shape, its split from a hash of
its body.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from poetry_rnn.script import VARIANTS, normalize_variants

SPLITS = ("train", "valid", "test")
FORMS = ("wujue", "qijue", "wulv", "qilv")
FORM_SHAPES = {(5, 4): "wujue", (7, 4): "qijue", (5, 8): "wulv", (7, 8): "qilv"}
MIN_BODY_CHARS = 4  # shorter bodies are placeholders (空), not poems
CLEANING_VERSION = 7  # bump when the rules change, so cached results are not reused

LINE_PUNCTUATION = "，。？！；"
_PUNCT_MAP = str.maketrans(
    {
        ",": "，",
        ".": "。",
        "?": "？",
        "!": "！",
        ";": "；",
        "：": "，",
        ":": "，",
        "、": "，",
        "﹐": "，",
        "｡": "。",
        "﹔": "；",
        "﹖": "？",
        "﹗": "！",
        "［": "[",
        "］": "]",
        "｛": "{",
        "｝": "}",
        "\r": "\n",
    }
)
# Editorial matter, removed whole: notes in parentheses (（一作…）), 〖n〗 footnote marks, [一] note numbers.
# Applied until nothing changes, so notes nested to any depth go too.
_NOTES = re.compile(r"（[^（）]*）|\([^()]*\)|〖[^〖〗]*〗|\[[一二三四五六七八九十○〇零\d]+\]")
_OPEN_NOTE = re.compile(r"[（(〖]")
_CLOSE_NOTE = re.compile(r"[）)〗]")
_SENTENCE_END = "。？！\n"
_TRAILING_CLOSERS = re.compile(rf"[{LINE_PUNCTUATION}\s]*[）)〗][）)〗{LINE_PUNCTUATION}\s]*$")
_BRACKETED = re.compile(r"\[([^\[\]]*)\]")  # [縚], [洞天春遠日]: text restored by the editors, kept
_QUOTES = re.compile(r"[《》「」『』〈〉“”‘’\"' \t\u3000]")
# A missing glyph: box marks, `{艹/尔}` descriptions of characters Unicode lacks, private-use code points,
# ideographic description characters (⿰木養), the replacement character.
_MISSING = re.compile(r"[□○●■◻〇{}\ufffd\ue000-\uf8ff\u2ff0-\u2fff\U000f0000-\U0010ffff]")
# The corpus's mark for a character the editors know was there but could not read. It is a CJK character
# itself, so the CJK test lets it through: a poem with a gap is no sample of real verse (a model learns the
# mark as a word, 「囗囗」 reads as a reduplication), so it is dropped with its own reason.
LOST_CHARACTER = "囗"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NON_BODY = re.compile(rf"[^{_CJK}{LINE_PUNCTUATION}\n]")
_LINE_SPLIT = re.compile(rf"[{LINE_PUNCTUATION}\n]")


def _cleaning_fingerprint() -> str:
    """Changes whenever a cleaning rule or the variant table changes (cached corpora then rebuild)."""
    parts = [
        str(CLEANING_VERSION),
        str(MIN_BODY_CHARS),
        LOST_CHARACTER,
        json.dumps(sorted(VARIANTS.items()), ensure_ascii=False),
        *(
            p.pattern
            for p in (_NOTES, _TRAILING_CLOSERS, _BRACKETED, _QUOTES, _MISSING, _NON_BODY, _LINE_SPLIT)
        ),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


CLEANING_FINGERPRINT = _cleaning_fingerprint()


def detect_form(lines: Iterable[str]) -> str:
    """wujue/qijue/wulv/qilv for 4 or 8 lines of 5 or 7 characters each, else "other"."""
    lines = list(lines)
    lengths = {len(line) for line in lines}
    if len(lengths) != 1:
        return "other"
    return FORM_SHAPES.get((lengths.pop(), len(lines)), "other")


def shares_most_lines(shared: int, line_count: int) -> bool:
    """Whether a poem of `line_count` lines that shares `shared` of them with another poem is a variant of it
    (the same poem under two names, or a few characters changed): at least two lines, and half of its own.
    `split_of` hashes the exact text, so such twins may land in different splits."""
    return shared >= 2 and 2 * shared >= line_count


def split_of(lines: Iterable[str]) -> str:
    """Stable split by a hash of the normalised body: the same on every machine, duplicates together."""
    digest = hashlib.sha1("".join(lines).encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:4], "big") % 100
    return "train" if bucket < 96 else "valid" if bucket < 98 else "test"


def _strip_notes(text: str) -> tuple[str, bool]:
    """Remove editorial notes. Returns (text, balanced): a note opened after a complete sentence and never
    closed (cut short at the end of the record) is cut off; any other unmatched bracket is unbalanced."""
    while True:
        stripped = _NOTES.sub("", text)
        if stripped == text:
            break
        text = stripped
    opened = _OPEN_NOTE.search(text)
    if opened:
        before = text[: opened.start()].rstrip(" \u3000")
        if before and before[-1] not in _SENTENCE_END:
            return text, False
        text = before
    text = _TRAILING_CLOSERS.sub("", text)  # a stray closing bracket after the last line closes nothing
    return text, not _CLOSE_NOTE.search(text)


def clean_title(title: str | None) -> str:
    if not title or not isinstance(title, str):
        return ""
    text, _ = _strip_notes(title.translate(_PUNCT_MAP))
    text = _OPEN_NOTE.sub("", _CLOSE_NOTE.sub("", text))
    return normalize_variants(_QUOTES.sub("", _BRACKETED.sub(r"\1", text))).strip()


def clean_body(paragraphs: list[str] | str | None) -> tuple[tuple[str, ...] | None, str | None]:
    """Clean one poem body (a list of lines or couplets, or one string). Returns (lines, None) or
    (None, drop reason): no_body, bad_body, empty, unbalanced_note, missing_glyph, lost_character, non_cjk,
    too_short."""
    if paragraphs is None:
        return None, "no_body"
    if isinstance(paragraphs, str):
        text = paragraphs
    elif isinstance(paragraphs, (list, tuple)) and all(p is None or isinstance(p, str) for p in paragraphs):
        text = "\n".join(p for p in paragraphs if p)  # a line end between items, even without punctuation
    else:
        return None, "bad_body"
    if not text.strip():
        return None, "empty"
    text, balanced = _strip_notes(text.translate(_PUNCT_MAP))
    if not balanced:
        return None, "unbalanced_note"
    text = _QUOTES.sub("", _BRACKETED.sub(r"\1", text))
    if _MISSING.search(text):
        return None, "missing_glyph"
    if LOST_CHARACTER in text:
        return None, "lost_character"
    if _NON_BODY.search(text):
        return None, "non_cjk"
    lines = tuple(line for line in _LINE_SPLIT.split(normalize_variants(text)) if line)
    if not lines:
        return None, "empty"
    if sum(map(len, lines)) < MIN_BODY_CHARS:
        return None, "too_short"
    return lines, None
