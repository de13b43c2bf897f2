"""The per-candidate decoding state: the text written so far, read as lines, and each rule's own state.

The state knows where lines end (at ，。) but no verse rule: each rule keeps its own typed state in
`rule_states`, under the rule object (see decoding.rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DecodingState:
    ids: list[int] = field(default_factory=list)  # pieces chosen so far (after the conditioning prefix)
    lines: list[str] = field(default_factory=list)  # finished lines, without punctuation
    line_text: str = ""  # the line being written
    finished: bool = False  # </s> written
    dead: bool = False  # no piece was allowed at some step (a dead end): the candidate is dropped
    logprob: float = 0.0  # sum of the model's log-probabilities of the chosen pieces
    steps: int = 0  # pieces that count towards the length-normalised score
    # rule object → that rule's state for this candidate (an immutable value: a rule replaces it, never
    # changes it in place, so that forked states can share it)
    rule_states: dict = field(default_factory=dict)

    # Kept by advance() (every rule asks for them at every step; fields are cheaper than properties):
    line: int = 0  # 0-based index of the line being written (= len(lines))
    position: int = 0  # characters already written in the current line (= len(line_text))

    def advance(self, piece_id: int, chars: str, is_line_end: bool) -> None:
        self.ids.append(piece_id)
        if is_line_end:
            self.lines.append(self.line_text)
            self.line_text = ""
            self.line, self.position = len(self.lines), 0
        else:
            self.line_text += chars
            self.position = len(self.line_text)

    def all_lines(self) -> list[str]:
        return self.lines + ([self.line_text] if self.line_text else [])

    def score(self) -> float:
        return self.logprob / max(1, self.steps)

    def copy(self) -> DecodingState:
        """An independent copy (beam search forks states). The rules' states are shared, not copied: they
        are immutable values."""
        return DecodingState(
            ids=list(self.ids),
            lines=list(self.lines),
            line_text=self.line_text,
            finished=self.finished,
            dead=self.dead,
            logprob=self.logprob,
            steps=self.steps,
            rule_states=dict(self.rule_states),
            line=self.line,
            position=self.position,
        )
