"""What the checker says of a character's reading, each note 'Chinese (English)': which reading of a
polyphone a line took (「看」取平（平仄两读）, 「长」读zhǎng（生长，仄）), a 新韵 line end read as its phrases
read it (「还」读huán), and a rhyme-book reading Tang verse hardly uses, left unused (不 as 平)."""

from __future__ import annotations

from poetry_rnn.prosody.modern import LINE_END, PHRASE, listed_readings, syllable
from poetry_rnn.prosody.rhyme import RhymeScheme
from poetry_rnn.prosody.tones import PING, tones_in_english
from poetry_rnn.script import to_simplified


def reading_note(scheme: RhymeScheme, line: str, index: int, tone: str | None = None) -> str | None:
    """Which reading of `line[index]` the analysis used, where its readings differ in tone; None where
    nothing needs saying. `tone` is the tone the position took (a pattern's demand).

    平水韵: for a polyphone, the tone the position took, 「看」取平（平仄两读）. 中华新韵: for a character with
    readings of both tone classes, the one read here and its tone class, 「长」读zhǎng（生长，仄）, 「看」读kàn（仄）,
    「长」读cháng（平） for a polyphone the line leaves open and the position takes as `tone`.
    """
    char = line[index]
    if not scheme.reads_in_context:
        tones = scheme.line_tones(line)[index]
        if len(tones) < 2 or tone not in tones:
            return None
        # the tone the pattern takes, not a claim about the sense (已乘 is chéng, 平, whatever it takes)
        return (
            f"「{char}」取{_class(tone)}（平仄两读） "
            f"({char} taken as {tones_in_english({tone})}: it has level and oblique readings)"
        )
    reading = scheme.heard(line)[index]
    # either script's entry (pypinyin lists 別 bié only, 别 bié and biè)
    both = listed_readings(char) + listed_readings(to_simplified(char)[:1] or char)
    listed = {s.tone for s in map(syllable, both) if s is not None}
    if len(listed) < 2 or not reading.syllables:
        return None
    if len(reading.syllables) > 1:
        taken = [s for s in reading.syllables if s.tone == tone]
        if not taken:
            return None
        return f"「{char}」读{taken[0].pinyin}（{_class(tone)}） ({char} read {taken[0].pinyin}, {tones_in_english({tone})})"
    # the tone class said too: a reader who knows 别 as 入声 learns that Mandarin reads it level
    phrase = reading.phrase if reading.source == PHRASE and reading.phrase else ""
    read_tone = reading.syllables[0].tone
    where, where_en = (f"{phrase}，", f", as in {phrase}:") if phrase else ("", ",")
    return (
        f"「{char}」读{reading.pinyin}（{where}{_class(read_tone)}） "
        f"({char} read {reading.pinyin}{where_en} {tones_in_english({read_tone})})"
    )


def rhyme_reading_note(scheme: RhymeScheme, line: str) -> str | None:
    """中华新韵: for a line-end character read as its phrases mostly read it, not in its standard reading
    (still rhyming apart: 还 huán 寒, not hái 开), that reading, 「还」读huán (还 read huán); None elsewhere."""
    if not scheme.reads_in_context or not line:
        return None
    last = scheme.heard(line)[-1]
    if last.source != LINE_END:
        return None
    return f"「{line[-1]}」读{last.pinyin} ({line[-1]} read {last.pinyin})"


def rare_reading_note(scheme: RhymeScheme, char: str) -> str | None:
    """For a character read without a reading the rhyme book lists but Tang regulated verse hardly uses
    (平水韵: 不 as 平, 空 as 仄): a note saying so; None for any other character."""
    rare = scheme.unused_tones(char)
    if not rare:
        return None
    rare_tone, usual_tone = ("平", "仄") if PING in rare else ("仄", "平")
    usual_english = "level" if usual_tone == "平" else "oblique"
    return (
        f"「{char}」此处按常读作{usual_tone}声：韵书虽另收{rare_tone}声一读，唐人律诗几乎不用 "
        f"({char} is read in its usual {usual_english} tone ({usual_tone}): the rhyme book also lists a "
        f"{rare_tone} reading, but Tang regulated verse hardly ever uses it)"
    )


def _class(tone: str) -> str:
    return "平" if tone == PING else "仄"


__all__ = ["rare_reading_note", "reading_note", "rhyme_reading_note"]
