"""Lines that are 合律 outside the chart of line types: 三仄尾, 特拗 and 拗救 (a line's 拗 rescued by the
next line's level tone), as the checker grants and reports them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from poetry_rnn.prosody.analysis import Fault
from poetry_rnn.prosody.patterns import FREE_MARK, RESCUABLE_POSITIONS


def rescuable(template: str, faults: Sequence[Fault]) -> bool:
    """Whether every fault is a 拗 that a next line's 平 could rescue (RESCUABLE_POSITIONS)."""
    positions = RESCUABLE_POSITIONS.get(template, ())
    return all(f.name == "不协平仄" and f.index in positions for f in faults)


class Licence(NamedTuple):
    """What makes a line 合律 outside the chart: its kind (特拗, 三仄尾, 拗救), the template the line takes, the
    positions excused."""

    kind: str
    template: str
    positions: tuple[int, ...]

    def describe(self, index: int, line: str, lines: Sequence[str]) -> dict:
        """{line, kind, positions, note}: the licence as the analysis reports it."""
        core_third = len(line) - 3
        if self.kind == "三仄尾":
            note = (
                f"第{index + 1}句末三字「{line[-3:]}」皆仄（三仄尾），不算失律 "
                f"(line {index + 1} ends in three oblique tones: no fault, unlike three level ones)"
            )
        elif self.kind == "半拗":
            place = self.positions[0]
            note = (
                f"第{index + 1}句第{place + 1}字「{line[place]}」拗，为半拗（小拗），可不救 "
                f"(line {index + 1}, character {place + 1}, {line[place]}: a minor departure from the pattern "
                "(半拗), which may go unrescued)"
            )
        elif self.kind == "特拗":
            swapped = line[core_third : core_third + 2]
            note = (
                f"第{index + 1}句「{swapped}」平仄互换，为特拗（{self.template.replace(FREE_MARK, '仄')}），合律 "
                f"(line {index + 1}: characters {core_third + 1}–{core_third + 2}, {swapped}, swap tones, the accepted "
                f"special form (特拗) {self.template.replace(FREE_MARK, '仄')})"
            )
            if self.positions:  # the opening taken 仄, granted by the standard level only
                opening = self.positions[0]
                note += (
                    f"；第{opening + 1}字「{line[opening]}」仄，依一三五不论从宽（严格须平） (character {opening + 1} "
                    f"{line[opening]}, is oblique: allowed under 1-3-5 free, strictly it should be level)"
                )
        else:
            chars = "".join(line[p] for p in self.positions)
            places = "、".join(str(p + 1) for p in self.positions)
            rescuer = lines[index + 1][core_third]
            note = (
                f"第{index + 1}句第{places}字「{chars}」拗，第{index + 2}句第{core_third + 1}字「{rescuer}」用平声相救"
                f"（对句相救），合律 (line {index + 1}, {'characters' if len(chars) > 1 else 'character'} {places}, "
                f"{chars}: oblique, rescued by the level character {core_third + 1}, {rescuer}, of line {index + 2})"
            )
        return {"line": index, "kind": self.kind, "positions": list(self.positions), "note": note}


def te_ao_opening_fault(index: int, line: str, form: str) -> Fault:
    """The one fault of a 特拗 line (`form`) whose core opens with 仄 (故人具鸡黍), judged strictly: the swap is
    the licence, the opening is what it asks for (王力: 特拗 takes 平 at the core's first character)."""
    opening = len(form) - 5
    swapped = line[opening + 2 : opening + 4]
    return Fault(
        "不协平仄",
        index,
        opening,
        f"第{index + 1}句「{swapped}」平仄互换为特拗（{form[-5:]}），特拗第{opening + 1}字须平，"
        f"「{line[opening]}」仄 (line {index + 1}: characters {opening + 3}–{opening + 4} swap tones as in 特拗, "
        f"which needs a level character {opening + 1}; {line[opening]} is oblique)",
    )
