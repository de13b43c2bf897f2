"""HTML and text for the app: a poem printed vertically with its tone marks, the checker's analysis as a
table, the candidates, the model card. Pure functions of the package's JSON-able answers."""

import html
import re
from pathlib import Path

from poetry_rnn.app.text import (
    DEFAULT_LANGUAGE,
    FORM_NAMES,
    MESSAGES,
    PARALLEL_KINDS,
    SCHEME_NAMES,
    couplets_named,
    pattern_shown,
    rhyme_group_shown,
)
from poetry_rnn.format import line_end_mark
from poetry_rnn.prosody.analysis import FAULT_NAMES_EN, languages


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _fault_positions(analysis: dict) -> set[tuple[int, int]]:
    return {
        (f["line"], f["index"])
        for f in analysis.get("faults", [])
        if f.get("line") is not None and f.get("index") is not None
    }


def poem_html(
    poem: dict | None, title: str | None = None, show_tones: bool = True, lang: str = DEFAULT_LANGUAGE
) -> str:
    """A poem as printed: columns right to left, each character with its 平仄 mark beside it (level with
    it), the punctuation below the column's last character; rhyme characters in red."""
    say = MESSAGES[lang]
    if not poem:
        return f'<div class="poem-card"><div class="poem-placeholder">{_esc(say["placeholder"])}</div></div>'
    analysis = poem.get("analysis") or {}
    analysed = analysis.get("lines") or []
    faults = _fault_positions(analysis)
    script_lang = "zh-Hans" if poem.get("script") == "simplified" else "zh-Hant"
    parts = [
        f'<div class="poem-card"><div class="poem-vertical" id="poem-view" lang="{script_lang}" '
        f'style="--columns: {_columns(poem["lines"], title)}">'
    ]
    if title:
        parts.append(_title_columns(title, max(map(len, poem["lines"]), default=7)))
    for index, line in enumerate(poem["lines"]):
        info = analysed[index] if index < len(analysed) else {}
        marks = info.get("tone_marks", "") if show_tones else ""
        cells = []
        for position, char in enumerate(line):
            classes = ["ch"]
            if info.get("rhymes") and position == len(line) - 1:
                classes.append("rhyme")
            if (index, position) in faults:
                classes.append("fault")
            mark = marks[position] if position < len(marks) else ""
            mark_html = f'<span class="mark">{_esc(mark)}</span>' if mark else ""
            cells.append(
                f'<span class="cell"><span class="{" ".join(classes)}">{_esc(char)}</span>{mark_html}</span>'
            )
        parts.append(
            f'<div class="poem-line">{"".join(cells)}<span class="punct">{line_end_mark(index)}</span></div>'
        )
    parts.append("</div></div>")
    legend = say["legend"] + (say["legend_tones"] if show_tones else "")
    parts.append(f'<div class="poem-legend">{_esc(legend)}</div>')
    couplets = couplets_html(analysis, lang, poem.get("parallel_couplets"))
    if couplets:
        parts.append(couplets)
    return "".join(parts)


def _columns(lines: list[str], title: str | None, expected: int = 0, chars_per_line: int = 0) -> float:
    """The poem's width in columns, which sizes its type to the card (style.css); a poem being written
    counts the lines it will have (`expected`), so that its type does not shrink as it grows."""
    height = chars_per_line or max(map(len, lines), default=7)
    title_columns = -(-len(title) // height) if title else 0
    return max(len(lines), expected) + 1.2 * title_columns


def _title_columns(title: str, height: int) -> str:
    """The title in columns no taller than the poem's lines (`height` characters): a long title (送杜少府之任
    蜀州) wraps into a second column rather than running far below the poem."""
    columns = []
    for start in range(0, len(title), height):
        chars = "".join(
            f'<span class="cell"><span class="tch">{_esc(c)}</span></span>'
            for c in title[start : start + height]
        )
        columns.append(f'<div class="poem-title">{chars}</div>')
    return "".join(columns)


def partial_html(
    lines: list[str],
    title: str | None = None,
    line_count: int = 0,
    caption: str = "",
    chars_per_line: int = 7,
) -> str:
    """The leading candidate while it is being written (`line_count` lines of `chars_per_line` characters,
    when done), with a caption below (which of several poems it is)."""
    parts = [
        '<div class="poem-card"><div class="poem-vertical streaming" id="poem-view" '
        f'style="--columns: {_columns(lines, title, line_count, chars_per_line)}">'
    ]
    if title:
        parts.append(_title_columns(title, chars_per_line))
    for index, line in enumerate(lines):
        done = index < len(lines) - 1
        cells = "".join(f'<span class="cell"><span class="ch">{_esc(c)}</span></span>' for c in line)
        parts.append(
            f'<div class="poem-line">{cells}<span class="punct">{line_end_mark(index) if done else ""}</span></div>'
        )
    parts.append("</div></div>")
    if caption:
        parts.append(f'<div class="poem-legend" id="poem-writing">{_esc(caption)}</div>')
    return "".join(parts)


def poem_plain_text(poem: dict, title: str | None = None) -> str:
    """Plain text to copy: one couplet a line, with the title first when there is one."""
    lines = poem["lines"]
    couplets = [
        lines[i] + "，" + (lines[i + 1] + "。" if i + 1 < len(lines) else "") for i in range(0, len(lines), 2)
    ]
    head = [f"《{title}》"] if title else []
    return "\n".join(head + couplets)


def poem_info_markdown(poem: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    say = MESSAGES[lang]
    colon = "：" if lang == "zh" else ": "
    bits = [
        f"**{say['seed']}**{colon}`{poem['seed']}`",
        f"**{say['score']}**{colon}{poem['score']:.2f}（{say['score_help']}）"
        if lang == "zh"
        else f"**{say['score']}**{colon}{poem['score']:.2f} ({say['score_help']})",
    ]
    if poem.get("pattern"):
        bits.append(f"**{say['pattern']}**{colon}{pattern_shown(poem['pattern'], lang)}")
    if poem.get("rhyme_group_label"):
        bits.append(f"**{say['rhyme_group']}**{colon}{rhyme_group_shown(poem['rhyme_group_label'], lang)}")
    verdict = "✓" if poem.get("ok") else "✗"
    if poem.get("ok") and poem.get("unasked_faults"):  # the rules asked for hold, others were left out
        verdict += say["unasked"].format(names="、".join(poem["unasked_faults"]))
    bits.append(f"**{say['regular']}**{colon}{verdict}")
    text = " · ".join(bits)
    if poem.get("plan"):  # each keyword said to be left out where its couplet does without it
        followed = poem.get("plan_followed") or [True] * len(poem["plan"])
        unused = say["plan_unused"]
        words = [w if kept else f"{w}{unused}" for w, kept in zip(poem["plan"], followed, strict=False)]
        text += f"\n\n**{say['plan']}**{colon}{' · '.join(words)}"
    for note in poem.get("notes") or []:
        text += f"\n\n{say['note']}{colon}{_one_language(note, lang)}"
    return text


def candidate_rows(poems: list[dict]) -> list[list]:
    """One row a poem: rank, its text a couplet a line (so that a narrow screen never breaks a line of
    verse in two), score, pattern, rhyme group."""
    return [
        [
            rank,
            re.sub(r"(?<=[。！？])(?=.)", "\n", p["text"]),
            round(p["score"], 2),
            p.get("pattern") or "",
            p.get("rhyme_group_label") or "",
        ]
        for rank, p in enumerate(poems, 1)
    ]


def couplets_html(analysis: dict, lang: str = DEFAULT_LANGUAGE, asked: list[int] | None = None) -> str:
    """Each couplet's 对仗 verdict (工对 / 宽对 / 不对) with its word pairs; a 律诗's unparallel middle
    couplet is marked. `asked`: for a generated poem, the couplets its request wanted parallel (by first
    line), so that one it did not ask for is no fault and the heading says what was asked."""
    couplets = analysis.get("couplets") or []
    if not couplets:
        return ""
    names = couplets_named(2 * len(couplets), lang)
    kinds = PARALLEL_KINDS[lang]
    middle_faults = {f.get("line") for f in analysis.get("parallel_faults") or []}
    items = []
    for number, couplet in enumerate(couplets):
        first, second = couplet["lines"][0] + 1, couplet["lines"][-1] + 1
        name = names[number] if number < len(names) else ""
        if lang == "zh":
            where = f"{name}（{first}–{second}）" if name else f"第{first}–{second}句"
        else:
            where = f"{name} (lines {first}–{second})" if name else f"lines {first}–{second}"
        pairs = " ".join(f"{p['left']}/{p['right']}" for p in couplet.get("pairs") or [])
        kind = couplet.get("kind", "")
        faulted = couplet["lines"][0] in middle_faults or couplet["lines"][-1] in middle_faults
        bad = " bad" if faulted and (asked is None or couplet["lines"][0] in asked) else ""
        items.append(
            f'<li class="couplet{bad}"><b>{_esc(where)}</b> <span class="kind kind-{_esc(kind)}">'
            f"{_esc(kinds.get(kind, kind))}</span> <small>{_esc(pairs)}</small></li>"
        )
    # a 绝句's couplets need not be parallel: their 不对 is no fault, and the heading says so; a generated
    # poem's heading says what its request asked
    if asked is None:
        title = MESSAGES[lang]["parallel" if len(couplets) > 2 else "parallel_jueju"]
    else:
        title = MESSAGES[lang]["parallel" if asked else "parallel_unasked"]
    return f'<div class="couplets"><b>{_esc(title)}</b><ul id="couplet-verdicts">{"".join(items)}</ul></div>'


def _one_language(message: str, lang: str) -> str:
    """One language of a checker message, which the checker writes 'Chinese (English)'."""
    chinese, english = languages(message)
    return chinese if lang == "zh" else english


def _fault_text(fault: dict, lang: str) -> tuple[str, str]:
    """A fault's name and message in one language."""
    message = _one_language(fault.get("message", ""), lang)
    if lang == "zh":
        return fault["name"], message
    return FAULT_NAMES_EN.get(fault["name"], fault["name"]), message


def analysis_html(analysis: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    """The checker's analysis: one table row per line, one cell per character (tone mark, required tone),
    cells that break the pattern shaded, rhyme characters in red, then the faults and the couplets."""
    say = MESSAGES[lang]
    scheme = SCHEME_NAMES[lang].get(analysis["scheme"], analysis["scheme"])
    form = FORM_NAMES[lang].get(analysis.get("form") or "", say["not_a_form"])
    head = [scheme, form]
    if analysis.get("pattern"):
        head.append(pattern_shown(analysis["pattern"], lang))
    if analysis.get("rhyme_group_labels"):
        labels = [rhyme_group_shown(label, lang) for label in analysis["rhyme_group_labels"]]
        head.append(f"{say['rhyme_group']} " + "、".join(labels))
    parts = [
        f"<p><b>{_esc(' · '.join(head))}</b></p>",
        '<div class="check-scroll"><table class="check-table" id="check-view">',
    ]
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
    parts.append("</table></div>")
    parts.append(f'<p class="poem-legend" style="text-align:left">{_esc(say["check_legend"])}</p>')
    all_faults = list(analysis.get("faults") or []) + list(analysis.get("parallel_faults") or [])
    if not all_faults:
        parts.append(f'<p class="check-ok">{_esc(say["check_ok"])}</p>')
    else:
        count = len(all_faults)
        parts.append(
            f'<p class="check-bad">{_esc(say["faults"].format(count=count))}</p><ul id="check-faults">'
        )
        for fault in all_faults:
            name, message = _fault_text(fault, lang)
            parts.append(f"<li><b>{_esc(name)}</b>{'：' if lang == 'zh' else ': '}{_esc(message)}</li>")
        parts.append("</ul>")
    parts.append(couplets_html(analysis, lang))
    colon = "：" if lang == "zh" else ": "
    for licence in analysis.get("licences") or []:
        label = _esc(say["licence"].format(kind=licence["kind"]))
        note = _esc(_one_language(licence["note"], lang))
        parts.append(f'<p class="poem-legend check-licence" style="text-align:left">{label}{colon}{note}</p>')
    for note in analysis.get("notes") or []:
        note = _esc(_one_language(note, lang))
        parts.append(f'<p class="poem-legend" style="text-align:left">{_esc(say["note"])}{colon}{note}</p>')
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
