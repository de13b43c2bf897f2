"""Growing a trained model: more recurrent units, the same predictions.

`widen` returns a copy of a `PoetryLM` with a larger hidden size that computes exactly the distribution the
original computes. The new units start from the usual random initialisation, but everything that reads them
(the old units' recurrent weights, the next layer, the output layer) starts at zero; training then finds uses
for them. A larger network so begins where a trained one stands instead of from nothing, which matters where
compute is short (a CPU): the shipped model took hundreds of millions of characters to reach its perplexity.
"""

from __future__ import annotations

import dataclasses

import torch

from poetry_rnn.errors import UserError
from poetry_rnn.model.lm import PoetryLM


def widen(model: PoetryLM, hidden_size: int, seed: int = 0) -> PoetryLM:
    """`model` with `hidden_size` units per recurrent layer (at least its own), same predictions, eval mode;
    the tokenizer is shared."""
    old_size = model.config.hidden_size
    if not isinstance(hidden_size, int) or hidden_size < old_size:
        raise UserError(
            f"a model can only be widened: it has {old_size} hidden units, asked for {hidden_size!r}",
            field="hidden_size",
        )
    torch.manual_seed(seed)
    wider = PoetryLM(dataclasses.replace(model.config, hidden_size=hidden_size))
    old_tensors = model.state_dict()
    new_tensors = wider.state_dict()
    with torch.no_grad():
        for name, new in new_tensors.items():
            _embed_old(new, old_tensors[name].to(new.dtype), gate_blocks=_gate_blocks(model, name))
    wider.tokenizer = model.tokenizer
    wider.eval()
    return wider


def _gate_blocks(model: PoetryLM, name: str) -> int:
    """How many gate blocks a tensor stacks along its first dimension (GRU 3, LSTM 4, else 1)."""
    if not name.startswith("rnn."):
        return 1
    return 3 if model.config.cell == "gru" else 4


def _embed_old(new: torch.Tensor, old: torch.Tensor, gate_blocks: int) -> None:
    """Copy `old` into the leading rows (per gate block) and columns of `new`, in place, and zero what the
    old rows read from new columns, so the old outputs do not change. New rows keep their initialisation."""
    if new.shape == old.shape:
        new.copy_(old)
        return
    old_rows, new_rows = old.shape[0] // gate_blocks, new.shape[0] // gate_blocks
    for block in range(gate_blocks):
        target = new[block * new_rows : block * new_rows + old_rows]
        source = old[block * old_rows : (block + 1) * old_rows]
        if new.dim() == 1:
            target.copy_(source)
            continue
        target[:, : old.shape[1]] = source
        target[:, old.shape[1] :] = 0.0
