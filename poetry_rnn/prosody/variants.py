"""Variant spellings the rhyme tables lack: Japanese 新字体 (隠 浄 頼 for 隱 淨 賴) and the Taiwan and Hong Kong
standard forms (敍 for 敘), found through OpenCC's variant dictionaries.

`poetry_rnn.script.VARIANTS` folds the corpus's own spellings everywhere; these forms are looked up only
for a character that has no reading of its own (`rhyme._script_origins`), so no table character's reading
ever changes.
"""

from __future__ import annotations

from functools import lru_cache

from poetry_rnn.lazy_import import import_modules
from poetry_rnn.script import normalize_variants

# OpenCC configurations that turn a regional variant into OpenCC's standard traditional form.
_TO_STANDARD = ("jp2t", "tw2t", "hk2t")


@lru_cache(maxsize=len(_TO_STANDARD))
def _converter(config: str):
    import_modules("opencc")
    import opencc

    return opencc.OpenCC(f"{config}.json")


@lru_cache(maxsize=65536)
def standard_forms(char: str) -> frozenset[str]:
    """The standard traditional characters `char` is a variant spelling of (隠 → {隱}); empty when it is
    none, or when `char` is not one character."""
    if len(char) != 1:
        return frozenset()
    found = {normalize_variants(_converter(config).convert(char)) for config in _TO_STANDARD}
    return frozenset(form for form in found if len(form) == 1 and form != char)


__all__ = ["standard_forms"]
