"""The rule interface: what a rule allows, blocks and dictates for one candidate, and how it advances.

A rule is a small object (a logits processor) built once per request, or shared between requests with the
same settings. What it needs to remember per candidate is its own immutable state, kept in the candidate's
`DecodingState.rule_states` under the rule object; `advance` replaces that value, never changes it in place,
so that forked candidates (beam search) share it safely.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

import torch

from poetry_rnn.decoding.state import DecodingState
from poetry_rnn.decoding.vocabulary import VocabularyTables

# What `favoured` returns where a rule favours nothing: one shared, read-only empty mapping.
NO_BONUSES: Mapping[int, float] = MappingProxyType({})


class Rule:
    """Base class, and the kind for hard rules: a hard rule answers `mask` (and `shared_mask`, its cached
    form) and always holds. The other kinds are `SoftRule` (answers `blocked`) and `Preference` (answers
    `favoured`); both are `soft`, and yield where a `forcing` rule dictates the piece. The constraint set
    asks each kind only its own methods, and refuses a rule that answers another kind's
    (`check_rule_kind`): such an answer would never be asked for, or only by one of the two searches."""

    soft = False
    forcing = False

    def start(self, state: DecodingState) -> None:
        """Put this rule's state for a fresh candidate into `state` (nothing for a rule without state)."""

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        """Pieces allowed next (bool [V]); None = no restriction. Returned tensors are never mutated."""
        return None

    def forces(self, state: DecodingState) -> bool:
        """Whether this rule dictates the next piece (only meaningful for forcing rules)."""
        return False

    def blocked(self, state: DecodingState) -> Collection[int]:
        """Soft rules: the pieces this rule excludes next (empty: none). A soft rule blocks a few pieces of
        one candidate, so the constraint set takes them as a list rather than a mask."""
        return ()

    def favoured(self, state: DecodingState) -> Mapping[int, float]:
        """Soft preferences: pieces this rule favours next, each with a bonus added to its log-weight in the
        sampler (and to its score in beam search), never to the candidate's score; pieces other rules
        exclude stay excluded. Empty: none."""
        return NO_BONUSES

    def shared_mask(self, state: DecodingState) -> tuple[torch.Tensor | None, Collection[int]]:
        """Hard rules: the rule as a mask shared by every state in the same situation, and the few pieces it
        excludes on top of that for this state (`mask` is the two together). Penalties are cached by the
        masks' identity, so a rule whose mask would differ per candidate keeps that part out of it."""
        return self.mask(state), ()

    def advance(self, state: DecodingState, piece_id: int) -> None:
        """Replace this rule's state after `piece_id` was chosen (called before `state.advance`)."""


class SoftRule(Rule):
    """A rule that blocks a few pieces per candidate (`blocked`); its mask is built from them on demand."""

    soft = True

    def __init__(self, tables: VocabularyTables):
        self.tables = tables

    def mask(self, state: DecodingState) -> torch.Tensor | None:
        blocked = self.blocked(state)
        if not blocked:
            return None
        allowed = torch.ones(self.tables.vocab_size, dtype=torch.bool)
        allowed[list(blocked)] = False
        return allowed


class Preference(Rule):
    """A rule that favours some pieces (`favoured`, a bonus to their log-weights) and forbids nothing."""

    soft = True


_HARD_ONLY = ("mask", "shared_mask")
_SOFT_ONLY = ("blocked", "favoured")


def check_rule_kind(rule: Rule) -> None:
    """TypeError unless `rule` answers only what its kind is asked (see Rule): a hard rule `mask` or
    `shared_mask`; a SoftRule `blocked` (and `favoured`); a Preference `favoured` (and `blocked`)."""
    kind = type(rule)

    def answers(name: str) -> bool:
        own = getattr(kind, name)
        return own is not getattr(Rule, name) and own is not getattr(SoftRule, name, None)

    if rule.soft:
        wrong = [name for name in _HARD_ONLY if answers(name)]
        advice = "a soft rule is asked only `blocked` and `favoured`; make it a hard rule (soft = False)"
    else:
        wrong = [name for name in _SOFT_ONLY if answers(name)]
        advice = "a hard rule is asked only `mask` and `shared_mask`; derive it from SoftRule or Preference"
    if wrong:
        raise TypeError(f"{kind.__name__} defines {', '.join(wrong)}, which is never asked: {advice}")
