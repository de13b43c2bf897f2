"""The two tone classes of regulated verse, shared by every rhyme scheme."""

PING = "ping"  # 平: level tone
ZE = "ze"  # 仄: oblique tones (上 去 入 in the rhyme book; 3rd/4th tone in Mandarin)
TONES = (PING, ZE)


def tones_in_english(tones: frozenset[str] | set[str]) -> str:
    """A character's tones in English: level, oblique, or level or oblique (a character of two readings)."""
    return " or ".join(word for tone, word in ((PING, "level"), (ZE, "oblique")) if tone in tones) or "unread"


__all__ = ["PING", "TONES", "ZE", "tones_in_english"]
