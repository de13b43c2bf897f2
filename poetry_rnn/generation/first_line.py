"""Why a given first line is refused: the rule that stopped it, told in the user's script."""

from __future__ import annotations

from poetry_rnn.decoding.rules import AcrosticRule, RhymeRule, Rule, ToneRule
from poetry_rnn.decoding.rules.heard import HeardLineRule
from poetry_rnn.errors import UserError
from poetry_rnn.generation.resolve import ResolvedRequest
from poetry_rnn.prosody.analysis import languages
from poetry_rnn.prosody.heard import line_breaks
from poetry_rnn.prosody.patterns import (
    STANDARD,
    STRICT,
    TONE_OFF,
    TonePattern,
    first_line_licences,
    fits,
    gu_ping_position,
    relaxed_template,
    tone_marks,
    tone_patterns,
)
from poetry_rnn.prosody.reading_notes import reading_note
from poetry_rnn.prosody.rhyme import RhymeScheme, get_scheme
from poetry_rnn.refusals import Bilingual
from poetry_rnn.script import convert, is_simplified


def first_line_problem(request: ResolvedRequest, rule: Rule, position: int, piece_chars: str) -> UserError:
    """The refusal of a given first line that `rule` stopped at `position` (1-based), writing `piece_chars`:
    in the user's script, naming what breaks the rule (for tones: the nearest pattern and each character
    at the wrong tone, not only where the search stopped)."""
    typed = request.asked.first_line
    # as the user reads it: as typed where typed in the poem's script (人閒, not the model's variant 人閑)
    if (
        request.asked.script == "traditional"
        and not is_simplified(typed)
        and len(typed) == len(request.first_line)
    ):
        line = typed
    else:
        line = convert(request.first_line, request.asked.script)
    chars = convert(piece_chars, request.asked.script)
    if isinstance(rule, AcrosticRule):
        return UserError.of("first_line_head", "first_line", head=line[0])
    if isinstance(rule, ToneRule):
        scheme = rule.scheme.scheme  # as the decoder read the line (a traditional 干 is 平 only)
        # a character with no tone at all fits no pattern: no template is nearer than another
        unread = [
            c for c, tones in zip(line, scheme.line_tones(request.first_line), strict=True) if not tones
        ]
        if unread:
            named = list(dict.fromkeys(unread))
            return UserError.of(
                "first_line_no_reading",
                "first_line",
                line=line,
                chars="、".join(named),
                scheme=scheme.chinese_name,
                it="it" if len(named) == 1 else "them",
            )
        # the line keeps a pattern, but not one of the 首句入韵 choice asked for: that choice refuses it
        ruled_out = _ruled_out_pattern(request, scheme)
        if ruled_out is not None:
            return UserError.of(
                "first_line_unrhymed_rules_out"
                if ruled_out.first_line_rhymes
                else "first_line_rhymes_rules_out",
                "first_line",
                line=line,
                marks=tone_marks(scheme.line_tones(line)),
                form=request.form.chinese_name,
                pattern=convert(ruled_out.name, request.asked.script)
                + (f"（{ruled_out.licence}）" if ruled_out.licence else ""),
                template=ruled_out.lines[0],
            )
        templates = list(dict.fromkeys(p.lines[0] for p in request.patterns if not p.licence))
        # judged as the decoder judges: under standard, 2-4-6 and the end, with 孤平 and 三平尾 guarded
        relaxed = list(dict.fromkeys(relaxed_template(t, STANDARD) for t in templates))
        if request.strictness == STANDARD:
            templates = relaxed
        nearest, breaks = nearest_template(scheme, request.first_line, line, templates, STRICT)
        # 一三五不论 is offered only where the line keeps a pattern under it (a 4th character off is no help)
        standard_fits = (
            request.strictness == STRICT
            and not nearest_template(scheme, request.first_line, line, relaxed, STRICT)[1]
        )
        return UserError.of(
            "first_line_tone_standard_fits" if standard_fits else "first_line_tone",
            "first_line",
            line=line,
            marks=tone_marks(scheme.line_tones(line)),
            form=request.form.chinese_name,
            templates=" / ".join(templates),
            tone=request.asked.tone,
            nearest=nearest,
            # where the whole line, read in context, fits: the character the search could not pass
            breaks="、".join(breaks) or f"{position}「{chars}」",
        )
    if isinstance(rule, HeardLineRule):
        scheme = get_scheme(request.asked.rhyme_scheme)
        notes = [
            languages(note) for i in range(len(line)) if (note := reading_note(scheme, line, i)) is not None
        ]
        heard = (
            Bilingual("; " + " ".join(zh for zh, _ in notes), "; " + " ".join(en for _, en in notes))
            if notes
            else ""
        )
        return UserError.of(
            "first_line_heard",
            "first_line",
            line=line,
            marks=tone_marks(scheme.line_tones(line)),
            heard=heard,
            form=request.form.chinese_name,
            scheme=scheme.chinese_name,
            tone=request.asked.tone,
        )
    if isinstance(rule, RhymeRule):
        scheme = get_scheme(request.asked.rhyme_scheme)
        groups = "、".join(scheme.group_label(g) for g in request.rhyme_groups[:6])
        more = " …" if len(request.rhyme_groups) > 6 else ""
        return UserError.of("first_line_rhyme", "first_line", char=chars, groups=groups + more)
    return UserError.of("first_line_unwritable", "first_line", position=position, char=chars)


def _ruled_out_pattern(request: ResolvedRequest, scheme: RhymeScheme) -> TonePattern | None:
    """The first pattern the request's 首句入韵 choice leaves out whose first line the given line keeps
    (白日依山尽 keeps 仄起首句不入韵, which first_line_rhymes=yes rules out); None where the choice
    leaves nothing out or the line keeps none of what it leaves out."""
    chosen = {p.first_line_rhymes for p in request.patterns}
    left_out = [p for p in tone_patterns(request.form) if p.first_line_rhymes not in chosen]
    left_out += [variant for p in left_out for variant in first_line_licences(p)]  # 特拗 移舟泊烟渚 too
    line = request.first_line
    judged = [
        (pattern, line_breaks(scheme, line, pattern.lines[0], request.strictness)) for pattern in left_out
    ]
    if (
        request.asked.tone == TONE_OFF
    ):  # the tone rule then judges the line end alone: show the pattern it fits best
        last = scheme.line_tones(line)[-1]
        kept = [item for item in judged if fits(item[0].lines[0][-1], last)]
    else:
        kept = [item for item in judged if not item[1]]
    if not kept:
        return None
    return min(kept, key=lambda item: len(item[1].tone_positions) + item[1].gu_ping + item[1].san_ping_wei)[0]


def nearest_template(
    scheme: RhymeScheme, line: str, shown: str, templates: list[str], strictness: str
) -> tuple[str, list[str]]:
    """The template `line` breaks least (read as the checker reads it) and what breaks it: each character
    at the wrong tone with the tone it needs (白日依山尽 against 中仄仄平平: 3「依」→仄, 5「尽」→平), then
    孤平, 三平尾. `shown`: the line in the user's script, to quote."""
    judged = [(template, line_breaks(scheme, line, template, strictness)) for template in templates]
    template, broken = min(
        judged, key=lambda item: len(item[1].tone_positions) + item[1].gu_ping + item[1].san_ping_wei
    )
    breaks = [f"{i + 1}「{shown[i]}」→{template[i]}" for i in broken.tone_positions]
    if broken.gu_ping:
        position = gu_ping_position(template)
        assert position is not None
        breaks.append(f"孤平 {position + 1}「{shown[position]}」→平")
    if broken.san_ping_wei:
        breaks.append(f"三平尾「{shown[-3:]}」")
    return template, breaks


__all__ = ["first_line_problem", "nearest_template"]
