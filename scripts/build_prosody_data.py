"""Build the data files of 中华新韵 readings and 平水韵 rhyme examples in poetry_rnn/prosody/data/.

    python scripts/build_prosody_data.py [--corpus ../shared/data/tang]

- xinyun_polyphones.json: the true modern polyphones (see poetry_rnn/prosody/modern.py): characters whose
  readings in pypinyin's phrase dictionary number at least MIN_PHRASES, the tone class other than the
  standard reading's taking at least OTHER_SHARE of them, leaving out those verse reads one way
  (modern.VERSE_READINGS: 侯 hóu, 塞 sài) and the neutral-tone particles (modern.NEUTRAL_PARTICLES: 的
  de, 着 zhe). Each maps to [standard, other] readings. And
  under "line_end", the level characters whose phrases mostly read them in another rhyme (还: hái
  standard, huán in 归还 还乡): the reading a line ends in. Under "standard", the characters whose phrases
  nearly all read them in another spelling of the standard reading's tone class and rhyme group (泊 bó,
  not pypinyin's first pō): their reading alone.
- pingshui_rhyme_use.json: for each level 平水韵 group, the characters that most often close a rhyme line
  (lines 2, 4, 6, 8) of a Tang 绝句/律诗 in the TRAIN split rhyming in that group, most used first: the
  group's common characters in the reading they are used with (不 is common, but rarely rhymes in 尤).
- pingshui_rare_readings.json: the tone classes the rhyme book lists for a character but Tang regulated verse
  hardly uses (不 as 平 fǒu, 空 and 中 as 仄). Counted in TRAIN-split 绝句/律诗 whose every line keeps the
  2-4-6 alternation and 粘对 as far as their one-tone characters show: where a two-tone character stands at
  a place whose tone the poem fixes (the 2nd, 4th, 6th character, except the second-to-last of a 仄-ending
  line, where 拗 is common; the last character of lines 2–8), the tone that place takes. A tone class taken
  in under RARE_SHARE of at least MIN_USES such places is rare: the scheme leaves it out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import clean_body, detect_form, split_of  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.prosody.modern import (  # noqa: E402
    NEUTRAL_PARTICLES,
    POLYPHONES_FILE,
    VERSE_READINGS,
    listed_readings,
    syllable,
)
from poetry_rnn.prosody.rhyme import (  # noqa: E402
    DATA_DIR,
    PING,
    RARE_READINGS_FILE,
    RHYME_USE_FILE,
    ZE,
    _load_pingshui,
    get_scheme,
    pingshui_book,
)
from poetry_rnn.script import normalize_variants, to_simplified, to_traditional  # noqa: E402

MIN_PHRASES = 10
OTHER_SHARE = 0.2
SAME_SOUND_SHARE = 0.8  # "standard": the phrases' reading that replaces pypinyin's first (泊 bó, 尽 jìn)
RHYME_USE_PER_GROUP = 40
MIN_USES = 100
RARE_SHARE = 0.01
# Whether line i of a quatrain or octave has the opposite 2nd-character tone to line 1 (对, then 粘).
_FLIPPED = (False, True, True, False, False, True, True, False)
_OTHER_TONE = {PING: ZE, ZE: PING}


def build_polyphones() -> dict:
    import pypinyin
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

    uses: dict[str, Counter[str]] = defaultdict(Counter)  # simplified character → reading → phrases
    for phrase, readings in PHRASES_DICT.items():
        for char, reading in zip(phrase, readings, strict=False):
            uses[char][reading[0]] += 1
    found: dict[str, list[str]] = {}
    line_end: dict[str, str] = {}
    usual: dict[str, str] = {}
    for code in sorted(PINYIN_DICT):
        char = chr(code)
        own = listed_readings(char)
        toned = [s for s in map(syllable, own) if s is not None]
        if not toned or char in VERSE_READINGS:  # verse reads it one way (modern.VERSE_READINGS)
            continue
        if char in NEUTRAL_PARTICLES:  # read in the neutral tone alone (of no tone class)
            continue
        standard = toned[0]
        counts = {r: n for r, n in uses[to_simplified(char)].items() if r in own and syllable(r) is not None}
        total = sum(counts.values())
        if total < MIN_PHRASES:
            continue
        readings = {r: syllable(r) for r in counts}
        other = {r: n for r, n in counts.items() if readings[r].tone != standard.tone}  # type: ignore[union-attr]
        if sum(other.values()) >= OTHER_SHARE * total:
            found[char] = [standard.pinyin, max(other, key=lambda r: (other[r], r))]
        elif standard.tone == PING:
            # both level, rhyming apart: at a line end the phrases' reading (还 huán, not hái)
            rhyming = {r: n for r, n in counts.items() if readings[r].tone == PING}  # type: ignore[union-attr]
            best = max(rhyming, key=lambda r: (rhyming[r], r), default=None)
            if best and readings[best].group != standard.group and rhyming[best] > total / 2:  # type: ignore[union-attr]
                line_end[char] = best
        # the same tone class and rhyme group, another spelling: the one the phrases have, where they
        # nearly all have it (泊 bó 停泊, not pō 湖泊; 尽 jìn, not jǐn), whatever the line (no verdict changes)
        alike = {
            r: n
            for r, n in counts.items()
            if readings[r].tone == standard.tone and readings[r].group == standard.group  # type: ignore[union-attr]
        }
        best = max(alike, key=lambda r: (alike[r], r), default=None)
        if (
            best
            and best != standard.pinyin
            and char not in found
            and char in (to_simplified(char), to_traditional(to_simplified(char)))  # 儘 is not 尽's 盡
            and sum(alike.values()) >= MIN_PHRASES
            and alike[best] >= SAME_SOUND_SHARE * sum(alike.values())
        ):
            usual[char] = best
    return {
        "about": (
            "True modern polyphones for 中华新韵 (poetry_rnn/prosody/modern.py): a character read alone, or "
            "outside any phrase of pypinyin's phrase dictionary, may take either reading. Built by "
            f"scripts/build_prosody_data.py from pypinyin {pypinyin.__version__}'s phrase dictionary: at "
            f"least {MIN_PHRASES} phrase readings, the other tone class at least {OTHER_SHARE:.0%} of them, "
            "less the characters verse reads one way (modern.VERSE_READINGS) and the neutral-tone "
            "particles (modern.NEUTRAL_PARTICLES). "
            "Value: [standard reading, commonest reading of the other tone class]. 'line_end': characters "
            "whose readings are all of one tone class but rhyme apart, where more than half the phrases "
            "read one level reading other than the standard one: a line ends in that reading (还 huán). "
            "'standard': characters read alone in another reading of the same tone class and rhyme group "
            f"than pypinyin's first, which at least {SAME_SOUND_SHARE:.0%} of those phrases have (泊 bó)."
        ),
        "readings": found,
        "line_end": line_end,
        "standard": usual,
    }


def train_poems(corpus_dir: Path):
    """The lines of each TRAIN-split Tang 绝句 or 律诗 of the corpus."""
    for path in sorted(corpus_dir.glob("poet.tang.*.json")):
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
        for record in records:
            lines, _ = clean_body(record.get("paragraphs"))
            if lines and detect_form(lines) != "other" and split_of(lines) == "train":
                yield lines


def build_rhyme_use(corpus_dir: Path) -> dict:
    scheme = get_scheme("pingshui")
    uses: dict[str, Counter[str]] = defaultdict(Counter)
    poems = 0
    for lines in train_poems(corpus_dir):
        ends = [line[-1] for line in lines[1::2]]
        votes = Counter(g for char in ends for g in scheme.rhyme_groups(char))
        if not votes:
            continue
        # a tie goes to the group earlier in the book, never to the order of a set (it follows the hash seed)
        group = max(votes, key=lambda g: (votes[g], -scheme.level_groups.index(g)))
        count = votes[group]
        if count < len(ends) - 1:  # no group most rhyme characters share: not a rhymed poem
            continue
        poems += 1
        for char in ends:
            if group in scheme.rhyme_groups(char):
                uses[group][char] += 1
    by_group = {
        group: "".join(c for c, _ in sorted(uses[group].items(), key=lambda kv: (-kv[1], kv[0])))[
            :RHYME_USE_PER_GROUP
        ]
        for group in scheme.level_groups
    }
    return {
        "about": (
            "平水韵 level groups → the characters that most often end a rhyme line of a Tang 绝句/律诗 rhyming "
            f"in that group (TRAIN split, {poems} poems), most used first. Built by "
            "scripts/build_prosody_data.py; used for the groups' example characters."
        ),
        "groups": by_group,
    }


def _poem_tones(lines: list[str], one_tone) -> str | None:
    """The tone of the first line's 2nd character, where the poem's one-tone characters show that every
    line alternates (2nd ≠ 4th = ≠ 6th), the lines keep 粘对 and the line ends their tones (lines 2, 4, 6, 8
    平, lines 3, 5, 7 仄); None for a poem that breaks any of that or shows nothing."""
    fixed = range(1, len(lines[0]), 2)
    first: set[str] = set()
    for index, line in enumerate(lines):
        for position in fixed:
            tone = one_tone(line[position])
            if tone is None:
                continue
            second = tone if position % 4 == 1 else _OTHER_TONE[tone]  # the line's 2nd-character tone
            first.add(_OTHER_TONE[second] if _FLIPPED[index] else second)
        end = one_tone(line[-1])
        if index and end is not None and end != (PING if index % 2 else ZE):
            return None
    return first.pop() if len(first) == 1 else None


def one_tone_reader(book) -> Callable[[str], str | None]:
    """char → its tone class where the rhyme book gives it only one, else None."""

    def one_tone(char: str) -> str | None:
        tones = book.tones(char)
        return next(iter(tones)) if len(tones) == 1 else None

    return one_tone


def metered_places(lines: list[str], one_tone) -> list[tuple[int, int, str]]:
    """(line, position, tone class) of each place whose tone the meter fixes, in a poem that keeps 2-4-6
    alternation and 粘对 (`_poem_tones`): the even characters, and the ends of lines 2 to 8; an unrhymed
    line's last but one is left out, 拗 being common there. Empty for any other poem."""
    first = _poem_tones(lines, one_tone)
    if first is None:
        return []
    found = []
    for index, line in enumerate(lines):
        second = _OTHER_TONE[first] if _FLIPPED[index] else first
        length = len(line)
        found += [
            (index, p, second if p % 4 == 1 else _OTHER_TONE[second])
            for p in range(1, length, 2)
            if not (p == length - 2 and index % 2 == 0)
        ]
        if index:
            found.append((index, length - 1, PING if index % 2 else ZE))
    return found


def build_rare_readings(corpus_dir: Path) -> dict:
    book = pingshui_book()
    one_tone = one_tone_reader(book)
    taken: dict[str, Counter[str]] = defaultdict(Counter)  # two-tone table character → tone → places
    poems = 0
    for lines in train_poems(corpus_dir):
        places = metered_places(lines, one_tone)
        poems += bool(places)
        for index, position, tone in places:
            char = lines[index][position]
            if len(book.table_tones(char)) == 2:
                taken[normalize_variants(char)][tone] += 1
    rare = {}
    for char in sorted(taken):
        total = sum(taken[char].values())
        for tone in (PING, ZE):
            if total >= MIN_USES and taken[char][tone] < RARE_SHARE * total:
                rare[char] = tone
    return {
        "about": (
            "平水韵 characters → the tone class the rhyme book lists but Tang regulated verse hardly uses; the "
            "scheme leaves those readings out (poetry_rnn/prosody/rhyme.py). Built by "
            f"scripts/build_prosody_data.py from {poems} TRAIN-split 绝句/律诗 that keep 2-4-6 alternation "
            f"and 粘对: at least {MIN_USES} places whose tone the poem fixes, under {RARE_SHARE:.0%} of them "
            "in this tone."
        ),
        "readings": rare,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "data" / "tang")
    args = parser.parse_args(argv)
    polyphones = build_polyphones()
    write_atomic(DATA_DIR / POLYPHONES_FILE, json.dumps(polyphones, ensure_ascii=False, indent=1) + "\n")
    print(f"{POLYPHONES_FILE}: {len(polyphones['readings'])} polyphones")
    rare = build_rare_readings(args.corpus)
    write_atomic(DATA_DIR / RARE_READINGS_FILE, json.dumps(rare, ensure_ascii=False, indent=1) + "\n")
    print(f"{RARE_READINGS_FILE}: {len(rare['readings'])} rare readings")
    _load_pingshui.cache_clear()  # rhyme use is counted with the rare readings left out
    rhyme_use = build_rhyme_use(args.corpus)
    write_atomic(DATA_DIR / RHYME_USE_FILE, json.dumps(rhyme_use, ensure_ascii=False, indent=1) + "\n")
    print(f"{RHYME_USE_FILE}: {rhyme_use['about']}")


if __name__ == "__main__":
    main()
