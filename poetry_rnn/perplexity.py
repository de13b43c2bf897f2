"""Character perplexity of a model on a corpus — defined so numbers compare across tokenizers and systems.

For each poem the body is, by default, the cleaned one the model trains on and is validated on: its lines
in the canonical layout (poetry_rnn.format.render_body), variant notes and odd punctuation gone, variant
glyphs mapped to the standard ones (`bodies="clean"`). `bodies="raw"` scores "".join(paragraphs) exactly as in
the file instead: its variant glyphs, notes and stray punctuation mostly fall out of the vocabulary, so that
figure measures the file's noise as much as the model (kept to compare with earlier reports).
The model reads `[source tag] [form tag] <s>` — the source tag only in a model co-trained on several
corpora, its primary source's (`<tang>`, as generation gives it); the body's own form; no title, no
keywords — then the body, and is scored on every body token and the end marker. The negative
log-likelihood is summed over all of them (a piece's NLL counts once for all the characters it covers) and
    char_ppl = exp(NLL / (chars + poems)),   bits_per_char = NLL / (chars + poems) / ln 2.
`chars` counts the body's punctuation too (the model writes it), and `poems` the end markers. In the
canonical layout the model predicts both at almost no cost (about one token in six), so `hanzi_ppl`, over
the Chinese characters alone, is given beside it: exp(NLL of the character tokens / their number).
A character outside the model's vocabulary is scored as `<unk>`, which is easier to predict than the
character itself would be: `oov` says how many there were, so that figures with many can be read with care.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from poetry_rnn.cleaning import FORMS, clean_body, detect_form, shares_most_lines, split_of
from poetry_rnn.corpus import load_rows
from poetry_rnn.format import conditioning_ids, render_body
from poetry_rnn.tokenizer.base import PUNCTUATION


def conditioning_text(tokenizer) -> str:
    """The prefix each body is scored after, in words (reported beside the figure): a model of several
    corpora reads its primary source's tag first, a single-corpus model has none."""
    form = "the body's own form tag"
    if tokenizer.primary_source:
        tag = tokenizer.id_to_piece(tokenizer.source_prefix()[0])
        return f"{tag} (the primary source's tag), then {form} (no title, no keywords)"
    return f"{form} only (no title, no keywords)"


@dataclass
class Scored:
    poems: int
    chars: int
    oov: int
    nll: float
    conditioning: str  # conditioning_text of the tokenizer scored with
    hanzi: int = 0  # the Chinese characters among `chars` (punctuation left out)
    hanzi_nll: float = 0.0  # the NLL of their tokens
    per_poem: tuple[tuple[int, float, int, float], ...] = ()  # (chars, nll, hanzi, hanzi_nll) of each body

    def as_dict(self) -> dict:
        denominator = max(1, self.chars + self.poems)
        return {
            "poems": self.poems,
            "chars": self.chars,
            "oov": self.oov,
            "nll": round(self.nll, 3),
            "char_ppl": round(math.exp(self.nll / denominator), 3),
            "bits_per_char": round(self.nll / denominator / math.log(2), 4),
            "hanzi_ppl": round(math.exp(self.hanzi_nll / max(1, self.hanzi)), 3),
            "conditioning": self.conditioning,
        }

    def subset(self, keep: Sequence[bool]) -> Scored:
        """The figures of the bodies `keep` marks (in the order they were scored), without their oov."""
        kept = [row for row, wanted in zip(self.per_poem, keep, strict=True) if wanted]
        return Scored(
            poems=len(kept),
            chars=sum(row[0] for row in kept),
            oov=0,
            nll=sum(row[1] for row in kept),
            conditioning=self.conditioning,
            hanzi=sum(row[2] for row in kept),
            hanzi_nll=sum(row[3] for row in kept),
            per_poem=tuple(kept),
        )


@torch.no_grad()
def score_bodies(
    model,
    tokenizer,
    bodies: Sequence[tuple[str, str]],
    batch_tokens: int = 16384,
    device: str | torch.device = "cpu",
    forward=None,
) -> Scored:
    """Score (body, form) pairs. Batches sequences of similar length; padding is masked out.
    `forward` ([B, T] ids → (output, state)): what computes the outputs, the model itself by default (a
    stepper's forward to score at its precision)."""
    model.eval()
    forward = forward or model
    sequences, chars, oov = [], 0, 0
    # the pieces that are not Chinese characters: punctuation and the end marker (hanzi_ppl leaves them out)
    not_hanzi = torch.tensor(
        [tokenizer.eos_id, *(i for i, piece in enumerate(tokenizer.pieces) if piece in PUNCTUATION)]
    )
    for body, form in bodies:
        prefix = conditioning_ids(tokenizer, form=form)
        body_ids = tokenizer.encode(body)
        oov += sum(1 for i in body_ids if i == tokenizer.unk_id)
        chars += len(body)
        sequences.append((prefix, [*body_ids, tokenizer.eos_id]))
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i][0]) + len(sequences[i][1]))
    poem_nll = [0.0] * len(sequences)
    poem_hanzi_nll = [0.0] * len(sequences)
    start = 0
    while start < len(order):
        end = start + 1  # grow the batch while it stays within the token budget (sorted: last is longest)
        while end < len(order) and (end + 1 - start) * sum(map(len, sequences[order[end]])) <= batch_tokens:
            end += 1
        rows = order[start:end]
        batch = [sequences[i] for i in rows]
        start = end
        width = max(len(p) + len(b) for p, b in batch)
        inputs = torch.full((len(batch), width - 1), tokenizer.pad_id, dtype=torch.long)
        targets = torch.full((len(batch), width - 1), -100, dtype=torch.long)
        for row, (prefix, body_ids) in enumerate(batch):
            sequence = prefix + body_ids
            inputs[row, : len(sequence) - 1] = torch.tensor(sequence[:-1])
            # only the body tokens and </s> are scored, not the conditioning prefix
            targets[row, len(prefix) - 1 : len(sequence) - 1] = torch.tensor(body_ids)
        logits, _ = forward(inputs.to(device))
        losses = torch.nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            targets.to(device).reshape(-1),
            ignore_index=-100,
            reduction="none",
        ).reshape(targets.shape)
        hanzi_losses = losses.cpu() * ~torch.isin(targets, not_hanzi)  # (padding's losses are 0)
        for row, index in enumerate(rows):
            poem_nll[index] = float(losses[row].sum())
            poem_hanzi_nll[index] = float(hanzi_losses[row].sum())
    counted = [sum(1 for c in body if c not in PUNCTUATION) for body, _ in bodies]
    return Scored(
        poems=len(sequences),
        chars=chars,
        oov=oov,
        nll=sum(poem_nll),
        conditioning=conditioning_text(tokenizer),
        hanzi=sum(counted),
        hanzi_nll=sum(poem_hanzi_nll),
        per_poem=tuple(
            (len(body), nll, hanzi, hanzi_nll)
            for (body, _), nll, hanzi, hanzi_nll in zip(
                bodies, poem_nll, counted, poem_hanzi_nll, strict=True
            )
        ),
    )


BODIES = ("clean", "raw")
_LINE_ENDS = re.compile(f"[{PUNCTUATION}]")


def evaluation_bodies(
    source: str,
    split: str | None = "test",
    forms: Sequence[str] | None = FORMS,
    columns: dict | None = None,
    bodies: str = "clean",
) -> list[tuple[str, str]]:
    """(body, form) for the poems of one split, the body cleaned or raw (module docstring); split and form
    come from the cleaned body, as in training. Exact duplicate bodies are scored once."""
    if bodies not in BODIES:
        raise ValueError(f"bodies must be one of {BODIES}, not {bodies!r}")
    rows = load_rows(source, columns)
    seen, scored = set(), []
    titles_free = rows.select_columns(["body"])
    for raw in titles_free.data.column("body").to_pylist():
        lines, _reason = clean_body(raw)
        if not lines:
            continue
        form = detect_form(lines)
        if (split and split_of(lines) != split) or (forms and form not in forms):
            continue
        if bodies == "clean":
            body = render_body(lines)
        else:
            body = raw if isinstance(raw, str) else "".join(raw)
        if body in seen:
            continue
        seen.add(body)
        scored.append((body, form))
    return scored


def train_lines(source: str, columns: dict | None = None) -> set[str]:
    """The lines of the train split's cleaned poems (every form), to tell which held-out poems nearly copy
    one (`is_near_copy`)."""
    found: set[str] = set()
    for raw in load_rows(source, columns).select_columns(["body"]).data.column("body").to_pylist():
        lines, _reason = clean_body(raw)
        if lines and split_of(lines) == "train":
            found.update(lines)
    return found


def is_near_copy(body: str, known_lines: set[str]) -> bool:
    """Whether a body nearly copies the poems `known_lines` come from (`cleaning.shares_most_lines`, the rule
    that keeps such Song poems out of co-training)."""
    lines = {line for line in _LINE_ENDS.split(body) if line}
    return shares_most_lines(len(lines & known_lines), len(lines))


def corpus_bodies(corpus, split: str, forms: Sequence[str] = FORMS) -> list[tuple[str, str]]:
    """(clean body, form) of a cleaned corpus's poems of one split, each body once: what
    `evaluation_bodies(..., bodies="clean")` gives for the raw corpus the cleaned one came from."""
    seen, scored = set(), []
    for poem in corpus.split(split, forms):
        if poem.body not in seen:
            seen.add(poem.body)
            scored.append((poem.body, poem.form))
    return scored
