"""The app's page: the 作诗 generate, 格律检测 check and 关于 about tabs, the language switch, and which
handler each event calls."""

from __future__ import annotations

import gradio as gr

from poetry_rnn.app import settings
from poetry_rnn.app.handlers import ERROR_SLOTS, PoetryApp
from poetry_rnn.app.render import model_card_markdown, poem_html
from poetry_rnn.app.text import (
    API_HEADING,
    API_SNIPPET,
    CANDIDATE_HEADERS,
    CHECK_EXAMPLES,
    DEFAULT_LANGUAGE,
    EXAMPLES,
    HOW_IT_WORKS,
    HOW_TO_USE,
    LABELS,
    LANGUAGES,
    MODE_TEXT,
    MODEL_CARD_HEADING,
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


def scroll_after(result_id: str) -> str:
    """JS run when a handler has answered: to a refusal's message if one is shown, else (stacked columns)
    to the result, unless it is in view already."""
    return f"""() => {{ const stacked = {_STACKED};
    const shown = Array.from(document.querySelectorAll('.field-error')).find(e => e.offsetParent !== null);
    if (shown) {{ shown.scrollIntoView({{behavior: 'instant', block: 'center'}}); return; }}
    const result = document.querySelector('#{result_id}');
    if (result && result.offsetParent !== null && stacked(result)) {{
        const box = result.getBoundingClientRect();
        if (box.top < 0 || box.top > window.innerHeight / 2) {{
            result.scrollIntoView({{behavior: 'instant', block: 'start'}}); }} }} }}"""


def about_markdown(lang: str, model_dir) -> str:
    """关于: how to use the app and what the marks mean first; how it works, the API, the model card below."""
    return "\n\n".join(
        [
            HOW_TO_USE[lang],
            HOW_IT_WORKS[lang],
            API_HEADING[lang] + API_SNIPPET,
            MODEL_CARD_HEADING[lang] + model_card_markdown(model_dir),
        ]
    )


def build_app(app: PoetryApp) -> gr.Blocks:
    lang0 = DEFAULT_LANGUAGE
    say = LABELS[lang0]
    with gr.Blocks(title="诗 · poetry_rnn — 近体诗") as demo:
        with gr.Row(equal_height=True):
            header = gr.Markdown(say["header"], elem_id="page-header")
            language = gr.Radio(
                LANGUAGES,
                value=lang0,
                show_label=False,
                elem_id="language",
                min_width=160,
                elem_classes=["chips"],
            )
        with gr.Tabs():
            with gr.Tab(say["tab_generate"], id="generate") as tab_generate:
                with gr.Row():
                    with gr.Column(scale=5, min_width=320):
                        form = gr.Radio(
                            choices("form", lang0),
                            value="qijue",
                            label=say["form"],
                            elem_id="form",
                            elem_classes=["chips"],
                        )
                        form_error = _error_slot("form")
                        mode = gr.Radio(
                            choices("mode", lang0),
                            value="free",
                            label=say["mode"],
                            elem_id="mode",
                            elem_classes=["chips"],
                        )
                        text = gr.Textbox(
                            label=MODE_TEXT[lang0]["free"][0], visible=False, elem_id="text", max_lines=4
                        )
                        text_error = _error_slot("text")
                        with gr.Row():
                            rhyme_scheme = gr.Radio(
                                choices("rhyme_scheme", lang0),
                                value="pingshui",
                                label=say["rhyme_scheme"],
                                elem_id="rhyme-scheme",
                                elem_classes=["chips"],
                                scale=3,
                            )
                            rhyme_group = gr.Dropdown(
                                app.group_choices("pingshui", "simplified", lang0),
                                value="auto",
                                label=say["rhyme_group"],
                                elem_id="rhyme-group",
                                scale=2,
                            )
                        rhyme_error = _error_slot("rhyme")
                        with gr.Row():
                            tone = gr.Radio(
                                choices("tone", lang0),
                                value="strict",
                                label=say["tone"],
                                elem_id="tone",
                                elem_classes=["chips"],
                                scale=3,
                            )
                            script = gr.Radio(
                                choices("script", lang0),
                                value="simplified",
                                label=say["script"],
                                elem_id="script",
                                elem_classes=["chips"],
                                scale=2,
                            )
                        n = gr.Slider(1, settings.MAX_POEMS, value=4, step=1, label=say["n"], elem_id="n")
                        tone_error = _error_slot("tone")
                        with gr.Accordion(say["sampling"], open=False, elem_id="more-options") as sampling:
                            first_line_rhymes = gr.Radio(
                                choices("first_line_rhymes", lang0),
                                value="auto",
                                label=say["first_line_rhymes"],
                                elem_id="first-line-rhymes",
                            )
                            # above 1.5 the lines stop reading as Chinese (the Python API still allows it)
                            temperature = gr.Slider(
                                0.1, 1.5, value=DEFAULT_TEMPERATURE, step=0.05, label=say["temperature"]
                            )
                            top_p = gr.Slider(0.1, 1.0, value=DEFAULT_TOP_P, step=0.05, label=say["top_p"])
                            # no minimum: Gradio would refuse below it in a raw English toast; the request
                            # refuses an out-of-range seed beside the options, in the page's language
                            seed = gr.Number(value=-1, precision=0, label=say["seed"], elem_id="seed")
                            plan = gr.Textbox(
                                label=say["plan"], placeholder="春风, 孤城", max_lines=1, elem_id="plan"
                            )
                            select_lines = gr.Checkbox(
                                value=True, label=say["select_lines"], elem_id="select-lines"
                            )
                            options_error = _error_slot("options")
                        general_error = _error_slot("general")
                        go = gr.Button(say["generate"], variant="primary", elem_id="generate-button")
                        examples_heading = gr.Markdown(say["examples"])
                        with gr.Row():
                            example_buttons = [
                                gr.Button(example[0], elem_id=f"example-{i}", elem_classes=["tap"])
                                for i, example in enumerate(EXAMPLES)
                            ]
                    with gr.Column(scale=6, min_width=320, elem_id="result-column"):
                        poem_view = gr.HTML(poem_html(None), elem_id="poem-html")
                        show_tones = gr.Checkbox(value=True, label=say["show_tones"], elem_id="show-tones")
                        info = gr.Markdown(elem_id="poem-info")
                        plain = gr.Textbox(label=say["plain"], lines=4, buttons=["copy"], elem_id="poem-text")
                        reuse_seed = gr.Button(say["reuse_seed"], elem_id="reuse-seed", elem_classes=["tap"])
                        candidates = gr.Dataframe(
                            headers=CANDIDATE_HEADERS[lang0],
                            datatype=["number", "str", "number", "str", "str"],
                            interactive=False,
                            wrap=True,
                            # in pixels: on a phone the table scrolls instead of breaking a score or a
                            # pattern's name one character a line
                            column_widths=["36px", "290px", "72px", "128px", "100px"],
                            label=say["candidates"],
                            elem_id="candidates",
                        )
                state = gr.State(None)

            with gr.Tab(say["tab_check"], id="check") as tab_check:
                with gr.Row():
                    with gr.Column(scale=5, min_width=320):
                        check_text = gr.Textbox(
                            label=say["check_text"],
                            lines=6,
                            # said as an example, so that it is not taken for a poem already there
                            placeholder=say["check_placeholder"].format(poem=CHECK_EXAMPLES[0]),
                            elem_id="check-text",
                        )
                        check_error = _error_slot("check")
                        with gr.Row():
                            check_scheme = gr.Radio(
                                choices("scheme", lang0), value="pingshui", label=say["check_scheme"]
                            )
                            check_strictness = gr.Radio(
                                choices("strictness", lang0), value="strict", label=say["strictness"]
                            )
                        check_button = gr.Button(say["check"], variant="primary", elem_id="check-button")
                        check_examples = gr.Examples(
                            [[e] for e in CHECK_EXAMPLES],
                            inputs=[check_text],
                            label=say["check_examples"],
                            elem_id="check-examples",
                        )
                    with gr.Column(scale=6, min_width=320):
                        check_view = gr.HTML(elem_id="check-html")
                check_state = gr.State(None)

            with gr.Tab(say["tab_about"], id="about") as tab_about:
                about = gr.Markdown(about_markdown(lang0, app.generator.model_dir), elem_id="about")

        inputs = [
            form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature, top_p,
            seed, script, show_tones, language, state, plan, select_lines,
        ]  # fmt: skip
        error_slots = [form_error, text_error, rhyme_error, tone_error, options_error, general_error]
        assert len(error_slots) == len(ERROR_SLOTS)
        outputs = [poem_view, plain, info, candidates, state, *error_slots, sampling]
        model_events = {"concurrency_id": "model", "concurrency_limit": settings.CONCURRENCY}
        # a tap while a poem is being written runs once that one is done, with the form as it is then
        # (Gradio's default drops it)
        go.click(
            app.ui_generate,
            inputs,
            outputs,
            api_visibility="private",
            js=SCROLL_TO_RESULT,
            trigger_mode="always_last",
            **model_events,
        ).then(None, js=scroll_after("poem-html"))
        example_outputs = [form, mode, text, rhyme_scheme, rhyme_group, tone, seed]
        for button, example in zip(example_buttons, EXAMPLES, strict=True):
            button.click(
                _example_filler(example),
                language,
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
                **model_events,
            ).then(
                # the example's seed wrote its poem; the next 作诗 draws a new one (reuse-seed brings it back)
                lambda: -1,
                None,
                seed,
                api_visibility="private",
                queue=False,
            ).then(None, js=scroll_after("poem-html"))
        mode.change(app.ui_mode, [mode, language], text, api_visibility="private", queue=False)
        for trigger in (rhyme_scheme, script):  # either one changes the rhyme groups on offer
            trigger.change(
                app.ui_groups,
                [rhyme_scheme, script, rhyme_group, language],
                rhyme_group,
                api_visibility="private",
                queue=False,
            )
        candidates.select(
            app.ui_select,
            [state, show_tones, language],
            [poem_view, plain, info, state],
            api_visibility="private",
        ).then(None, js=scroll_after("poem-html"))  # a phone: the poem chosen is above the table
        show_tones.change(
            app.ui_redraw, [state, show_tones, language], [poem_view, plain, info, candidates],
            api_visibility="private",
        )  # fmt: skip
        reuse_seed.click(app.ui_reuse_seed, [state, language], [seed, sampling], api_visibility="private")
        check_button.click(
            app.ui_check,
            [check_text, check_scheme, check_strictness, language],
            [check_view, check_error, check_state],
            api_visibility="private",
        ).then(None, js=scroll_after("check-html"))
        check_examples.load_input_event.then(
            app.ui_check,
            [check_text, check_scheme, check_strictness, language],
            [check_view, check_error, check_state],
            api_visibility="private",
        ).then(None, js=scroll_after("check-html"))

        # The language switch: every label, choice and text of the page, then what is drawn.
        labelled = {
            "form": form, "mode": mode, "rhyme_scheme": rhyme_scheme, "rhyme_group": rhyme_group,
            "first_line_rhymes": first_line_rhymes, "tone": tone, "n": n, "script": script,
            "temperature": temperature, "top_p": top_p, "seed": seed, "plan": plan, "select_lines": select_lines,
            "show_tones": show_tones,
            "plain": plain, "check_text": check_text, "check_scheme": check_scheme,
            "strictness": check_strictness,
        }  # fmt: skip
        choice_names = {"check_scheme": "scheme"}
        buttons = {"generate": go, "reuse_seed": reuse_seed, "check": check_button}
        tabs = {"tab_generate": tab_generate, "tab_check": tab_check, "tab_about": tab_about}
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
            updates += [gr.update(value="", visible=False) for _ in [*error_slots, check_error]]
            return updates

        language_outputs = [
            *labelled.values(), *buttons.values(), *tabs.values(), sampling, candidates, text, header,
            examples_heading, *example_buttons, about, check_examples.dataset, *error_slots, check_error,
        ]  # fmt: skip
        language.change(
            switch_language,
            [language, mode, rhyme_scheme, script],
            language_outputs,
            api_visibility="private",
            queue=False,
        ).then(
            app.ui_redraw, [state, show_tones, language], [poem_view, plain, info, candidates],
            api_visibility="private", queue=False,
        ).then(
            app.ui_redraw_check, [check_state, language], check_view, api_visibility="private", queue=False
        )  # fmt: skip
        gr.api(app.api_generate, api_name="generate", **model_events)
        gr.api(app.api_check, api_name="check")
    return demo


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
