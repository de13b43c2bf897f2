"""A level-tone rhyme group by any name users give it: its id, its label in either script, with or without
上平/下平, its character, 中华新韵's number, or the pinyin of its character (`find_rhyme_group`)."""

from __future__ import annotations

import re
import unicodedata

from poetry_rnn.errors import UserError
from poetry_rnn.prosody.modern import listed_readings
from poetry_rnn.prosody.rhyme import RhymeScheme, get_scheme
from poetry_rnn.refusals import Bilingual
from poetry_rnn.script import SCRIPTS, to_traditional


def find_rhyme_group(scheme: RhymeScheme, value, script: str | None = None) -> str:
    """A level-tone group of `scheme` by its id, its label in either script, or its last character; a
    name followed by example characters, as the app's dropdown shows it (下平七阳 阳光长乡香), by the name.
    A refusal lists the groups in `script` (default: the scheme's own)."""
    text = str(value).strip()
    name = text.split()[0] if text else text
    for group in scheme.level_groups:
        labels = {
            group,
            scheme.group_label(group, "traditional"),
            scheme.group_label(group, "simplified"),
        }
        if name in labels:
            return group
    # A label without its 上平/下平 (一东, 七陽) where only one group has it.
    unprefixed = [
        g
        for g in scheme.level_groups
        if name in {scheme.group_label(g, either)[2:] for either in SCRIPTS}
        and scheme.group_label(g)[:2] in ("上平", "下平")
    ]
    if len(unprefixed) == 1:
        return unprefixed[0]
    # A bare group character (尤, 東) names the group whose label ends with it.
    matches = [
        g
        for g in scheme.level_groups
        if len(name) == 1
        and name in (scheme.group_label(g, "traditional")[-1], scheme.group_label(g, "simplified")[-1])
    ]
    if len(matches) == 1:
        return matches[0]
    numbered = _numbered_group(scheme, name)
    if numbered is not None:
        return numbered
    named = to_traditional(scheme.chinese_name) if script == "traditional" else scheme.chinese_name
    read = _groups_read_as(scheme, name)
    if len(read) == 1:
        return read[0]
    if read:  # dong: 一东 and 二冬 are both read dōng
        groups = " ".join(scheme.group_label(g, script) for g in read)
        raise UserError.of(
            "rhyme_group_reading_shared", "rhyme_group", value=text, scheme=named, groups=groups
        )
    # in English with each group's reading, for a reader who names it by its pinyin
    allowed = Bilingual(
        " ".join(scheme.group_label(g, script) for g in scheme.level_groups),
        " ".join(f"{scheme.group_label(g, script)} ({_reading(scheme, g)})" for g in scheme.level_groups),
    )
    if scheme.name != "pingshui" and name and _names_a_pingshui_group(name):
        raise UserError.of(
            "rhyme_group_of_pingshui", "rhyme_group", value=text, scheme=named, allowed=allowed
        )
    raise UserError.of("rhyme_group_unknown", "rhyme_group", value=text, scheme=named, allowed=allowed)


def _groups_read_as(scheme: RhymeScheme, name: str) -> list[str]:
    """The groups whose naming character reads `name` in pinyin, tone marks or not (yang → 下平七陽, tang → 唐),
    for a user who cannot type the character."""
    plain = _toneless(name.lower())
    if not plain.isascii() or not plain.isalpha():
        return []
    return [group for group in scheme.level_groups if plain in _readings(scheme, group)]


def _reading(scheme: RhymeScheme, group: str) -> str:
    """The toneless pinyin a user may type for `group` (yang for 下平七陽), or "?" where none is listed."""
    return next(iter(_readings(scheme, group)), "?")


def _readings(scheme: RhymeScheme, group: str) -> list[str]:
    """The readings of the character that names `group`, without tone marks, the usual one first."""
    return [_toneless(reading) for reading in listed_readings(scheme.group_label(group, "traditional")[-1])]


def _toneless(pinyin: str) -> str:
    """Pinyin without its tone marks, ü as u: yáng → yang, lǘ → lu."""
    return "".join(c for c in unicodedata.normalize("NFD", pinyin) if not unicodedata.combining(c))


_CHINESE_NUMBERS = {word: number for number, word in enumerate("一二三四五六七八九十", 1)}
_CHINESE_NUMBERS |= {"十" + word: 10 + number for word, number in list(_CHINESE_NUMBERS.items())[:9]}


def _numbered_group(scheme: RhymeScheme, name: str) -> str | None:
    """中华新韵's groups by their number as the standard numbers them (一麻 … 十四姑): `十四姑`, `十四` or
    `14`; a name after the number must be that group's."""
    if scheme.name != "xinyun":
        return None
    found = re.fullmatch(r"(\d+|[一二三四五六七八九十]+)(.*)", name)
    if not found:
        return None
    number = int(found[1]) if found[1].isdigit() else _CHINESE_NUMBERS.get(found[1], 0)
    if not 1 <= number <= len(scheme.level_groups):
        return None
    group = scheme.level_groups[number - 1]
    rest = found[2]
    if rest and rest not in {scheme.group_label(group, either) for either in SCRIPTS}:
        return None
    return group


def _names_a_pingshui_group(name: str) -> bool:
    try:
        find_rhyme_group(get_scheme("pingshui"), name)
    except UserError:
        return False
    return True


__all__ = ["find_rhyme_group"]
