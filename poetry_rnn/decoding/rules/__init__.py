"""The rules of verse as decoding rules: one small object per rule, each with its own typed per-candidate
state (see base.Rule). A ConstraintSet combines them for a batch."""

from poetry_rnn.decoding.rules.acrostic import AcrosticRule
from poetry_rnn.decoding.rules.base import Preference, Rule, SoftRule, check_rule_kind
from poetry_rnn.decoding.rules.form import FormRule
from poetry_rnn.decoding.rules.heard import HeardLineRule
from poetry_rnn.decoding.rules.originality import OriginalityRule
from poetry_rnn.decoding.rules.parallel import FacingScores, ParallelRule, ParallelState
from poetry_rnn.decoding.rules.patterns import PatternChoice, PatternsLeft, remaining_patterns
from poetry_rnn.decoding.rules.phrases import OverusedPhraseRule
from poetry_rnn.decoding.rules.plan import PlanRule
from poetry_rnn.decoding.rules.repetition import LineRepetition, RepetitionRule, RepetitionState
from poetry_rnn.decoding.rules.reuse import ReuseRule
from poetry_rnn.decoding.rules.rhyme import RhymeRule, RhymeState, rhyme_groups_left
from poetry_rnn.decoding.rules.season import SeasonRule
from poetry_rnn.decoding.rules.tone import ToneRule, ToneState

__all__ = [
    "AcrosticRule",
    "FacingScores",
    "FormRule",
    "HeardLineRule",
    "LineRepetition",
    "OriginalityRule",
    "OverusedPhraseRule",
    "ParallelRule",
    "ParallelState",
    "PatternChoice",
    "PatternsLeft",
    "Preference",
    "PlanRule",
    "RepetitionRule",
    "RepetitionState",
    "ReuseRule",
    "RhymeRule",
    "RhymeState",
    "Rule",
    "SeasonRule",
    "SoftRule",
    "check_rule_kind",
    "ToneRule",
    "ToneState",
    "remaining_patterns",
    "rhyme_groups_left",
]
