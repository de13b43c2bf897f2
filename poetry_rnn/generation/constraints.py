"""The rules of one request as decoding constraints: which rule objects a request's options call for."""

from __future__ import annotations

from collections.abc import Callable

from poetry_rnn.decoding.constraint_set import ConstraintSet
from poetry_rnn.decoding.originality import CorpusLines
from poetry_rnn.decoding.rules import (
    AcrosticRule,
    FormRule,
    HeardLineRule,
    LineRepetition,
    OriginalityRule,
    ParallelRule,
    PatternChoice,
    PlanRule,
    RepetitionRule,
    ReuseRule,
    RhymeRule,
    Rule,
    SeasonRule,
    ToneRule,
)
from poetry_rnn.decoding.rules.season import seasons_asked
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.generation.plan import PLAN_BONUS, PLAN_OPENING
from poetry_rnn.generation.resolve import ResolvedRequest
from poetry_rnn.prosody.patterns import TONE_OFF
from poetry_rnn.prosody.rhyme import get_scheme
from poetry_rnn.quality import shipped_slots


def request_constraints(
    request: ResolvedRequest,
    tables: VocabularyTables,
    overused_rule: Rule | None,
    corpus_lines: Callable[[], CorpusLines | None],
) -> ConstraintSet:
    """The request's rules, one object each, for the search (decoding/rules/; constraint_set says how they
    combine). A new rule is built here from the request's options. The tone, rhyme and acrostic rules cache
    their masks per situation, so they are shared between requests with the same settings
    (VocabularyTables.shared). `overused_rule`: the model's overused phrases (None: no table);
    `corpus_lines`: the lines a poem may not copy (read on first use)."""
    form, asked = request.form, request.asked
    rules: list[Rule] = [FormRule(tables, form.chars_per_line, form.line_count)]
    if asked.tone != TONE_OFF or asked.rhyme_scheme != "none":
        # one choice per pattern list: the tone and rhyme rules built on it narrow the same patterns
        choice = tables.shared(PatternChoice, tuple(request.patterns))
        rules.append(tables.shared(ToneRule, tables, tables.scheme(request.tone_scheme), choice, asked.tone))
        if asked.rhyme_scheme != "none":
            rhyme_rule = tables.shared(
                RhymeRule,
                tables,
                tables.scheme(asked.rhyme_scheme),
                choice,
                tuple(request.rhyme_groups),
                tuple(request.first_line_borrows),
            )
            rules.append(rhyme_rule)
            if asked.rhyme_scheme == "xinyun":  # 新韵: each finished line as heard in context
                xinyun = get_scheme("xinyun")
                rules.append(tables.shared(HeardLineRule, tables, xinyun, choice, asked.tone, rhyme_rule))
    heads = tuple(frozenset(head) for head in request.heads or ())
    if heads:
        rules.append(tables.shared(AcrosticRule, tables, heads))
    slots = shipped_slots()
    if request.parallel_couplets:
        second_lines = tuple(line + 1 for line in request.parallel_couplets)
        rules.append(
            tables.shared(ParallelRule, tables, form.chars_per_line, second_lines, heads, slots=slots)
        )
    # Heads that stand for one character are reserved, so that the model cannot spend them early.
    reserved = {i: next(iter(h)) for i, h in enumerate(request.heads or ()) if len(h) == 1}
    if slots is None:
        request.notes.append("reduplications unchecked: the table of attested ones is missing")
    lines = LineRepetition(form.chars_per_line, slots)
    rules.append(RepetitionRule(tables, asked.max_repeat, reserved, lines))
    if asked.repeat_penalty > 0:
        rules.append(tables.shared(ReuseRule, tables, asked.repeat_penalty, tuple(reserved.values())))
    if request.plan is not None:
        rules.append(PlanRule(tables, request.plan.keywords, form.chars_per_line, PLAN_BONUS, PLAN_OPENING))
    if asked.avoid_overused and overused_rule is not None:
        rules.append(overused_rule)
    if asked.one_season:
        # the prompt's seasons, and the plan's: a plan of 春风 and 秋月 asks for both
        planned = request.plan.keywords if request.plan is not None else ()
        given = (request.model_title or "", request.first_line or "", *request.keywords, *planned)
        rules.append(tables.shared(SeasonRule, tables, seasons_asked(given)))
    if asked.originality:
        lines = corpus_lines()
        if lines is not None:
            rules.append(OriginalityRule(tables, lines, form.chars_per_line))
        else:
            request.notes.append("originality check off: no corpus lines available")
    return ConstraintSet(tables, rules)
