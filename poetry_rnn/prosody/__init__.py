"""Prosody: rhyme schemes (平水韵, 中华新韵), tone patterns of regulated verse, 对仗, and the 格律 checker.

Shared by the decoder (constraints) and the checker; nothing here imports torch, so `check` starts fast.
"""

from poetry_rnn.prosody.parallel import (
    CoupletVerdict,
    FacingPair,
    couplet_kind,
    couplet_scores,
    judge_couplet,
    judge_lines,
    score_second_lines,
)
from poetry_rnn.prosody.patterns import (
    FORMS,
    LINE_TEMPLATES,
    LINE_TYPES,
    Form,
    TonePattern,
    allowed_tones,
    get_form,
    is_gu_ping,
    is_san_ping_wei,
    tone_patterns,
)
from poetry_rnn.prosody.rhyme import PING, ZE, RhymeScheme, get_scheme

__all__ = [
    "CoupletVerdict",
    "FacingPair",
    "couplet_kind",
    "couplet_scores",
    "judge_couplet",
    "judge_lines",
    "score_second_lines",
    "FORMS",
    "LINE_TEMPLATES",
    "LINE_TYPES",
    "PING",
    "ZE",
    "Form",
    "RhymeScheme",
    "TonePattern",
    "allowed_tones",
    "get_form",
    "get_scheme",
    "is_gu_ping",
    "is_san_ping_wei",
    "tone_patterns",
]
