"""HTML and text for the app: a poem printed vertically with its tone marks, the checker's analysis as a
table, the candidates, the model card. Pure functions of the package's JSON-able answers."""

import html
from pathlib import Path

from poetry_rnn.prosody.check import FAULT_GLOSSES
from poetry_rnn.prosody.rhyme import get_scheme


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
