"""From a GenerationRequest to what decoding needs, checked against one model's vocabulary.

A GenerationRequest is valid for every model; whether this model can write its first line and its head
characters, which rhyme groups it has enough characters for and how large top_k may be depend on the
vocabulary. `resolve_request` checks those (UserError naming the field), draws the seed when none was
given, and turns the request into a `ResolvedRequest`: the form, the tone patterns, the rhyme groups, the
head characters and the texts in the characters the model writes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from poetry_rnn.decoding.originality import CorpusLines
from poetry_rnn.decoding.search import SamplingOptions
from poetry_rnn.decoding.vocabulary import VocabularyTables
from poetry_rnn.errors import UserError
from poetry_rnn.generation.plan import Plan, request_plan
from poetry_rnn.generation.request import DEFAULT_CANDIDATES, GenerationRequest, in_range
from poetry_rnn.prosody.analysis import faults_of
from poetry_rnn.prosody.patterns import (
    STANDARD,
    TONE_OFF,
    Form,
    TonePattern,
    first_line_licences,
    tone_patterns,
)
from poetry_rnn.prosody.rhyme import get_scheme
from poetry_rnn.prosody.rhyme_faults import neighbour_groups
from poetry_rnn.script import (
    SimplifiedIndex,
    convert,
    is_simplified,
    normalize_variants,
    standard_forms,
    to_simplified,
    to_traditional,
)
from poetry_rnn.tokenizer.base import BaseTokenizer

__all__ = ["ResolvedRequest", "resolve_request"]

# Sampled rhyme groups need this many usable characters per rhyme line, so that the rhyme lines never run
# out of characters; a group the user names needs only one spare.
AUTO_GROUP_CHARS_PER_RHYME = 3


@dataclass
class ResolvedRequest:
    """A validated request: everything decoding needs, nothing left to check. `asked` is the request as made,
    read as it is for the options decoding takes unchanged (rhyme scheme, tone, script, beam, the switches
    and penalties, the time limit); the fields are what this model's vocabulary made of the rest."""

    asked: GenerationRequest
    form: Form
    patterns: list[TonePattern]
    rhyme_groups: tuple[str, ...]
    heads: list[set[str]] | None  # per line, the model's characters its head character may stand for
    first_line: str | None  # the given first line, in the characters the model writes
    title: str | None  # the user's title, in the characters the model writes
    keywords: list[str]
    candidates: int
    seed: int  # the request's, or one drawn for it
    options: SamplingOptions
    # the first lines (0-based) of the couplets written parallel: a 律诗's 颔联 and 颈联 (2, 4), a 绝句's
    # last couplet (2,) when asked for
    parallel_couplets: tuple[int, ...] = ()
    plan: Plan | None = None  # one keyword per couplet (generation.plan), or None
    # groups a given first line may rhyme in beside a named group: its neighbours (首句借邻韵, 平水韵)
    first_line_borrows: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    # the title the model is conditioned on: the user's, else a theme said as a title (keywords.theme_title)
    model_title: str | None = None

    @property
    def stream_seed(self) -> int:
        """The seed of the decoder's random stream: the request's seed mixed with what shapes the poem
        (form, tone and rhyme rules, heads, given line, parallel couplets, conditioning). Two requests that
        differ only in these would otherwise draw the same characters and, where the looser poem happens to
        keep the stricter rules, return the same poem. Left out: the sampling settings (they change a poem,
        not its draws) and the switches that only forbid or disfavour a few characters (originality, one
        season, max_repeat, the penalties), so that turning one on changes a poem only where it breaks
        that rule."""
        asked = repr(
            (
                self.form.name,
                self.asked.rhyme_scheme,
                self.asked.tone,
                [pattern.name for pattern in self.patterns],
                self.rhyme_groups,
                [sorted(chars) for chars in self.heads] if self.heads else None,
                self.first_line,
                self.model_title,
                self.keywords,
                self.parallel_couplets,
            )
        )
        digest = hashlib.blake2b(f"{self.seed}|{asked}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") >> 1  # torch.Generator takes a signed 64-bit seed

    @property
    def tone_scheme(self) -> str:
        """Tones come from the rhyme scheme; with no rhyme scheme, from 平水韵."""
        return self.asked.rhyme_scheme if self.asked.rhyme_scheme != "none" else "pingshui"

    @property
    def strictness(self) -> str:
        return self.asked.tone if self.asked.tone != TONE_OFF else STANDARD

    @property
    def judged_faults(self) -> frozenset[str]:
        kinds = ["shape"]
        if self.asked.rhyme_scheme != "none":
            kinds.append("rhyme")
        if self.asked.tone != TONE_OFF:
            kinds.append("tone")
        return faults_of(*kinds)


def resolve_request(
    request: GenerationRequest,
    tables: VocabularyTables,
    tokenizer: BaseTokenizer,
    simplified_index: Callable[[], SimplifiedIndex],
    corpus_lines: Callable[[], CorpusLines | None] = lambda: None,
) -> ResolvedRequest:
    """`request`, of one poem (the generator splits several, `generator.poem_requests`), for the model whose
    vocabulary `tables` and `tokenizer` describe. `simplified_index` gives the model's characters by their
    simplified form (built only when an acrostic needs it); `corpus_lines` the corpus's lines, if any (read
    only when a theme's plan asks whether verse uses a word)."""
    if request.n != 1:
        raise ValueError(f"resolve_request takes a request of one poem, not n={request.n}")
    form = request.form_spec
    top_k = in_range(request.top_k, "top_k", 0, tables.vocab_size, "top_k")
    first_line_rhymes = request.first_line_rhymes
    patterns = [p for p in tone_patterns(form) if first_line_rhymes in (None, p.first_line_rhymes)]
    if request.first_line is not None:  # a given first line may take a 拗救 form the checker accepts
        patterns += [variant for p in patterns for variant in first_line_licences(p)]
    heads = None
    if request.acrostic is not None:
        heads = _heads(request.acrostic, tables, simplified_index())
    line = None
    if request.first_line is not None:
        line = to_model_script(request.first_line, tables)
        missing = [c for c in line if c not in tables.ids_of_text]
        if missing and tokenizer.decode(tokenizer.encode(line)) != line:
            raise UserError.of(
                "first_line_not_writable", "first_line", chars="、".join(dict.fromkeys(missing))
            )
    groups = _rhyme_groups(request.rhyme_scheme, request.rhyme_group, form, patterns, tables, request.script)
    borrows: tuple[str, ...] = ()
    if line is not None and request.rhyme_group is not None and request.rhyme_scheme == "pingshui":
        # the checker accepts a first line rhyming in a neighbouring group (清明时节雨纷纷 文 in a 元 poem)
        borrows = tuple(sorted(neighbour_groups(get_scheme("pingshui"), request.rhyme_group)))
    seed = secrets.randbelow(2**31) if request.seed is None else request.seed
    title = to_model_script(request.title, tables) if request.title is not None else None
    plan = _plan(request, title, seed, tables, corpus_lines)
    return ResolvedRequest(
        asked=request,
        form=form,
        patterns=patterns,
        rhyme_groups=groups,
        heads=heads,
        first_line=line,
        title=title,
        keywords=list(request.conditioning_keywords),
        candidates=_candidates(request),
        seed=seed,
        options=SamplingOptions(
            temperature=request.temperature,
            top_k=top_k,
            top_p=request.top_p,
            select_lines=_selection_lines(request, form),
        ),
        parallel_couplets=_parallel_couplets(request.parallel, form),
        first_line_borrows=borrows,
        plan=plan,
        model_title=title or (to_model_script(request.theme_title, tables) if request.theme_title else None),
        notes=_theme_unplanned(request, plan),
    )


# A theme's word the plan table lacks is verse's own when this many corpus lines have it (西湖 13, 小院 18),
# not a chance meeting of two words (高鐵 2, 廣場 5, 生活 4).
ATTESTED_LINES = 10


def _plan(
    request: GenerationRequest,
    title: str | None,
    seed: int,
    tables: VocabularyTables,
    corpus_lines: Callable[[], CorpusLines | None],
) -> Plan | None:
    """The user's plan, or one made from the title and keywords (or drawn) where the request says how the
    poem goes in no other way (no acrostic, no first line)."""
    known = tables.ids_starting_with

    def attested(word: str) -> bool:
        lines = corpus_lines()
        return lines is not None and lines.lines_with(word, ATTESTED_LINES) >= ATTESTED_LINES

    source = "title" if title else "theme" if request.theme else "keywords" if request.keywords else "free"
    return request_plan(
        request.plan,
        request.form_spec.line_count // 2,
        [title, *(request.keywords or ())] if title else list(request.keywords or ()),
        automatic=request.acrostic is None and request.first_line is None,
        seed=seed,
        writable=lambda word: all(c in known or normalize_variants(c) in known for c in word),
        source=source,
        theme_words=request.theme_keywords,
        attested=attested,
        related_only=source == "theme",
    )


def _theme_unplanned(request: GenerationRequest, plan: Plan | None) -> list[str]:
    """A note where a theme's words gave the poem no plan (量子计算机: words verse does not use), so that the
    visitor knows the theme reached the poem only as its title."""
    automatic = request.plan is None and request.acrostic is None and request.first_line is None
    if not (request.theme and automatic and plan is None):
        return []
    words = convert("、".join(request.theme_keywords), request.script) or request.theme
    return [
        f"主题的词（{words}）诗中少见，未能立意，只作题目；可改用诗里常见的词，或在「立意」里自定 "
        f"(the theme's words, {words}, are rare in verse: no plan, the theme is the poem's title only; "
        "try words verse uses, or give a plan)"
    ]


def _candidates(request: GenerationRequest) -> int:
    """As asked, else DEFAULT_CANDIDATES sampled, or the one poem of a beam, whose width already searches."""
    if request.candidates is not None:
        return request.candidates
    return 1 if request.beam > 1 else DEFAULT_CANDIDATES


def _parallel_couplets(parallel: bool | None, form: Form) -> tuple[int, ...]:
    """None (auto): a 律诗's middle couplets, none of a 绝句's; True: also a 绝句's last couplet."""
    if parallel is False:
        return ()
    if form.is_regulated:
        return (2, 4)
    return (2,) if parallel else ()


def usable_rhyme_chars(tables: VocabularyTables, scheme: str, group: str) -> frozenset[str]:
    """Characters of `group` that the model can write at a rhyme position."""
    return tables.scheme(scheme).group_chars[group]


def to_model_script(text: str, tables: VocabularyTables) -> str:
    """Input in either script → the characters the model writes (traditional for the default model).
    Simplified input (nothing in it is traditional only) is converted wherever the model knows the
    converted character (径 → 徑, though the model knows 径 too); otherwise a character the model knows stays
    as it is (云 in a traditional line is not 雲) and the others are converted."""
    known = tables.ids_starting_with
    converted = to_traditional(text)
    simplified = is_simplified(text)
    if len(converted) != len(text):
        written = "".join(c if normalize_variants(c) in known else to_traditional(c) for c in text)
    else:
        chosen = []
        for given, traditional in zip(text, converted, strict=True):
            # simplified input: the converted character first; otherwise the character as given first
            options = (traditional, given) if simplified else (given,)
            # (a character the model knows only in its simplified form, 揾 for 搵, is written so)
            options += (to_simplified(given),)
            kept = [normalize_variants(c) for c in options if normalize_variants(c) in known]
            chosen.append(kept[0] if kept else traditional)
        written = "".join(chosen)
    return "".join(_chinese_spelling(c, known) for c in written)


def _chinese_spelling(char: str, known: Mapping[str, object]) -> str:
    """A Japanese or regional spelling the model does not write (隠) → its Chinese form the model writes
    (隱); any other character as it is."""
    if char in known:
        return char
    forms = [form for form in sorted(standard_forms(char)) if form in known]
    return forms[0] if forms else char


def _heads(acrostic: str, tables: VocabularyTables, index: SimplifiedIndex) -> list[set[str]]:
    """For each head character (either script), the model's characters it may stand for. An acrostic in
    traditional script means its characters as written: 干 among 干戈後里 is 干, not also 乾 or 幹."""
    traditional = not is_simplified(acrostic)
    heads = []
    for char in acrostic:
        written = normalize_variants(char)
        if traditional and written in tables.ids_starting_with:
            heads.append({written})
            continue
        found = {c for c in index.candidates(char) if c in tables.ids_starting_with}
        if not found:  # a Japanese spelling (隠) heads with its Chinese form (隱)
            found = {c for c in standard_forms(char) if c in tables.ids_starting_with}
        if not found:  # a character the model knows only in its simplified form (搵 as 揾)
            found = {c for c in to_simplified(char) if c in tables.ids_starting_with}
        if not found:
            raise UserError.of("head_not_writable", "acrostic", char=char)
        heads.append(found)
    return heads


def _rhyme_groups(
    scheme_name: str,
    group: str | None,
    form: Form,
    patterns: list[TonePattern],
    tables: VocabularyTables,
    script: str,
) -> tuple[str, ...]:
    """The named group if the model has enough of its characters, or every group it could rhyme in (a
    refusal names the group in the request's script)."""
    if scheme_name == "none":
        return ()
    scheme = get_scheme(scheme_name)
    rhyme_lines = max(len(p.rhyme_lines) for p in patterns)
    if group is None:
        needed = AUTO_GROUP_CHARS_PER_RHYME * rhyme_lines
        groups = tuple(
            g for g in scheme.level_groups if len(usable_rhyme_chars(tables, scheme_name, g)) >= needed
        )
        if not groups:  # a tiny vocabulary: fall back to whatever can carry the rhyme lines
            groups = tuple(
                g
                for g in scheme.level_groups
                if len(usable_rhyme_chars(tables, scheme_name, g)) > rhyme_lines
            )
        if not groups:
            raise UserError.of(
                "no_rhyme_group", "rhyme_group", scheme=scheme.chinese_name, needed=rhyme_lines + 1
            )
        return groups
    usable = usable_rhyme_chars(tables, scheme_name, group)
    if len(usable) <= rhyme_lines:
        raise UserError.of(
            "rhyme_group_too_small",
            "rhyme_group",
            group=scheme.group_label(group, script),
            usable=len(usable),
            form=form.chinese_name,
            needed=rhyme_lines,
        )
    return (group,)


def _selection_lines(request: GenerationRequest, form: Form) -> frozenset[int]:
    """After which lines the search lets the likelier candidates continue in place of the others: every
    line but the last (only </s> follows it). Not for a beam."""
    if not request.select_lines or request.beam > 1:
        return frozenset()
    return frozenset(range(1, form.line_count))
