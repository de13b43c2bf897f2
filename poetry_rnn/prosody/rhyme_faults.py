"""The rhyme part of the 格律 checker: the poem's rhyme group, 出韵 and 重韵, from each rhyme line read as
a whole (under 中华新韵 the last character's reading in context: 长 in 生长 does not rhyme in 唐)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache

from poetry_rnn.prosody.modern import NEUTRAL, line_readings
from poetry_rnn.prosody.poem_text import MISSING
from poetry_rnn.prosody.rhyme import PING, ZE, RhymeScheme, get_scheme
from poetry_rnn.script import normalize_variants

# 邻韵 of 平水韵, by each level group's name character: groups whose sounds lie close. A rhyming first line
# may borrow from one (首句借邻韵, 孤雁出群), as Tang poets often did: in the train split's 绝句 and 律诗, a
# third of the 冬 poems with a level first line end it in 東, a sixth of the 微 poems in 支.
NEIGHBOURS = ("東冬", "江陽", "支微齊", "魚虞", "佳灰", "真文元", "元寒刪先", "蕭肴豪", "庚青蒸", "覃鹽咸")


def neighbour_groups(scheme: RhymeScheme, group: str) -> frozenset[str]:
    """The level groups a first line rhyming in `group` may borrow from (平水韵 only; none for 新韵)."""
    if scheme.name != "pingshui":
        return frozenset()
    close = {name for cluster in NEIGHBOURS if group[-1] in cluster for name in cluster} - {group[-1]}
    return frozenset(g for g in scheme.level_groups if g[-1] in close)


def neutral_tone(scheme: RhymeScheme, line: str, index: int) -> str:
    """中华新韵: for a neutral-tone particle (`modern.NEUTRAL_PARTICLES`: 的 de, 吗 ma) read so in `line`,
    its toneless syllable, "de"; "" for any other character, and under 平水韵."""
    if not scheme.reads_in_context:
        return ""
    reading = line_readings(line)[index]
    return reading.neutral if reading.source == NEUTRAL else ""


def unread_notes(scheme: RhymeScheme, lines: Sequence[str], tones: Sequence[Sequence]) -> list[str]:
    """Notes on the characters the checker could not judge: neutral-tone particles (新韵: neither 平 nor 仄,
    never a rhyme) and characters the scheme has no reading for. `tones`: each character's as read."""
    notes = []
    neutral = {
        c: said for line in lines for k, c in enumerate(line) if (said := neutral_tone(scheme, line, k))
    }
    if neutral:  # 的 了 吗 (modern.NEUTRAL_PARTICLES)
        chars, said = "、".join(neutral), "、".join(neutral.values())
        notes.append(
            f"「{chars}」读轻声（{said}），不分平仄，不判；轻声字不能押韵 "
            f"(neutral tone: neither level nor oblique, not judged; it cannot rhyme: {chars})"
        )
    unknown = sorted(
        {
            c
            for line, line_tones in zip(lines, tones, strict=True)
            for c, t in zip(line, line_tones, strict=True)
            if not t and c != MISSING and c not in neutral
        }
    )
    if unknown:
        shown = " ".join(unknown)
        notes.append(
            f"{scheme.chinese_name}未收，不判：{shown} (no reading in {scheme.name}, not judged: {shown})"
        )
    return notes


def rhyme_faults(
    scheme: RhymeScheme,
    lines: Sequence[str],
    last_tones: Sequence[frozenset[str]],
    last_groups: Sequence[frozenset[str]],
    positions: Sequence[int],
    fault: type,
    script: str | None = None,
) -> tuple[list, list[str], dict | None]:
    """The rhyme faults (as `fault(name, line, index, message)`) of the rhyme lines at `positions`, the
    level groups every rhyme character shares (else the one most share), and where the first line borrows
    a neighbouring group (not a fault), that licence: {line, kind 邻韵, positions, note}.
    `last_tones`/`last_groups`: per line, its last character's tones and level groups as read in the line.
    `script`: of the group labels in messages (None: the scheme's own)."""
    entries = [(i, lines[i][-1]) for i in positions if lines[i]]
    faults: list = []
    # The poem's group: the one most rhyme characters share (line 0 counts half: 首句 may borrow).
    votes: Counter[str] = Counter()
    first_seen: dict[str, int] = {}  # on a tie, the group the earliest 偶句 set up wins
    for line, _ in entries:
        for group in last_groups[line]:
            votes[group] += 1 if line else 0.5
            first_seen.setdefault(group, line if line else len(lines))
    # a last tie (涯 in 支 and 麻, nothing else to decide) goes to the group earlier in the rhyme book:
    # never to the order of a set, which changes with Python's hash seed
    book_order = {group: rank for rank, group in enumerate(scheme.level_groups)}
    main = (
        max(votes, key=lambda g: (votes[g], -first_seen[g], -book_order.get(g, len(book_order)), g))
        if votes
        else None
    )
    known = [line for line, _ in entries if last_tones[line]]
    shared: set[str] = set(scheme.level_groups)
    for line in known:
        shared &= last_groups[line]
    groups = [g for g in scheme.level_groups if g in shared] if known and shared else ([main] if main else [])
    label = scheme.group_label(main, script) if main else ""
    borrowed = None
    # what to write instead, said only in an 出韵 fault: worked out when one is found (the decoder checks
    # every finished candidate, nearly all of them without one)
    instead = cache(
        lambda: _instead(scheme, main, script, [char for _, char in entries]) if main else ("", "")
    )
    faults += _repeated_rhymes(lines, positions, fault)
    for line, char in entries:
        tones = last_tones[line]
        end = len(lines[line]) - 1
        neutral = neutral_tone(scheme, lines[line], end)
        if neutral:  # 新韵: a toneless particle carries no rhyme (modern.NEUTRAL_PARTICLES)
            faults.append(
                fault(
                    "出韵",
                    line,
                    end,
                    f"第{line + 1}句韵脚「{char}」读轻声（{neutral}），轻声字不能押韵 "
                    f"(line {line + 1}, rhyme character {char} is a neutral-tone particle ({neutral}): it carries "
                    "no tone and no rhyme)",
                )
            )
            continue
        if not tones:
            continue  # not in the table: cannot be judged (noted separately)
        spoken = scheme.spoken(lines[line], end)
        read, read_en = (f"（读{spoken}）", f" (read {spoken})") if spoken else ("", "")
        if tones == {ZE}:
            faults.append(
                fault(
                    "出韵",
                    line,
                    end,
                    f"第{line + 1}句韵脚「{char}」{read}是仄声字，近体诗押平声韵{instead()[0]} "
                    f"(line {line + 1}, rhyme character {char}{read_en} is oblique; regulated verse rhymes in "
                    f"level tones{instead()[1]})",
                )
            )
        elif main and main not in last_groups[line]:
            own = "、".join(scheme.group_label(g, script) for g in sorted(last_groups[line]))
            if line == 0 and neighbour_groups(scheme, main) & last_groups[line]:
                note = (
                    f"首句韵脚「{char}」属{own}，借{label}的邻韵（孤雁出群），合律 (the first line rhymes in {own}, "
                    f"a neighbour of the poem's group {label}: an accepted borrowing)"
                )
                borrowed = {"line": 0, "kind": "邻韵", "positions": [end], "note": note}
                continue
            faults.append(
                fault(
                    "出韵",
                    line,
                    end,
                    f"第{line + 1}句韵脚「{char}」{read}属{own}，不在{label}{instead()[0]} "
                    f"(line {line + 1}, rhyme character {char}{read_en} belongs to {own}, not to the poem's "
                    f"group {label}{instead()[1]})",
                )
            )
    return faults, groups, borrowed


def _instead(scheme: RhymeScheme, group: str, script: str | None, used: Sequence[str]) -> tuple[str, str]:
    """(Chinese, English) of what to write instead of a rhyme character out of `group`: a few of the group's
    common characters the poem has not rhymed on."""
    taken = {normalize_variants(char) for char in used}
    examples = scheme.examples(group, 8, script=script or "traditional")
    chars = [char for char in examples if normalize_variants(char) not in taken][:4]
    if not chars:
        return "", ""
    return (
        f"，可换作本韵的{''.join(f'「{c}」' for c in chars)}等字",
        f"; write one of the group's characters instead, such as {', '.join(chars)}",
    )


def _repeated_rhymes(lines: Sequence[str], positions: Sequence[int], fault: type) -> list:
    """重韵: a rhyme line (of `positions`) ending in a character an earlier rhyme line ended in."""
    faults: list = []
    seen: dict[str, int] = {}
    for line in positions:
        if not lines[line]:
            continue
        char = lines[line][-1]
        key = normalize_variants(char)
        if key in seen:
            faults.append(
                fault(
                    "重韵",
                    line,
                    len(lines[line]) - 1,
                    f"第{line + 1}句韵脚「{char}」在第{seen[key] + 1}句已用 "
                    f"(line {line + 1}, rhyme character {char} already used in line {seen[key] + 1})",
                )
            )
        seen.setdefault(key, line)
    return faults


def oblique_rhyme_group(scheme: RhymeScheme, lines: Sequence[str]) -> str | None:
    """The oblique group a poem rhymes in when its even lines end in 仄 characters of one such group
    (柳宗元《江雪》: 绝 灭 雪, 入声九屑); None for any other poem."""
    ends = [line[-1] for line in lines[1::2] if line]
    if len(ends) < 2 or any(scheme.tones(c) != {ZE} for c in ends):
        return None
    shared = set.intersection(*({r.group for r in scheme.readings(c)} for c in ends))
    return sorted(shared)[0] if shared else None


def rhymes_obliquely_in(scheme: RhymeScheme, char: str, group: str) -> bool:
    """Whether `char` has a 仄 reading in the oblique group `group` (千山鸟飞绝's 绝 in 入声九屑)."""
    return any(r.group == group and r.tone == ZE for r in scheme.readings(char))


def oblique_rhyme_faults(
    scheme: RhymeScheme,
    lines: Sequence[str],
    positions: Sequence[int],
    group: str,
    fault: type,
    script: str | None = None,
) -> list:
    """The faults of a poem rhyming in the oblique group `group` (oblique_rhyme_group), its rhyme lines at
    `positions`: first the one fault of the whole poem, that it rhymes in 仄声 and so is a 古绝 (古体), not
    regulated verse (王力: 律诗 and 律绝 rhyme in 平声); then, as in any poem, 重韵 and a rhyme character
    outside the group (only a first line can be: every even line ends in it)."""
    label = scheme.group_label(group, script)
    ends = [lines[i][-1] for i in positions if lines[i] and rhymes_obliquely_in(scheme, lines[i][-1], group)]
    kind = (
        ("古绝", "律绝", "an old-style quatrain (古绝)")
        if len(lines) == 4
        else ("古体诗", "律诗", "old-style verse (古体)")
    )
    faults = [
        fault(
            "仄韵",
            None,
            None,
            f"押仄韵（{label}：{'、'.join(ends)}），属{kind[0]}，非{kind[1]}：近体诗押平声韵 "
            f"(rhymes in the oblique group {label}: {kind[2]}, not regulated verse, which rhymes in level tones)",
        )
    ]
    faults += _repeated_rhymes(lines, positions, fault)
    for line in positions:
        char = lines[line][-1] if lines[line] else ""
        if not char or not scheme.readings(char) or rhymes_obliquely_in(scheme, char, group):
            continue
        own = "、".join(sorted({scheme.group_label(r.group, script) for r in scheme.readings(char)}))
        faults.append(
            fault(
                "出韵",
                line,
                len(lines[line]) - 1,
                f"第{line + 1}句韵脚「{char}」属{own}，不在{label} "
                f"(line {line + 1}, rhyme character {char} belongs to {own}, not to the poem's group {label})",
            )
        )
    return faults


def entering_tone_note(
    scheme: RhymeScheme, lines: Sequence[str], tones: Sequence[Sequence], faults
) -> str | None:
    """中华新韵: where faults fall on 入声 characters that Mandarin reads level (白 一 别), a note that a poem
    written to the old tones (any Tang poem) meets such faults under 新韵; None otherwise. A character
    counts when the rhyme book has it 入声 and never 平 (识 is 入 职 and 去 寘, 着 入 药 and 去 御): a level
    reading today comes from the 入声 one, as 上 and 去 stay oblique. `tones`: each character's as the
    scheme read it; `faults`: the checker's (name, line, index)."""
    if not scheme.reads_in_context:
        return None
    old = get_scheme("pingshui")
    found: dict[str, None] = {}
    for fault in faults:
        if fault.line is None or fault.index is None or fault.name in ("出韵", "重韵"):
            continue
        text = lines[fault.line]
        for position in range(len(text) - 3, len(text)) if fault.name == "三平尾" else (fault.index,):
            readings = old.readings(text[position])
            if (
                any(r.group.startswith("入") for r in readings)
                and all(r.tone == ZE for r in readings)
                and tones[fault.line][position] == {PING}
            ):
                found[text[position]] = None
    if not found:
        return None
    chars = "、".join(found)
    return (
        f"「{chars}」古为入声（仄），今读平声：依平水韵（古音）写的诗，用中华新韵检测会有此出入 "
        f"({chars}: entering tone (仄) of old, level in Mandarin: a poem written to the old tones, as every "
        "Tang poem is, meets such faults under 中华新韵)"
    )


__all__ = [
    "NEIGHBOURS",
    "entering_tone_note",
    "neighbour_groups",
    "neutral_tone",
    "oblique_rhyme_faults",
    "oblique_rhyme_group",
    "rhymes_obliquely_in",
    "rhyme_faults",
    "unread_notes",
]
