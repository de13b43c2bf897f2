"""The lines of the training corpus, for the originality rule (no generated line equals a corpus line).

Stored compactly: per line length, one string of sorted fixed-width records. A sorted list is a trie laid
flat: the lines that start with a prefix form one contiguous range, found by binary search, so "which
characters would complete a corpus line after this prefix" costs a few string comparisons.

On disk: `corpus_lines.txt`, UTF-8, one line a row, sorted (about 8 MB for the Tang corpus).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from poetry_rnn.corpus import default_source
from poetry_rnn.files import default_cache_dir, write_atomic

LINES_FILE = "corpus_lines.txt"
LINE_LENGTHS = (5, 7)
log = logging.getLogger(__name__)


class CorpusLines:
    def __init__(self, lines: Iterable[str]):
        by_length: dict[int, set[str]] = {}
        for line in lines:
            line = line.strip()
            if len(line) in LINE_LENGTHS:
                by_length.setdefault(len(line), set()).add(line)
        # One string per length: records of equal width, sorted. Far smaller than a set of strings.
        self._records = {n: "".join(sorted(found)) for n, found in by_length.items()}
        self._counts = {n: len(found) for n, found in by_length.items()}
        self._first_ranges: dict[tuple[int, str], tuple[int, int]] = {}  # (width, first character) → range

    def __len__(self) -> int:
        return sum(self._counts.values())

    def _range(self, prefix: str, width: int) -> tuple[int, int]:
        """Indices [lo, hi) of the records of `width` characters that start with `prefix`. The range of
        the prefix's first character is looked up once and kept (a few thousand characters): the search
        for a longer prefix then runs within it, a third of the comparisons."""
        if len(prefix) > 1:
            first = (width, prefix[0])
            found = self._first_ranges.get(first)
            if found is None:
                found = self._first_ranges[first] = self._search(
                    prefix[0], width, 0, self._counts.get(width, 0)
                )
            return self._search(prefix, width, *found)
        return self._search(prefix, width, 0, self._counts.get(width, 0))

    def _search(self, prefix: str, width: int, lo: int, hi: int) -> tuple[int, int]:
        """Binary search of the records [lo, hi) of `width` characters (sorted) for those starting with
        `prefix`."""
        records = self._records.get(width, "")
        size = len(prefix)

        def key(index: int) -> str:
            start = index * width
            return records[start : start + size]

        end = hi
        while lo < hi:  # first record >= prefix
            mid = (lo + hi) // 2
            if key(mid) < prefix:
                lo = mid + 1
            else:
                hi = mid
        first = lo
        hi = end
        while lo < hi:  # first record whose prefix > prefix
            mid = (lo + hi) // 2
            if key(mid) <= prefix:
                lo = mid + 1
            else:
                hi = mid
        return first, lo

    def count_with_prefix(self, prefix: str, width: int) -> int:
        lo, hi = self._range(prefix, width)
        return hi - lo

    def completions(self, prefix: str, width: int, limit: int | None = None) -> list[str] | None:
        """The endings that turn `prefix` into a corpus line of `width` characters; None if there are more
        than `limit` of them (one binary search either way)."""
        lo, hi = self._range(prefix, width)
        if limit is not None and hi - lo > limit:
            return None
        records = self._records.get(width, "")
        return [records[i * width + len(prefix) : (i + 1) * width] for i in range(lo, hi)]

    def lines_with(self, word: str, enough: int) -> int:
        """How many lines contain `word`, counted up to `enough` (does verse use 西湖, 小院?)."""
        found = 0
        for width, records in self._records.items():
            if found >= enough:
                break
            start = records.find(word) if word else -1
            while start >= 0 and found < enough:
                if start % width + len(word) <= width:  # within one line, not across two records
                    found += 1
                    start = records.find(word, start - start % width + width)  # the next line on
                else:
                    start = records.find(word, start + 1)
        return found

    def __contains__(self, line: str) -> bool:
        lo, hi = self._range(line, len(line))
        return hi > lo

    def lines(self) -> Iterable[str]:
        for width, records in sorted(self._records.items()):
            for i in range(self._counts[width]):
                yield records[i * width : (i + 1) * width]

    def save(self, path: str | os.PathLike) -> None:
        write_atomic(path, "\n".join(self.lines()) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> CorpusLines:
        return cls(Path(path).read_text(encoding="utf-8").split("\n"))

    @classmethod
    def from_corpus(cls, corpus, split: str = "train") -> CorpusLines:
        return cls(line for poem in corpus.poems if poem.split == split for line in poem.lines)


def write_corpus_lines(model_dir: str | os.PathLike, corpus) -> Path:
    """Write `model_dir/corpus_lines.txt` (the train split's 5- and 7-character lines), so that a model
    shipped without the corpus still keeps its poems original. `corpus` is a `Corpus` or a source string."""
    if isinstance(corpus, (str, os.PathLike)):
        from poetry_rnn.corpus import load_corpus

        corpus = load_corpus(str(corpus))
    path = Path(model_dir) / LINES_FILE
    CorpusLines.from_corpus(corpus).save(path)
    return path


def default_corpus_source() -> Path:
    """The corpus whose lines a poem may not copy: the default Tang corpus (corpus.default_source)."""
    return Path(default_source())


def resolve_corpus_lines(
    model_dir: Path | None, corpus_source: str | os.PathLike | None
) -> CorpusLines | None:
    """The corpus lines for a model: `model_dir/corpus_lines.txt` if shipped; else a cached file built
    from the corpus (built now if missing); else None (originality is then off, with a logged note)."""
    if model_dir is not None and (Path(model_dir) / LINES_FILE).is_file():
        return CorpusLines.load(Path(model_dir) / LINES_FILE)
    source = Path(corpus_source) if corpus_source else default_corpus_source()
    if not source.exists():
        log.warning(
            "originality check disabled: no %s beside the model and no corpus at %s", LINES_FILE, source
        )
        return None
    from poetry_rnn.cleaning import CLEANING_VERSION
    from poetry_rnn.corpus import load_corpus

    key = hashlib.sha1(f"{source.resolve()}|v{CLEANING_VERSION}".encode()).hexdigest()[:16]
    cached = default_cache_dir() / f"corpus_lines-{key}.txt"
    if cached.is_file():
        return CorpusLines.load(cached)
    lines = CorpusLines.from_corpus(load_corpus(str(source)))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        lines.save(cached)
    except OSError as error:  # a read-only home: keep the index in memory only
        log.info("could not cache corpus lines at %s (%s)", cached, error)
    return lines
