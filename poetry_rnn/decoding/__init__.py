"""Constrained decoding: vocabulary tables, composable constraints (logits processors) and search."""

from poetry_rnn.decoding.constraints import (
    AcrosticConstraint,
    Constraint,
    ConstraintSet,
    FormConstraint,
    OriginalityConstraint,
    RepetitionConstraint,
    RhymeConstraint,
    ToneConstraint,
)
from poetry_rnn.decoding.originality import CorpusLines, write_corpus_lines
from poetry_rnn.decoding.search import SamplingOptions, beam_search, sample
from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.tables import VocabularyTables

__all__ = [
    "AcrosticConstraint",
    "Constraint",
    "ConstraintSet",
    "CorpusLines",
    "DecodingState",
    "FormConstraint",
    "OriginalityConstraint",
    "RepetitionConstraint",
    "RhymeConstraint",
    "SamplingOptions",
    "ToneConstraint",
    "VocabularyTables",
    "beam_search",
    "sample",
    "write_corpus_lines",
]
