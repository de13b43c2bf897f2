"""诗 · poetry_rnn — the web app: 作诗 (generate), 格律检测 (check), 关于 (about).

    python app.py                              # http://127.0.0.1:7860
    python app.py --port 7861 --host 0.0.0.0   # or env PORT / GRADIO_SERVER_PORT, GRADIO_SERVER_NAME

Every rule and the model live in the `poetry_rnn` package (PoetryGenerator, the 格律 checker); this file
turns form fields into its calls and its answers into HTML. The model is loaded once per process.

Named API endpoints for gradio_client: /generate and /check (see `api_generate`, `api_check`).

Settings (environment): POETRY_RNN_MODEL (model folder), POETRY_RNN_CONCURRENCY (requests decoded at
once, default 2), POETRY_RNN_QUEUE_SIZE (waiting requests, default 64), POETRY_RNN_TIME_LIMIT (seconds per
request, default 30), POETRY_RNN_TORCH_THREADS (threads per request, default 1).
"""

import os
import time

PROCESS_STARTED = time.perf_counter()  # for the start-up times in the log

# Before gradio / huggingface_hub are imported: no telemetry, no Hub look-ups (the app runs offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if __name__ == "__main__":
    import sys

    # gradio imports IPython (for notebook magics) whenever it is installed: ~0.7 s of CPU at every start
    # of a server that never runs in a notebook. A None entry makes that optional import fail fast.
    sys.modules.setdefault("IPython", None)

import argparse  # noqa: E402
import functools  # noqa: E402
import html  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402

from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.prosody.check import FAULT_GLOSSES, analyze  # noqa: E402
from poetry_rnn.prosody.rhyme import get_scheme  # noqa: E402

log = logging.getLogger("poetry_rnn.app")

REPO = Path(__file__).resolve().parent
CONCURRENCY = int(os.environ.get("POETRY_RNN_CONCURRENCY", "2"))
QUEUE_SIZE = int(os.environ.get("POETRY_RNN_QUEUE_SIZE", "64"))
TIME_LIMIT = float(os.environ.get("POETRY_RNN_TIME_LIMIT", "30"))
TORCH_THREADS = int(os.environ.get("POETRY_RNN_TORCH_THREADS", "1"))
WARM_UP_EXTRAS_AFTER_S = 8.0
MAX_POEMS = 8  # per request: a shared 2-vCPU box
MAX_TEXT_CHARS = 200  # the longest input a mode takes is a theme of 200 characters

# (label, value) pairs: Chinese first, English after.
FORMS = [("五绝 wujue", "wujue"), ("七绝 qijue", "qijue"), ("五律 wulv", "wulv"), ("七律 qilv", "qilv")]
MODES = [
    ("自由 free", "free"),
    ("藏头 acrostic", "acrostic"),
    ("首句 first line", "first_line"),
    ("命题 title", "title"),
    ("主题 theme", "theme"),
]
SCHEMES = [("平水韵 pingshui", "pingshui"), ("中华新韵 xinyun", "xinyun"), ("不押韵 none", "none")]
CHECK_SCHEMES = SCHEMES[:2]
TONES = [("严格 strict", "strict"), ("标准 standard（一三五不论）", "standard"), ("不限 off", "off")]
CHECK_STRICTNESS = TONES[:2]
FIRST_LINE_RHYMES = [("自动 auto", "auto"), ("入韵 yes", "yes"), ("不入韵 no", "no")]
SCRIPTS = [("简体", "simplified"), ("繁體", "traditional")]
AUTO_GROUP = ("自动 auto", "auto")

# What the text box holds in each mode: its label and a placeholder.
MODE_TEXT = {
    "free": ("（自由模式不需输入 free mode takes no text）", ""),
    "acrostic": ("藏头字 acrostic — 每句一字 one character per line", "春江花月"),
    "first_line": ("首句 first line — 五字或七字 5 or 7 characters", "白日依山尽"),
    "title": ("题目 title — 至多二十字 up to 20 characters", "秋夜寄远"),
    "theme": ("主题 theme — 白话描述 a description in modern Chinese", "秋天的夜晚，独自在外，想念家乡"),
}

# What each mode asks for when its text is empty.
MODE_NEEDS = {
    "acrostic": "give one head character per line, e.g. 春江花月 for a 绝句",
    "first_line": "give the first line, 5 characters (五言) or 7 (七言)",
    "title": "give a title of up to 20 characters",
    "theme": "describe the theme in modern Chinese, e.g. 秋天的夜晚想念家乡",
}

# The form field (or generator parameter) a UserError names → how the UI calls it.
FIELD_LABELS = {
    "form": "体裁 form",
    "mode": "模式 mode",
    "text": "输入 text",
    "acrostic": "藏头 acrostic",
    "first_line": "首句 first line",
    "title": "题目 title",
    "theme": "主题 theme",
    "keywords": "主题 theme",
    "rhyme_scheme": "韵书 rhyme scheme",
    "rhyme_group": "韵部 rhyme group",
    "first_line_rhymes": "首句入韵 first line rhymes",
    "tone": "平仄 tone rules",
    "n": "首数 number of poems",
    "temperature": "温度 temperature",
    "top_p": "top-p",
    "seed": "种子 seed",
    "script": "字体 script",
    "time_limit": "时限 time limit",
    "scheme": "韵书 rhyme scheme",
    "strictness": "严格程度 strictness",
}
GENERIC_ERROR = (
    "出错了，请稍后再试。Something went wrong on the server (it has been logged); please try again, "
    "perhaps with other options."
)

EXAMPLES = [
    # (button label, form, mode, text, rhyme scheme, tone, seed)
    ("自由 · 五绝", "wujue", "free", "", "pingshui", "strict", 11),
    ("藏头 · 七绝 · 春江花月", "qijue", "acrostic", "春江花月", "pingshui", "strict", 7),
    ("首句 · 五律 · 白日依山尽", "wulv", "first_line", "白日依山尽", "pingshui", "strict", 3),
    ("命题 · 七律 · 秋夜寄远", "qilv", "title", "秋夜寄远", "pingshui", "standard", 5),
    ("主题 · 七绝 · 新韵", "qijue", "theme", "春天到了，江边的桃花都开了", "xinyun", "strict", 2),
]
CHECK_EXAMPLES = [
    "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
    "朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。",
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
]

CSS = """
.poem-card { display: flex; justify-content: center; padding: 1.2rem 0.5rem; background: #fbf7ee;
  border: 1px solid #e3d8bf; border-radius: 6px; color: #222; overflow-x: auto; min-height: 14rem; }
.poem-vertical { writing-mode: vertical-rl; text-orientation: upright; font-size: 1.9rem; line-height: 2.3;
  letter-spacing: 0.12em; font-family: "Noto Serif CJK SC", "Noto Serif CJK TC", "Source Han Serif SC",
  "Songti SC", "STSong", "SimSun", "WenQuanYi Micro Hei", serif; margin: 0 auto; }
.poem-vertical .poem-title { font-size: 1.15em; font-weight: 600; margin-left: 0.6em; }
.poem-vertical .poem-line { margin: 0; }
.poem-vertical .punct { color: #8a7f6a; }
.poem-vertical rt { font-size: 0.42em; color: #6b6455; letter-spacing: 0; }
.poem-vertical .ch.rhyme { color: #a8201a; font-weight: 700; }
.poem-vertical .ch.fault { text-decoration: underline wavy #d33; }
.poem-vertical.streaming { opacity: 0.75; }
.poem-placeholder { color: #8a7f6a; font-size: 1rem; writing-mode: horizontal-tb; align-self: center; }
.poem-legend { font-size: 0.85rem; color: #6b6455; text-align: center; margin-top: 0.3rem; }
.check-table { border-collapse: collapse; margin: 0.5rem 0; color: inherit; }
.check-table td { text-align: center; padding: 0.15rem 0.3rem; border: 1px solid #e3d8bf; min-width: 2.4rem; }
.check-table td.lineno, .check-table td.linetype { border: none; color: #888; font-size: 0.8rem;
  white-space: nowrap; text-align: left; }
.check-table .ch { display: block; font-size: 1.5rem; font-family: "Noto Serif CJK SC", "WenQuanYi Micro Hei", serif; }
.check-table .mark { display: block; font-size: 0.8rem; color: #666; }
.check-table td.bad { background: #fde2e0; }
.check-table td.rhyme .ch { color: #a8201a; font-weight: 700; }
.check-ok { color: #1d7a3a; font-weight: 600; }
.check-bad { color: #b3261e; font-weight: 600; }
"""


# ---------------------------------------------------------------------------------------------------
# Rendering (pure functions of the package's JSON-able answers)
# ---------------------------------------------------------------------------------------------------
def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _fault_positions(analysis: dict) -> set[tuple[int, int]]:
    return {
        (f["line"], f["index"])
        for f in analysis.get("faults", [])
        if f.get("line") is not None and f.get("index") is not None
    }


def poem_html(poem: dict | None, title: str | None = None, show_tones: bool = True) -> str:
    """A poem as printed: vertical, right to left; rhyme characters in red; 平仄 marks as ruby."""
    if not poem:
        return (
            '<div class="poem-card"><div class="poem-placeholder">'
            "选好体裁与模式，按「作诗」。Choose a form and a mode, then press 作诗 Generate.</div></div>"
        )
    analysis = poem.get("analysis") or {}
    analysed = analysis.get("lines") or []
    faults = _fault_positions(analysis)
    lang = "zh-Hans" if poem.get("script") == "simplified" else "zh-Hant"
    parts = [f'<div class="poem-card"><div class="poem-vertical" id="poem-view" lang="{lang}">']
    if title:
        parts.append(f'<div class="poem-title">{_esc(title)}</div>')
    for index, line in enumerate(poem["lines"]):
        info = analysed[index] if index < len(analysed) else {}
        marks = info.get("tone_marks", "")
        chars = []
        for position, char in enumerate(line):
            classes = ["ch"]
            if info.get("rhymes") and position == len(line) - 1:
                classes.append("rhyme")
            if (index, position) in faults:
                classes.append("fault")
            mark = marks[position] if show_tones and position < len(marks) else ""
            rt = f"<rt>{_esc(mark)}</rt>" if mark else ""
            chars.append(f'<ruby class="{" ".join(classes)}">{_esc(char)}{rt}</ruby>')
        punct = "，" if index % 2 == 0 else "。"
        parts.append(f'<div class="poem-line">{"".join(chars)}<span class="punct">{punct}</span></div>')
    parts.append("</div></div>")
    legend = "红字为韵脚 red: rhyme characters"
    if show_tones:
        legend += " · ○ 平 level ● 仄 oblique ◐ 平仄两读 either"
    parts.append(f'<div class="poem-legend">{legend}</div>')
    return "".join(parts)


def partial_html(lines: list[str], title: str | None = None) -> str:
    """The leading candidate while it is being written."""
    parts = ['<div class="poem-card"><div class="poem-vertical streaming" id="poem-view">']
    if title:
        parts.append(f'<div class="poem-title">{_esc(title)}</div>')
    for index, line in enumerate(lines):
        punct = "，" if index % 2 == 0 else "。"
        done = index < len(lines) - 1
        chars = "".join(f'<ruby class="ch">{_esc(c)}</ruby>' for c in line)
        parts.append(
            f'<div class="poem-line">{chars}<span class="punct">{punct if done else ""}</span></div>'
        )
    parts.append("</div></div>")
    return "".join(parts)


def poem_plain_text(poem: dict, title: str | None = None) -> str:
    """Plain text to copy: one couplet a line, with the title first when there is one."""
    lines = poem["lines"]
    couplets = [
        lines[i] + "，" + (lines[i + 1] + "。" if i + 1 < len(lines) else "") for i in range(0, len(lines), 2)
    ]
    head = [f"《{title}》"] if title else []
    return "\n".join(head + couplets)


def poem_info_markdown(poem: dict) -> str:
    bits = [f"**种子 seed** `{poem['seed']}`", f"**分数 score** {poem['score']:.3f}"]
    if poem.get("pattern"):
        bits.append(f"**格式 pattern** {poem['pattern']}")
    if poem.get("rhyme_group_label"):
        bits.append(f"**韵部 rhyme group** {poem['rhyme_group_label']}")
    bits.append("**合律 regular** ✓" if poem.get("ok") else "**合律 regular** ✗")
    text = " · ".join(bits)
    for note in poem.get("notes") or []:
        text += f"\n\n注 note: {note}"
    return text


def candidate_rows(poems: list[dict]) -> list[list]:
    return [
        [rank, p["text"], round(p["score"], 3), p.get("pattern") or "", p.get("rhyme_group_label") or ""]
        for rank, p in enumerate(poems, 1)
    ]


def analysis_html(analysis: dict) -> str:
    """The checker's analysis: one table row per line, one cell per character (tone mark, required tone),
    cells that break the pattern shaded, rhyme characters in red, then the faults by name."""
    scheme = get_scheme(analysis["scheme"])
    form = {"wujue": "五言绝句", "qijue": "七言绝句", "wulv": "五言律诗", "qilv": "七言律诗"}.get(
        analysis.get("form") or "", "非近体常式 not a standard form"
    )
    head = [f"{scheme.chinese_name} {analysis['scheme']}", form]
    if analysis.get("pattern"):
        head.append(analysis["pattern"])
    if analysis.get("rhyme_group_labels"):
        head.append("韵部 " + "、".join(analysis["rhyme_group_labels"]))
    parts = [f"<p><b>{_esc(' · '.join(head))}</b></p>", '<table class="check-table" id="check-view">']
    faults = _fault_positions(analysis)
    for index, line in enumerate(analysis["lines"]):
        cells = [f'<td class="lineno">{index + 1}</td>']
        for position, char in enumerate(line["chars"]):
            classes = []
            if not char["fits"] or (index, position) in faults:
                classes.append("bad")
            if line["rhymes"] and position == len(line["chars"]) - 1:
                classes.append("rhyme")
            mark = line["tone_marks"][position] if position < len(line["tone_marks"]) else ""
            required = char.get("required") or ""
            cells.append(
                f'<td class="{" ".join(classes)}"><span class="ch">{_esc(char["char"])}</span>'
                f'<span class="mark">{_esc(mark)} {_esc(required)}</span></td>'
            )
        line_type = " ".join(x for x in (line.get("line_type"), line.get("template")) if x)
        cells.append(f'<td class="linetype">{_esc(line_type)}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    parts.append(
        '<p class="poem-legend" style="text-align:left">○ 平 level · ● 仄 oblique · ◐ 两读 either · '
        "？ 未收 not in the table · 下行小字为格律要求 (平/仄/中 either) · 红底 breaks the pattern · "
        "红字 rhyme</p>"
    )
    if analysis["ok"]:
        parts.append('<p class="check-ok">合律：未见问题 — no faults found.</p>')
    else:
        parts.append(
            f'<p class="check-bad">问题 faults（{len(analysis["faults"])}）</p><ul id="check-faults">'
        )
        for fault in analysis["faults"]:
            gloss = FAULT_GLOSSES.get(fault["name"], "")
            parts.append(
                f"<li><b>{_esc(fault['name'])}</b> <i>{_esc(gloss)}</i>: {_esc(fault['message'])}</li>"
            )
        parts.append("</ul>")
    for note in analysis.get("notes") or []:
        parts.append(f'<p class="poem-legend" style="text-align:left">注 note: {_esc(note)}</p>')
    return "".join(parts)


def model_card_markdown(model_dir: Path | None) -> str:
    """The model folder's README.md without its YAML front matter, or a short summary of config.json."""
    if model_dir is None:
        return "模型说明未找到 — no model card."
    card = model_dir / "README.md"
    if card.is_file():
        text = card.read_text(encoding="utf-8")
        if text.startswith("---"):
            end = text.find("\n---", 3)
            if end != -1:
                text = text[end + 4 :]
        return text.strip()
    config = model_dir / "config.json"
    summary = f"模型说明未找到 — no model card at `{card.name}` in `{model_dir.name}`."
    if config.is_file():
        summary += f"\n\n```json\n{config.read_text(encoding='utf-8').strip()}\n```"
    return summary


# ---------------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------------
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


def generate_options(
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
) -> tuple[dict, str | None]:
    """Form values → keyword arguments for PoetryGenerator.generate, and the title to show (命题 mode).
    Only what the form itself means is checked here; the generator validates the rest."""
    mode = _choice(mode, MODES, "mode", "the mode")
    text = "" if text is None else str(text)
    stripped = text.strip()
    if len(stripped) > MAX_TEXT_CHARS:
        raise UserError(
            f"the text is {len(stripped):,} characters long; at most {MAX_TEXT_CHARS} are allowed",
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
        "time_limit": TIME_LIMIT,
    }
    if isinstance(form, str) and form not in {v for _, v in FORMS}:
        options["form"] = {label: v for label, v in FORMS}.get(form, form)
    try:
        too_many = not isinstance(n, bool) and float(n) > MAX_POEMS
    except (TypeError, ValueError):
        too_many = False  # not a number: the generator says so
    if too_many:
        raise UserError(f"at most {MAX_POEMS} poems per request here, got {n}", field="n")
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
    return options, title


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
            options, _ = generate_options(
                form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature,
                top_p, seed, script,
            )  # fmt: skip
            poems = self.generator.generate(**options)
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
            options, title = generate_options(
                form, mode, text, rhyme_scheme, rhyme_group, first_line_rhymes, tone, n, temperature,
                top_p, seed, script,
            )  # fmt: skip
        except UserError as error:
            raise user_error(error) from None
        streamed = False
        poems = None
        try:
            for event in self.generator.generate_stream(**options):
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
        wanted = int(float(options["n"]))
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

    def warm_up(self, extras_after_s: float = WARM_UP_EXTRAS_AFTER_S) -> None:
        """Load what requests would otherwise wait for. First what every request needs (the corpus lines
        of the originality rule, the tone and rhyme tables of the default form); the rest (jieba for themes,
        the other rhyme-group lists) some seconds later, so that it does not slow down the first visitor."""
        started = time.perf_counter()
        try:
            self.generator.generate(form="qijue", acrostic="春夏秋冬", n=1, seed=0, time_limit=TIME_LIMIT)
            log.info("warm-up: ready for requests in %.1f s", time.perf_counter() - started)
            time.sleep(extras_after_s)
            for scheme in ("pingshui", "xinyun"):
                for _, script in SCRIPTS:
                    self.group_choices(scheme, script)
            self.generator.generate(form="wujue", theme="春天的早晨", n=1, seed=0, time_limit=TIME_LIMIT)
        except Exception:
            log.exception("warm-up failed (the app still works; first requests may be slower)")
            return
        log.info("warm-up: themes and rhyme-group lists loaded")


# ---------------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------------
API_SNIPPET = """```python
from gradio_client import Client

client = Client("http://127.0.0.1:7860/")
result = client.predict(
    form="qijue",
    mode="acrostic",
    text="春江花月",
    rhyme_scheme="pingshui",
    tone="strict",
    n=2,
    seed=7,
    script="simplified",
    api_name="/generate",
)
for poem in result["poems"]:
    print(poem["text"], poem["pattern"], poem["rhyme_group_label"], poem["score"])

analysis = client.predict(
    text="白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", scheme="pingshui", api_name="/check"
)
print(analysis["ok"], analysis["pattern"], [fault["name"] for fault in analysis["faults"]])
```"""

HOW_IT_WORKS = """
### 格律怎样保证 How the rules are kept

模型是一个在约五万首唐诗上训练的循环神经网络（GRU），逐字写诗。解码时每一步都有几道约束把不合规则的字屏蔽掉：
A recurrent language model (GRU) trained on ~56,000 Tang poems writes one character at a time. At every
step a set of small, composable constraints masks the characters that would break the rules:

- **体裁 form** — 5 or 7 characters a line, 4 or 8 lines, punctuation in place.
- **平仄 tones** — each position follows one of the form's tone patterns (平起/仄起, 首句入韵 or not);
  *strict* also rules out 孤平 and 三平尾, *standard* lets positions 1, 3, 5 go free (一三五不论);
  the decoder never walks into a dead end.
- **押韵 rhyme** — the rhyme lines end in one level-tone group of 平水韵 or 中华新韵, no character twice.
- **藏头 / 首句** — the heads of the lines, or the whole first line, are fixed.
- **重复与原创** — no character more than twice; no line copied whole from the training poems.

Several candidates are sampled (temperature, top-p, a seed you can reuse), each is checked once more by the
格律 checker (the same rules, in `poetry_rnn.prosody`), and they are ranked by the model's score. 主题 theme
mode reads keywords out of plain modern Chinese with jieba (TextRank); 命题 title mode conditions on the title.
"""


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
                            n = gr.Slider(1, MAX_POEMS, value=4, step=1, label="候选 candidates", elem_id="n")
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
        model_events = {"concurrency_id": "model", "concurrency_limit": CONCURRENCY}
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


# ---------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the poetry_rnn web app (Gradio).")
    env_port = os.environ.get("PORT") or os.environ.get("GRADIO_SERVER_PORT")
    parser.add_argument(
        "--port", type=int, default=int(env_port) if env_port else 7860, help="default: $PORT, 7860"
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="interface to listen on (0.0.0.0 for all; default $GRADIO_SERVER_NAME or 127.0.0.1)",
    )
    parser.add_argument("--model", help="model folder (default: $POETRY_RNN_MODEL or data/default_model)")
    parser.add_argument("--no-warm-up", action="store_true", help="skip loading lazy resources at start")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    import torch

    # Each request decodes in one thread; CONCURRENCY requests at once fill a 2-vCPU box.
    torch.set_num_threads(TORCH_THREADS)
    from poetry_rnn.generator import PoetryGenerator

    try:
        generator = PoetryGenerator.from_pretrained(args.model)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = PoetryApp(generator)
    log.info(
        "model loaded from %s in %.1f s (%.1f s after start)",
        generator.model_dir,
        time.perf_counter() - started,
        time.perf_counter() - PROCESS_STARTED,
    )
    demo = build_app(app)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    if not args.no_warm_up:
        threading.Thread(target=app.warm_up, name="warm-up", daemon=True).start()
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        css=CSS,
        show_error=False,  # gr.Error messages are shown; other exceptions only as a generic error
        footer_links=["api"],
        ssr_mode=False,
        prevent_thread_lock=True,
    )
    log.info("serving %.1f s after start", time.perf_counter() - PROCESS_STARTED)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
