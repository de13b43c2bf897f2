"""A whole line judged as it is read: the question the decoder asks of a finished line and the checker of
each line, in one place so that they cannot disagree.

Per-character tables (`RhymeScheme.tones`) are what the decoder can use while a line is still being
written; once the line is complete, `RhymeScheme.line_tones` reads it in context (under 中华新韵 the phrase
dictionary may fix a reading: 长 in 生长 is zhǎng, 仄). `line_breaks` names what the finished line breaks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from poetry_rnn.prosody.patterns import (
    PING_MARK,
    STRICT,
    fits,
    fixed_positions,
    is_gu_ping,
    is_san_ping_wei,
)
from poetry_rnn.prosody.rhyme import RhymeScheme


@dataclass(frozen=True)
class LineBreaks:
    """What a finished line breaks, read in context. Empty (falsy) when it keeps everything."""

    tone_positions: tuple[int, ...] = ()  # 0-based fixed positions whose tone cannot take the mark
    gu_ping: bool = False  # 孤平 (strict only)
    san_ping_wei: bool = False  # 三平尾 (strict only)
    rhyme: bool = False  # the last character does not rhyme in any of the allowed groups

    def __bool__(self) -> bool:
        return bool(self.tone_positions or self.gu_ping or self.san_ping_wei or self.rhyme)


def line_breaks(
    scheme: RhymeScheme,
    line: str,
    template: str,
    strictness: str = STRICT,
    rhyme_groups: Collection[str] | None = None,
) -> LineBreaks:
    """Judge `line` (Chinese characters, as long as `template`) against its template (e.g. "中平中仄仄平平")
    with every character read in context. `rhyme_groups`: for a rhyme line, the groups its last character
    may rhyme in (None: not judged). An unknown character fits anything, as in the checker; the last
    position of a 平收 line is judged by the rhyme, not the tone, when `rhyme_groups` is given."""
    if len(line) != len(template):
        raise ValueError(f"line {line!r} has {len(line)} characters, template {template!r} {len(template)}")
    tones = scheme.line_tones(line)
    rhyme_position = len(template) - 1 if rhyme_groups is not None and template[-1] == PING_MARK else None
    broken = tuple(
        i
        for i in fixed_positions(template, strictness)
        if i != rhyme_position and not fits(template[i], tones[i])
    )
    rhymes = True
    if rhyme_groups is not None:
        last = scheme.line_rhyme_groups(line)[-1]
        rhymes = not tones[-1] or bool(last & set(rhyme_groups))
    strict = strictness == STRICT
    return LineBreaks(
        tone_positions=broken,
        gu_ping=strict and is_gu_ping(template, tones),
        san_ping_wei=strict and is_san_ping_wei(template, tones),
        rhyme=not rhymes,
    )


__all__ = ["LineBreaks", "line_breaks"]
