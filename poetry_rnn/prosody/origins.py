"""How a character of either script finds the rhyme-table characters whose readings it has.

The 平水韵 table is written in traditional script. A simplified character reads as every traditional
character it stands for (发 → 發 髮), which is right for simplified input, where 干 may be 乾 or 幹. A
poem written in traditional script says which character it means: there 干 is 干 (平) and 征 is 征 (平),
not also 幹's or 徵's 仄 (`written_in_traditional`).
"""

from __future__ import annotations

from functools import lru_cache

from poetry_rnn.script import normalize_variants, standard_forms, to_simplified, to_traditional


@lru_cache(maxsize=4)
def script_origins(table_chars: frozenset[str], aliases: tuple[tuple[str, str], ...] = ()):
    """A function char → the table characters whose readings `char` has.

    That is the character itself (after variant normalisation, 爲 → 為); for a simplified character, every
    table character that simplifies to it (发 → 發 髮); an alias from the supplement (爐 read as 鑪); and,
    for a variant the table lacks, the table characters sharing its simplified form (迴 → 回); failing
    all of these, the standard form of a Japanese or regional spelling (隠 → 隱, `script.standard_forms`).
    """
    chars = sorted(table_chars)
    # One conversion call; newlines keep OpenCC from matching multi-character phrases.
    simplified = to_simplified("\n".join(chars)).split("\n")
    by_simplified: dict[str, set[str]] = {}
    if len(simplified) == len(chars):
        for trad, simple in zip(chars, simplified, strict=True):
            if len(simple) == 1 and simple != trad:
                by_simplified.setdefault(simple, set()).add(trad)
    alias_of = dict(aliases)

    @lru_cache(maxsize=65536)
    def chinese_origins(char: str) -> frozenset[str]:
        char = normalize_variants(char)
        found = {char} | by_simplified.get(char, set())
        if len(char) != 1:
            return frozenset(found)
        if not found & table_chars:
            found.add(normalize_variants(to_traditional(char)))
        found |= {alias_of[c] for c in found if c in alias_of}
        if not found & table_chars:
            simple = to_simplified(char)
            found |= by_simplified.get(simple, set()) | ({simple} & table_chars)
        return frozenset(c for c in found if len(c) == 1)

    @lru_cache(maxsize=65536)
    def origins(char: str) -> frozenset[str]:
        found = chinese_origins(char)
        if not found & table_chars:  # a Japanese or regional spelling (隠 for 隱) reads as its standard form
            found |= standard_forms(char)
        return found

    origins.chinese = chinese_origins  # (without the foreign spellings: see reads_as_foreign_spelling)
    return origins


@lru_cache(maxsize=65536)
def _script_evidence(char: str, table_chars: frozenset[str]) -> int:
    """+1 for a character only traditional script writes (長), −1 for a simplified form the table does not
    hold as a character of its own (发; 干 and 征 are table characters, so no evidence), 0 otherwise."""
    if to_simplified(char) != char:
        return 1
    if to_traditional(char) != char and normalize_variants(char) not in table_chars:
        return -1
    return 0


def written_in_traditional(text: str, table_chars: frozenset[str]) -> bool:
    """Whether `text` reads as traditional script: more characters only traditional writes than
    simplified forms. (A traditional text may hold a few forms OpenCC calls simplified, 烟 黄 却; a
    simplified one holds no traditional-only character unless mixed.)"""
    evidence = sum(_script_evidence(char, table_chars) for char in text)
    return evidence > 0


__all__ = ["script_origins", "written_in_traditional"]
