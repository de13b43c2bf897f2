"""The app's handlers: form fields → a GenerationRequest → the generator → rendered answers.

In the UI a refused request (a UserError) becomes a message beside the field it is about, in the chosen
language, and the last good result stays on the page as it was; the API answers with the message naming
the field. A refusal is one log line; only unexpected errors are logged with their traceback.
"""

from __future__ import annotations

import functools
import html
import logging
import time
from collections.abc import Iterator

import gradio as gr

from poetry_rnn.app import settings
from poetry_rnn.app.render import (
    analysis_html,
    candidate_rows,
    partial_html,
    poem_html,
    poem_info_markdown,
    poem_plain_text,
)
from poetry_rnn.app.text import (
    AUTO_GROUP,
    CANDIDATE_HEADERS,
    DEFAULT_LANGUAGE,
    GENERIC_ERROR,
    MESSAGES,
    MODE_NEEDS,
    MODE_TEXT,
    all_choices,
    field_label,
    localized_message,
)
from poetry_rnn.errors import UserError
from poetry_rnn.generation.request import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, GenerationRequest
from poetry_rnn.script import convert

log = logging.getLogger("poetry_rnn.app")

# Where the generate form shows a refusal: the slot under the field (or row of fields) it is about. The
# "options" slot is inside the (closed) more-options accordion, which a refusal there opens.
ERROR_SLOTS = ("form", "text", "rhyme", "tone", "options", "general")
FIELD_SLOTS = {
    "form": "form",
    "mode": "text",
    "text": "text",
    "acrostic": "text",
    "first_line": "text",
    "title": "text",
    "theme": "text",
    "keywords": "text",
    "rhyme_scheme": "rhyme",
    "rhyme_group": "rhyme",
    "tone": "tone",
    "script": "tone",
    "n": "tone",
    "first_line_rhymes": "options",
    "temperature": "options",
    "top_p": "options",
    "seed": "options",
    "plan": "options",
    "select_lines": "options",
    "parallel": "options",
}
PARALLEL = {"auto": None, "yes": True, "no": False}  # the app's choice → GenerationRequest.parallel
MESSAGE_OUTPUTS = len(ERROR_SLOTS) + 1  # the slots and the accordion
NOTICE_SECONDS = 5  # a notice over the poem card goes before the visitor writes again


def _language(lang) -> str:
    return lang if lang in MESSAGES else DEFAULT_LANGUAGE


def log_refusal(where: str, error: UserError) -> None:
    """A user's mistake is not the server's: one line, no traceback."""
    log.info("%s refused (%s): %s", where, error.field or "-", str(error).replace("\n", " ")[:300])


# The endpoint parameter a request field comes from, where they differ: a mode's text is one of these.
API_PARAMETERS = {
    "acrostic": "text",
    "first_line": "text",
    "title": "text",
    "theme": "text",
    "keywords": "text",
}


def user_error(error: UserError) -> gr.Error:
    """The API's answer to a refused request: the parameter at fault (so that a program can tell), its
    name in both languages, then what was wrong: `n · 首数 number of poems: …`."""
    label = field_label(error.field, None)
    if not label:
        return gr.Error(str(error), title="输入有误 · Invalid input", print_exception=False)
    parameter = API_PARAMETERS.get(error.field, error.field)
    message = f"{parameter} · {label}: {error}" if parameter != label else f"{label}: {error}"
    return gr.Error(message, title="输入有误 · Invalid input", print_exception=False)


def server_error() -> gr.Error:
    return gr.Error(GENERIC_ERROR, title="服务器错误 · Server error", print_exception=False)


def error_html(message: str) -> str:
    return f'<div class="field-error" role="alert">{html.escape(message)}</div>'


def slot_updates(slot: str | None = None, message: str = "") -> tuple:
    """One update per error slot (`message` in `slot`, every other slot hidden), then the accordion's
    (opened when the message is inside it)."""
    slots = tuple(
        gr.HTML(value=error_html(message), visible=True) if name == slot else gr.HTML(value="", visible=False)
        for name in ERROR_SLOTS
    )
    return slots + (gr.Accordion(open=True) if slot == "options" else gr.skip(),)


def cleared_messages() -> tuple:
    """Every message slot hidden (the accordion left as it is)."""
    return slot_updates()[:-1]


def guarded(handler):
    """Unexpected exceptions in a UI handler become the generic message (traceback to the log)."""

    @functools.wraps(handler)
    def run(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except Exception:
            log.exception("%s failed", handler.__name__)
            raise server_error() from None

    return run


def _choice(value, name: str, field: str, what: str) -> str:
    """A choice's value from its value or its label in either language."""
    allowed = all_choices(name)
    values = list(dict.fromkeys(v for _, v in allowed))
    if value in values:
        return value
    labels = {label: v for label, v in allowed}
    if value in labels:
        return labels[value]
    raise UserError.of("not_a_choice", field, what=what, value=value, allowed=", ".join(values))


def _from_label(value, name: str):
    """A choice's value where `value` is one of its app labels (in either language); otherwise `value` as
    given, which the request (or the checker) reads as the Python API does (PINGSHUI, 新韵, 繁体) or refuses
    with its own message."""
    return dict(all_choices(name)).get(value, value) if isinstance(value, str) else value


def build_request(
    form,
    mode,
    text,
    rhyme_scheme,
    rhyme_group,
    first_line_rhymes,
    tone,
    n,
    temperature,
    top_p,
    seed,
    script,
    plan=None,
    select_lines=True,
    parallel="auto",
) -> tuple[GenerationRequest, str | None]:
    """Form values → the GenerationRequest, and the title to show (命题 mode). What the form itself means
    (its mode, its labels, the app's limit on poems) is checked here; the request validates the rest, so a
    title or a theme gets the same limit and message here as from the API and the CLI."""
    mode = _choice(mode, "mode", "mode", "the mode")
    stripped = ("" if text is None else str(text)).strip()
    options: dict = {
        "form": _from_label(form, "form"),
        "rhyme_scheme": _from_label(rhyme_scheme, "rhyme_scheme"),
        "tone": _from_label(tone, "tone"),
        "script": _from_label(script, "script"),
        "n": n,
        "temperature": temperature,
        "top_p": top_p,
        "time_limit": settings.TIME_LIMIT,
        # a checkbox: None (an API call that left it out) is on; anything else the request checks
        "select_lines": True if select_lines is None else select_lines,
    }
    try:
        out_of_range = not isinstance(n, bool) and not 1 <= float(n) <= settings.MAX_POEMS
    except (TypeError, ValueError):
        out_of_range = False  # not a number: the request says so
    if out_of_range:
        raise UserError.of("too_many_poems", "n", most=settings.MAX_POEMS, given=n)
    group = "" if rhyme_group is None else str(rhyme_group).strip()
    if group and group not in {label for label, _ in AUTO_GROUP.values()} | {"auto"}:
        options["rhyme_group"] = group
    rhymes = _choice(first_line_rhymes or "auto", "first_line_rhymes", "first_line_rhymes", "首句入韵")
    options["first_line_rhymes"] = rhymes  # auto, yes or no: the request reads them
    # 对仗: auto (a 律诗's middle couplets), yes (a 绝句's last one too) or no
    options["parallel"] = PARALLEL[_choice(parallel or "auto", "parallel", "parallel", "对仗")]
    if seed is not None and str(seed).strip() not in ("", "-1"):
        options["seed"] = seed
    title = None
    if mode != "free":
        if not stripped:
            raise UserError.of(MODE_NEEDS[mode], mode)
        options[mode] = stripped
        if mode == "title":
            title = stripped
    if plan is not None and str(plan).strip():  # empty: the automatic plan; "off": none
        options["plan"] = str(plan).strip()
    return GenerationRequest(**options), title


class PoetryApp:
    """The handlers behind the UI and the API, around one PoetryGenerator shared by all requests."""

    def __init__(self, generator):
        self.generator = generator
        self._group_choices: dict[tuple[str, str], list[tuple[str, str]]] = {}

    # -- API ----------------------------------------------------------------------------------------
    def api_generate(
        self,
        form: str = "qijue",
        mode: str = "free",
        text: str = "",
        rhyme_scheme: str = "pingshui",
        rhyme_group: str = "auto",
        first_line_rhymes: str = "auto",
        tone: str = "strict",
        n: int = 1,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        seed: int = -1,
        script: str = "simplified",
        plan: str = "",
        select_lines: bool = True,
        parallel: str = "auto",
    ) -> dict:
        """Write poems. form: wujue qijue wulv qilv. mode: free, acrostic (text = one head character per
        line), first_line (text = the first line), title (text = the title), theme (text = a description in
        modern Chinese). rhyme_scheme: pingshui, xinyun, none. rhyme_group: auto or a group such as
        下平七阳. first_line_rhymes: auto, yes, no. tone: strict, standard, off. n: 1-8 poems. seed: -1 for
        a random one. script: simplified (default) or traditional. plan: one keyword per couplet (at
        most) separated by commas (春风,柳,孤城,归), empty for the automatic plan, off for none. select_lines: after
        each line the likelier half of a poem's candidates continue in place of the others (default true;
        false: more varied, less fluent poems). parallel (对仗): auto (a 律诗's middle couplets), yes (a
        绝句's last couplet too), no (none). Returns {"poems": [...best first],
        "seed": int, the request's: it writes these poems again}; each poem has lines, text, score (average
        log-probability per character: nearer 0 reads more natural), pattern, rhyme_group_label, seed (the
        poem's own: several poems are written one by one, with the request's seed and the next ones, another
        where a poem echoed an earlier one's line; alone it writes this poem again), ok and the checker's
        analysis."""
        try:
            request, _ = build_request(
                form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature,
                top_p, seed, script, plan, select_lines, parallel,
            )  # fmt: skip
            poems = self.generator.generate(request)
        except UserError as error:
            log_refusal("generate", error)
            raise user_error(error) from None
        except Exception:
            log.exception("generate failed")
            raise server_error() from None
        dicts = [p.to_dict() for p in poems]
        first = request.seed if request.seed is not None else min((p["seed"] for p in dicts), default=None)
        return {"poems": dicts, "seed": first}

    def api_check(self, text: str, scheme: str = "pingshui", strictness: str = "strict") -> dict:
        """Analyse the 格律 of a poem (simplified or traditional; punctuation or line breaks between
        lines). scheme: pingshui or xinyun. strictness: strict or standard. Returns the checker's analysis:
        ok, form, pattern, rhyme_group_labels, lines (per character tones and what the pattern asks),
        faults (name, line, index, message, gloss), couplets (对仗 verdicts) and parallel_faults."""
        try:
            return self._analyse(text, scheme, strictness)
        except UserError as error:
            log_refusal("check", error)
            raise user_error(error) from None
        except Exception:
            log.exception("check failed")
            raise server_error() from None

    def _analyse(self, text, scheme, strictness) -> dict:
        if text is None or not str(text).strip():
            raise UserError.of("check_empty", "text")
        scheme, strictness = _from_label(scheme, "scheme"), _from_label(strictness, "strictness")
        return self.generator.check(str(text), scheme=scheme, strictness=strictness).to_dict()

    # -- UI -----------------------------------------------------------------------------------------
    def ui_generate(
        self,
        form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature, top_p,
        seed, script, show_tones, lang=DEFAULT_LANGUAGE, state=None, plan=None, select_lines=True,
        parallel="auto",
    ) -> Iterator[tuple]:  # fmt: skip
        """Stream the leading candidate line by line, then show the best poem and the others. Yields
        (poem html, plain text, info, candidates table, state, *error slots). A refusal leaves the last
        result as it was (restored if streaming had begun) and shows its message beside its field."""
        lang = _language(lang)
        keep = (gr.skip(),) * 5
        try:
            request, title = build_request(
                form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature,
                top_p, seed, script, plan, select_lines, parallel,
            )  # fmt: skip
        except UserError as error:
            log_refusal("generate", error)
            yield keep + self._refusal(error, lang)
            return
        except Exception:  # e.g. reading the theme failed: as it did when the generator read it
            log.exception("generate failed")
            yield keep + slot_updates("general", MESSAGES[lang]["generic"])
            return
        streamed = False
        poems = None
        form = request.form_spec
        try:
            for event in self.generator.generate_stream(request):
                if "partial" in event:
                    several = event.get("of", 1) > 1
                    view = partial_html(
                        event["partial"],
                        title and convert(title, request.script),
                        form.line_count,
                        MESSAGES[lang]["writing"].format(poem=event["poem"], of=event["of"])
                        if several
                        else "",
                        form.chars_per_line,
                        lang,
                        request.script,
                    )
                    if not streamed:  # the old poem's text, info and table go with it
                        streamed = True
                        empty = self._table([], lang)
                        yield (view, "", "", empty, gr.skip()) + slot_updates()
                    else:
                        yield (view,) + (gr.skip(),) * (4 + MESSAGE_OUTPUTS)
                else:
                    poems = event["poems"]
        except UserError as error:
            log_refusal("generate", error)
            yield self._restore(state, show_tones, lang, streamed) + self._refusal(error, lang)
            return
        except Exception:
            log.exception("generate failed")
            restored = self._restore(state, show_tones, lang, streamed)
            yield restored + slot_updates("general", MESSAGES[lang]["generic"])
            return
        dicts = [p.to_dict() for p in poems or []]
        if len(dicts) < request.n:
            gr.Warning(
                MESSAGES[lang]["found_fewer"].format(found=len(dicts), wanted=request.n),
                title=MESSAGES[lang]["notice_warning"],
            )
        # the poems come best first; a seed given (one reused) shows the poem that seed writes
        written = [i for i, poem in enumerate(dicts) if poem["seed"] == request.seed]
        new_state = {"poems": dicts, "title": title, "selected": written[0] if written else 0}
        shown = self._show(new_state, show_tones, lang, announce="written")
        yield shown + (self._table(dicts, lang), new_state) + slot_updates()

    @staticmethod
    def _refusal(error: UserError, lang: str) -> tuple:
        slot = FIELD_SLOTS.get(error.field or "", "general")
        return slot_updates(slot, localized_message(error, lang))

    def _restore(self, state: dict | None, show_tones: bool, lang: str, streamed: bool) -> tuple:
        """The last good result, whole, where streaming had replaced it; else nothing changes."""
        if not streamed:
            return (gr.skip(),) * 5
        poems = (state or {}).get("poems") or []
        return self._show(state, show_tones, lang) + (self._table(poems, lang), gr.skip())

    @staticmethod
    def _table(poems: list[dict], lang: str):
        return gr.Dataframe(value=candidate_rows(poems, lang) or None, headers=CANDIDATE_HEADERS[lang])

    @staticmethod
    def _show(
        state: dict | None, show_tones: bool, lang: str = DEFAULT_LANGUAGE, announce: str = ""
    ) -> tuple[str, str, str]:
        """The selected poem's view, plain text and info. `announce`: "written" (the poems have just been
        written) or "chosen" (another poem was picked) has the view say so to a screen reader."""
        if not state or not state.get("poems"):
            return poem_html(None, lang=lang), "", ""
        selected = state.get("selected", 0)
        poem = state["poems"][selected]
        title = poem.get("title") or state.get("title")  # (the poem's: in its script)
        count = len(state["poems"])
        if announce == "written" and count == 1:
            announce = "written_one"
        said = (
            MESSAGES[lang][announce].format(count=count, rank=selected + 1, poem=poem["text"])
            if announce
            else ""
        )
        return (
            poem_html(poem, title, show_tones, lang, said),
            poem_plain_text(poem, title),
            poem_info_markdown(poem, lang),
        )

    @guarded
    def ui_select(self, state: dict | None, show_tones: bool, lang: str, evt: gr.SelectData):
        if not state or not state.get("poems"):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        state = {**state, "selected": max(0, min(int(row), len(state["poems"]) - 1))}
        return self._show(state, show_tones, _language(lang), announce="chosen") + (state,)

    @guarded
    def ui_reuse_seed(self, state: dict | None, lang: str):
        """The shown poem's seed into the form, with More options opened on it; said in a notice (until the
        seed is cleared to -1, 作诗 writes that poem again)."""
        say = MESSAGES[_language(lang)]
        if not state or not state.get("poems"):
            gr.Info(say["no_poem_yet"], title=say["notice"], duration=NOTICE_SECONDS)
            return gr.skip(), gr.skip()
        seed = state["poems"][state.get("selected", 0)]["seed"]
        gr.Info(say["seed_reused"].format(seed=seed), title=say["notice"], duration=NOTICE_SECONDS)
        return seed, gr.Accordion(open=True)

    @guarded
    def ui_redraw(self, state: dict | None, show_tones: bool, lang: str):
        """The shown poem again (tone marks on or off, another language), with its info and table."""
        lang = _language(lang)
        poems = (state or {}).get("poems") or []
        return self._show(state, show_tones, lang) + (self._table(poems, lang),)

    def ui_check(self, text, scheme, strictness, lang=DEFAULT_LANGUAGE) -> tuple:
        """(analysis html, error slot, analysis state). A refusal keeps the last analysis on the page."""
        lang = _language(lang)
        try:
            analysis = self._analyse(text, scheme, strictness)
        except UserError as error:
            log_refusal("check", error)
            message = localized_message(error, lang)
            return gr.skip(), gr.HTML(value=error_html(message), visible=True), gr.skip()
        except Exception:
            log.exception("check failed")
            return gr.skip(), gr.HTML(value=error_html(MESSAGES[lang]["generic"]), visible=True), gr.skip()
        return analysis_html(analysis, lang, announce=True), gr.HTML(value="", visible=False), analysis

    @guarded
    def ui_redraw_check(self, analysis: dict | None, lang: str):
        return analysis_html(analysis, _language(lang)) if analysis else ""

    def group_choices(self, scheme: str, script: str, lang: str = DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
        """Dropdown choices: auto, then each rhyme group the model can use, labelled with examples."""
        auto = AUTO_GROUP[_language(lang)]
        if scheme == "none":
            return [auto]
        key = (scheme, script)
        if key not in self._group_choices:
            groups = self.generator.rhyme_groups(scheme, script)
            self._group_choices[key] = [(label, group) for group, label in groups]
        return [auto] + self._group_choices[key]

    @guarded
    def ui_groups(self, scheme, script, current, lang=DEFAULT_LANGUAGE):
        choices = self.group_choices(scheme, script, lang)
        value = current if current in {v for _, v in choices} else "auto"
        return gr.Dropdown(choices=choices, value=value, interactive=scheme != "none")

    @staticmethod
    @guarded
    def ui_mode(mode, lang=DEFAULT_LANGUAGE):
        texts = MODE_TEXT[_language(lang)]
        label, placeholder = texts.get(mode, texts["free"])
        return gr.Textbox(label=label, placeholder=placeholder, visible=mode != "free")

    def warm_up(self, extras_after_s: float = settings.WARM_UP_EXTRAS_AFTER_S) -> None:
        """Load what requests would otherwise wait for. First what every request needs (the corpus lines
        of the originality rule, the tone and rhyme tables of the default form); the rest (jieba for themes,
        the other rhyme-group lists) some seconds later, so that it does not slow down the first visitor."""
        started = time.perf_counter()
        try:
            limit = settings.TIME_LIMIT
            self.generator.generate(
                GenerationRequest(form="qijue", acrostic="春夏秋冬", n=1, seed=0, time_limit=limit)
            )
            log.info("warm-up: ready for requests in %.1f s", time.perf_counter() - started)
            time.sleep(extras_after_s)
            for scheme in ("pingshui", "xinyun"):
                for script in ("simplified", "traditional"):
                    self.group_choices(scheme, script)
            self.generator.generate(
                GenerationRequest(form="wujue", theme="春天的早晨", n=1, seed=0, time_limit=limit)
            )
        except Exception:
            log.exception("warm-up failed (the app still works; first requests may be slower)")
            return
        log.info("warm-up: themes and rhyme-group lists loaded")
