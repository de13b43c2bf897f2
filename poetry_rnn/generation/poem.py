"""GeneratedPoem: one poem the generator wrote, with its labels in the poem's own script.

What a reader sees of a result (its pattern, its rhyme group, its title, the verdict) is written in the
script of the poem (平起首句入韻 over a traditional poem), here once, so that Python, the command line and
the app's API show the same words. `str(poem)` is the poem and a one-line summary; `repr(poem)` is short
(the checker's full analysis is `poem.analysis`, its dictionary `poem.to_dict()`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from poetry_rnn.prosody.analysis import FAULT_NAMES_EN
from poetry_rnn.prosody.check import Analysis
from poetry_rnn.prosody.patterns import get_form
from poetry_rnn.script import to_traditional

__all__ = ["GeneratedPoem"]


@dataclass
class GeneratedPoem:
    lines: list[str]  # in the requested script
    text: str  # lines joined with ，。
    score: float  # mean log-probability per chosen piece under the model (dictated ones not counted)
    rhyme_group: str | None
    rhyme_group_label: str | None  # in the poem's script
    pattern: str | None  # e.g. 平起首句入韵 (平起首句入韻 for a traditional poem)
    seed: int
    analysis: Analysis  # the checker's analysis of `text`
    ok: bool  # no fault of the kinds the request asked to avoid
    form: str = ""
    rhyme_scheme: str = "pingshui"
    tone: str = "strict"
    script: str = "traditional"
    notes: list[str] = field(default_factory=list)  # e.g. that the originality check was off
    # Reranking (poetry_rnn.generation.rerank): relevance to the title and keywords (None without them),
    # and the score poems are ordered by (score + weighted relevance, 对仗 and plan); set once all are found.
    relevance: float | None = None
    rank_score: float | None = None
    # The plan (generation.plan): one keyword per couplet in the poem's script, and whether each couplet
    # contains its keyword; None without a plan.
    plan: list[str] | None = None
    plan_followed: list[bool] | None = None
    # Faults the checker finds of kinds the request did not ask to avoid (孤平 with tone "off", 出韵 with
    # rhyme "none"): `ok` holds all the same, but the poem is not 合律 in full.
    unasked_faults: list[str] = field(default_factory=list)
    title: str | None = None  # the request's title in the poem's script; None without one
    # the couplets asked to be parallel (对仗), by their first line (0-based): a 律诗's (2, 4) by default
    parallel_couplets: list[int] = field(default_factory=list)

    def in_script(self, label: str) -> str:
        """A label (written in simplified, as the rules name things) in the poem's script."""
        return to_traditional(label) if self.script == "traditional" else label

    def verdict(self) -> str:
        """合律 only for a poem with no fault at all; rules the request left out are named, not passed
        over. In the poem's script."""
        if not self.ok:
            return self.in_script("faults: " + "; ".join(_named(f.name) for f in self.analysis.faults))
        if self.unasked_faults:
            return self.in_script(
                "所求格律无误 the rules asked for hold; 未要求的 not asked for: "
                + "、".join(_named(name) for name in self.unasked_faults)
            )
        return self.in_script("合律 ok")

    def summary(self) -> str:
        """One line: form, pattern, rhyme group and the verdict, e.g. `七绝 · 平起首句入韵 · 下平七阳 · 合律 ok`."""
        form = self.in_script(get_form(self.form).chinese_name) if self.form else None
        parts = [form, self.pattern, self.rhyme_group_label, self.verdict()]
        return " · ".join(part for part in parts if part)

    def plain_text(self) -> str:
        """The poem to copy: 《title》 first when there is one, then one couplet a line."""
        lines = self.lines
        couplets = [
            lines[i] + "，" + (lines[i + 1] + "。" if i + 1 < len(lines) else "")
            for i in range(0, len(lines), 2)
        ]
        return "\n".join(([f"《{self.title}》"] if self.title else []) + couplets)

    def __str__(self) -> str:
        return f"{self.plain_text()}\n{self.summary()}"

    def __repr__(self) -> str:
        # the dataclass's own repr prints the whole analysis (thousands of characters)
        return (
            f"GeneratedPoem(form={self.form!r}, lines={self.lines!r}, score={self.score:.3f}, ok={self.ok!r})"
        )

    def to_dict(self) -> dict:
        return {
            "lines": self.lines,
            "text": self.text,
            "title": self.title,
            "score": round(self.score, 4),
            "relevance": None if self.relevance is None else round(self.relevance, 4),
            "rank_score": None if self.rank_score is None else round(self.rank_score, 4),
            "plan": self.plan,
            "plan_followed": self.plan_followed,
            "rhyme_group": self.rhyme_group,
            "rhyme_group_label": self.rhyme_group_label,
            "pattern": self.pattern,
            "seed": self.seed,
            "ok": self.ok,
            "unasked_faults": self.unasked_faults,
            "parallel_couplets": self.parallel_couplets,
            "form": self.form,
            "rhyme_scheme": self.rhyme_scheme,
            "tone": self.tone,
            "script": self.script,
            "notes": self.notes,
            "analysis": self.analysis.to_dict(),
        }


def _named(fault: str) -> str:
    """A fault's name with its English one: 出韵 (out of rhyme)."""
    english = FAULT_NAMES_EN.get(fault)
    return f"{fault} ({english.lower()})" if english else fault
