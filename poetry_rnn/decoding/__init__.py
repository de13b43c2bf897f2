"""Constrained decoding: vocabulary tables, the rules of verse as small objects (rules/), the constraint set
that turns them into one plan per step, the sampler and the search."""

from poetry_rnn.decoding.constraint_set import AllowedPieces, ConstraintSet, DeadEnd, StepPlan
from poetry_rnn.decoding.originality import CorpusLines, write_corpus_lines
from poetry_rnn.decoding.rules import (
    AcrosticRule,
    FormRule,
    OriginalityRule,
    PatternChoice,
    RepetitionRule,
    RhymeRule,
    Rule,
    ToneRule,
    remaining_patterns,
    rhyme_groups_left,
)
from poetry_rnn.decoding.search import SamplingOptions, beam_search, sample
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables

__all__ = [
    "AcrosticRule",
    "AllowedPieces",
    "ConstraintSet",
    "CorpusLines",
    "DeadEnd",
    "DecodingState",
    "FormRule",
    "OriginalityRule",
    "PatternChoice",
    "RepetitionRule",
    "RhymeRule",
    "Rule",
    "SamplingOptions",
    "StepPlan",
    "ToneRule",
    "VocabularyTables",
    "beam_search",
    "remaining_patterns",
    "rhyme_groups_left",
    "sample",
    "write_corpus_lines",
]
