"""A whole line judged as it is read: the question the decoder asks of a finished line and the checker of
each line, in one place so that they cannot disagree.

Per-character tables (`RhymeScheme.tones`) are what the decoder can use while a line is still being
written; once the line is complete, `RhymeScheme.line_tones` reads it in context (under 中华新韵 the phrase
dictionary may fix a reading: 长 in 生长 is zhǎng, 仄). `line_breaks` names what the finished line breaks;
`tone_breaks` is the judgement of its tones that the checker makes of every line too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from poetry_rnn.prosody.patterns import (
    PING_MARK,
    STRICT,
    fits,
    fixed_positions,
    is_gu_ping,
    is_san_ping_wei,
    relaxed_template,
)
from poetry_rnn.prosody.rhyme import RhymeScheme
from poetry_rnn.prosody.rhyme_faults import neutral_tone


@dataclass(frozen=True)
class LineBreaks:
    """What a finished line breaks, read in context. Empty (falsy) when it keeps everything."""

    tone_positions: tuple[int, ...] = ()  # 0-based fixed positions whose tone cannot take the mark
    gu_ping: bool = False  # 孤平
    san_ping_wei: bool = False  # 三平尾
    rhyme: bool = False  # the last character does not rhyme in any of the allowed groups

    def __bool__(self) -> bool:
        return bool(self.tone_positions or self.gu_ping or self.san_ping_wei or self.rhyme)


def tone_breaks(
    template: str,
    line_tones: Sequence[Iterable[str]],
    strictness: str = STRICT,
    rhyme_position: int | None = None,
) -> LineBreaks:
    """The one judgement of a line's tones, the decoder's and the checker's: the positions `strictness` fixes
    (standard: 一三五不论，二四六分明, and the line end; a 拗救 form's as written), and 孤平 and 三平尾 at
    either level, since a line that frees the 1st/3rd/5th characters still must not fall into them.
    `line_tones`: one set per character (empty: unknown, fits anything); `rhyme_position`: a position the
    rhyme judges instead of the tone."""
    judged = relaxed_template(template, strictness)
    return LineBreaks(
        tone_positions=tuple(
            i
            for i in fixed_positions(judged, STRICT)
            if i != rhyme_position and not fits(judged[i], line_tones[i])
        ),
        gu_ping=is_gu_ping(judged, line_tones),
        san_ping_wei=is_san_ping_wei(judged, line_tones),
    )


def line_breaks(
    scheme: RhymeScheme,
    line: str,
    template: str,
    strictness: str = STRICT,
    rhyme_groups: Collection[str] | None = None,
) -> LineBreaks:
    """Judge `line` (Chinese characters, as long as `template`) against its template (e.g. "中平中仄仄平平")
    with every character read in context (`tone_breaks`). `rhyme_groups`: for a rhyme line, the groups its
    last character may rhyme in (None: not judged); the last position of a 平收 line is then judged by the
    rhyme, not the tone."""
    if len(line) != len(template):
        raise ValueError(f"line {line!r} has {len(line)} characters, template {template!r} {len(template)}")
    tones = scheme.line_tones(line)
    rhyme_position = len(template) - 1 if rhyme_groups is not None and template[-1] == PING_MARK else None
    rhymes = True
    if rhyme_groups is not None:
        last = scheme.line_rhyme_groups(line)[-1]
        unread = not tones[-1] and not neutral_tone(scheme, line, len(line) - 1)  # a particle never rhymes
        rhymes = unread or bool(last & set(rhyme_groups))
    judged = tone_breaks(template, tones, strictness, rhyme_position)
    return LineBreaks(judged.tone_positions, judged.gu_ping, judged.san_ping_wei, rhyme=not rhymes)


__all__ = ["LineBreaks", "line_breaks", "tone_breaks"]
