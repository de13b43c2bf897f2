"""A poem's shape: the line length it means, and the faults of shape, 句数 (a line count no form has) and
字数 (a line of another length), which the checker reports before it judges tones and rhyme."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from poetry_rnn.prosody.analysis import SINGLE_LINE_NOTE, Fault, counted
from poetry_rnn.prosody.patterns import is_pailv_length


def intended_line_length(lines: Sequence[str]) -> int:
    """The line length the poem means: the commonest of 5 and 7 (ties → 7), else the commonest length."""
    lengths = Counter(len(line) for line in lines)
    regular = [n for n in (5, 7) if lengths[n]]
    if regular:
        return max(regular, key=lambda n: (lengths[n], n))
    return lengths.most_common(1)[0][0]


def shape_faults(
    lines: Sequence[str], chars_per_line: int, has_templates: bool
) -> tuple[list[Fault], list[str]]:
    """(句数 and 字数 faults, notes) of `lines`, whose intended length is `chars_per_line` (`has_templates`:
    whether it is 5 or 7). One line is judged as a line and two as a couplet, with a note, not as a 句数."""
    faults, notes = [], []
    count = len(lines)
    if count == 1:  # one line given to see its tones: judged as a line, not as a short poem
        notes.append(SINGLE_LINE_NOTE)
    elif count == 2:  # a couplet alone (the batch mode takes them, for 对仗): not a 句数 fault
        notes.append("只有一联，按一联判 (a single couplet, judged as such)")
    elif count not in (4, 8) and not is_pailv_length(count):
        faults.append(
            Fault(
                "句数",
                None,
                None,
                f"共{count}句，绝句应为4句、律诗8句、排律10句以上的双数 "
                f"({counted(count, 'line')}; a jueju (绝句) has 4, a lüshi (律诗) 8, a pailü "
                "(排律) an even number from 10)",
            )
        )
    for index, line in enumerate(lines):
        length = counted(len(line), "character")
        if not has_templates:
            said = f"第{index + 1}句{len(line)}字，应为五字或七字 (line {index + 1} has {length}; lines have 5 or 7)"
        elif len(line) != chars_per_line:
            said = (
                f"第{index + 1}句{len(line)}字，应为{chars_per_line}字 "
                f"(line {index + 1} has {length}; the poem's lines have {chars_per_line})"
            )
        else:
            continue
        faults.append(Fault("字数", index, None, said))
    return faults, notes


__all__ = ["intended_line_length", "shape_faults"]
