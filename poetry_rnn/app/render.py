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
from poetry_rnn.prosody.analysis import FAULT_NAMES_EN, LICENCE_NAMES_EN, languages, pattern_in_script


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _fault_positions(analysis: dict) -> set[tuple[int, int]]:
    return {
        (f["line"], f["index"])
        for f in analysis.get("faults", [])
        if f.get("line") is not None and f.get("index") is not None
    }


def _result(inner: str, kind: str, announce: str = "") -> str:
    """A result as the page shows it: focusable by script (the page moves focus to it on a phone, where it
    scrolls there), with the one line the page reads out to a screen reader when it arrives (`announce`,
    which layout.after_answer puts into the page's live region)."""
    said = f' data-announce="{_esc(announce)}"' if announce else ""
    return f'<div class="{kind}" tabindex="-1"{said}>{inner}</div>'


def _script_lang(poem: dict) -> str:
    return "zh-Hans" if poem.get("script") == "simplified" else "zh-Hant"


def _lines_read_out(
    lines: list[str], title: str | None, lang: str, script_lang: str, analysed: list | None = None, faults=()
) -> str:
    """The poem as text for a screen reader, which is not shown the vertical drawing (read from it, the tone
    marks come between the characters, one character at a time): the title, then line by line with its rhyme
    and any character that breaks the rules, in the page's language."""
    say = MESSAGES[lang]

    def verse(text: str) -> str:  # the poem's own words, read out as Chinese on an English page too
        return f'<span lang="{script_lang}">{_esc(text)}</span>'

    parts = [f"<p>{_esc(say['read_title']).format(title=verse(title))}</p>"] if title else []
    for index, line in enumerate(lines):
        info = analysed[index] if analysed and index < len(analysed) else {}
        notes = []
        if info.get("rhymes") and line:
            notes.append(_esc(say["read_rhyme"]).format(char=verse(line[-1])))
        broken = "".join(c for position, c in enumerate(line) if (index, position) in faults)
        if broken:
            notes.append(_esc(say["read_fault"]).format(chars=verse(broken)))
        said = _esc(say["read_line"]).format(number=index + 1, line=verse(line))
        if notes:
            said += "（" + "；".join(notes) + "）" if lang == "zh" else " (" + "; ".join(notes) + ")"
        parts.append(f"<p>{said}</p>")
    return f'<div class="sr-only">{"".join(parts)}</div>'


def poem_html(
    poem: dict | None,
    title: str | None = None,
    show_tones: bool = True,
    lang: str = DEFAULT_LANGUAGE,
    announce: str = "",
) -> str:
    """A poem as printed: columns right to left, each character with its 平仄 mark beside it (level with
    it), the punctuation below the column's last character; rhyme characters in red and underlined. A screen
    reader is given the poem as text instead of the drawing; `announce` is read out as the poem arrives."""
    say = MESSAGES[lang]
    if not poem:
        placeholder = (
            f'<div class="poem-card"><div class="poem-placeholder">{_esc(say["placeholder"])}</div></div>'
        )
        return _result(placeholder, "poem-result")
    analysis = poem.get("analysis") or {}
    analysed = analysis.get("lines") or []
    faults = _fault_positions(analysis)
    script_lang = _script_lang(poem)
    parts = [
        _lines_read_out(poem["lines"], title, lang, script_lang, analysed, faults),
        # aria-hidden: the drawing read aloud is a soup of characters and marks (the text above says it)
        f'<div class="poem-card"><div class="poem-vertical" id="poem-view" lang="{script_lang}" '
        f'aria-hidden="true" style="--columns: {_columns(poem["lines"], title)}">',
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
    # hidden from a screen reader with the drawing it explains
    parts.append(f'<div class="poem-legend" aria-hidden="true">{_esc(legend)}</div>')
    couplets = couplets_html(analysis, lang, poem.get("parallel_couplets"))
    if couplets:
        parts.append(couplets)
    return _result("".join(parts), "poem-result", announce)


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
    lang: str = DEFAULT_LANGUAGE,
    script: str = "simplified",
) -> str:
    """The leading candidate while it is being written (`line_count` lines of `chars_per_line` characters,
    when done), with a caption below (which of several poems it is); a screen reader is given the lines as
    text, and told the caption as it changes."""
    script_lang = _script_lang({"script": script})
    parts = [
        _lines_read_out(lines, title, lang, script_lang),
        f'<div class="poem-card"><div class="poem-vertical streaming" id="poem-view" aria-hidden="true" '
        f'style="--columns: {_columns(lines, title, line_count, chars_per_line)}">',
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
        parts.append(f'<div class="poem-legend" id="poem-writing" role="status">{_esc(caption)}</div>')
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
        names = poem["unasked_faults"]
        said = (
            "、".join(names) if lang == "zh" else ", ".join(f"{_fault_en(name)} ({name})" for name in names)
        )
        verdict += say["unasked"].format(names=said)
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


def candidate_rows(poems: list[dict], lang: str = DEFAULT_LANGUAGE) -> list[list]:
    """One row a poem: rank, its text a couplet a line (so that a narrow screen never breaks a line of
    verse in two), score, pattern, rhyme group (glossed on the English page, as the poem's info line)."""
    return [
        [
            rank,
            re.sub(r"(?<=[。！？])(?=.)", "\n", p["text"]),
            round(p["score"], 2),
            pattern_shown(p["pattern"], lang) if p.get("pattern") else "",
            rhyme_group_shown(p["rhyme_group_label"], lang) if p.get("rhyme_group_label") else "",
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
        # said in words, not by the red alone
        required = (
            f'<span class="required">{_esc(MESSAGES[lang]["should_be_parallel"])}</span>' if bad else ""
        )
        items.append(
            f'<li class="couplet{bad}"><b>{_esc(where)}</b> <span class="kind kind-{_esc(kind)}">'
            f"{_esc(kinds.get(kind, kind))}{required}</span> <small>{_esc(pairs)}</small></li>"
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


def analysis_html(analysis: dict, lang: str = DEFAULT_LANGUAGE, announce: bool = False) -> str:
    """The checker's analysis: one table row per line, one cell per character (tone mark, required tone),
    cells that break the pattern shaded and marked ✗, rhyme characters in red and underlined, then the faults
    and the couplets. `announce`: the verdict is read out to a screen reader as it arrives."""
    say = MESSAGES[lang]
    scheme = SCHEME_NAMES[lang].get(analysis["scheme"], analysis["scheme"])
    form = FORM_NAMES[lang].get(analysis.get("form") or "", say["not_a_form"])
    head = [scheme, form]
    if analysis.get("pattern"):
        head.append(pattern_shown(pattern_in_script(analysis["pattern"], analysis.get("script")), lang))
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
            # what the shading and the red say, as a mark and in words for a screen reader
            said = ""
            if "bad" in classes:
                said += f'<span class="miss" aria-hidden="true">✗</span><span class="sr-only">{_esc(say["cell_breaks"])}</span>'
            if "rhyme" in classes:
                said += f'<span class="sr-only">{_esc(say["cell_rhymes"])}</span>'
            cells.append(
                f'<td class="{" ".join(classes)}"><span class="ch">{_esc(char["char"])}</span>'
                f'<span class="mark">{_esc(mark)} {_esc(required)}</span>{said}</td>'
            )
        line_type = " ".join(x for x in (line.get("line_type"), line.get("template")) if x)
        cells.append(f'<td class="linetype">{_esc(line_type)}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table></div>")
    parts.append(f'<p class="poem-legend" style="text-align:left">{_esc(say["check_legend"])}</p>')
    all_faults = list(analysis.get("faults") or []) + list(analysis.get("parallel_faults") or [])
    colon = "：" if lang == "zh" else ": "
    if not all_faults:
        verdict = say["check_ok"]
        parts.append(f'<p class="check-ok">{_esc(verdict)}</p>')
    else:
        count = len(all_faults)
        parts.append(
            f'<p class="check-bad">{_esc(say["faults"].format(count=count))}</p><ul id="check-faults">'
        )
        for fault in all_faults:
            name, message = _fault_text(fault, lang)
            parts.append(f"<li><b>{_esc(name)}</b>{colon}{_esc(message)}</li>")
        parts.append("</ul>")
        names = dict.fromkeys(_fault_text(fault, lang)[0] for fault in all_faults)
        verdict = say["faults"].format(count=count) + colon + ("、" if lang == "zh" else ", ").join(names)
    parts.append(couplets_html(analysis, lang))
    for licence in analysis.get("licences") or []:
        kind = licence["kind"]
        english = LICENCE_NAMES_EN.get(kind)
        label = _esc(say["licence"].format(kind=f"{kind}, {english}" if english and lang != "zh" else kind))
        note = _esc(_one_language(licence["note"], lang))
        parts.append(f'<p class="poem-legend check-licence" style="text-align:left">{label}{colon}{note}</p>')
    for note in analysis.get("notes") or []:
        note = _esc(_one_language(note, lang))
        parts.append(f'<p class="poem-legend" style="text-align:left">{_esc(say["note"])}{colon}{note}</p>')
    return _result("".join(parts), "check-result", verdict if announce else "")


def model_card_markdown(model_dir: Path | None, top_level: int = 1) -> str:
    """The model folder's README.md without its YAML front matter, or a short summary of config.json. Its
    headings start at level `top_level` (the About tab puts the card under headings of its own)."""
    if model_dir is None:
        return "模型说明未找到 — no model card."
    card = model_dir / "README.md"
    if card.is_file():
        text = card.read_text(encoding="utf-8")
        if text.startswith("---"):
            end = text.find("\n---", 3)
            if end != -1:
                text = text[end + 4 :]
        return _headings_from(text.strip(), top_level)
    config = model_dir / "config.json"
    summary = f"模型说明未找到 — no model card at `{card.name}` in `{model_dir.name}`."
    if config.is_file():
        summary += f"\n\n```json\n{config.read_text(encoding='utf-8').strip()}\n```"
    return summary


def _headings_from(markdown: str, top_level: int) -> str:
    """`markdown` with its # headings moved so that the highest is at level `top_level` (none past 6);
    lines in code blocks are left as they are."""
    lines = markdown.split("\n")
    headings, in_code = {}, False
    for number, line in enumerate(lines):
        in_code = in_code != line.startswith("```")
        hashes = re.match(r"#{1,6}(?= )", line)
        if hashes and not in_code:
            headings[number] = len(hashes.group())
    shift = top_level - min(headings.values(), default=top_level)
    for number, level in headings.items():
        lines[number] = "#" * min(6, level + shift) + lines[number][level:]
    return "\n".join(lines)


def _fault_en(name: str) -> str:
    return FAULT_NAMES_EN.get(name, name).lower()
