"""The two tone classes of regulated verse, shared by every rhyme scheme."""

PING = "ping"  # 平: level tone
ZE = "ze"  # 仄: oblique tones (上 去 入 in the rhyme book; 3rd/4th tone in Mandarin)
TONES = (PING, ZE)

__all__ = ["PING", "TONES", "ZE"]
