"""What the app says: the choices it offers, its labels, examples and help texts, its error messages."""

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
