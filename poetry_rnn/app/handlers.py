"""The app's handlers: form fields → a GenerationRequest → the generator → rendered answers; bad input
becomes a message naming the field, anything else a generic message (traceback to the log)."""

import functools
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
    CHECK_SCHEMES,
    CHECK_STRICTNESS,
    FIELD_LABELS,
    FIRST_LINE_RHYMES,
    FORMS,
    GENERIC_ERROR,
    MODE_NEEDS,
    MODE_TEXT,
    MODES,
    SCHEMES,
    SCRIPTS,
    TONES,
)
from poetry_rnn.errors import UserError
from poetry_rnn.generation.request import GenerationRequest
from poetry_rnn.prosody.check import analyze

log = logging.getLogger("poetry_rnn.app")


def _field_message(error: UserError) -> str:
    label = FIELD_LABELS.get(error.field or "", error.field)
    return f"{label}: {error}" if label else str(error)


def user_error(error: UserError) -> gr.Error:
    return gr.Error(_field_message(error), title="输入有误 · Invalid input")


def server_error() -> gr.Error:
    return gr.Error(GENERIC_ERROR, title="服务器错误 · Server error", print_exception=False)


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


def _choice(value, allowed: list[tuple[str, str]], field: str, what: str) -> str:
    values = [v for _, v in allowed]
    if value in values:
        return value
    labels = {label: v for label, v in allowed}
    if value in labels:
        return labels[value]
    shown = ", ".join(f"{v} ({label.split()[0]})" for label, v in allowed)
    raise UserError(f"{what} {value!r} is not one of: {shown}", field=field)


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
) -> tuple[GenerationRequest, str | None]:
    """Form values → the GenerationRequest, and the title to show (命题 mode). What the form itself means
    (its mode, its labels, its limits) is checked here; the request validates the rest."""
    mode = _choice(mode, MODES, "mode", "the mode")
    text = "" if text is None else str(text)
    stripped = text.strip()
    if len(stripped) > settings.MAX_TEXT_CHARS:
        raise UserError(
            f"the text is {len(stripped):,} characters long; at most {settings.MAX_TEXT_CHARS} are allowed",
            field=mode if mode != "free" else "text",
        )
    options: dict = {
        "form": form,
        "rhyme_scheme": _choice(rhyme_scheme, SCHEMES, "rhyme_scheme", "the rhyme scheme"),
        "tone": _choice(tone, TONES, "tone", "the tone setting"),
        "script": _choice(script, SCRIPTS, "script", "the script"),
        "n": n,
        "temperature": temperature,
        "top_p": top_p,
        "time_limit": settings.TIME_LIMIT,
    }
    if isinstance(form, str) and form not in {v for _, v in FORMS}:
        options["form"] = {label: v for label, v in FORMS}.get(form, form)
    try:
        too_many = not isinstance(n, bool) and float(n) > settings.MAX_POEMS
    except (TypeError, ValueError):
        too_many = False  # not a number: the request says so
    if too_many:
        raise UserError(f"at most {settings.MAX_POEMS} poems per request here, got {n}", field="n")
    group = "" if rhyme_group is None else str(rhyme_group).strip()
    if group and group not in ("auto", AUTO_GROUP[0]):
        options["rhyme_group"] = group
    rhymes = _choice(first_line_rhymes or "auto", FIRST_LINE_RHYMES, "first_line_rhymes", "首句入韵")
    options["first_line_rhymes"] = None if rhymes == "auto" else rhymes == "yes"
    if seed is not None and str(seed).strip() not in ("", "-1"):
        options["seed"] = seed
    title = None
    if mode != "free":
        if not stripped:
            raise UserError(f"empty; {MODE_NEEDS[mode]}", field=mode)
        options[mode] = stripped
        if mode == "title":
            title = stripped
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
        temperature: float = 0.85,
        top_p: float = 0.95,
        seed: int = -1,
        script: str = "simplified",
    ) -> dict:
        """Write poems. form: wujue qijue wulv qilv. mode: free, acrostic (text = one head character per
        line), first_line (text = the first line), title (text = the title), theme (text = a description in
        modern Chinese). rhyme_scheme: pingshui, xinyun, none. rhyme_group: auto or a group such as
        下平七阳. first_line_rhymes: auto, yes, no. tone: strict, standard, off. n: 1-8 poems. seed: -1 for
        a random one. script: simplified or traditional. Returns {"poems": [...best first], "seed": int};
        each poem has lines, text, score, pattern, rhyme_group_label, seed, ok and the checker's analysis."""
        try:
            request, _ = build_request(
                form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature,
                top_p, seed, script,
            )  # fmt: skip
            poems = self.generator.generate(request)
        except UserError as error:
            raise user_error(error) from None
        except Exception:
            log.exception("generate failed")
            raise server_error() from None
        dicts = [p.to_dict() for p in poems]
        return {"poems": dicts, "seed": dicts[0]["seed"] if dicts else None}

    def api_check(self, text: str, scheme: str = "pingshui", strictness: str = "strict") -> dict:
        """Analyse the 格律 of a poem (simplified or traditional; punctuation or line breaks between
        lines). scheme: pingshui or xinyun. strictness: strict or standard. Returns the checker's analysis:
        ok, form, pattern, rhyme_group_labels, lines (per character tones and what the pattern asks) and
        faults (name, line, index, message, gloss)."""
        try:
            scheme = _choice(scheme, CHECK_SCHEMES, "scheme", "the rhyme scheme")
            strictness = _choice(strictness, CHECK_STRICTNESS, "strictness", "the strictness")
            if text is None or not str(text).strip():
                raise UserError("paste a poem to check (simplified or traditional)", field="text")
            return analyze(str(text), scheme=scheme, strictness=strictness).to_dict()
        except UserError as error:
            raise user_error(error) from None
        except Exception:
            log.exception("check failed")
            raise server_error() from None

    # -- UI -----------------------------------------------------------------------------------------
    def ui_generate(
        self,
        form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature, top_p,
        seed, script, show_tones,
    ) -> Iterator[tuple]:  # fmt: skip
        """Stream the leading candidate line by line, then show the best poem and the others.
        Yields (poem html, plain text, info, candidates table, state)."""
        try:
            request, title = build_request(
                form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature,
                top_p, seed, script,
            )  # fmt: skip
        except UserError as error:
            raise user_error(error) from None
        except Exception:  # e.g. reading the theme failed: as it did when the generator read it
            log.exception("generate failed")
            raise server_error() from None
        streamed = False
        poems = None
        try:
            for event in self.generator.generate_stream(request):
                if "partial" in event:
                    streamed = True
                    yield (partial_html(event["partial"], title), gr.skip(), gr.skip(), gr.skip(), gr.skip())
                else:
                    poems = event["poems"]
        except UserError as error:
            if streamed:  # do not leave a half-written poem on the page
                yield poem_html(None), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            raise user_error(error) from None
        except Exception:
            log.exception("generate failed")
            if streamed:
                yield poem_html(None), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            raise server_error() from None
        dicts = [p.to_dict() for p in poems or []]
        wanted = request.n
        if len(dicts) < wanted:
            gr.Warning(f"只找到 {len(dicts)} 首 — found {len(dicts)} of {wanted} poems.")
        state = {"poems": dicts, "title": title, "selected": 0}
        yield self._show(state, show_tones) + (candidate_rows(dicts), state)

    @staticmethod
    def _show(state: dict | None, show_tones: bool) -> tuple[str, str, str]:
        if not state or not state.get("poems"):
            return poem_html(None), "", ""
        poem = state["poems"][state.get("selected", 0)]
        title = state.get("title")
        return poem_html(poem, title, show_tones), poem_plain_text(poem, title), poem_info_markdown(poem)

    @guarded
    def ui_select(self, state: dict | None, show_tones: bool, evt: gr.SelectData):
        if not state or not state.get("poems"):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        state = {**state, "selected": max(0, min(int(row), len(state["poems"]) - 1))}
        return self._show(state, show_tones) + (state,)

    @guarded
    def ui_toggle_tones(self, state: dict | None, show_tones: bool):
        return self._show(state, show_tones)[0]

    @guarded
    def ui_check(self, text, scheme, strictness):
        return analysis_html(self.api_check(text, scheme, strictness))

    def group_choices(self, scheme: str, script: str) -> list[tuple[str, str]]:
        """Dropdown choices: auto, then each rhyme group the model can use, labelled with examples."""
        if scheme == "none":
            return [AUTO_GROUP]
        key = (scheme, script)
        if key not in self._group_choices:
            groups = self.generator.rhyme_groups(scheme, script)
            self._group_choices[key] = [AUTO_GROUP] + [(label, group) for group, label in groups]
        return self._group_choices[key]

    @guarded
    def ui_groups(self, scheme, script, current):
        choices = self.group_choices(scheme, script)
        value = current if current in {v for _, v in choices} else "auto"
        return gr.Dropdown(choices=choices, value=value, interactive=scheme != "none")

    @staticmethod
    @guarded
    def ui_mode(mode):
        label, placeholder = MODE_TEXT.get(mode, MODE_TEXT["free"])
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
                for _, script in SCRIPTS:
                    self.group_choices(scheme, script)
            self.generator.generate(
                GenerationRequest(form="wujue", theme="春天的早晨", n=1, seed=0, time_limit=limit)
            )
        except Exception:
            log.exception("warm-up failed (the app still works; first requests may be slower)")
            return
        log.info("warm-up: themes and rhyme-group lists loaded")
