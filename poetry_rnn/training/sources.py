"""Training on several corpora: `--extra-sources song=../shared/data/song` beside the primary `--source`.

Every poem carries its corpus's name, which becomes a tag at the head of its conditioning prefix (`<tang>`,
`<song>`); generation and evaluation give the primary's. The primary corpus keeps its split, so validation
and the reported perplexity are its valid/test poems only. An extra corpus is training data only, all of
its splits, less every poem that could carry a primary poem into training: an exact duplicate of any
primary poem (the primary's copy is kept), or a near-duplicate of a primary valid/test poem (at least half
its lines, and two or more, the same: a variant reading of the same poem).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from poetry_rnn.cleaning import shares_most_lines
from poetry_rnn.corpus import Corpus, load_corpus, source_fingerprint, to_script
from poetry_rnn.errors import UserError
from poetry_rnn.prepared import is_prepared, read_prepared
from poetry_rnn.tokenizer.base import check_source_name

FIELD = "extra_sources"
HELD_OUT = ("valid", "test")


@dataclass(frozen=True)
class ExtraSource:
    name: str  # its tag, `<name>`
    location: str  # anything `load_corpus` takes, or a prepared corpus file


def parse_extra_sources(text: str, primary_name: str) -> list[ExtraSource]:
    """`name=location[,name=location]` → the extra sources; UserError for a malformed list (nothing read)."""
    check_source_name(primary_name, field="source_name")
    extras: list[ExtraSource] = []
    for part in text.split(","):
        name, sep, location = part.partition("=")
        name, location = name.strip(), location.strip()
        if not sep or not location:
            raise UserError(
                f"extra_sources takes name=location pairs separated by commas "
                f"(e.g. song=../shared/data/song); got {part!r}",
                field=FIELD,
            )
        check_source_name(name, field=FIELD)
        if name == primary_name or name in {e.name for e in extras}:
            raise UserError(
                f"extra_sources: the name {name!r} is used twice (the primary source is {primary_name!r})",
                field=FIELD,
            )
        extras.append(ExtraSource(name, location))
    return extras


def check_locations(extras: list[ExtraSource]) -> None:
    """Each extra corpus is there (its files listed, none read): a wrong path fails before the primary
    corpus is loaded, not after."""
    for extra in extras:
        try:
            if is_prepared(extra.location):
                if not Path(extra.location).is_file():
                    raise UserError(f"no such prepared corpus file: {extra.location}", field="source")
            else:
                source_fingerprint(extra.location)  # lists the files: UserError for a missing path
        except UserError as error:
            raise UserError(f"extra source {extra.name} ({extra.location}): {error}", field=FIELD) from None


def read_source(location: str, what: str) -> tuple[Corpus, dict[str, list[str]]]:
    """A corpus and the keywords a prepared file carries ({} otherwise); errors name `what` and the path."""
    try:
        if is_prepared(location):
            if not Path(location).is_file():
                raise UserError(f"no such prepared corpus file: {location}", field="source")
            corpus, keywords, _ = read_prepared(location)
            return corpus, keywords
        return load_corpus(location), {}
    except UserError as error:
        raise UserError(f"{what}: {error}", field=FIELD) from None


def _fingerprint(parts: list[tuple[str, Corpus]]) -> str:
    """Keys caches built from the joined corpus (the tokenizer); "" when a part has none (prepared files)."""
    if not all(corpus.fingerprint for _, corpus in parts):
        return ""
    text = "|".join(f"{name}={corpus.fingerprint}" for name, corpus in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def join_corpora(
    primary: Corpus, primary_name: str, extras: list[tuple[str, Corpus]]
) -> tuple[Corpus, dict[str, dict[str, int]]]:
    """One corpus of the primary's poems (their own split) and the extras' (all train), each poem tagged
    with its source's name, less the extras' duplicates and near-duplicates (module docstring). Returns the
    corpus and a per-source count of poems kept and dropped."""
    poems = [replace(p, source=primary_name) for p in primary.poems]
    seen = {"".join(p.lines) for p in poems}
    held_out_by_line: dict[str, set[int]] = defaultdict(set)
    for index, poem in enumerate(p for p in poems if p.split in HELD_OUT):
        for line in poem.lines:
            held_out_by_line[line].add(index)
    report = {primary_name: {"poems": len(poems), "train": sum(p.split == "train" for p in poems)}}
    for name, corpus in extras:
        counts = Counter(poems=len(corpus.poems))  # (after cleaning, as the primary's)
        for poem in corpus.poems:
            key = "".join(poem.lines)
            if key in seen:
                counts["duplicate"] += 1
                continue
            shared = Counter(i for line in set(poem.lines) for i in held_out_by_line.get(line, ()))
            if shared and shares_most_lines(max(shared.values()), len(poem.lines)):
                counts["near_held_out"] += 1
                continue
            seen.add(key)
            poems.append(replace(poem, split="train", source=name))
            counts["train"] += 1
        report[name] = dict(counts)
    joined = Corpus(
        poems=poems,
        report={**primary.report, "sources": report},
        fingerprint=_fingerprint([(primary_name, primary), *extras]),
        cache_dir=primary.cache_dir,
        script=primary.script,
    )
    return joined, report


def add_extra_sources(
    corpus: Corpus, keywords: dict[str, list[str]] | None, config, log=lambda *a: None
) -> tuple[Corpus, dict[str, list[str]] | None]:
    """The primary corpus joined with `config.extra_sources` (read, converted to the run's script, tagged,
    de-duplicated). With a prepared primary, a prepared extra's keywords join the primary's (its poems
    without any train without keywords); a raw extra's are computed by the training loop."""
    extras = []
    for extra in parse_extra_sources(config.extra_sources, config.source_name):
        extra_corpus, extra_keywords = read_source(
            extra.location, f"extra source {extra.name} ({extra.location})"
        )
        if extra_corpus.script != config.script:
            extra_corpus = to_script(extra_corpus, config.script)
        extras.append((extra.name, extra_corpus))
        if keywords is not None and config.keywords and is_prepared(extra.location):
            # A prepared file's poems have the keywords it carries, or none: nothing is computed for them
            # (where such files go, jieba may not be installed).
            carried = {p.body: extra_keywords.get(p.body, []) for p in extra_corpus.poems}
            keywords = {**carried, **keywords}
    joined, report = join_corpora(corpus, config.source_name, extras)
    for name, counts in report.items():
        log(f"source {name}: " + ", ".join(f"{key} {value:,}" for key, value in counts.items()))
        if not counts.get("train"):
            log(f"warning: source {name} adds no training poem")
    return joined, keywords
