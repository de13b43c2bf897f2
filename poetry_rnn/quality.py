"""Repetition and diversity measures of poems (issue 13), shared by the evaluation scripts and, later, by
decoding rules that want the same data.

A poem here is its lines (a sequence of strings, no punctuation), in the corpus's script (traditional):
convert simplified poems first, so that the attested reduplications of the corpus apply.

- A *reduplication* (叠词) is two equal adjacent characters in a line (「蕭蕭」); a run of three counts twice.
- A reduplication is *attested* where the same reduplication stands at the same position of a line of the
  same length somewhere in the reference poems (the train split): there it reads as one word, not as a
  stutter.
- A reduplication *splits a word* where its first character is the end of a word with the character before
  it (「滿城」 in 「滿城城」, 「丹青」 in 「丹青青草」) or its second the start of one with the character
  after it (「依舊」 in 「依依舊路」): the pair stands at least WORD_MIN_COUNT times in the lines of the
  reference poems and the pair with the reduplication at most SPLIT_MAX_SHARE as often. Generated poems did so
  about 25 times as often as Tang poems, which read the stutter as one.
- A character repeated *outside a reduplication*: it occurs twice or more in a line, not as one adjacent
  run (「高閣開樓閣」).
- An *overused phrase*: a run of 3 or 4 characters within a line that a set of poems uses in at least
  OVERUSE_MIN_SHARE of its poems (and OVERUSE_MIN_POEMS of them) and at least OVERUSE_RATIO times as often
  as the reference poems do (the train split): the stock formulas readers notice (「不知何處」 in one
  generated poem of twenty, in one Tang poem of eight hundred). Real poems measured so have none.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from poetry_rnn.cleaning import FORMS, LOST_CHARACTER
from poetry_rnn.errors import UserError
from poetry_rnn.script import normalize_variants

log = logging.getLogger(__name__)

MAX_EXAMPLES = 10  # examples kept per measure: enough to read what a figure counts
# The attested slots of the Tang train split for the line lengths of the regular forms, as the decoder needs
# them without the corpus (scripts/build_reduplication_slots.py writes it).
SLOTS_FILE = Path(__file__).resolve().parent / "prosody" / "data" / "reduplication_slots.json"
SLOTS_FORMAT = 2
# A pair of characters this often in the lines of the reference poems is a word a reduplication must not
# split, unless the three characters stand together more than this share as often. Chosen on the Tang test
# split against 600 generated poems: 4 of 182 real reduplications are taken for splitting a word, 76 of 198
# generated ones (「秋夜夜深」「紫微微雨」「坐看青草草」).
WORD_MIN_COUNT = 30
SPLIT_MAX_SHARE = 0.01
PHRASE_LENGTHS = (3, 4)
OVERUSE_MIN_SHARE = 0.01
OVERUSE_MIN_POEMS = 3  # a share of a small set rests on at least this many poems
OVERUSE_RATIO = 10.0
SEASONS = "春夏秋冬"


def is_intact(lines: Iterable[str]) -> bool:
    """No character of the poem is marked as lost (囗). The cleaning drops such poems; this guards the
    measures against poems that did not pass it (a prepared file of an older cleaning, lines given by hand):
    a poem with a gap is no fair sample of real verse, it would show the gap as a reduplication."""
    return not any(LOST_CHARACTER in line for line in lines)


def reduplications(line: str) -> list[int]:
    """Positions i where line[i] == line[i + 1]."""
    return [i for i in range(len(line) - 1) if line[i] == line[i + 1]]


def has_repeated_character(line: str) -> bool:
    """Some character occurs twice or more in the line (reduplications included)."""
    return len(set(line)) < len(line)


def repeats_outside_reduplication(line: str) -> list[str]:
    """Characters that occur twice or more in the line other than as one adjacent run, in line order."""
    positions: dict[str, list[int]] = {}
    for index, char in enumerate(line):
        positions.setdefault(char, []).append(index)
    return [
        char
        for char, where in positions.items()
        if len(where) > 1 and where[-1] - where[0] != len(where) - 1  # not one contiguous run
    ]


class ReduplicationSlots:
    """The reduplications a reference corpus attests: (line length, position, character) triples, and the
    words a reduplication of a character must not split: `words_before[c]`, the characters that end a word
    with c (「滿」 for 「城」), and `words_after[c]`, those that begin one after it."""

    def __init__(
        self,
        slots: Iterable[tuple[int, int, str]] = (),
        words_before: Mapping[str, Iterable[str]] | None = None,
        words_after: Mapping[str, Iterable[str]] | None = None,
    ):
        self._slots = frozenset(slots)
        self.words_before = {char: frozenset(chars) for char, chars in (words_before or {}).items() if chars}
        self.words_after = {char: frozenset(chars) for char, chars in (words_after or {}).items() if chars}

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> ReduplicationSlots:
        lines = list(lines)
        slots = {(len(line), i, line[i]) for line in lines for i in reduplications(line)}
        doubled = {char for _, _, char in slots}
        pairs: Counter[str] = Counter()
        triples: Counter[str] = Counter()
        for line in lines:
            for i in range(len(line) - 1):
                a, b = line[i], line[i + 1]
                if a != b and (a in doubled or b in doubled):
                    pairs[line[i : i + 2]] += 1
            for i in range(len(line) - 2):
                if line[i] == line[i + 1] or line[i + 1] == line[i + 2]:
                    triples[line[i : i + 3]] += 1
        words_before: dict[str, set[str]] = {}
        words_after: dict[str, set[str]] = {}
        for pair, count in pairs.items():
            if count < WORD_MIN_COUNT:
                continue
            first, second = pair
            if second in doubled and triples[pair + second] <= SPLIT_MAX_SHARE * count:
                words_before.setdefault(second, set()).add(first)
            if first in doubled and triples[first + pair] <= SPLIT_MAX_SHARE * count:
                words_after.setdefault(first, set()).add(second)
        return cls(slots, words_before, words_after)

    @classmethod
    def from_corpus(cls, corpus, split: str = "train") -> ReduplicationSlots:
        """From every line of one split of a `poetry_rnn.corpus.Corpus` (all forms: a reduplication read as
        a word in a 5-character line of an old-style poem is one in a 五律 line too)."""
        return cls.from_lines(line for poem in corpus.split(split) for line in poem.lines)

    def is_attested(self, line: str, position: int) -> bool:
        """Whether the reduplication line[position:position + 2] stands at an attested slot."""
        return (len(line), position, line[position]) in self._slots

    def splits_word(self, line: str, position: int) -> bool:
        """Whether the reduplication line[position:position + 2] takes a character from a word beside it."""
        char = line[position]
        before = line[position - 1] if position > 0 else ""
        after = line[position + 2] if position + 2 < len(line) else ""
        return bool(
            (before and before in self.words_before.get(char, ()))
            or (after and after in self.words_after.get(char, ()))
        )

    def chars_at(self, length: int, position: int) -> frozenset[str]:
        """The characters attested as a reduplication starting at `position` of a line of `length`."""
        return frozenset(char for at_length, at, char in self._slots if (at_length, at) == (length, position))

    def __contains__(self, slot: object) -> bool:
        return slot in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    def normalized(self) -> ReduplicationSlots:
        """The same table with variant characters mapped as the decoder's repetition rule reads text."""

        def mapped(words: dict[str, frozenset[str]]) -> dict[str, set[str]]:
            found: dict[str, set[str]] = {}
            for char, chars in words.items():
                found.setdefault(normalize_variants(char), set()).update(map(normalize_variants, chars))
            return found

        return ReduplicationSlots(
            ((length, i, normalize_variants(char)) for length, i, char in self._slots),
            mapped(self.words_before),
            mapped(self.words_after),
        )

    def to_json(self, lengths: Iterable[int] | None = None) -> dict:
        """{"format", "slots": {line length: [characters attested at position 0, at 1, ...]}, "words_before":
        {character: the characters ending a word with it}, "words_after": {...}} (slots of the given line
        lengths only, all by default): a small file that names every slot once."""
        wanted = None if lengths is None else set(lengths)
        table: dict[int, dict[int, set[str]]] = {}
        for length, position, char in self._slots:
            if wanted is None or length in wanted:
                table.setdefault(length, {}).setdefault(position, set()).add(char)
        return {
            "format": SLOTS_FORMAT,
            "slots": {
                str(length): ["".join(sorted(by_position.get(i, ()))) for i in range(length - 1)]
                for length, by_position in sorted(table.items())
            },
            "words_before": {
                char: "".join(sorted(chars)) for char, chars in sorted(self.words_before.items())
            },
            "words_after": {char: "".join(sorted(chars)) for char, chars in sorted(self.words_after.items())},
        }

    @classmethod
    def from_json(cls, document: dict) -> ReduplicationSlots:
        if not isinstance(document, dict) or document.get("format") != SLOTS_FORMAT:
            raise ValueError(f"not a reduplication slot table of format {SLOTS_FORMAT}")
        return cls(
            (
                (int(length), position, char)
                for length, positions in document["slots"].items()
                for position, chars in enumerate(positions)
                for char in chars
            ),
            document["words_before"],
            document["words_after"],
        )


@lru_cache(maxsize=1)
def shipped_slots() -> ReduplicationSlots | None:
    """The attested slots shipped with the package (normalised characters), or None where the file is
    missing or unreadable (the decoder then allows a reduplication anywhere, as before the table)."""
    try:
        document = json.loads(SLOTS_FILE.read_text(encoding="utf-8"))
        return ReduplicationSlots.from_json(document).normalized()
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("no table of attested reduplications (%s): %s", SLOTS_FILE.name, error)
        return None


def repeated_share(poem: Sequence[str]) -> float:
    """The share of the poem's characters that repeat one earlier in it."""
    text = "".join(poem)
    return (len(text) - len(set(text))) / len(text) if text else 0.0


def seasons_named(texts: Iterable[str]) -> frozenset[str]:
    """The seasons named in any of `texts` (either script: the four characters are the same in both)."""
    return frozenset(season for text in texts for season in SEASONS if season in text)


class PhraseShares:
    """For each character run of PHRASE_LENGTHS within a line: the share of a set of poems that contain it."""

    def __init__(self, poems: Iterable[Sequence[str]], lengths: Sequence[int] = PHRASE_LENGTHS):
        self.lengths = tuple(lengths)
        self.counts: Counter[str] = Counter()
        self.poems = 0
        for poem in poems:
            self.poems += 1
            self.counts.update(phrases_of(poem, self.lengths))

    @classmethod
    def from_corpus(cls, corpus, split: str = "train") -> PhraseShares:
        """The regular-form poems of one split of a `poetry_rnn.corpus.Corpus` (the forms the generator
        writes), those with a lost character left out: the poets a generated set is compared with."""
        return cls(poem.lines for poem in corpus.split(split, forms=FORMS) if is_intact(poem.lines))

    def share(self, phrase: str) -> float:
        """The share of poems with `phrase`; one never seen counts as half a poem (no ratio is infinite)."""
        return max(self.counts[phrase], 0.5) / max(1, self.poems)


def phrases_of(poem: Sequence[str], lengths: Sequence[int] = PHRASE_LENGTHS) -> set[str]:
    """The distinct character runs of the given lengths within the poem's lines."""
    return {line[i : i + n] for n in lengths for line in poem for i in range(len(line) - n + 1)}


def overused_phrases(
    poems: Sequence[Sequence[str]],
    reference: PhraseShares,
    min_share: float = OVERUSE_MIN_SHARE,
    min_poems: int = OVERUSE_MIN_POEMS,
    ratio: float = OVERUSE_RATIO,
) -> dict[str, tuple[float, float]]:
    """Phrases `poems` use in at least `min_share` of them (and `min_poems`) and `ratio` times as often as
    the reference poems: phrase → (share in `poems`, share in the reference), most used first."""
    here = PhraseShares(poems, reference.lengths)
    found = {}
    for phrase, count in here.counts.items():
        share = count / here.poems
        if count >= min_poems and share >= min_share and share >= ratio * reference.share(phrase):
            found[phrase] = (share, reference.share(phrase))
    return dict(sorted(found.items(), key=lambda item: (-item[1][0], item[0])))


@dataclass
class QualityReport:
    """Repetition and diversity of a set of poems. Shares are fractions (0.056 = 5.6 %)."""

    poems: int
    lines: int
    lines_with_repeated_character: float  # share of lines; real Tang about 0.056
    lines_with_repeat_outside_reduplication: float  # share of lines
    reduplications_per_poem: float
    unattested_reduplications_per_poem: float | None  # None without reference slots
    split_word_reduplications_per_poem: float | None  # reduplications that split a word; None without slots
    poems_with_a_reduplication_twice: int  # the same reduplicated character twice in one poem
    poems_repeated_verbatim: int  # poems equal to an earlier poem of the set
    distinct_2: float  # distinct character bigrams within lines / all such bigrams
    poems_naming_two_seasons: float = 0.0  # share of poems
    repeated_characters: float = 0.0  # mean over poems of the share of characters repeating an earlier one
    overused_phrases: int | None = None  # None without reference poems
    poems_with_overused_phrase: float | None = None  # share of poems
    examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _check_poems(poems: Sequence[Sequence[str]]) -> list[list[str]]:
    checked = []
    for number, poem in enumerate(poems, 1):
        if isinstance(poem, str) or not all(isinstance(line, str) and line for line in poem) or not poem:
            raise UserError(f"poem {number} must be a non-empty list of non-empty lines, got {poem!r}")
        checked.append(list(poem))
    return checked


def distinct_n(poems: Sequence[Sequence[str]], n: int = 2) -> float:
    """Distinct character n-grams within lines over all n-grams within lines (0.0 when there are none)."""
    grams = [
        line[i : i + n] for poem in _check_poems(poems) for line in poem for i in range(len(line) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def measure(
    poems: Sequence[Sequence[str]],
    slots: ReduplicationSlots | None = None,
    reference: PhraseShares | None = None,
) -> QualityReport:
    """All repetition measures of `poems`; unattested and word-splitting reduplications only when `slots` is
    given, overused phrases only with `reference` (the phrase shares of the poems they are compared with)."""
    poems = _check_poems(poems)
    if not poems:
        raise UserError("no poems to measure")
    examples: dict[str, list[str]] = {
        "repeat_outside_reduplication": [],
        "unattested_reduplication": [],
        "split_word_reduplication": [],
        "reduplication_twice": [],
        "repeated_verbatim": [],
        "overused_phrase": [],
    }

    def note(kind: str, text: str) -> None:
        if len(examples[kind]) < MAX_EXAMPLES:
            examples[kind].append(text)

    lines = [line for poem in poems for line in poem]
    with_repeat = sum(has_repeated_character(line) for line in lines)
    outside = 0
    for line in lines:
        if repeats_outside_reduplication(line):
            outside += 1
            note("repeat_outside_reduplication", line)
    total_reduplications = unattested = split = twice = 0
    for poem in poems:
        chars: Counter[str] = Counter()
        for line in poem:
            for position in reduplications(line):
                total_reduplications += 1
                chars[line[position]] += 1
                if slots is not None and not slots.is_attested(line, position):
                    unattested += 1
                    note("unattested_reduplication", line)
                if slots is not None and slots.splits_word(line, position):
                    split += 1
                    note("split_word_reduplication", line)
        if any(count > 1 for count in chars.values()):
            twice += 1
            note("reduplication_twice", "，".join(poem))
    seen: set[tuple[str, ...]] = set()
    verbatim = 0
    for poem in poems:
        key = tuple(poem)
        if key in seen:
            verbatim += 1
            note("repeated_verbatim", "，".join(poem))
        seen.add(key)
    overused: dict[str, tuple[float, float]] | None = None
    with_overused = None
    if reference is not None:
        overused = overused_phrases(poems, reference)
        for phrase, (share, reference_share) in overused.items():
            note("overused_phrase", f"{phrase} {share:.1%} (reference {reference_share:.2%})")
        with_overused = sum(bool(phrases_of(poem, reference.lengths) & overused.keys()) for poem in poems)
    return QualityReport(
        poems=len(poems),
        lines=len(lines),
        lines_with_repeated_character=with_repeat / len(lines),
        lines_with_repeat_outside_reduplication=outside / len(lines),
        reduplications_per_poem=total_reduplications / len(poems),
        unattested_reduplications_per_poem=unattested / len(poems) if slots is not None else None,
        split_word_reduplications_per_poem=split / len(poems) if slots is not None else None,
        poems_with_a_reduplication_twice=twice,
        poems_repeated_verbatim=verbatim,
        distinct_2=distinct_n(poems, 2),
        poems_naming_two_seasons=sum(len(seasons_named(poem)) > 1 for poem in poems) / len(poems),
        repeated_characters=sum(map(repeated_share, poems)) / len(poems),
        overused_phrases=None if overused is None else len(overused),
        poems_with_overused_phrase=None if with_overused is None else with_overused / len(poems),
        examples=examples,
    )
