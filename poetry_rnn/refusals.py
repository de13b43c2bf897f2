"""What a user is told when a request is refused, by message id, in English and in Chinese.

A refusal is raised as `UserError.of(message_id, field, **values)`: the English text is what the command
line and the Python API show (`str(error)`), the Chinese one what the Chinese app shows
(`error.text("zh")`). Both are written here, side by side, from the same values, so a message changed in
one language is in sight of the other; tests/test_refusals.py formats every pair and checks that the
request, the generator, the checker and the app raise no refusal without an id.

The Chinese text follows the field's name in the app (「藏头：为空……」), so it says what was wrong, not
where; it may leave out values the field's name already gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

_FIRST_LINE_TONE = (
    "the first line 「{line}」 ({marks}; ○ 平 ● 仄) fits no {form} tone pattern ({templates}; 中: either tone) "
    "under tone={tone}; "
    "the nearest, {nearest}, breaks at {breaks} (position「character」→ the tone needed): change those "
    "characters, or loosen the tone rules ",
    "「{line}」（{marks}；○平 ●仄）不合{form}的平仄格式（{templates}；中：可平可仄）；最近的 {nearest}，不合处（第几字「字」→应作）："
    "{breaks}。请换这几个字，或放宽平仄",
)

REFUSALS: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ any field
    "not_text": ("{what} must be text, got {kind}", "须为文字，现为 {kind}"),
    "not_whole_number": ("{what} must be a whole number, got {value!r}", "须为整数，现为 {value!r}"),
    "not_number": ("{what} must be a number, got {value!r}", "须为数字，现为 {value!r}"),
    "not_finite": ("{what} must be a finite number, got {value!r}", "须为有限的数字，现为 {value!r}"),
    "out_of_range": ("{what} must be from {low} to {high}, got {value}", "须在 {low} 到 {high} 之间，现为 {value}"),
    "seed_range": (
        "the seed must be -1 (a random one) or a whole number from 0 up (at most 19 digits), got {value}",
        "须为 -1（随机）或 0 以上的整数（至多 19 位），现为 {value}",
    ),
    "not_yes_no": ("{what} must be true, false or unset, got {value!r}", "须为 true、false 或不填，现为 {value!r}"),
    "not_true_false": ("{what} must be true or false, got {value!r}", "须为 true 或 false，现为 {value!r}"),
    "not_a_choice": ("{what} {value!r} is not one of: {allowed}", "只能选：{allowed}"),
    "emoji": (
        "{what} contains emoji ({emoji}); use Chinese characters only",
        "不能有表情符号（{emoji}），请只用汉字",
    ),
    "not_chinese": ("{what} may contain only Chinese characters; found {found}", "只能用汉字，不能有：{found}"),
    "too_many_characters": (
        "{what} has {given} characters; at most {most} are allowed",
        "有 {given} 字，至多 {most} 字",
    ),
    # ------------------------------------------------------------------ the request
    "form_unknown": ("unknown form {value!r}; allowed: {allowed}", "没有这种体裁：{value!r}；可选：{allowed}"),
    "form_not_text": (
        "form must be a name such as qijue or 七绝, got {value!r}",
        "须为体裁名，如 qijue 或 七绝，现为 {value!r}",
    ),
    "tone_unknown": ("unknown tone setting {value!r}; allowed: {allowed}", "只能选：{allowed}"),
    "script_unknown": ("unknown script {value!r}; allowed: {allowed}", "只能选：{allowed}"),
    "time_limit_not_positive": ("time_limit must be above 0 seconds, got {value}", "须大于 0 秒，现为 {value}"),
    "top_p_range": ("top_p must be above 0 and at most 1, got {value}", "须大于 0 且至多为 1，现为 {value}"),
    "first_line_rhymes_needs_scheme": (
        "a first line that rhymes needs a rhyme scheme; with none (不押韵) leave first_line_rhymes unset (auto) "
        "or choose no, or choose pingshui or xinyun",
        "不押韵时首句不能入韵：请选「自动」或「不入韵」，或选一种韵书",
    ),
    "rhyme_scheme_unknown": (
        "unknown rhyme scheme {value!r}; allowed: pingshui (平水韵), xinyun (中华新韵), none",
        "没有这种韵书：{value!r}；可选：平水韵（pingshui）、中华新韵（xinyun）、不押韵（none）",
    ),
    "rhyme_group_needs_scheme": (
        "a rhyme group needs a rhyme scheme (pingshui or xinyun)",
        "选韵部须先选韵书（平水韵或中华新韵）",
    ),
    "rhyme_group_unknown": (
        "{value!r} is not a level-tone rhyme group of {scheme}; allowed: {allowed}",
        "「{value}」不是{scheme}的平声韵部；可选：{allowed}",
    ),
    "rhyme_group_reading_shared": (
        "{value!r} is the reading of more than one rhyme group of {scheme}: {groups}; give one of them",
        "「{value}」是{scheme}几个韵部的读音：{groups}；请选其一",
    ),
    "rhyme_group_of_pingshui": (
        "{value!r} is a group of 平水韵 (pingshui), not of {scheme}: choose rhyme_scheme=pingshui for it, or one of "
        "{allowed}",
        "「{value}」是平水韵的韵部，不是{scheme}的：要用它请选平水韵；{scheme}可选：{allowed}",
    ),
    "acrostic_empty": ("the acrostic is empty; give one character per line", "为空：每句给一个字"),
    "acrostic_length": (
        "the acrostic has {given} characters but a {form} has {lines} lines; give exactly {lines}",
        "给了 {given} 个字，{form}有 {lines} 句：请给 {lines} 个字",
    ),
    "first_line_empty": ("the first line is empty", "为空"),
    "first_line_length": (
        "the first line has {given} characters; a {form} line has {length}",
        "有 {given} 字，{form}每句 {length} 字",
    ),
    "keywords_not_words": ("keywords must be a list of words or one string", "须为一组词，或一段用空格隔开的文字"),
    "keywords_too_many": ("at most {most} keywords are allowed, got {given}", "至多 {most} 个词，现为 {given}"),
    "keyword_too_long": (
        "keyword {word!r} is too long ({given} characters; at most {most})",
        "「{word}」太长（{given} 字），每词至多 {most} 字",
    ),
    "theme_not_chinese": ("the theme must be written in Chinese", "请用中文描述"),
    "theme_unavailable": (
        "themes need the jieba package, which this installation lacks (pip install jieba); give a title or"
        " keywords instead",
        "读主题需要 jieba 包，此安装没有（pip install jieba）：请改给题目或关键词",
    ),
    "theme_unreadable": ("the theme could not be read: {reason}", "读不出关键词：{reason}"),
    "theme_no_keywords": (
        "no keywords could be found in the theme; describe it in more words",
        "读不出关键词，请多写几句",
    ),
    "repeat_penalty_range": (
        "repeat_penalty must be from 0 to {high}, got {value}",
        "须在 0 到 {high} 之间，现为 {value}",
    ),
    # ------------------------------------------------------------------ the plan
    "plan_not_keywords": (
        "plan must be keywords separated by commas (e.g. 春风,柳,孤城,归), or off; got {value!r}",
        "请每联填一词，逗号隔开（如 春风,孤城），或填 off 不用",
    ),
    "plan_keyword_not_text": ("each keyword of the plan must be text, got {value!r}", "每个词须为文字，现为 {value!r}"),
    "plan_keyword_chars": (
        "plan keyword {word!r} must be one or two Chinese characters (e.g. 柳 or 孤帆)",
        "「{word}」须为一两个汉字（如 柳、孤帆）",
    ),
    "plan_count": (
        "the plan has {given} keyword{plural}, but this form has {couplets} couplets; give at most {couplets} "
        "(one per couplet, separated by commas), or off for no plan",
        "给了 {given} 个词，此体只有 {couplets} 联：每联至多一词，逗号隔开，或填 off 不用",
    ),
    "plan_not_writable": (
        "the model cannot write {words} (not in its vocabulary); choose other keywords",
        "模型写不出「{words}」（不在字表中），请换词",
    ),
    # ------------------------------------------------------------------ what the model can write
    "first_line_not_writable": (
        "the model cannot write {chars} (not in its vocabulary); change the first line",
        "模型写不出「{chars}」（不在字表中），请换一句",
    ),
    "head_not_writable": (
        "the model cannot write 「{char}」 (not in its vocabulary); choose another head character",
        "模型写不出「{char}」（不在字表中），请换一个字",
    ),
    "no_rhyme_group": (
        "the model's vocabulary has no {scheme} group with {needed} rhyme characters",
        "模型的字表里没有一个{scheme}韵部有 {needed} 个韵字",
    ),
    "rhyme_group_too_small": (
        "rhyme group {group} has only {usable} characters the model can write, but a {form} needs {needed} "
        "different rhyme characters (and a spare); choose another group",
        "韵部{group}中模型能写的只有 {usable} 字，{form}要 {needed} 个不同的韵字（外加一个备用）：请换韵部",
    ),
    # ------------------------------------------------------------------ a given first line
    "first_line_head": (
        "the first line starts with 「{head}」 but the acrostic asks for another head character",
        "首字「{head}」与藏头字不同",
    ),
    # two endings: 一三五不论 is offered only where the line keeps a pattern under it
    "first_line_tone": (
        _FIRST_LINE_TONE[0] + "(tone=off)",
        _FIRST_LINE_TONE[1] + "（「不限」）",
    ),
    "first_line_tone_standard_fits": (
        _FIRST_LINE_TONE[0] + "(tone=standard, 一三五不论, or off)",
        _FIRST_LINE_TONE[1] + "（「一三五不论」或「不限」）",
    ),
    "first_line_no_reading": (
        "the first line 「{line}」 cannot keep a tone pattern: 「{chars}」 has no 平仄 reading in the chosen rhyme "
        "book ({scheme}), so no position of a pattern can take it; change {it}",
        "「{line}」中的「{chars}」在{scheme}中没有平仄读音，放不进平仄格式：请换字",
    ),
    "first_line_rhymes_rules_out": (
        "the first line 「{line}」 ({marks}; ○ 平 ● 仄) fits the {form} pattern {pattern} ({template}), whose first "
        "line does not rhyme: first_line_rhymes=yes (首句入韵) is what rules it out; leave first_line_rhymes unset "
        "(auto) or set it to no",
        "「{line}」（{marks}；○平 ●仄）合{form}「{pattern}」的首句（{template}），是「首句入韵」把它排除了："
        "请改选「自动」或「不入韵」",
    ),
    "first_line_unrhymed_rules_out": (
        "the first line 「{line}」 ({marks}; ○ 平 ● 仄) fits the {form} pattern {pattern} ({template}), whose first "
        "line rhymes: first_line_rhymes=no (首句不入韵) is what rules it out; leave first_line_rhymes unset (auto) "
        "or set it to yes",
        "「{line}」（{marks}；○平 ●仄）合{form}「{pattern}」的首句（{template}），是「首句不入韵」把它排除了："
        "请改选「自动」或「入韵」",
    ),
    "first_line_heard": (
        "the first line 「{line}」, read as a Mandarin speaker reads it ({marks}{heard}), fits no {form} tone "
        "pattern or rhyme under {scheme} with tone={tone}; change the characters whose reading breaks the pattern",
        "「{line}」按普通话读（{marks}{heard}）不合{scheme}下{form}的平仄或韵：请换掉读音不合的字",
    ),
    "first_line_rhyme": (
        "the first line ends in 「{char}」, which would have to rhyme (in {groups}) but does not; end it with a "
        "rhyme character or an oblique-tone character, or choose another rhyme group",
        "末字「{char}」须押韵（{groups}）却不押：请以韵字或仄声字收尾，或换韵部",
    ),
    "first_line_unwritable": (
        "the model cannot write the first line as given (character {position} 「{char}」)",
        "模型写不出这一句（第 {position} 字「{char}」）",
    ),
    # ------------------------------------------------------------------ the search
    "no_poem_found": (
        "no poem satisfying every constraint was found; try again (without a seed, each try draws a new one) "
        "or ask for less: another rhyme group, looser tones, fewer characters given",
        "找不到合乎全部要求的诗：请再试一次（种子为 -1 时每次另取），或放宽要求：换个韵部、放宽平仄、少指定几个字",
    ),
    "no_poem_found_heads_parallel": (
        "no poem satisfying every constraint was found; the acrostic's heads open the lines of the couplets that "
        "must be parallel (对仗), which may be what rules it out: try again (without a seed, each try draws a new "
        "one) or ask for less: no parallel couplets (parallel=no), other heads, another rhyme group, looser tones",
        "找不到合乎全部要求的诗：藏头字落在须对仗的两联句首，对仗可能因此难成。请再试一次（种子为 -1 时每次另取），"
        "或放宽要求：不要求对仗（「更多选项」→「对仗」选「不要求」；命令行 --parallel no）、换几个藏头字、换个韵部、"
        "放宽平仄",
    ),
    "time_limit_passed": (
        "generation took longer than the time limit of {seconds} s; ask for fewer poems or candidates, or a "
        "smaller beam",
        "用时超过 {seconds} 秒的上限：请少要几首或几个候选，或用较小的束宽",
    ),
    "no_model": (
        "no model at {path}; train one (python -m poetry_rnn train) or pass --model",
        "{path} 没有模型：请先训练一个（python -m poetry_rnn train），或用 --model 指定",
    ),
    "precision_unknown": ("precision must be one of {allowed}, got {value!r}", "只能选：{allowed}"),
    # ------------------------------------------------------------------ the checker
    "strictness_unknown": ("unknown strictness {value!r}; allowed: {allowed}", "只能选：{allowed}"),
    "check_scheme_unknown": (
        "unknown rhyme scheme {value!r}; allowed: pingshui (平水韵), xinyun (中华新韵)",
        "没有这种韵书：{value!r}；可选：平水韵（pingshui）、中华新韵（xinyun）",
    ),
    "check_stdin_too_long": (
        "the text on stdin is too long (over {read:,} characters, where it stopped reading); the checker takes "
        "one poem of at most {most} Chinese characters (a 七律 has 56)",
        "输入超过 {read:,} 字（读到此处为止），太长：只能检测一首诗，至多 {most} 字（七律 56 字）",
    ),
    "check_input_too_long": (
        "the text is too long ({given:,} characters); the checker takes one poem of at most {most} Chinese "
        "characters (a 七律 has 56)",
        "全文 {given:,} 个字符，太长：只能检测一首诗，至多 {most} 个汉字（七律 56 字）",
    ),
    "check_no_chinese": (
        "no Chinese characters found: enter a poem in Chinese characters (simplified or traditional), lines "
        "separated by punctuation (，。) or line breaks",
        "没有汉字：请贴入一首汉字写的诗（简繁均可），句间用，。或换行",
    ),
    "check_poem_too_long": (
        "the poem is too long ({given:,} Chinese characters); the checker takes at most {most} (五绝 20, 七绝 28, "
        "五律 40, 七律 56)",
        "诗太长（{given:,} 字），至多 {most} 字（五绝 20、七绝 28、五律 40、七律 56）",
    ),
    # ------------------------------------------------------------------ the app
    "too_many_poems": (
        "the number of poems must be from 1 to {most} here, got {given}",
        "首数须在 1 到 {most} 之间，现为 {given}",
    ),
    "check_empty": ("paste a poem to check (simplified or traditional)", "请贴入一首诗（简体或繁體）"),
    "acrostic_missing": (
        "empty; give one head character per line, e.g. 春江花月 for a jueju (绝句, 4 lines)",
        "为空：每句给一个字，如绝句「春江花月」",
    ),
    "first_line_missing": (
        "empty; give the first line, 5 characters (五言) or 7 (七言)",
        "为空：请给首句，五言五字，七言七字",
    ),
    "title_missing": ("empty; give a title of up to 20 characters", "为空：请给题目，至多二十字"),
    "theme_missing": (
        "empty; describe the theme in modern Chinese, e.g. 秋天的夜晚想念家乡",
        "为空：请用白话描述，如「秋天的夜晚想念家乡」",
    ),
}  # fmt: skip


# The forms' English names (the app's English labels too); an English message gives the Chinese beside it.
ENGLISH_FORM_NAMES = {"五绝": "5×4 jueju", "七绝": "7×4 jueju", "五律": "5×8 lüshi", "七律": "7×8 lüshi"}


def respell_options(message: str, names: Iterable[str], spell: Callable[[str, str | None], str]) -> str:
    """A refusal with each option it names the API's way (tone=off, first_line_rhymes) as `spell(name,
    value or None)` says it: the command line's flags, the page's labels. A plain word without a value
    (tone, title) is English, not an option, and stays."""
    alternatives = "|".join(sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"\b({alternatives})\b(?:=([^\s,;)]+))?")

    def spelled(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        if value is None and "_" not in name:
            return match.group(0)
        return spell(name, value)

    return pattern.sub(spelled, message)


class Bilingual(NamedTuple):
    """A value said in each language (a reading note): a refusal fills in the one it is written in."""

    chinese: str
    english: str


def refusal_text(message_id: str, language: str, values: dict) -> str:
    """The message in `language` ("en" or "zh") with its values filled in."""
    english, chinese = REFUSALS[message_id]
    values = {
        key: (value.chinese if language == "zh" else value.english) if isinstance(value, Bilingual) else value
        for key, value in values.items()
    }
    if language == "zh":
        return chinese.format(**values)
    if values.get("form") in ENGLISH_FORM_NAMES:
        values = {**values, "form": f"{ENGLISH_FORM_NAMES[values['form']]} ({values['form']})"}
    return english.format(**values)
