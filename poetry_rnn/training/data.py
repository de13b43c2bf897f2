"""Training examples and batches: poems encoded once, conditioning dropped per epoch, batches by length."""

from __future__ import annotations

import random

import torch

from poetry_rnn.corpus import Poem
from poetry_rnn.format import MAX_TITLE_CHARS, ConditioningDropout
from poetry_rnn.tokenizer.base import BaseTokenizer


def make_batches(examples: list[list[int]], batch_tokens: int, rng: random.Random) -> list[list[int]]:
    """Indices of examples grouped by length (so padding is negligible), batch order shuffled."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i]), rng.random()))
    batches, current = [], []
    for index in order:
        if current and (len(current) + 1) * len(examples[index]) > batch_tokens:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(examples: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) [batch, width - 1]: each example shifted by one, padded with `pad_id` (inputs) and
    -100 (targets, ignored by the loss). Built in one tensor call, not a copy per row: a GPU waits for
    each batch's collation."""
    width = max(len(e) for e in examples)
    padded = torch.tensor([e + [pad_id] * (width - len(e)) for e in examples], dtype=torch.long)
    beyond = torch.arange(width - 1) >= (torch.tensor([len(e) for e in examples]) - 1)[:, None]
    return padded[:, :-1].masked_fill(beyond, pad_id), padded[:, 1:].masked_fill(beyond, -100)


Encoded = tuple[list[int], int, list[int], list[int], list[int]]


def encode_poems(
    poems: list[Poem],
    tokenizer: BaseTokenizer,
    keywords: dict[str, list[str]] | None,
    max_title_chars: int = MAX_TITLE_CHARS,
) -> list[Encoded]:
    """Encode each poem once: (source tag ids, form tag id, title ids, keyword ids, body ids + </s>). The
    source tag is there only when the tokenizer has tags (a run on several corpora)."""
    encoded = []
    for poem in poems:
        title = tokenizer.encode(poem.title[:max_title_chars]) if poem.title else []
        keyword_ids = [i for word in (keywords or {}).get(poem.body, []) for i in tokenizer.encode(word)]
        encoded.append(
            (
                tokenizer.source_prefix(poem.source or None),
                tokenizer.form_id(poem.form),
                title,
                keyword_ids,
                [*tokenizer.encode(poem.body), tokenizer.eos_id],
            )
        )
    return encoded


def epoch_examples(
    encoded: list[Encoded],
    tokenizer: BaseTokenizer,
    seed: int,
    epoch: int,
    max_len: int,
    dropout: ConditioningDropout | None = None,
) -> list[list[int]]:
    """The epoch's training sequences `[source] [form] [<title> title] [<kw> keywords] <s> body </s>`, with
    each conditioning part but the source dropped at random (reproducibly per epoch) so that each is
    optional at inference.
    The layout is `poetry_rnn.format`'s, assembled from ids encoded once rather than from text each epoch."""
    rng = random.Random(f"{seed}-examples-{epoch}")
    dropout = dropout or ConditioningDropout()
    examples = []
    for source_ids, form_id, title, keyword_ids, body in encoded:
        ids = [*source_ids, form_id] if rng.random() >= dropout.form else [*source_ids]
        if title and rng.random() >= dropout.title:
            ids += [tokenizer.title_id, *title]
        if keyword_ids and rng.random() >= dropout.keywords:
            ids += [tokenizer.keywords_id, *keyword_ids]
        ids += [tokenizer.bos_id, *body]
        examples.append(ids[:max_len])
    return examples
