"""The app's page: the 作诗 generate, 格律检测 check and 关于 about tabs, and which handler each event calls."""

import gradio as gr

from poetry_rnn.app import settings
from poetry_rnn.app.handlers import PoetryApp
from poetry_rnn.app.render import model_card_markdown, poem_html
from poetry_rnn.app.text import (
    API_SNIPPET,
    CHECK_EXAMPLES,
    CHECK_SCHEMES,
    CHECK_STRICTNESS,
    EXAMPLES,
    FIRST_LINE_RHYMES,
    FORMS,
    HOW_IT_WORKS,
    MODE_TEXT,
    MODES,
    SCHEMES,
    SCRIPTS,
    TONES,
)


def build_app(app: PoetryApp) -> gr.Blocks:
    with gr.Blocks(title="诗 · poetry_rnn — 近体诗 generator") as demo:
        gr.Markdown("# 诗 · 近体诗生成与格律检测\nTang-style regulated verse: write poems, check 格律.")
        with gr.Tabs():
            with gr.Tab("作诗 Generate", id="generate"):
                with gr.Row():
                    with gr.Column(scale=5, min_width=320):
                        form = gr.Radio(FORMS, value="qijue", label="体裁 form", elem_id="form")
                        mode = gr.Radio(MODES, value="free", label="模式 mode", elem_id="mode")
                        text = gr.Textbox(
                            label=MODE_TEXT["free"][0], visible=False, elem_id="text", max_lines=4
                        )
                        with gr.Row():
                            rhyme_scheme = gr.Radio(
                                SCHEMES, value="pingshui", label="韵书 rhyme scheme", elem_id="rhyme-scheme"
                            )
                            rhyme_group = gr.Dropdown(
                                app.group_choices("pingshui", "simplified"),
                                value="auto",
                                label="韵部 rhyme group（例字 examples）",
                                elem_id="rhyme-group",
                            )
                        with gr.Row():
                            first_line_rhymes = gr.Radio(
                                FIRST_LINE_RHYMES, value="auto", label="首句入韵 first line rhymes"
                            )
                            tone = gr.Radio(TONES, value="strict", label="平仄 tone rules", elem_id="tone")
                        with gr.Row():
                            n = gr.Slider(
                                1, settings.MAX_POEMS, value=4, step=1, label="候选 candidates", elem_id="n"
                            )
                            script = gr.Radio(
                                SCRIPTS, value="simplified", label="字体 script", elem_id="script"
                            )
                        with gr.Accordion("采样 sampling", open=False):
                            temperature = gr.Slider(0.1, 2.0, value=0.85, step=0.05, label="温度 temperature")
                            top_p = gr.Slider(0.1, 1.0, value=0.95, step=0.05, label="top-p")
                            seed = gr.Number(
                                value=-1,
                                precision=0,
                                label="种子 seed（-1 随机 random）",
                                elem_id="seed",
                                minimum=-1,
                            )
                        go = gr.Button("作诗 Generate", variant="primary", elem_id="generate-button")
                        gr.Markdown("**示例 examples** — 一按即作 one click writes a poem:")
                        with gr.Row():
                            example_buttons = [
                                gr.Button(label, size="sm", elem_id=f"example-{i}")
                                for i, (label, *_) in enumerate(EXAMPLES)
                            ]
                    with gr.Column(scale=6, min_width=320):
                        poem_view = gr.HTML(poem_html(None), elem_id="poem-html")
                        show_tones = gr.Checkbox(value=True, label="显示平仄 show tone marks ○●")
                        info = gr.Markdown(elem_id="poem-info")
                        plain = gr.Textbox(
                            label="纯文本 plain text", lines=5, buttons=["copy"], elem_id="poem-text"
                        )
                        reuse_seed = gr.Button("用此种子 reuse this seed", size="sm")
                        candidates = gr.Dataframe(
                            headers=["#", "诗 poem", "分数 score", "格式 pattern", "韵部 rhyme"],
                            datatype=["number", "str", "number", "str", "str"],
                            interactive=False,
                            wrap=True,
                            column_widths=["7%", "55%", "12%", "14%", "12%"],
                            label="候选 candidates — 点一行查看 click a row to show it",
                            elem_id="candidates",
                        )
                state = gr.State(None)

            with gr.Tab("格律检测 Check", id="check"):
                with gr.Row():
                    with gr.Column(scale=5):
                        check_text = gr.Textbox(
                            label="诗 poem — 简体或繁體 simplified or traditional",
                            lines=6,
                            placeholder=CHECK_EXAMPLES[0],
                            elem_id="check-text",
                        )
                        with gr.Row():
                            check_scheme = gr.Radio(
                                CHECK_SCHEMES, value="pingshui", label="韵书 rhyme scheme"
                            )
                            check_strictness = gr.Radio(
                                CHECK_STRICTNESS, value="strict", label="严格程度 strictness"
                            )
                        check_button = gr.Button("检测 Check", variant="primary", elem_id="check-button")
                        gr.Examples([[e] for e in CHECK_EXAMPLES], inputs=[check_text], label="示例 examples")
                    with gr.Column(scale=6):
                        check_view = gr.HTML(elem_id="check-html")

            with gr.Tab("关于 About", id="about"):
                gr.Markdown(model_card_markdown(app.generator.model_dir))
                gr.Markdown(HOW_IT_WORKS)
                gr.Markdown(
                    "### 接口 API\n`/generate` and `/check` are named endpoints; from Python "
                    "(`pip install gradio_client`):\n\n" + API_SNIPPET
                )

        inputs = [
            form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature, top_p,
            seed, script, show_tones,
        ]  # fmt: skip
        outputs = [poem_view, plain, info, candidates, state]
        model_events = {"concurrency_id": "model", "concurrency_limit": settings.CONCURRENCY}
        go.click(app.ui_generate, inputs, outputs, api_visibility="private", **model_events)
        example_outputs = [form, mode, text, rhyme_scheme, rhyme_group, tone, seed]
        for button, example in zip(example_buttons, EXAMPLES, strict=True):
            button.click(
                _example_filler(example), None, example_outputs, api_visibility="private", queue=False
            ).then(app.ui_generate, inputs, outputs, api_visibility="private", **model_events)
        mode.change(app.ui_mode, mode, text, api_visibility="private", queue=False)
        for trigger in (rhyme_scheme, script):  # either one changes the rhyme groups on offer
            trigger.change(
                app.ui_groups,
                [rhyme_scheme, script, rhyme_group],
                rhyme_group,
                api_visibility="private",
                queue=False,
            )
        candidates.select(
            app.ui_select, [state, show_tones], [poem_view, plain, info, state], api_visibility="private"
        )
        show_tones.change(app.ui_toggle_tones, [state, show_tones], poem_view, api_visibility="private")
        reuse_seed.click(
            lambda s: s["poems"][s.get("selected", 0)]["seed"] if s and s.get("poems") else gr.skip(),
            state,
            seed,
            api_visibility="private",
            queue=False,
        )
        check_button.click(
            app.ui_check,
            [check_text, check_scheme, check_strictness],
            check_view,
            api_visibility="private",
        )
        gr.api(app.api_generate, api_name="generate", **model_events)
        gr.api(app.api_check, api_name="check")
    return demo


def _example_filler(example: tuple):
    """A click handler that puts one example's values into the form."""
    _, form, mode, text, scheme, tone, seed = example
    label, placeholder = MODE_TEXT[mode]

    def fill():
        textbox = gr.Textbox(value=text, label=label, placeholder=placeholder, visible=mode != "free")
        return form, mode, textbox, scheme, "auto", tone, seed

    return fill
