"""A pasted poem → its lines of Chinese characters (for the checker and its batch mode)."""

from __future__ import annotations

import re
from collections import Counter

from poetry_rnn.prosody.rhyme import is_cjk

# Line separators: Chinese and ASCII sentence punctuation, and line breaks.
_SEPARATORS = re.compile(r"[，。？！；、,.?!;：:\n\r\u2028\u2029]+")
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")


def split_lines(text: str) -> tuple[list[str], list[str]]:
    """The poem's lines (Chinese characters only) and notes about what was dropped.

    Lines end at ，。？！；、 (or ASCII , . ? ! ;) and line breaks. Spaces are removed, except that
    space-separated chunks of 5 or 7 characters count as lines. An unpunctuated run of 20, 28, 40 or 56
    characters is cut into 5- or 7-character lines.
    """
    notes: list[str] = []
    dropped: Counter[str] = Counter()
    lines: list[str] = []
    for segment in _SEPARATORS.split(text):
        pieces = [p for p in _SPACES.split(segment.strip()) if p]
        cleaned = ["".join(c for c in piece if is_cjk(c)) for piece in pieces]
        for piece in pieces:
            dropped.update(c for c in piece if not is_cjk(c))
        cleaned = [c for c in cleaned if c]
        if len(cleaned) > 1 and all(len(c) in (5, 7) for c in cleaned):
            lines.extend(cleaned)
        elif cleaned:
            lines.append("".join(cleaned))
    if len(lines) == 1:
        length = len(lines[0])
        for chars_per_line in (5, 7):
            if length in (4 * chars_per_line, 8 * chars_per_line):
                only = lines[0]
                lines = [only[i : i + chars_per_line] for i in range(0, length, chars_per_line)]
                notes.append(
                    f"无标点，按每句{chars_per_line}字分句 (no punctuation: split into {chars_per_line}-character lines)"
                )
                break
    if dropped:
        shown = " ".join(sorted(dropped))
        notes.append(f"已忽略非汉字字符 (ignored non-Chinese characters): {shown}")
    return lines, notes
