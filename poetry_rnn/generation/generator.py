"""PoetryGenerator: poems under form, rhyme and tone constraints — the API the app and the CLI use.

    gen = PoetryGenerator.from_pretrained()            # data/default_model or $POETRY_RNN_MODEL
    poems = gen.generate(form="qilv", acrostic="春江花月夜色正明", n=8, seed=1)
    poems = gen.generate(GenerationRequest(form="qilv", acrostic="春江花月夜色正明", n=8, seed=1))  # the same

A request is validated completely before decoding (every bad field raises `UserError` naming it): what
does not depend on the model when the GenerationRequest is made (poetry_rnn.generation.request), the rest
against this model's vocabulary when it is resolved (poetry_rnn.generation.resolve). The rules become
constraints (poetry_rnn.generation.constraints picks them from poetry_rnn.decoding.rules); candidates are
sampled as one batch with line selection (or found by beam search), checked once more with the 格律 checker,
reranked (poetry_rnn.generation.rerank) and returned best first. Several poems are several such searches,
one a poem (`poem_requests`). Each call keeps its state local and draws randomness only from its own seeded
`torch.Generator`, so one generator may serve concurrent requests and the same seed and options give the
same poems. The command line is poetry_rnn.generation.command.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import torch

from poetry_rnn.decoding.constraint_set import ConstraintSet
from poetry_rnn.decoding.originality import CorpusLines, resolve_corpus_lines, write_corpus_lines
from poetry_rnn.decoding.rules import (
    OverusedPhraseRule,
    remaining_patterns,
    rhyme_groups_left,
)
from poetry_rnn.decoding.rules.phrases import read_table
from poetry_rnn.decoding.search import Deadline, beam_search, sample
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.errors import UserError
from poetry_rnn.format import MAX_TITLE_CHARS, conditioning_ids, render_body
from poetry_rnn.generation.constraints import request_constraints
from poetry_rnn.generation.first_line import first_line_problem
from poetry_rnn.generation.plan import couplets_following, plan_share
from poetry_rnn.generation.poem import GeneratedPoem
from poetry_rnn.generation.request import (
    MAX_SEED,
    GenerationRequest,
    scheme_name,
    script_name,
    strictness_name,
)
from poetry_rnn.generation.rerank import rank_score, relevance_scores
from poetry_rnn.generation.resolve import ResolvedRequest, resolve_request, usable_rhyme_chars
from poetry_rnn.model import PoetryLM, make_stepper
from poetry_rnn.prosody.check import Analysis, analyze, analyze_lines
from poetry_rnn.prosody.patterns import STRICT, TONE_OFF
from poetry_rnn.prosody.rhyme import RhymeScheme, get_scheme
from poetry_rnn.script import (
    SimplifiedIndex,
    convert,
    is_simplified,
    normalize_variants,
    to_simplified,
    to_traditional,
)
from poetry_rnn.tokenizer.base import BaseTokenizer

__all__ = ["GeneratedPoem", "GenerationRequest", "PoetryGenerator", "write_corpus_lines"]

log = logging.getLogger(__name__)

# Inference precision of the model's matrix products; $POETRY_RNN_PRECISION overrides it. int8 by default:
# the products dominate a decoding step on a CPU, and the shipped model loses almost no perplexity (model card).
DEFAULT_PRECISION = "int8"
MAX_ROUNDS = 4  # decoding rounds to replace candidates that died or failed the final check


class PoetryGenerator:
    """A model with its tokenizer, vocabulary tables and (lazily) the corpus lines for originality."""

    def __init__(
        self,
        model: PoetryLM,
        tokenizer: BaseTokenizer,
        model_dir: str | Path | None = None,
        corpus_source: str | Path | None = None,
        corpus_lines: CorpusLines | None = None,
        precision: str = "fp32",
    ):
        """precision: the stepper's, "fp32" (the model's own weights) or "int8" (see from_pretrained)."""
        self.model = model.eval()
        self.stepper = make_stepper(self.model, precision)  # the search runs the model through it
        self.tokenizer = tokenizer
        self.model_dir = Path(model_dir) if model_dir else None
        self.corpus_source = corpus_source
        self.tables = VocabularyTables.build(tokenizer)
        self._corpus_lines = corpus_lines
        self._corpus_lines_resolved = corpus_lines is not None
        self._lock = threading.Lock()
        self._simplified_index: SimplifiedIndex | None = None
        self.overused_phrases = read_table(self.model_dir)

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        corpus_source: str | Path | None = None,
        precision: str | None = None,
    ) -> PoetryGenerator:
        """precision: "int8" (int8 weights for the matrix products: faster decoding on a CPU at almost the
        same perplexity, see the model card) or "fp32"; None = $POETRY_RNN_PRECISION or DEFAULT_PRECISION."""
        from poetry_rnn.model import default_model_dir, load_pretrained, validate_precision

        precision = validate_precision(
            precision or os.environ.get("POETRY_RNN_PRECISION") or DEFAULT_PRECISION
        )
        directory = Path(path) if path else default_model_dir()
        if not directory.is_dir():
            raise UserError.of("no_model", "model", path=directory)
        model, tokenizer = load_pretrained(directory)
        return cls(model, tokenizer, model_dir=directory, corpus_source=corpus_source, precision=precision)

    # ------------------------------------------------------------------------------------------ helpers
    @property
    def overused_phrases(self) -> dict[str, float] | None:
        """phrase → penalty: the stock phrases this model overuses (decoding.rules.phrases), or None."""
        return self._overused_phrases

    @overused_phrases.setter
    def overused_phrases(self, table: dict[str, float] | None) -> None:
        # one rule for every request: it keeps no state of its own (it reads the line being written)
        self._overused_phrases = table
        self._overused_rule = OverusedPhraseRule(self.tables, table) if table else None

    def corpus_lines(self) -> CorpusLines | None:
        if not self._corpus_lines_resolved:
            with self._lock:
                if not self._corpus_lines_resolved:
                    self._corpus_lines = resolve_corpus_lines(self.model_dir, self.corpus_source)
                    self._corpus_lines_resolved = True
        return self._corpus_lines

    def simplified_index(self) -> SimplifiedIndex:
        if self._simplified_index is None:
            with self._lock:
                if self._simplified_index is None:
                    self._simplified_index = SimplifiedIndex(self.tables.ids_starting_with)
        return self._simplified_index

    def check(self, text: str, scheme: str | RhymeScheme = "pingshui", strictness: str = STRICT) -> Analysis:
        """The 格律 checker's analysis of a poem (simplified or traditional; lines separated by punctuation
        or line breaks), with the options of poetry_rnn.prosody.check.analyze and the app's /check:

        scheme: "pingshui" (平水韵, the default) or "xinyun" (中华新韵), any case or its Chinese name.
        strictness: "strict" (严格, the default: the tone of every position the pattern fixes) or
            "standard" (一三五不论: only the 2nd, 4th, 6th and last characters'), any case or the app's label.
        A bad option or text raises UserError naming it."""
        if not isinstance(scheme, RhymeScheme):
            try:
                name = scheme_name(scheme) if isinstance(scheme, str) and scheme.strip() else None
            except UserError:
                name = None
            if name not in ("pingshui", "xinyun"):  # "none" is the generator's: nothing to check against
                raise UserError.of("check_scheme_unknown", "scheme", value=scheme)
            scheme = name
        return analyze(text, scheme=scheme, strictness=strictness_name(strictness))

    def usable_rhyme_chars(self, scheme: str, group: str) -> frozenset[str]:
        """Characters of `group` that the model can write at a rhyme position."""
        return usable_rhyme_chars(self.tables, scheme, group)

    def rhyme_groups(self, scheme: str = "pingshui", script: str = "traditional") -> list[tuple[str, str]]:
        """(group id, label with example characters) for each group the model can rhyme in, for UI lists."""
        name = scheme_name(scheme)
        script = script_name(script)
        if name == "none":
            return []
        rhyme_scheme = get_scheme(name)
        found = []
        for group in rhyme_scheme.level_groups:
            usable = self.usable_rhyme_chars(name, group)
            if len(usable) < 5:
                continue
            # examples in the script shown, so that a simplified one really reads in the group (才 is not 纔)
            writable = {convert(c, script) for c in usable} if script == "simplified" else usable
            shown = "".join([c for c in rhyme_scheme.examples(group, 40, script=script) if c in writable][:6])
            found.append((group, f"{rhyme_scheme.group_label(group, script)} {shown}"))
        return found

    def _resolve(self, request: GenerationRequest) -> ResolvedRequest:
        """The request checked against this model's vocabulary, in the terms decoding needs. A model trained
        without keywords is given none (its `<kw>` was never trained); the plan still uses them."""
        resolved = resolve_request(
            request, self.tables, self.tokenizer, self.simplified_index, self.corpus_lines
        )
        if resolved.keywords and not self.model.config.keywords:
            resolved = dataclasses.replace(resolved, keywords=[])
        return resolved

    def _constraints(self, request: ResolvedRequest) -> ConstraintSet:
        return request_constraints(request, self.tables, self._overused_rule, self.corpus_lines)

    def _start_state(
        self, request: ResolvedRequest, constraints: ConstraintSet
    ) -> tuple[DecodingState, list[int]]:
        """A fresh state, advanced through the given first line (checked by the same rules the decoder
        uses), and the ids of the first line."""
        state = constraints.new_state()
        if request.first_line is None:
            return state, []
        ids = self.tokenizer.encode(request.first_line)
        ids.append(self.tables.comma_id)
        for piece in ids:
            refusing = constraints.refusing_rule(state, piece)
            if refusing is not None:
                chars = self.tables.chars[piece] or self.tokenizer.piece_chars(piece)
                raise first_line_problem(request, refusing, state.position + 1, chars)
            constraints.advance(state, piece)
        return state, ids

    # ------------------------------------------------------------------------------------------ decoding
    def generate(self, request: GenerationRequest | None = None, /, **options) -> list[GeneratedPoem]:
        """Poems for one request, best first: a GenerationRequest, or its fields as keywords (with a
        request, keywords replace its fields): form, acrostic, first_line, title, theme, rhyme_scheme,
        rhyme_group, tone, script, n, seed, temperature and the others `help(GenerationRequest)` lists, each
        with its default. A bad value raises UserError naming the field. See also `generate_stream`."""
        events = self._generate(False, _as_request(request, options))
        while True:
            try:
                next(events)
            except StopIteration as stop:
                return stop.value

    def generate_stream(self, request: GenerationRequest | None = None, /, **options) -> Iterator[dict]:
        """Yields {"partial": [lines so far of the leading candidate], "poem": k, "of": n} while the k-th of
        the n poems asked for is decoded (each in turn), then {"done": True, "poems": [GeneratedPoem, ...]},
        best first. Takes what `generate` takes."""
        events = self._generate(True, _as_request(request, options))
        while True:
            try:
                yield next(events)
            except StopIteration as stop:
                yield {"done": True, "poems": stop.value}
                return

    def _generate(self, stream: bool, asked: GenerationRequest):
        # Each poem is the best of its own family of candidates (or its own beam), decoded as the one-poem
        # request of its seed would be (the same poem); with line selection, the candidates of one search
        # would share their first lines.
        families = poem_requests(asked)
        resolved = [self._resolve(one) for one in families]  # every family checked before any decoding
        deadline = Deadline(asked.time_limit)
        poems: list[GeneratedPoem] = []
        spare_seed = families[-1].seed + 1
        for number, request in enumerate(resolved):
            written = {poem.text for poem in poems}
            given = 1 if request.first_line else 0  # the given first line is every poem's
            others = [poem.lines[given:] for poem in poems]
            found = yield from self._decode(stream, request, deadline, (number + 1, len(resolved)))
            # a family whose best poem another has written, or that all but repeats one of its lines,
            # draws again with a fresh seed, so that every poem's seed writes it alone; after a few tries
            # the last draw's best is taken (its next best if another poem is that one)
            for _ in range(DUPLICATE_RETRIES):
                if not found or echoed_line(found[0].lines[given:], others) is None:
                    break
                again = self._resolve(dataclasses.replace(request.asked, seed=spare_seed % (MAX_SEED + 1)))
                spare_seed += 1
                found = (yield from self._decode(False, again, deadline)) or found
            poems += [poem for poem in found if poem.text not in written][:1]
        poems.sort(key=lambda p: -p.rank_score)
        return poems

    def _decode(
        self,
        stream: bool,
        request: ResolvedRequest,
        deadline: Deadline | None = None,
        poem_of: tuple[int, int] = (1, 1),
    ):
        """Every poem found for `request` (its candidates that passed the final check), best first; streamed
        as poem `poem_of` = (k, n) of a request of n."""
        deadline = deadline or Deadline(request.asked.time_limit)
        constraints = self._constraints(request)
        start, first_ids = self._start_state(request, constraints)
        prefix = conditioning_ids(
            self.tokenizer,
            form=request.form.name,
            title=request.model_title[:MAX_TITLE_CHARS] if request.model_title else None,
            keywords=request.keywords or None,
        )
        prefix = prefix + first_ids
        form_spec = request.form
        max_steps = form_spec.line_count * (form_spec.chars_per_line + 1) + 2
        generator = torch.Generator().manual_seed(request.stream_seed)
        poems: list[GeneratedPoem] = []
        bodies: list[list[int]] = []  # each poem's pieces after the given first line, for reranking
        seen: set[str] = set()
        last_partial = None
        with torch.inference_mode():
            for _ in range(MAX_ROUNDS):
                missing = request.candidates - len(poems)
                if missing <= 0:
                    break
                if request.asked.beam > 1:
                    search = beam_search(
                        self.stepper,
                        constraints,
                        prefix,
                        start,
                        max(request.asked.beam, request.candidates),
                        max_steps,
                        deadline,
                        generator,  # a stochastic beam: each seed its own poems
                    )
                else:
                    search = sample(
                        self.stepper,
                        constraints,
                        prefix,
                        start,
                        missing,
                        request.options,
                        generator,
                        max_steps,
                        deadline,
                    )
                while True:
                    try:
                        states = next(search)
                    except StopIteration as stop:
                        states = stop.value
                        break
                    if stream:
                        partial = self._partial(states, request)
                        if partial is not None and partial != last_partial:
                            last_partial = partial
                            yield {"partial": partial, "poem": poem_of[0], "of": poem_of[1]}
                for state in states:
                    if not state.finished or state.dead:
                        continue
                    poem = self._finish(state, request)
                    if poem.ok and poem.text not in seen:
                        seen.add(poem.text)
                        poems.append(poem)
                        bodies.append(state.ids[len(first_ids) :])
        if not poems:
            # an acrostic's heads open the parallel couplets' lines: say that 对仗 may be what rules it out
            raise UserError.of(
                "no_poem_found_heads_parallel"
                if request.heads and request.parallel_couplets
                else "no_poem_found"
            )
        self._rerank(poems, bodies, request, prefix, first_ids)
        poems.sort(key=lambda p: -p.rank_score)
        return poems

    def _rerank(
        self,
        poems: list[GeneratedPoem],
        bodies: list[list[int]],
        request: ResolvedRequest,
        prefix: list[int],
        first_ids: list[int],
    ) -> None:
        """Set each poem's relevance (with a title or keywords) and rank score (see generation.rerank)."""
        relevances: list[float | None] = [None] * len(poems)
        if request.model_title or request.keywords:
            form_prefix = conditioning_ids(self.tokenizer, form=request.form.name) + first_ids
            relevances = relevance_scores(self.stepper, prefix, form_prefix, bodies, self.tokenizer.pad_id)
        for poem, relevance in zip(poems, relevances, strict=True):
            poem.relevance = relevance
            poem.rank_score = rank_score(
                poem.score,
                relevance,
                _parallel_score(poem.analysis, request),
                plan=plan_share(poem.plan_followed or ()),
            )

    def _partial(self, states: list[DecodingState], request: ResolvedRequest) -> list[str] | None:
        alive = [s for s in states if not s.dead]
        if not alive:
            return None
        leader = max(alive, key=lambda s: s.score())
        lines = leader.all_lines()
        return _as_shown(lines, request)

    @staticmethod
    def _repeats_too_often(lines: list[str], request: ResolvedRequest) -> bool:
        """Whether the simplified poem breaks max_repeat: distinct characters the model wrote can become one
        (雲 and 云 both give 云). Characters the user gave (first line, heads) count but are not at fault."""
        if request.asked.max_repeat is None:
            return False
        given = Counter(lines[0] if request.first_line else "")
        if request.heads:
            given.update(line[0] for line in lines[1 if request.first_line else 0 :])
        counts = Counter("".join(lines))
        return any(count > max(request.asked.max_repeat, given[char]) for char, count in counts.items())

    def _finish(self, state: DecodingState, request: ResolvedRequest) -> GeneratedPoem:
        lines = list(state.lines)
        tone_scheme = request.tone_scheme
        analysis = analyze_lines(lines, scheme=tone_scheme, strictness=request.strictness)
        ok = not any(f.name in request.judged_faults for f in analysis.faults)
        ok = ok and _parallel_as_asked(analysis, request)
        shown = _as_shown(lines, request)
        if shown != lines:
            lines = shown
            analysis = analyze(render_body(lines), scheme=tone_scheme, strictness=request.strictness)
            ok = ok and not any(f.name in request.judged_faults for f in analysis.faults)
            ok = ok and _parallel_as_asked(analysis, request)
            ok = ok and not self._repeats_too_often(lines, request)
        left = remaining_patterns(state)
        remaining = [request.patterns[i] for i in (range(len(request.patterns)) if left is None else left)]
        pattern = next((p.name for p in remaining if p.name == analysis.pattern), None)
        if pattern is None and remaining and request.asked.tone != TONE_OFF:
            pattern = remaining[0].name
        if pattern is not None and request.asked.script == "traditional":
            pattern = to_traditional(pattern)  # 平起首句入韻: labels in the poem's script
        group = label = None
        if request.asked.rhyme_scheme != "none":
            groups = rhyme_groups_left(state)
            group = next((g for g in analysis.rhyme_groups if g in groups), groups[0] if groups else None)
            if group is not None:
                label = get_scheme(request.asked.rhyme_scheme).group_label(group, request.asked.script)
        return GeneratedPoem(
            lines=lines,
            text=render_body(lines),
            score=state.score(),
            rhyme_group=group,
            rhyme_group_label=label,
            pattern=pattern,
            seed=request.seed,
            analysis=analysis,
            ok=ok,
            form=request.form.name,
            rhyme_scheme=request.asked.rhyme_scheme,
            tone=request.asked.tone,
            script=request.asked.script,
            notes=list(request.notes),
            plan=request.plan.shown(request.asked.script) if request.plan else None,
            plan_followed=couplets_following(state.lines, request.plan.keywords) if request.plan else None,
            unasked_faults=list(
                dict.fromkeys(f.name for f in analysis.faults if f.name not in request.judged_faults)
            )
            + _unasked_parallel(analysis, request),
            title=_title_shown(request),
            parallel_couplets=list(request.parallel_couplets),
        )


# draws with a fresh seed for a poem that is, or echoes a line of, another of the request's poems
DUPLICATE_RETRIES = 3


def echoed_line(lines: list[str], others: list[list[str]]) -> str | None:
    """The first of `lines` that another poem of the request has (`others`: their lines), or has but for one
    character (花落不知何处去, 花落不知何处宿): the poems of one request are alternatives, seen side by side."""
    for line in lines:
        for other in others:
            for other_line in other:
                if (
                    len(other_line) == len(line)
                    and sum(a != b for a, b in zip(line, other_line, strict=True)) <= 1
                ):
                    return line
    return None


def poem_requests(request: GenerationRequest) -> list[GenerationRequest]:
    """A request of one poem for each poem asked for, with seeds seed, seed + 1, … and `candidates`, where
    given, shared out (else each as a one-poem request has them), so that each poem's seed writes it again
    alone."""
    seed = secrets.randbelow(2**31) if request.seed is None else request.seed
    each = None if request.candidates is None else request.candidates // request.n
    return [
        dataclasses.replace(request, n=1, seed=(seed + number) % (MAX_SEED + 1), candidates=each)
        for number in range(request.n)
    ]


def _parallel_score(analysis: Analysis, request: ResolvedRequest) -> float | None:
    """The mean strict 对仗 score of the couplets the request wants parallel (None if it wants none)."""
    scores = [c.strict_score for c in analysis.couplets if c.line in request.parallel_couplets]
    return sum(scores) / len(scores) if scores else None


def _unasked_parallel(analysis: Analysis, request: ResolvedRequest) -> list[str]:
    """对仗, where the checker finds a middle couplet of a 律诗 unparallel and the request did not ask for it."""
    return ["对仗"] if any(f.line not in request.parallel_couplets for f in analysis.parallel_faults) else []


def _parallel_as_asked(analysis: Analysis, request: ResolvedRequest) -> bool:
    """Whether the couplets the request wants parallel are (a 律诗's 对仗 faults, a 绝句's verdicts)."""
    if not request.parallel_couplets:
        return True
    faulted = {fault.line for fault in analysis.parallel_faults}
    parallel = {couplet.line for couplet in analysis.couplets if couplet.parallel}
    return all(line in parallel and line not in faulted for line in request.parallel_couplets)


def _as_request(request: GenerationRequest | None, options: dict) -> GenerationRequest:
    if request is None:
        return GenerationRequest(**options)
    if not isinstance(request, GenerationRequest):
        raise TypeError(
            f"expected a GenerationRequest, got {type(request).__name__}; pass options as keywords"
        )
    return dataclasses.replace(request, **options) if options else request


def _title_shown(request: ResolvedRequest) -> str | None:
    """The title in the request's script: as typed where it was typed in that script (閒居 stays 閒居, not
    the model's 閑居), else converted."""
    typed = request.asked.title
    if typed is None or request.title is None:
        return None
    if request.asked.script == "traditional" and not is_simplified(typed):
        return typed
    return convert(request.title, request.asked.script)


def _as_shown(lines: list[str], request: ResolvedRequest) -> list[str]:
    """The poem in the request's script. Simplified is written as verse reads it (月沈沈 → 月沉沉), except
    the characters the user gave, a first line and acrostic heads, which come back as typed (a head 沈,
    a surname, stays 沈). Traditional is the model's, but for a first line and heads typed in traditional,
    which come back as typed (人閒桂花落, not the model's variant 人閑桂花落)."""
    if request.asked.script != "simplified":
        return _typed_in_traditional(lines, request)
    shown = [convert(line, "simplified") for line in lines]
    if not request.first_line and not request.heads:
        return shown
    plain = [to_simplified(line) for line in lines]
    if [len(line) for line in plain] != [len(line) for line in shown]:
        return shown
    if request.first_line:
        shown[0] = plain[0]
    if request.heads:
        for row in range(1 if request.first_line else 0, len(shown)):
            # the head alone: converted within its line, 么 of 么麽 would become 幺 (the word 幺麽)
            line = to_simplified(lines[row][0]) + shown[row][1:]
            # a reduplication of the head reads as the head does (沈沈 under a head 沈, not 沈沉)
            doubled = len(line) > 1 and lines[row][1] == lines[row][0]
            shown[row] = line[:1] * 2 + line[2:] if doubled else line
    return shown


def _typed_in_traditional(lines: list[str], request: ResolvedRequest) -> list[str]:
    """The model's traditional lines with a first line and acrostic heads typed in traditional script put
    back as typed, where they are the model's characters but for their spelling (閒/閑, 爲/為, 裏/裡)."""
    asked, shown = request.asked, list(lines)

    def same(typed: str, written: str) -> bool:  # but for spelling: 閒/閑, or 搵 the model knows as 揾
        return len(typed) == len(written) and (
            normalize_variants(typed) == normalize_variants(written)
            or to_simplified(typed) == to_simplified(written)
        )

    if asked.first_line and not is_simplified(asked.first_line) and same(asked.first_line, shown[0]):
        shown[0] = asked.first_line
    if asked.acrostic and not is_simplified(asked.acrostic):
        for row, head in enumerate(asked.acrostic[: len(shown)]):
            if same(head, shown[row][:1]):
                shown[row] = head + shown[row][1:]
    return shown
