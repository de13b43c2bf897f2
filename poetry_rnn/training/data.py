"""A run's data: the poems and the tokenizer (`prepare_data`), then training examples and batches: poems
encoded once, conditioning dropped per epoch, batches by length."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from poetry_rnn.corpus import FORMS, Poem, default_source, load_corpus, to_script
from poetry_rnn.errors import UserError
from poetry_rnn.format import MAX_TITLE_CHARS, ConditioningDropout
from poetry_rnn.model import PoetryLM
from poetry_rnn.prepared import is_prepared, read_prepared
from poetry_rnn.tokenizer.base import BaseTokenizer
from poetry_rnn.tokenizer.registry import build_tokenizer, load_tokenizer
from poetry_rnn.training.config import TrainConfig, source_names
from poetry_rnn.training.sources import add_extra_sources, check_locations, parse_extra_sources


@dataclass
class TrainingData:
    tokenizer: BaseTokenizer
    train_poems: list[Poem]  # the primary corpus's repeated `primary_repeat` times when co-training
    valid_poems: list[Poem]  # regular forms of the primary corpus only
    keywords: dict[str, list[str]] | None  # body → keywords, when the run conditions on them
    sources: tuple[str, ...]  # the corpora's tags, primary first; () for a single corpus
    fine_tunes_primary: bool  # a co-trained model fine-tuned on its primary corpus alone


def prepare_data(
    config: TrainConfig, base: PoetryLM | None, checkpoint: Path | None, log: Callable[..., None]
) -> TrainingData:
    """The run's poems and tokenizer: the corpus (raw or prepared, with any extra corpora), its train and
    valid splits, the tokenizer (the checkpoint's when resuming, the starting model's with --init-from,
    else built from the corpus) and each train poem's keywords when the run conditions on them."""
    if config.extra_sources:
        check_locations(parse_extra_sources(config.extra_sources, config.source_name))
    source = config.source or default_source()
    keywords = None
    if is_prepared(source):  # cleaned corpus in one file: no raw corpus or `datasets` needed
        corpus, prepared_keywords, _ = read_prepared(source)
        if config.keywords and not prepared_keywords:
            # (computing them here would need jieba, which a GPU machine may lack)
            raise UserError(
                f"--keywords true, but the prepared corpus {source} carries no keywords: prepare it with "
                f"--keywords (python -m poetry_rnn.prepared --source ... --out ... --keywords) or train with "
                f"--keywords false",
                field="keywords",
            )
        keywords = prepared_keywords if config.keywords else None
    else:
        corpus = load_corpus(source)
    if config.script != corpus.script:
        corpus = to_script(corpus, config.script)
    if config.extra_sources:  # several corpora, each poem tagged with its own
        corpus, keywords = add_extra_sources(corpus, keywords, config, log)
    sources = source_names(config)
    train_poems = corpus.split("train", FORMS if config.train_forms == "regular" else None)
    valid_poems = corpus.split("valid", FORMS)
    if config.valid_limit:
        valid_poems = valid_poems[: config.valid_limit]
    if len(train_poems) < 8 or not valid_poems:
        raise UserError(
            f"{source}: too few poems to train on ({len(train_poems)} train, "
            f"{len(valid_poems)} regular-form valid); need at least 8 and 1",
            field="source",
        )
    if checkpoint is not None:
        tokenizer = load_tokenizer(checkpoint)
    elif base is not None:
        tokenizer = base.tokenizer
        coverage, own = coverages(tokenizer, train_poems, config.min_count)
        log(
            f"starting from {config.init_from}: {tokenizer.vocab_size:,} pieces (coverage of this corpus "
            f"{coverage:.4%}), {config.num_layers} × {config.hidden_size} units (the model's "
            f"{base.config.hidden_size}), dropout {config.dropout}"
        )
        if base.config.keywords and not config.keywords:
            log(
                "note: the model was trained with its poems' keywords and this run is not (--keywords true "
                "keeps them): title and theme requests will no longer give it any"
            )
        if coverage < own - MAX_COVERAGE_LOSS:
            raise UserError(
                f"--init-from: the model's vocabulary covers {coverage:.1%} of this corpus's characters, a "
                f"vocabulary of its own would cover {own:.1%}: the rest would be trained as <unk>; train a "
                "new model on this corpus instead (without --init-from)",
                field="init_from",
            )
    else:
        tokenizer, coverage = build_tokenizer(
            config.tokenizer, corpus, config.min_count, config.sp_vocab_size, sources=sources
        )
        log(f"tokenizer: {config.tokenizer}, {tokenizer.vocab_size:,} pieces, coverage {coverage:.4%}")
    # a co-trained model fine-tuned on its primary corpus alone (or such a run resumed) keeps its tags, and
    # each poem reads the primary's
    fine_tunes_primary = (
        bool(config.init_from) and not sources and tokenizer.primary_source == config.source_name
    )
    if tokenizer.sources != sources and not fine_tunes_primary:
        whose, field = (
            ("--init-from: the model's", "init_from") if base else ("--resume: the checkpoint's", "resume")
        )
        raise UserError(
            f"{whose} tokenizer has the sources {list(tokenizer.sources)}, the corpus {list(sources)}",
            field=field,
        )
    if config.keywords:
        from poetry_rnn.keywords import corpus_keywords

        if keywords is None:  # a raw corpus: jieba's keywords for every train poem
            keywords = corpus_keywords(train_poems)
        elif sources:  # a prepared primary beside a raw extra corpus: jieba's for the poems it has none for
            missing = [p for p in train_poems if p.body not in keywords]
            if missing:
                keywords = {**keywords, **corpus_keywords(missing)}
    if sources and config.primary_repeat > 1:  # upsample the primary corpus against the extra ones
        train_poems += [p for p in train_poems if p.source == sources[0]] * (config.primary_repeat - 1)
    return TrainingData(tokenizer, train_poems, valid_poems, keywords, sources, fine_tunes_primary)


# A model started from (--init-from) keeps its vocabulary: where it covers this much less of the corpus
# than the corpus's own vocabulary would, the difference would be trained as <unk> (and look easy to predict)
MAX_COVERAGE_LOSS = 0.02
COVERAGE_SAMPLE = 5000  # train poems read to measure it


def coverages(tokenizer, poems: list, min_count: int) -> tuple[float, float]:
    """The share of the characters of (up to COVERAGE_SAMPLE of) `poems`' bodies that `tokenizer` knows, and
    the share a character vocabulary of their own would know (characters seen at least `min_count` times)."""
    counts = Counter(c for poem in poems[:COVERAGE_SAMPLE] for c in poem.body)
    total = sum(counts.values())
    known = sum(n for c, n in counts.items() if tokenizer.encode(c) != [tokenizer.unk_id])
    own = sum(n for n in counts.values() if n >= min_count)
    return known / max(1, total), own / max(1, total)


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
