"""Training throughput on this machine, in real (non-pad) characters per second, ours vs the reference.

    python scripts/bench_train.py [--seconds 60] [--threads 2]

The reference is the widely used CharRNN tutorial set-up from issue #3: a 2-layer LSTM (embedding 128,
hidden 256, full softmax), every poem padded to 125 characters and the loss taken on the padding too.
Ours is the CPU recipe (`--arch cpu`, the default): GRU 1x512, embedding 256, adaptive softmax, poems
batched by length (about 3,072 tokens a batch), through the training loop's own `train_step`; `--arch
shipped` is the shipped model's size (GRU 1x384), `--arch reference-size` the reference's own size (LSTM 2x256,
embedding 128) trained through our pipeline, which isolates what the pipeline gains. Both train on the same poems (regular forms of the train split)
for the same wall time, one after the other.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import torch

from poetry_rnn.corpus import FORMS, default_source, load_corpus
from poetry_rnn.model import ModelConfig, PoetryLM
from poetry_rnn.tokenizer import build_tokenizer
from poetry_rnn.training.data import collate, make_batches
from poetry_rnn.training.loop import train_step

# Our set-ups: "cpu" is the recipe of the README's 40-minute CPU run (and of scripts/compare_models.py);
# "shipped" the shipped model's size (trained on a GPU); "reference-size" the reference's own size trained
# through our pipeline, which isolates what the pipeline gains.
ARCHES = {
    "cpu": {"model": {"num_layers": 1, "hidden_size": 512, "dropout": 0.0}, "batch_tokens": 3072},
    "shipped": {"model": {"num_layers": 1, "hidden_size": 384, "dropout": 0.2}, "batch_tokens": 16384},
    "reference-size": {"model": {"cell": "lstm", "embedding_dim": 128, "hidden_size": 256, "dropout": 0.0},
                       "batch_tokens": 3072},
}  # fmt: skip


class ReferenceCharRNN(torch.nn.Module):
    def __init__(self, vocab_size: int):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, 128)
        self.rnn = torch.nn.LSTM(128, 256, 2, batch_first=True)
        self.output = torch.nn.Linear(256, vocab_size)

    def forward(self, inputs):
        return self.output(self.rnn(self.embedding(inputs))[0])


def measure(step, batches, seconds: float) -> tuple[float, int]:
    step(batches[0])  # warm-up
    chars, started, index = 0, time.perf_counter(), 1
    while time.perf_counter() - started < seconds:
        chars += step(batches[index % len(batches)])
        index += 1
    return chars / (time.perf_counter() - started), index - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=default_source())
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arch", choices=tuple(ARCHES), default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    corpus = load_corpus(args.source)
    tokenizer, _ = build_tokenizer("char", corpus)
    poems = [p for p in corpus.split("train") if p.form in FORMS]
    sequences = [
        [tokenizer.form_id(p.form), tokenizer.bos_id, *tokenizer.encode(p.body), tokenizer.eos_id]
        for p in poems
    ]

    # ours: length-bucketed batches, no padding to speak of, through the training loop's own step
    arch = ARCHES[args.arch]
    config = ModelConfig(vocab_size=tokenizer.vocab_size, **arch["model"])
    model = PoetryLM(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ours_batches = [
        [sequences[i] for i in batch]
        for batch in make_batches(sequences, arch["batch_tokens"], random.Random(0))
    ]

    def ours_step(batch) -> int:
        inputs, targets = collate(batch, tokenizer.pad_id)
        train_step(model, optimizer, inputs, targets, clip=1.0)
        return int((targets != -100).sum())

    # reference: every poem padded to 125, loss over the padding as well
    reference = ReferenceCharRNN(tokenizer.vocab_size).train()
    reference_optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)
    shuffled = sequences[:]
    random.Random(0).shuffle(shuffled)
    reference_batches = [shuffled[i : i + 64] for i in range(0, len(shuffled) - 64, 64)]

    def reference_step(batch) -> int:
        padded = torch.full((len(batch), 126), tokenizer.pad_id, dtype=torch.long)
        for row, sequence in enumerate(batch):
            padded[row, : min(126, len(sequence))] = torch.tensor(sequence[:126])
        logits = reference(padded[:, :-1])
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), padded[:, 1:].reshape(-1)
        )
        reference_optimizer.zero_grad()
        loss.backward()
        reference_optimizer.step()
        return int((padded[:, 1:] != tokenizer.pad_id).sum())  # real characters only

    ours_rate, ours_steps = measure(ours_step, ours_batches, args.seconds)
    reference_rate, reference_steps = measure(reference_step, reference_batches, args.seconds)
    result = {
        "arch": args.arch,
        "threads": args.threads,
        "seconds_each": args.seconds,
        "ours_chars_per_s": round(ours_rate),
        "ours_steps": ours_steps,
        "reference_chars_per_s": round(reference_rate),
        "reference_steps": reference_steps,
        "speedup": round(ours_rate / reference_rate, 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
