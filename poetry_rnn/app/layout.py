"""The app's page: the 作诗 generate, 格律检测 check and 关于 about tabs, the language switch, and which
handler each event calls."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from poetry_rnn.app import settings
from poetry_rnn.app.handlers import ERROR_SLOTS, PoetryApp, cleared_messages
from poetry_rnn.app.render import model_card_markdown, poem_html
from poetry_rnn.app.text import (
    API_HEADING,
    CANDIDATE_HEADERS,
    CHECK_EXAMPLES,
    DEFAULT_LANGUAGE,
    EXAMPLES,
    HOW_IT_WORKS,
    HOW_TO_USE,
    LABELS,
    LANGUAGE_LABEL,
    LANGUAGES,
    MODE_TEXT,
    MODEL_CARD_HEADING,
    api_snippet,
    choices,
)
from poetry_rnn.generation.request import DEFAULT_TEMPERATURE, DEFAULT_TOP_P

# Where the result column comes below the form (a phone; not a tablet, whose columns stand side by side):
# after Write, go to the poem; after a refusal, to the message (the handler has shown it by then). Whether
# the columns are stacked is read from the page, not guessed from the window's width: a stacked result
# starts at the page's left edge. A `js` run before a handler passes its inputs on.
_STACKED = "(element) => element.getBoundingClientRect().left < window.innerWidth / 3"
SCROLL_TO_RESULT = f"""(...inputs) => {{ const stacked = {_STACKED};
    const result = document.querySelector('#poem-html');
    if (result && stacked(result)) {{ result.scrollIntoView({{behavior: 'instant', block: 'start'}}); }}
    return inputs; }}"""


# The page's language for a screen reader's voice and the browser (<html lang>, which Gradio leaves "en").
SET_PAGE_LANGUAGE = "(lang) => { document.documentElement.lang = lang === 'en' ? 'en' : 'zh-Hans'; }"
# Where a poem's or a verdict's arrival is said (after_answer): a live region made once, as the page loads,
# outside Gradio's components (one inserted together with its words, as a redrawn result is, is often not
# read out).
ANNOUNCER_ID = "announcer"
ON_LOAD = f"""(lang) => {{ ({SET_PAGE_LANGUAGE})(lang);
    if (!document.getElementById('{ANNOUNCER_ID}')) {{
        const region = document.createElement('div');
        region.id = '{ANNOUNCER_ID}';
        region.className = 'sr-only';
        region.setAttribute('role', 'status');
        region.setAttribute('aria-live', 'polite');
        document.body.appendChild(region); }} }}"""


def after_answer(result_id: str) -> str:
    """JS run when a handler has answered: to a refusal's message if one is shown (it is an alert, read out
    by itself); else the result's one-line summary (its data-announce, see render._result) into the live
    region, and (stacked columns) the page to the result, unless it is in view already, and the keyboard's
    focus with it (left on the button, it would be off the screen)."""
    return f"""() => {{ const stacked = {_STACKED};
    const shown = Array.from(document.querySelectorAll('.field-error')).find(e => e.offsetParent !== null);
    if (shown) {{ shown.scrollIntoView({{behavior: 'instant', block: 'center'}}); return; }}
    const said = document.querySelector('#{result_id} [data-announce]');
    const region = document.getElementById('{ANNOUNCER_ID}');
    if (said && region) {{  /* emptied first: the same words again are read out again */
        region.textContent = '';
        setTimeout(() => {{ region.textContent = said.dataset.announce; }}, 50); }}
    const result = document.querySelector('#{result_id}');
    if (result && result.offsetParent !== null && stacked(result)) {{
        result.querySelector('[tabindex="-1"]')?.focus({{preventScroll: true}});
        const box = result.getBoundingClientRect();
        if (box.top < 0 || box.top > window.innerHeight / 2) {{
            result.scrollIntoView({{behavior: 'instant', block: 'start'}}); }} }} }}"""


def about_markdown(lang: str, model_dir) -> str:
    """关于: how to use the app and what the marks mean first; how it works, the API, the model card below."""
    return "\n\n".join(
        [
            HOW_TO_USE[lang],
            HOW_IT_WORKS[lang],
            API_HEADING[lang] + api_snippet(),
            # in English whatever the page's language; its headings below the About tab's own (###)
            MODEL_CARD_HEADING[lang]
            + f'<div lang="en">\n\n{model_card_markdown(model_dir, top_level=4)}\n\n</div>',
        ]
    )


def build_app(app: PoetryApp) -> gr.Blocks:
    """The page, drawn in the default language: its parts first, then which handler each event calls."""
    with gr.Blocks(title="诗 · poetry_rnn — 近体诗") as demo:
        page = Page()
        _header(page)
        with gr.Tabs():
            with gr.Tab(LABELS[DEFAULT_LANGUAGE]["tab_generate"], id="generate") as page.tab_generate:
                with gr.Row():
                    _generate_options(app, page)
                    _generate_result(page)
                page.state = gr.State(None)
            _check_tab(page)
            with gr.Tab(LABELS[DEFAULT_LANGUAGE]["tab_about"], id="about") as page.tab_about:
                page.about = gr.Markdown(
                    about_markdown(DEFAULT_LANGUAGE, app.generator.model_dir), elem_id="about"
                )
        _wire_generate(app, page)
        _wire_check(app, page)
        _wire_language(app, page)
        gr.api(app.api_generate, api_name="generate", **_model_events())
        gr.api(app.api_check, api_name="check")
        demo.load(None, page.language, None, js=ON_LOAD)
    return demo


class Page(SimpleNamespace):
    """The page's components by name (page.form, page.poem_view …), filled in as the parts are drawn."""


def _model_events() -> dict:
    """Events that run the model share one queue, a few requests at a time."""
    return {"concurrency_id": "model", "concurrency_limit": settings.CONCURRENCY}


def _header(page: Page) -> None:
    with gr.Row(equal_height=True):
        page.header = gr.Markdown(LABELS[DEFAULT_LANGUAGE]["header"], elem_id="page-header")
        page.language = gr.Radio(
            LANGUAGES,
            value=DEFAULT_LANGUAGE,
            label=LANGUAGE_LABEL,  # not shown, but read out (without it: "Radio")
            show_label=False,
            elem_id="language",
            min_width=160,
            elem_classes=["chips"],
        )


def _generate_options(app: PoetryApp, page: Page) -> None:
    """作诗's left column: what to write, how, the button and the examples."""
    lang, say = DEFAULT_LANGUAGE, LABELS[DEFAULT_LANGUAGE]
    with gr.Column(scale=5, min_width=320):
        page.form = _chips("form", "qijue", "form")
        page.form_error = _error_slot("form")
        page.mode = _chips("mode", "free", "mode")
        page.text = gr.Textbox(label=MODE_TEXT[lang]["free"][0], visible=False, elem_id="text", max_lines=4)
        page.text_error = _error_slot("text")
        with gr.Row():
            page.rhyme_scheme = _chips("rhyme_scheme", "pingshui", "rhyme-scheme", scale=3)
            page.rhyme_group = gr.Dropdown(
                app.group_choices("pingshui", "simplified", lang),
                value="auto",
                label=say["rhyme_group"],
                elem_id="rhyme-group",
                scale=2,
            )
        page.rhyme_error = _error_slot("rhyme")
        with gr.Row():
            page.tone = _chips("tone", "strict", "tone", scale=3)
            page.script = _chips("script", "simplified", "script", scale=2)
        page.n = gr.Slider(1, settings.MAX_POEMS, value=4, step=1, label=say["n"], elem_id="n")
        page.tone_error = _error_slot("tone")
        with gr.Accordion(say["sampling"], open=False, elem_id="more-options") as page.sampling:
            page.first_line_rhymes = gr.Radio(
                choices("first_line_rhymes", lang),
                value="auto",
                label=say["first_line_rhymes"],
                elem_id="first-line-rhymes",
            )
            page.parallel = gr.Radio(
                choices("parallel", lang), value="auto", label=say["parallel"], elem_id="parallel"
            )
            # above 1.5 the lines stop reading as Chinese (the Python API still allows it)
            page.temperature = gr.Slider(
                0.1, 1.5, value=DEFAULT_TEMPERATURE, step=0.05, label=say["temperature"]
            )
            page.top_p = gr.Slider(0.1, 1.0, value=DEFAULT_TOP_P, step=0.05, label=say["top_p"])
            # no minimum: Gradio would refuse below it in a raw English toast; the request refuses an
            # out-of-range seed beside the options, in the page's language
            page.seed = gr.Number(value=-1, precision=0, label=say["seed"], elem_id="seed")
            page.plan = gr.Textbox(label=say["plan"], placeholder="春风, 孤城", max_lines=1, elem_id="plan")
            page.select_lines = gr.Checkbox(value=True, label=say["select_lines"], elem_id="select-lines")
            page.options_error = _error_slot("options")
        page.general_error = _error_slot("general")
        page.go = gr.Button(say["generate"], variant="primary", elem_id="generate-button")
        page.examples_heading = gr.Markdown(say["examples"])
        with gr.Row():
            page.example_buttons = [
                gr.Button(example[0], elem_id=f"example-{i}", elem_classes=["tap"])
                for i, example in enumerate(EXAMPLES)
            ]


def _generate_result(page: Page) -> None:
    """作诗's right column: the poem drawn, its facts, a plain copy, its seed and the other poems."""
    say = LABELS[DEFAULT_LANGUAGE]
    with gr.Column(scale=6, min_width=320, elem_id="result-column"):
        page.poem_view = gr.HTML(poem_html(None), elem_id="poem-html")
        page.show_tones = gr.Checkbox(value=True, label=say["show_tones"], elem_id="show-tones")
        page.info = gr.Markdown(elem_id="poem-info")
        # interactive: a disabled box is skipped by Tab and read out as unavailable. It is no event's input,
        # so an edit changes nothing else, and the next poem or redraw writes the poem's text again. Its name
        # for a screen reader is the placeholder: the label names the copy button, which Gradio puts inside it.
        page.plain = gr.Textbox(
            label=say["plain"],
            placeholder=say["plain_placeholder"],
            lines=4,
            buttons=["copy"],
            elem_id="poem-text",
            interactive=True,
            html_attributes=gr.InputHTMLAttributes(lang="zh"),  # a Chinese voice on the English page too
        )
        page.reuse_seed = gr.Button(say["reuse_seed"], elem_id="reuse-seed", elem_classes=["tap"])
        page.candidates = gr.Dataframe(
            headers=CANDIDATE_HEADERS[DEFAULT_LANGUAGE],
            datatype=["number", "str", "number", "str", "str"],
            interactive=False,
            wrap=True,
            # in pixels: on a phone the table scrolls instead of breaking a score or a pattern's name one
            # character a line
            column_widths=["36px", "290px", "72px", "128px", "100px"],
            label=say["candidates"],
            elem_id="candidates",
        )


def _check_tab(page: Page) -> None:
    """格律检测: a poem pasted in, the scheme and strictness, and the verdict beside it."""
    say = LABELS[DEFAULT_LANGUAGE]
    with gr.Tab(say["tab_check"], id="check") as page.tab_check:
        with gr.Row():
            with gr.Column(scale=5, min_width=320):
                page.check_text = gr.Textbox(
                    label=say["check_text"],
                    lines=6,
                    # said as an example, so that it is not taken for a poem already there
                    placeholder=say["check_placeholder"].format(poem=CHECK_EXAMPLES[0]),
                    elem_id="check-text",
                )
                page.check_error = _error_slot("check")
                with gr.Row():
                    page.check_scheme = gr.Radio(
                        choices("scheme", DEFAULT_LANGUAGE), value="pingshui", label=say["check_scheme"]
                    )
                    page.check_strictness = gr.Radio(
                        choices("strictness", DEFAULT_LANGUAGE), value="strict", label=say["strictness"]
                    )
                page.check_button = gr.Button(say["check"], variant="primary", elem_id="check-button")
                page.check_examples = gr.Examples(
                    [[e] for e in CHECK_EXAMPLES],
                    inputs=[page.check_text],
                    label=say["check_examples"],
                    elem_id="check-examples",
                )
            with gr.Column(scale=6, min_width=320):
                page.check_view = gr.HTML(elem_id="check-html")
        page.check_state = gr.State(None)


def _generate_inputs(page: Page) -> list:
    """ui_generate's inputs, in its parameters' order."""
    return [
        page.form, page.mode, page.text, page.rhyme_scheme, page.rhyme_group, page.first_line_rhymes, page.tone,
        page.n, page.temperature, page.top_p, page.seed, page.script, page.show_tones, page.language, page.state,
        page.plan, page.select_lines, page.parallel,
    ]  # fmt: skip


def _error_slots(page: Page) -> list[gr.HTML]:
    """The generate tab's message slots, in the order of handlers.ERROR_SLOTS."""
    slots = [page.form_error, page.text_error, page.rhyme_error, page.tone_error, page.options_error]
    slots.append(page.general_error)
    assert len(slots) == len(ERROR_SLOTS)
    return slots


def _wire_generate(app: PoetryApp, page: Page) -> None:
    """作诗 and the examples write a poem; the other controls redraw, pick or refill."""
    inputs = _generate_inputs(page)
    outputs = [page.poem_view, page.plain, page.info, page.candidates, page.state, *_error_slots(page)]
    outputs.append(page.sampling)
    # a tap while a poem is being written runs once that one is done, with the form as it is then (Gradio's
    # default drops it)
    page.go.click(
        app.ui_generate,
        inputs,
        outputs,
        api_visibility="private",
        js=SCROLL_TO_RESULT,
        trigger_mode="always_last",
        **_model_events(),
    ).then(None, js=after_answer("poem-html"))
    example_outputs = [
        page.form,
        page.mode,
        page.text,
        page.rhyme_scheme,
        page.rhyme_group,
        page.tone,
        page.seed,
    ]
    for button, example in zip(page.example_buttons, EXAMPLES, strict=True):
        button.click(
            _example_filler(example),
            page.language,
            example_outputs,
            api_visibility="private",
            queue=False,
            trigger_mode="always_last",
        ).then(
            app.ui_generate,
            inputs,
            outputs,
            api_visibility="private",
            js=SCROLL_TO_RESULT,
            **_model_events(),
        ).then(
            # the example's seed wrote its poem; the next 作诗 draws a new one (reuse-seed brings it back)
            lambda: -1,
            None,
            page.seed,
            api_visibility="private",
            queue=False,
        ).then(None, js=after_answer("poem-html"))
    page.mode.change(
        app.ui_mode, [page.mode, page.language], page.text, api_visibility="private", queue=False
    )
    for trigger in (page.form, page.mode):  # a refusal about the last form or mode goes with it
        trigger.change(cleared_messages, None, _error_slots(page), api_visibility="private", queue=False)
    for trigger in (page.rhyme_scheme, page.script):  # either one changes the rhyme groups on offer
        trigger.change(
            app.ui_groups,
            [page.rhyme_scheme, page.script, page.rhyme_group, page.language],
            page.rhyme_group,
            api_visibility="private",
            queue=False,
        )
    page.candidates.select(
        app.ui_select,
        [page.state, page.show_tones, page.language],
        [page.poem_view, page.plain, page.info, page.state],
        api_visibility="private",
    ).then(None, js=after_answer("poem-html"))  # a phone: the poem chosen is above the table
    page.show_tones.change(
        app.ui_redraw,
        [page.state, page.show_tones, page.language],
        [page.poem_view, page.plain, page.info, page.candidates],
        api_visibility="private",
    )
    page.reuse_seed.click(
        app.ui_reuse_seed, [page.state, page.language], [page.seed, page.sampling], api_visibility="private"
    )


def _wire_check(app: PoetryApp, page: Page) -> None:
    """检测 and a click on an example check the poem."""
    inputs = [page.check_text, page.check_scheme, page.check_strictness, page.language]
    outputs = [page.check_view, page.check_error, page.check_state]
    page.check_button.click(app.ui_check, inputs, outputs, api_visibility="private").then(
        None, js=after_answer("check-html")
    )
    page.check_examples.load_input_event.then(app.ui_check, inputs, outputs, api_visibility="private").then(
        None, js=after_answer("check-html")
    )


def _wire_language(app: PoetryApp, page: Page) -> None:
    """The language switch: every label, choice and text of the page, then what is drawn."""
    labelled = {
        "form": page.form, "mode": page.mode, "rhyme_scheme": page.rhyme_scheme, "rhyme_group": page.rhyme_group,
        "first_line_rhymes": page.first_line_rhymes, "parallel": page.parallel, "tone": page.tone, "n": page.n,
        "script": page.script,
        "temperature": page.temperature, "top_p": page.top_p, "seed": page.seed, "plan": page.plan,
        "select_lines": page.select_lines, "show_tones": page.show_tones, "plain": page.plain,
        "check_text": page.check_text, "check_scheme": page.check_scheme, "strictness": page.check_strictness,
    }  # fmt: skip
    choice_names = {"check_scheme": "scheme"}
    buttons = {"generate": page.go, "reuse_seed": page.reuse_seed, "check": page.check_button}
    tabs = {"tab_generate": page.tab_generate, "tab_check": page.tab_check, "tab_about": page.tab_about}
    error_slots = [*_error_slots(page), page.check_error]
    model_dir = app.generator.model_dir

    def switch_language(lang, mode_value, scheme_value, script_value):
        lang = lang if lang in LABELS else DEFAULT_LANGUAGE
        say = LABELS[lang]
        updates = []
        for key, component in labelled.items():
            options = {"label": say[key]}
            name = choice_names.get(key, key)
            if key == "rhyme_group":
                options["choices"] = app.group_choices(scheme_value, script_value, lang)
            elif key == "check_text":
                options["placeholder"] = say["check_placeholder"].format(poem=CHECK_EXAMPLES[0])
            elif key == "plain":
                options["placeholder"] = say["plain_placeholder"]
            elif isinstance(component, gr.Radio):
                options["choices"] = choices(name, lang)
            updates.append(gr.update(**options))
        updates += [gr.update(value=say[key]) for key in buttons]
        updates += [gr.update(label=say[key]) for key in tabs]
        updates.append(gr.update(label=say["sampling"]))
        updates.append(gr.update(label=say["candidates"]))
        label, placeholder = MODE_TEXT[lang].get(mode_value, MODE_TEXT[lang]["free"])
        updates.append(gr.update(label=label, placeholder=placeholder))
        updates.append(gr.update(value=say["header"]))
        updates.append(gr.update(value=say["examples"]))
        updates += [gr.update(value=example[0 if lang == "zh" else 1]) for example in EXAMPLES]
        updates.append(gr.update(value=about_markdown(lang, model_dir)))
        updates.append(gr.update(label=say["check_examples"]))
        # A refusal shown in the other language goes: one language at a time.
        updates += [gr.update(value="", visible=False) for _ in error_slots]
        return updates

    language_outputs = [
        *labelled.values(), *buttons.values(), *tabs.values(), page.sampling, page.candidates, page.text,
        page.header, page.examples_heading, *page.example_buttons, page.about, page.check_examples.dataset,
        *error_slots,
    ]  # fmt: skip
    page.language.change(None, page.language, None, js=SET_PAGE_LANGUAGE, queue=False)
    page.language.change(
        switch_language,
        [page.language, page.mode, page.rhyme_scheme, page.script],
        language_outputs,
        api_visibility="private",
        queue=False,
    ).then(
        app.ui_redraw,
        [page.state, page.show_tones, page.language],
        [page.poem_view, page.plain, page.info, page.candidates],
        api_visibility="private",
        queue=False,
    ).then(
        app.ui_redraw_check,
        [page.check_state, page.language],
        page.check_view,
        api_visibility="private",
        queue=False,
    )


def _chips(name: str, value: str, elem_id: str, **layout) -> gr.Radio:
    """One of the form's choices (LABELS and choices() under `name`), drawn as a row of chips."""
    say = LABELS[DEFAULT_LANGUAGE]
    return gr.Radio(
        choices(name, DEFAULT_LANGUAGE),
        value=value,
        label=say[name],
        elem_id=elem_id,
        elem_classes=["chips"],
        **layout,
    )


def _error_slot(name: str) -> gr.HTML:
    """Where a refusal about the field above is shown (hidden while there is none)."""
    return gr.HTML("", visible=False, elem_id=f"{name}-error", elem_classes=["error-slot"])


def _example_filler(example: tuple):
    """A click handler that puts one example's values into the form."""
    _, _, form, mode, text, scheme, tone, seed = example

    def fill(lang):
        label, placeholder = MODE_TEXT.get(lang, MODE_TEXT[DEFAULT_LANGUAGE])[mode]
        textbox = gr.Textbox(value=text, label=label, placeholder=placeholder, visible=mode != "free")
        return form, mode, textbox, scheme, "auto", tone, seed

    return fill
