"""A pasted poem → its lines of Chinese characters (for the checker and its batch mode)."""

from __future__ import annotations

import re

from poetry_rnn.prosody.rhyme import is_cjk

# Line separators: Chinese and ASCII sentence punctuation, dashes and ellipses, and line breaks.
_SEPARATORS = re.compile(r"[，。？！；、,.?!;：:—―–…\n\r\u2028\u2029]+")
_TITLE = re.compile(r"《[^》]*》")  # a title in book-title marks is not part of the poem
# An editor's note in brackets (国破山河在（一作城破）): not part of the line it follows; brackets around
# whole lines (with their punctuation) are not a note
_BRACKETED = re.compile(r"[（(][^（）()\n，。？！；,.?!;]*[）)]")  # [汀]洲: square brackets restore text
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")
# Quotation marks around a poem (or a line) belong to the text that quotes it: set aside like spaces.
QUOTES = '「」『』“”‘’﹁﹂﹃﹄"'
_QUOTES = re.compile(f"[{QUOTES}]")
# A character lost from the text (恨别鸟□心): kept in its line, with no reading, so that the line keeps its
# length and the other characters are judged
MISSING = "□"


def split_lines(text: str) -> tuple[list[str], list[str]]:
    """The poem's lines (Chinese characters only) and notes about what was dropped.

    Lines end at ，。？！；、 (or ASCII , . ? ! ;) and line breaks. Quotation marks (「」『』“”‘’) and spaces
    are removed, except that space-separated chunks of 5 or 7 characters count as lines. A title in 《》, a
    title and an author before the first line, and notes in brackets （一作…） are set aside. An unpunctuated
    run of 10, 14, 20, 28, 40 or 56 characters (a couplet, a 绝句, a 律诗) is cut into 5- or 7-character
    lines, as is a line two or more lines long among lines of 5 (or 7) characters (a comma left out).
    """
    notes: list[str] = []
    dropped: list[str] = []
    lines: list[str] = []
    text = _QUOTES.sub(" ", text)
    titles = _TITLE.findall(text)
    if titles:
        text = _TITLE.sub("\n", text)
        notes.append(f"题目{''.join(titles)}不计入诗句 (the title is not checked)")
    bracketed = [b for b in _BRACKETED.findall(text) if any(is_cjk(c) for c in b)]
    if bracketed:
        text = _BRACKETED.sub(lambda found: found.group() if found.group() not in bracketed else "", text)
        shown = "".join(bracketed)
        notes.append(f"括注{shown}不计入诗句 (the bracketed notes are not checked)")
    empty: list[str] = []
    for segment in _SEPARATORS.split(text):
        pieces = [p for p in _SPACES.split(segment.strip()) if p]
        cleaned = ["".join(c for c in piece if is_cjk(c) or c == MISSING) for piece in pieces]
        cleaned = [c for c in cleaned if c]
        if cleaned:
            dropped += [run for run in foreign_runs(segment) if run not in dropped]
        # space-separated lines, or a title and an author before the first line (春望 杜甫 國破山河在)
        if len(cleaned) > 1 and any(
            all(len(c) in (5, 7) for c in cleaned[first:]) for first in ((0,) if lines else (1, 2))
        ):
            lines.extend(cleaned)
        elif cleaned:
            lines.append("".join(cleaned))
        elif pieces:
            empty.append(" ".join(pieces)[:20])
    if empty:
        notes.append(
            f"无汉字的一段不算诗句：{'、'.join(f'「{e}」' for e in empty)} "
            "(a segment without Chinese characters is not a line)"
        )
    header = _header_lines(lines)
    if header:
        lines = lines[len(header) :]
        notes.append(
            f"首行{'、'.join(f'「{h}」' for h in header)}当作题目或作者，不计入诗句 "
            "(taken as the title or author, not checked)"
        )
    if len(lines) == 1:
        length = len(lines[0])
        for chars_per_line in (5, 7):
            if length in (2 * chars_per_line, 4 * chars_per_line, 8 * chars_per_line):
                only = lines[0]
                lines = [only[i : i + chars_per_line] for i in range(0, length, chars_per_line)]
                notes.append(
                    f"无标点，按每句{chars_per_line}字分句 (no punctuation: split into {chars_per_line}-character lines)"
                )
                break
    lines = _split_run_on_lines(lines, notes)
    if dropped:
        shown = "".join(f"「{run}」" for run in dropped)
        notes.append(f"已忽略非汉字字符：{shown} (ignored non-Chinese characters: {shown})")
    return lines, notes


def foreign_runs(text: str) -> list[str]:
    """The runs of characters other than Chinese ones in `text`, as written and in order, spaces inside a run
    kept and around it trimmed: 床前 (moonlight before my bed) → ["(moonlight before my bed)"]."""
    runs, current = [], []
    for char in text:
        if is_cjk(char) or char == MISSING:
            runs.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    runs.append("".join(current).strip())
    return [run for run in runs if run]


def _header_lines(lines: list[str]) -> list[str]:
    """Leading lines that are a title or an author (靜夜思 / 李白 above the poem): the lines after them
    make a whole 绝句 or 律诗 of 5- or 7-character lines, and they themselves are of another length."""
    for start in (1, 2):
        body = lines[start:]
        if len(body) in (4, 8) and len({len(line) for line in body}) == 1 and len(body[0]) in (5, 7):
            if all(len(line) != len(body[0]) for line in lines[:start]):
                return lines[:start]
    return []


def _split_run_on_lines(lines: list[str], notes: list[str]) -> list[str]:
    """A line two or more lines long where every other line has 5 (or 7) characters: a lost comma
    (白日依山尽黄河入海流。欲穷千里目，更上一层楼。), cut into lines of that length."""
    lengths = {len(line) for line in lines}
    if len(lines) < 2 or len(lengths) != 2:
        return lines
    short, long = sorted(lengths)
    if short not in (5, 7) or long % short or sum(len(line) == short for line in lines) < 2:
        return lines
    found: list[str] = []
    for number, line in enumerate(lines, 1):
        if len(line) == long:
            found.extend(line[i : i + short] for i in range(0, long, short))
            notes.append(
                f"第{number}句{long}字无标点，按每句{short}字分开 "
                f"(line {number} has {long} characters and no punctuation: split into {short}-character lines)"
            )
        else:
            found.append(line)
    return found
