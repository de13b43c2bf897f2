"""How a poem and its conditioning become tokens: the prompt format the model is trained on and the
generator writes after.

A training sequence is `[source tag] [form tag] [<title> title] [<kw> keywords] <s> body </s>`; the generator
gives the model the same prefix (the parts it has) and lets it write the body. The source tag (`<tang>`,
`<song>`) exists only in models trained on several corpora; it is never dropped, and generation and
evaluation give the primary source's (the tokenizer's `source_prefix`). The body is laid out canonically:
"，" after odd lines, "。" after even lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from poetry_rnn.tokenizer.base import BaseTokenizer

MAX_TITLE_CHARS = 12  # longer titles are cut: a title conditions the poem, it is not written


def line_end_mark(index: int) -> str:
    """The punctuation after line `index` (0-based): "，" inside a couplet, "。" at its end."""
    return "，" if index % 2 == 0 else "。"


def render_body(lines: Iterable[str]) -> str:
    """Lines as one text, each with its punctuation (白日依山尽，黄河入海流。)."""
    return "".join(line + line_end_mark(index) for index, line in enumerate(lines))


@dataclass(frozen=True)
class ConditioningDropout:
    """Probability of dropping each conditioning part in training, so that each is optional at inference."""

    form: float = 0.1
    title: float = 0.5
    keywords: float = 0.5


def conditioning_ids(
    tokenizer: BaseTokenizer,
    form: str | None = None,
    title: str | None = None,
    keywords: Iterable[str] | None = None,
    source: str | None = None,
) -> list[int]:
    """Ids of `[source tag] [form tag] [<title> title] [<kw> keywords] <s>`: the prefix a poem body follows.
    The source tag is `source`'s, or the primary source's when None; none for a single-corpus model."""
    ids: list[int] = tokenizer.source_prefix(source)
    if form:
        ids.append(tokenizer.form_id(form))
    if title:
        ids += [tokenizer.title_id, *tokenizer.encode(title)]
    keywords = [k for k in (keywords or ()) if k]
    if keywords:
        ids.append(tokenizer.keywords_id)
        for keyword in keywords:
            ids += tokenizer.encode(keyword)
    ids.append(tokenizer.bos_id)
    return ids
