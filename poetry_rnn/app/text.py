"""What the app says, in Chinese (the default) and English: the choices it offers, its labels, examples and
help texts, its messages. One language is shown at a time; `LANGUAGES` is the switch."""

from __future__ import annotations

import os

from poetry_rnn.errors import UserError
from poetry_rnn.generation.request import option_fields
from poetry_rnn.prosody.analysis import PARALLEL_KINDS_EN
from poetry_rnn.prosody.modern import listed_readings
from poetry_rnn.prosody.parallel import couplet_names, couplet_names_en
from poetry_rnn.prosody.patterns import pattern_in_english
from poetry_rnn.refusals import ENGLISH_FORM_NAMES, respell_options

LANGUAGES = [("中文", "zh"), ("English", "en")]
# The switch's name, said by a screen reader (it is not shown): in both languages, for either reader.
LANGUAGE_LABEL = "语言 · Language"
DEFAULT_LANGUAGE = "zh"

# (label, value) pairs per language; the values are what the request takes.
_FORMS = [("五绝", "wujue"), ("七绝", "qijue"), ("五律", "wulv"), ("七律", "qilv")]
CHOICES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "form": {"zh": _FORMS, "en": [(ENGLISH_FORM_NAMES[label], name) for label, name in _FORMS]},
    "mode": {
        "zh": [("自由", "free"), ("藏头", "acrostic"), ("首句", "first_line"), ("命题", "title"), ("主题", "theme")],
        "en": [("free", "free"), ("acrostic", "acrostic"), ("first line", "first_line"), ("title", "title"),
               ("theme", "theme")],
    },
    "rhyme_scheme": {
        "zh": [("平水韵", "pingshui"), ("中华新韵", "xinyun"), ("不押韵", "none")],
        "en": [("Pingshui", "pingshui"), ("Xinyun", "xinyun"), ("no rhyme", "none")],
    },
    "tone": {
        "zh": [("严格", "strict"), ("一三五不论", "standard"), ("不限", "off")],
        "en": [("strict", "strict"), ("1-3-5 free", "standard"), ("off", "off")],
    },
    "first_line_rhymes": {
        "zh": [("自动", "auto"), ("入韵", "yes"), ("不入韵", "no")],
        "en": [("auto", "auto"), ("yes", "yes"), ("no", "no")],
    },
    "parallel": {
        "zh": [("律诗中二联", "auto"), ("绝句末联也对", "yes"), ("不要求", "no")],
        "en": [("a lüshi's middle couplets", "auto"), ("a jueju's last couplet too", "yes"), ("none", "no")],
    },
    "script": {"zh": [("简体", "simplified"), ("繁體", "traditional")],
               "en": [("simplified", "simplified"), ("traditional", "traditional")]},
    "strictness": {
        "zh": [("严格", "strict"), ("一三五不论", "standard")],
        "en": [("strict", "strict"), ("1-3-5 free", "standard")],
    },
}  # fmt: skip
CHOICES["scheme"] = {lang: pairs[:2] for lang, pairs in CHOICES["rhyme_scheme"].items()}
AUTO_GROUP = {"zh": ("自动", "auto"), "en": ("auto", "auto")}


def choices(name: str, lang: str) -> list[tuple[str, str]]:
    return CHOICES[name][lang]


def all_choices(name: str) -> list[tuple[str, str]]:
    """The choices in every language (the API takes a value or any label)."""
    return [pair for lang in CHOICES[name] for pair in CHOICES[name][lang]]


# Labels of the page, by key.
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "header": "## 诗 · 近体诗生成与格律检测",
        "tab_generate": "作诗",
        "tab_check": "格律检测",
        "tab_about": "关于",
        "form": "体裁",
        "mode": "模式",
        "rhyme_scheme": "韵书",
        "rhyme_group": "韵部（例字）",
        "first_line_rhymes": "首句入韵",
        "parallel": "对仗",
        "tone": "平仄",
        "n": "首数",
        "script": "字体",
        "sampling": "更多选项",
        "temperature": "温度（越高越随意）",
        "top_p": "top-p",
        "seed": "种子（-1 随机）",
        "plan": "立意：每联至多一词，逗号隔开（留空自动，随机 从诗库抽取，off 不用）",
        "select_lines": "逐句择优：每写完一句，较通顺的一半候选接替另一半（关掉：更多变化，较不通顺）",
        "generate": "作诗",
        "examples": "**示例** — 一按即作：",
        "show_tones": "显示平仄（○平 ●仄 ◐两读）",
        "plain": "纯文本",
        "plain_placeholder": "这首诗的纯文本，可复制",
        "reuse_seed": "用此种子",
        "candidates": "各首 — 按自然度、切题、对仗与立意综合排序；点一行查看",
        "check_text": "诗 — 简体或繁體",
        "check_placeholder": "贴入一首诗，例如：{poem}",
        "check_scheme": "韵书",
        "strictness": "严格程度",
        "check": "检测",
        "check_examples": "示例",
    },
    "en": {
        "header": "## Poetry · Tang regulated verse: write and check",
        "tab_generate": "Write",
        "tab_check": "Check",
        "tab_about": "About",
        "form": "Form",
        "mode": "Mode",
        "rhyme_scheme": "Rhyme book",
        "rhyme_group": "Rhyme group (examples)",
        "first_line_rhymes": "First line rhymes",
        "parallel": "Parallel couplets (对仗)",
        "tone": "Tone rules",
        "n": "Number of poems",
        "script": "Script",
        "sampling": "More options",
        "temperature": "Temperature (higher: freer)",
        "top_p": "top-p",
        "seed": "Seed (-1: random)",
        "plan": "Plan: a keyword per couplet at most, commas between (empty: automatic; draw: from the corpus; off: none)",
        "select_lines": "Line selection: after each line the more fluent half of the candidates carry on "
        "(off: more varied, less fluent poems)",
        "generate": "Write",
        "examples": "**Examples** — one click writes a poem:",
        "show_tones": "Show tone marks (○ level, ● oblique, ◐ either)",
        "plain": "Plain text",
        "plain_placeholder": "The poem as plain text, to copy",
        "reuse_seed": "Reuse this seed",
        "candidates": "Poems — ranked by fluency, fit to the title or theme, parallelism and the plan together; click a row "
        "to show it",
        "check_text": "Poem — simplified or traditional",
        "check_placeholder": "Paste a poem, for example: {poem}",
        "check_scheme": "Rhyme book",
        "strictness": "Strictness",
        "check": "Check",
        "check_examples": "Examples",
    },
}
CANDIDATE_HEADERS = {
    "zh": ["#", "诗", "自然度", "格式", "韵部"],
    "en": ["#", "Poem", "Fluency", "Pattern", "Rhyme"],
}

# What the text box holds in each mode: its label and a placeholder.
MODE_TEXT = {
    "zh": {
        "free": ("（自由模式不需输入）", ""),
        "acrostic": ("藏头字 — 每句一字", "春江花月"),
        "first_line": ("首句 — 五字或七字", "白日依山尽"),
        "title": ("题目 — 至多二十字", "秋夜寄远"),
        "theme": ("主题 — 用白话描述", "秋天的夜晚，独自在外，想念家乡"),
    },
    "en": {
        "free": ("(free mode takes no text)", ""),
        "acrostic": ("Acrostic — one head character per line", "春江花月"),
        "first_line": ("First line — 5 or 7 characters", "白日依山尽"),
        "title": ("Title — up to 20 characters", "秋夜寄远"),
        "theme": ("Theme — a description in modern Chinese", "秋天的夜晚，独自在外，想念家乡"),
    },
}

# What each mode asks for when its text is empty (English: the API's message, and the pattern below).
# What a mode needs when its text box is empty: message ids of poetry_rnn.refusals.
MODE_NEEDS = {
    "acrostic": "acrostic_missing",
    "first_line": "first_line_missing",
    "title": "title_missing",
    "theme": "theme_missing",
}

# The request field a UserError names → how the UI calls it (the API's messages: both languages).
FIELD_LABELS = {
    "form": ("体裁", "form"),
    "mode": ("模式", "mode"),
    "text": ("输入", "text"),
    "acrostic": ("藏头", "acrostic"),
    "first_line": ("首句", "first line"),
    "title": ("题目", "title"),
    "theme": ("主题", "theme"),
    "keywords": ("主题", "theme"),
    "rhyme_scheme": ("韵书", "rhyme scheme"),
    "rhyme_group": ("韵部", "rhyme group"),
    "first_line_rhymes": ("首句入韵", "first line rhymes"),
    "tone": ("平仄", "tone rules"),
    "n": ("首数", "number of poems"),
    "temperature": ("温度", "temperature"),
    "top_p": ("top-p", "top-p"),
    "seed": ("种子", "seed"),
    "plan": ("立意", "plan"),
    "select_lines": ("逐句择优", "line selection"),
    "parallel": ("对仗", "parallel couplets"),
    "script": ("字体", "script"),
    "time_limit": ("时限", "time limit"),
    "scheme": ("韵书", "rhyme scheme"),
    "strictness": ("严格程度", "strictness"),
}


def field_label(field: str | None, lang: str | None) -> str:
    """A field's name in `lang`, or in both languages (lang None: the API)."""
    zh, en = FIELD_LABELS.get(field or "", (field or "", field or ""))
    if lang == "zh":
        return zh
    if lang == "en":
        return en[:1].upper() + en[1:]
    return f"{zh} {en}" if zh != en else zh


GENERIC_ERROR = (
    "出错了，请稍后再试。Something went wrong on the server (it has been logged); please try again, "
    "perhaps with other options."
)
MESSAGES = {
    "zh": {
        "generic": "出错了（已记入日志），请稍后再试，或换些选项。",
        "found_fewer": "只找到 {found} 首（要 {wanted} 首）。",
        "writing": "正在写第 {poem} 首，共 {of} 首；写完再排列。",
        "placeholder": "选好体裁与模式，按「作诗」。",
        "legend": "红字加下划线为韵脚 · 波浪线：不合格律",
        "legend_tones": " · ○ 平 ● 仄 ◐ 平仄两读",
        "seed": "种子",
        "score": "自然度",
        "score_help": "模型给每字的平均对数概率，越接近 0 越自然",
        "pattern": "格式",
        "rhyme_group": "韵部",
        "regular": "合律",
        "unasked": "（所选规则；未要求：{names}）",
        "plan": "立意（每联一词）",
        "plan_unused": "（未用）",
        "note": "注",
        "licence": "{kind}",
        "parallel": "对仗",
        "parallel_jueju": "对仗（绝句不要求）",
        "parallel_unasked": "对仗（未要求）",
        "notice": "提示",
        "notice_warning": "注意",
        "check_empty": "请贴入一首诗（简体或繁體）",
        "check_ok": "合律：未见问题。",
        "faults": "问题（{count}）",
        "check_legend": "○ 平 · ● 仄 · ◐ 两读 · ？ 韵书未收，不判 · 下行小字为格律要求（平/仄/中） · 红底加 ✗：此处有问题"
        "（见「问题」；第2字合小字而有 ✗，是整句平起仄起不合粘对） · 不合小字而无 ✗：下列拗救等所许 · 红字加下划线：韵脚 · "
        "右栏：句型（平起/仄起看第2字，平收/仄收看末字）与格式",
        "not_a_form": "非近体常式",
        "should_be_parallel": "（应对仗）",
        "cell_breaks": "不合格式",
        "cell_rhymes": "韵脚",
        # the poem as a screen reader is given it, and what it says when a poem arrives
        "read_title": "题目：{title}",
        "read_line": "第{number}句：{line}",
        "read_rhyme": "韵：{char}",
        "read_fault": "不合格律：{chars}",
        "written_one": "已写成 1 首：{poem}",
        "written": "已写成 {count} 首，第 {rank} 首：{poem}",
        "chosen": "第 {rank} 首：{poem}",
        "seed_reused": "种子 {seed} 已填入「更多选项」：再按「作诗」，这首诗排在最前；改回 -1 则另写新诗。",
        "no_poem_yet": "还没有诗：先按「作诗」写一首，再用它的种子。",
    },
    "en": {
        "generic": "Something went wrong on the server (it has been logged); please try again, perhaps with "
        "other options.",
        "found_fewer": "Found {found} of {wanted} poems.",
        "writing": "Writing poem {poem} of {of}; when all are written, they are ranked.",
        "placeholder": "Choose a form and a mode, then press Write.",
        "legend": "red, underlined: rhyme characters · wavy underline: breaks the rules",
        "legend_tones": " · ○ level ● oblique ◐ either",
        "seed": "seed",
        "score": "fluency",
        "score_help": "the model's average log-probability per character; nearer 0 reads more natural",
        "pattern": "pattern",
        "rhyme_group": "rhyme group",
        "regular": "follows the rules (合律)",
        "unasked": " for the rules chosen; breaks rules not asked for: {names}",
        "plan": "plan (one keyword per couplet)",
        "plan_unused": " (unused)",
        "note": "note",
        "licence": "licence ({kind})",
        "parallel": "parallelism",
        "parallel_jueju": "parallelism (a jueju needs none)",
        "parallel_unasked": "parallelism (not asked for)",
        "notice": "Note",
        "notice_warning": "Warning",
        "check_empty": "paste a poem to check (simplified or traditional)",
        "check_ok": "Regular: no faults found.",
        "faults": "Faults ({count})",
        "check_legend": "○ level · ● oblique · ◐ either · ？ no reading in the rhyme book: not judged · small "
        "print: what the pattern asks (平 level / 仄 oblique / 中 either) · red cell marked ✗: a fault there (see "
        "Faults; a 2nd character that fits its small print but is marked breaks 粘 or 对: the whole line's type is "
        "wrong for its place); a character against its small print without ✗ is excused by a licence below · red, "
        "underlined character: rhyme · right: the line's type (平起/仄起: 2nd character level/oblique; 平收/仄收: "
        "ends level/oblique) and pattern",
        "seed_reused": "Seed {seed} is set under More options: Write brings this poem back first; set it to -1 "
        "for new poems.",
        "no_poem_yet": "No poem yet: write one first, then reuse its seed.",
        "not_a_form": "not a standard form",
        "should_be_parallel": " (should be parallel)",
        "cell_breaks": "breaks the pattern",
        "cell_rhymes": "rhyme",
        "read_title": "Title: {title}",
        "read_line": "Line {number}: {line}",
        "read_rhyme": "rhyme: {char}",
        "read_fault": "breaks the rules: {chars}",
        "written_one": "1 poem written: {poem}",
        "written": "{count} poems written; poem {rank}: {poem}",
        "chosen": "Poem {rank}: {poem}",
    },
}
FORM_NAMES = {  # in English as the form choice and refusals name them (5×4 jueju)
    "zh": {"wujue": "五言绝句", "qijue": "七言绝句", "wulv": "五言律诗", "qilv": "七言律诗", "wupailv": "五言排律",
           "qipailv": "七言排律"},
    "en": {**{name: ENGLISH_FORM_NAMES[label] for label, name in _FORMS}, "wupailv": "5-character pailü",
           "qipailv": "7-character pailü"},
}  # fmt: skip
SCHEME_NAMES = {
    "zh": {"pingshui": "平水韵", "xinyun": "中华新韵"},
    "en": {"pingshui": "Pingshui", "xinyun": "Xinyun"},
}


def pattern_shown(pattern: str, lang: str) -> str:
    """A tone pattern's name as the page shows it: as it is in Chinese, with a gloss of its parts in
    English (平起首句入韵 (level start, first line rhymes))."""
    gloss = pattern_in_english(pattern) if lang != "zh" else ""
    return f"{pattern} ({gloss})" if gloss else pattern


def rhyme_group_shown(label: str, lang: str) -> str:
    """A rhyme group's name as the page shows it: as it is in Chinese; in English with the reading of the
    character it is named by (下平九青 (the qīng rhyme), 麻 (the má rhyme))."""
    readings = listed_readings(label[-1]) if lang != "zh" and label else ()
    return f"{label} (the {readings[0]} rhyme)" if readings else label


def couplets_named(line_count: int, lang: str) -> tuple[str, ...]:
    """The couplets' names of a poem of `line_count` lines in the page's language (a 排律's middle ones by
    their order); () for a count that has none."""
    return couplet_names(line_count) if lang == "zh" else couplet_names_en(line_count)


PARALLEL_KINDS = {"zh": {"工对": "工对", "宽对": "宽对", "不对": "不对"}, "en": PARALLEL_KINDS_EN}


def localized_message(error: UserError, lang: str) -> str:
    """A refusal as the UI shows it: the field's name and what was wrong, in `lang`."""
    label = field_label(error.field, lang)
    message = error.text(lang) if lang == "zh" else in_page_terms(error.text(lang))
    return (f"{label}：{message}" if lang == "zh" else f"{label}: {message}") if label else message


def in_page_terms(message: str) -> str:
    """An English refusal as the page says it: a request option (tone=off, first_line_rhymes) by the
    English page's label and choice (Tone rules: off, First line rhymes)."""

    def said(name: str, value: str | None) -> str:
        label = LABELS["en"].get(name) or field_label(name, "en")
        if value is None:
            return label
        shown = {value: label for label, value in CHOICES.get(name, {}).get("en", ())}.get(value, value)
        return f"{label}: {shown}"

    return respell_options(message, [option.name for option in option_fields()], said)


EXAMPLES = [
    # (button label zh, en, form, mode, text, rhyme scheme, tone, seed)
    ("自由 · 五绝", "free · 5×4", "wujue", "free", "", "pingshui", "strict", 11),
    ("藏头 · 七绝 · 春江花月", "acrostic · 7×4 · 春江花月", "qijue", "acrostic", "春江花月", "pingshui", "strict", 7),
    ("首句 · 五律 · 白日依山尽", "first line · 5×8 · 白日依山尽", "wulv", "first_line", "白日依山尽", "pingshui",
     "strict", 3),
    ("命题 · 七律 · 秋夜寄远", "title · 7×8 · 秋夜寄远", "qilv", "title", "秋夜寄远", "pingshui", "standard", 5),
    ("主题 · 七绝 · 新韵", "theme · 7×4 · Xinyun", "qijue", "theme", "春天到了，江边的桃花都开了", "xinyun", "strict",
     2),
]  # fmt: skip
CHECK_EXAMPLES = [
    "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
    "朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。",
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
]

API_SNIPPET = """```python
from gradio_client import Client

client = Client("http://127.0.0.1:7860/")
options = dict(form="qijue", mode="acrostic", text="春江花月", rhyme_scheme="pingshui", tone="strict", n=2)
result = client.predict(**options, seed=7, script="simplified", api_name="/generate")
for poem in result["poems"]:
    print(poem["text"], poem["pattern"], poem["rhyme_group_label"], poem["score"])

analysis = client.predict(
    text="白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", scheme="pingshui", api_name="/check"
)
print(analysis["ok"], analysis["pattern"], [fault["name"] for fault in analysis["faults"]])
```"""


def api_snippet() -> str:
    """The API snippet of the About tab, addressed to this Space where the app runs as one (Hugging Face sets
    SPACE_ID, owner/name, which gradio_client takes as it is), else to `python app.py`'s address."""
    space = os.environ.get("SPACE_ID")
    return API_SNIPPET.replace('"http://127.0.0.1:7860/"', f'"{space}"') if space else API_SNIPPET


HOW_TO_USE = {
    "zh": """### 怎样用

1. **作诗**：选体裁（五绝、七绝、五律、七律）与模式，按「作诗」。
   - **自由**：不需输入；**藏头**：每句第一字，如七绝「春江花月」；**首句**：整句给出，如「白日依山尽」；
     **命题**：给题目；**主题**：用白话描述想写的内容。
   - 韵书选平水韵（古韵）或中华新韵（今音）；「一三五不论」放宽五言第一、三字、七言第一、三、五字的平仄（仍不许孤平、三平尾）。
   - 律诗的颔联、颈联默认对仗；「更多选项」里可要绝句末联也对，或不要求对仗（藏头字难对时有用）。
   - 同一种子与选项写出同一首诗；「用此种子」把当前这首的种子填回表单。
2. **格律检测**：贴入一首诗（简体、繁體均可），按「检测」，逐字标出平仄、韵脚与问题。

### 记号

- **○** 平声　**●** 仄声　**◐** 平仄两读（多音字）　**？** 字表未收
- **红字加下划线**：韵脚　**红底加 ✗**（检测表）、**波浪下划线**（诗中）：不合格律的字
- **自然度**：模型给每字的平均对数概率（如 −3.2），越接近 0 越自然；只在同一请求的候选之间比较才有意义。
- **对仗**：每联两句逐词相对的程度：**工对**（同一小类：天文、地理、花木、数目……）、**宽对**（词性相同）、**不对**。律诗的颔联、颈联应对仗。
- **立意**：每联一个关键词，引导全诗；标「（未用）」的一联没有用到。
- **上平、下平**：平水韵平声韵部分上下两卷，都是平声。
""",
    "en": """### How to use

1. **Write**: choose a form (5 or 7 characters a line, 4 lines — jueju — or 8 — lüshi) and a mode, then
   press *Write*.
   - **free**: no text; **acrostic**: the first character of each line (春江花月 for a 7×4); **first line**:
     the whole line (白日依山尽); **title**: a title; **theme**: what the poem is about, in modern Chinese.
   - Rhyme book: Pingshui (the classical rhymes) or Xinyun (modern pronunciation); *1-3-5 free* lets the 1st
     and 3rd characters of a line (and the 5th of a seven-character line) take either tone, unless that makes
     a lone level tone (孤平) or three level tones at the end (三平尾); the 2nd, 4th, 6th and last always follow
     the pattern.
   - A lüshi's two middle couplets are parallel by default; under *More options* a jueju's last couplet can
     be too, or none need be (useful when an acrostic's heads will not pair).
   - The same seed and options write the same poem; *Reuse this seed* puts the shown poem's seed in the form.
2. **Check**: paste a poem (simplified or traditional) and press *Check*: each character's tone, the rhymes
   and the faults are marked.

### Marks

- **○** level tone (平) **●** oblique tone (仄) **◐** either (a character with two readings) **？** not in
  the table
- **red, underlined character**: a rhyme; **red cell marked ✗** (in the check table) or **wavy underline**
  (in a poem): a character that breaks the rules
- **fluency**: the model's average log-probability per character (e.g. −3.2); nearer 0 reads more natural.
  Compare it between the candidates of one request only.
- **parallelism** (对仗): how closely the two lines of a couplet match word by word: *strict* (工对: facing
  words of the same close category: sky, land, plants, numbers …), *loose* (宽对: the same part of speech
  only), or *not parallel* (不对). In a lüshi the two middle couplets should be parallel.
- **plan** (立意): one keyword per couplet the poem is steered towards; *(unused)*: that couplet did without it.
- **上平 / 下平** ("upper / lower level"): the two halves of Pingshui's level-tone groups, both simply level.
- Every term in English: the project's glossary (docs/glossary.md).
""",
}

HOW_IT_WORKS = {
    "zh": """### 格律怎样保证

模型是一个循环神经网络（GRU），用约五万首唐诗与十九万首宋代近体诗合训、再以唐诗微调，逐字写诗。
解码时每一步都有几道约束把不合规则的字屏蔽掉：

- **体裁**：每句五字或七字，四句或八句，标点到位。
- **平仄**：每个位置合于该体的一种平仄格式（平起/仄起，首句入韵与否）；「一三五不论」放宽五言第一、三字、七言第一、三、五字，
  但两种宽严都不许孤平、三平尾；解码不会走进死路。
- **押韵**：韵脚同属平水韵或中华新韵的一个平声韵部，不重韵。
- **藏头 / 首句**：句首字或整个首句固定。
- **重复与原创**：一字至多用两次；不整句照抄训练诗句。
- **季节与重字**（只是避让，不是禁止）：题目或诗句点出一个季节后，少写别的季节；诗中已有的字少再用。
  模型爱用的套语（如「不知何处」）不作避让：盲评中避让反而读来更差（Python API 与命令行可用 avoid_overused 打开）。

每首诗从 8 个候选里选出：候选同时抽样（温度、top-p、可复用的种子），每写完一句，较通顺的一半候选接替另一半续写；
每首再经格律检测复核一次，按自然度、切题、对仗与立意综合排序。多首诗逐首这样写，种子依次加一；与前面某首有一句相同或只差一字的，换个种子重写。
主题模式用 jieba（TextRank）从白话中取关键词；命题模式以题目为条件。
""",
    "en": """### How the rules are kept

A recurrent language model (GRU), trained on ~55,000 Tang poems beside ~190,000 Song regulated poems and
then on the Tang poems alone, writes one character at a time.
At every step a set of small, composable constraints masks the characters that would break the rules:

- **form** — 5 or 7 characters a line, 4 or 8 lines, punctuation in place.
- **tones** — each position follows one of the form's tone patterns (level or oblique start, first line
  rhyming or not); *1-3-5 free* lets those places go free (1 and 3 of five characters, 1, 3 and 5 of seven),
  and neither setting allows the lone level tone (孤平) or three level tones at the end (三平尾); the decoder
  never walks into a dead end.
- **rhyme** — the rhyme lines end in one level-tone group of Pingshui or Xinyun, no character twice.
- **acrostic / first line** — the heads of the lines, or the whole first line, are fixed.
- **repetition and originality** — no character more than twice; no line copied whole from the training
  poems.
- **seasons and reused characters** (held back, not forbidden) — once the title or a line names a season,
  the others are disfavoured; so is a character the poem already has. Stock phrases such as 不知何处 are
  not held back: blind readers liked the poems less with them held back (`avoid_overused` turns that on in
  the Python API and the command line).

Each poem is the best of 8 candidates sampled side by side (temperature, top-p, a seed you can reuse); after
each line the more fluent half of them carry on in place of the others. Each is checked once more by the
checker (the same rules, in `poetry_rnn.prosody`), and they are ranked by fluency, fit to the title or theme,
parallelism and the plan together (so the fluency column need not be in order). Several poems are written one
by one this way, with seeds n, n+1, n+2 …; one with a line of an earlier poem, or that line but for one
character, is written again with another seed. Theme mode reads keywords
out of plain modern Chinese with jieba (TextRank); title mode conditions on the title.
""",
}
API_HEADING = {
    "zh": "### 接口\n`/generate` 与 `/check` 是具名接口；Python 中（`pip install gradio_client`）：\n\n",
    "en": "### API\n`/generate` and `/check` are named endpoints; from Python (`pip install gradio_client`):\n\n",
}
MODEL_CARD_HEADING = {"zh": "### 模型说明（英文）\n\n", "en": "### Model card\n\n"}
