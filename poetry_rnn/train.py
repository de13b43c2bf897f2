"""Training: one explicit loop, readable top to bottom.

    python -m poetry_rnn train --out runs/gru512 --max-minutes 40
    torchrun --nproc_per_node=2 -m poetry_rnn train --out runs/ddp ...   (data-parallel, same script)

No compute on padding: each batch holds poems of (nearly) the same length. AdamW, warm-up + cosine
learning rate, gradient clipping, validation perplexity every epoch, early stopping. A checkpoint is
written every epoch, every few minutes and on SIGINT/SIGTERM, atomically; `--resume` continues exactly
where it stopped (model, optimizer, schedule, random state, data order), so a resumed run ends with the
same weights as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from poetry_rnn.corpus import FORMS, ConditioningDropout, Poem, load_corpus
from poetry_rnn.errors import UserError
from poetry_rnn.evaluate import score_bodies
from poetry_rnn.files import write_atomic
from poetry_rnn.model import ModelConfig, PoetryLM
from poetry_rnn.prepared import is_prepared, read_prepared
from poetry_rnn.tokenizer import build_tokenizer, load_tokenizer


def default_source() -> str:
    return str(Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tang")


@dataclass
class TrainConfig:
    source: str = ""
    out: str = "runs/default"
    tokenizer: str = "char"  # char | sentencepiece
    script: str = "traditional"  # traditional (as the corpus) | simplified (converted with OpenCC)
    min_count: int = 2
    sp_vocab_size: int = 8192
    cell: str = "gru"
    embedding_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.1
    output_layer: str = "adaptive"  # adaptive | tied | full
    keywords: bool = False  # condition on jieba keywords of each poem (cached per corpus)
    # "all": every poem of the train split; "regular": only 五绝 七绝 五律 七律, the forms the generator writes
    train_forms: str = "all"
    batch_tokens: int = 6144  # target (non-pad) tokens per batch
    max_len: int = 200  # longer sequences are cut
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    clip: float = 1.0
    epochs: int = 20
    max_minutes: float = 0.0  # time budget; the cosine schedule is fitted to it (0 = by epochs)
    # "wall": clock time. "cpu": this process's CPU time divided by its threads — equals wall time on an idle
    # machine, and keeps runs comparable when other work shares the CPU.
    budget_clock: str = "wall"
    patience: int = 3  # epochs without validation improvement before stopping
    checkpoint_minutes: float = 5.0
    seed: int = 1234
    threads: int = 0
    device: str = "auto"
    valid_limit: int = 0  # validate on at most this many poems (0 = whole valid split)
    max_steps: int = 0  # stop after this many optimizer steps (tests)
    max_tokens: int = 0  # stop after this many training tokens; the cosine schedule is fitted to it


CHOICES = {
    "tokenizer": ("char", "sentencepiece"),
    "script": ("traditional", "simplified"),
    "cell": ("gru", "lstm"),
    "output_layer": ("adaptive", "tied", "full"),
    "budget_clock": ("wall", "cpu"),
    "train_forms": ("all", "regular"),
}
AT_LEAST = {"min_count": 1, "sp_vocab_size": 64, "batch_tokens": 1, "max_len": 8, "epochs": 1, "patience": 1,
            "warmup_steps": 0, "weight_decay": 0, "min_lr_ratio": 0, "max_minutes": 0, "threads": 0,
            "valid_limit": 0, "max_steps": 0, "max_tokens": 0}  # fmt: skip
ABOVE_ZERO = ("lr", "clip", "checkpoint_minutes")


def check_config(config: TrainConfig) -> None:
    """Refuse settings that cannot work before any data is read, not after an hour of training."""
    kinds = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
    for item in fields(TrainConfig):
        value, kind = getattr(config, item.name), str(item.type)
        if kind not in kinds:  # a field of another type checks itself
            continue
        if not isinstance(value, kinds[kind]) or (isinstance(value, bool) and kind != "bool"):
            raise UserError(f"{item.name} must be of type {kind}, got {value!r}", field=item.name)
        if kind == "float" and not math.isfinite(value):
            raise UserError(f"{item.name} must be a finite number, got {value!r}", field=item.name)
    for name, allowed in CHOICES.items():
        if getattr(config, name) not in allowed:
            raise UserError(
                f"{name} must be one of {', '.join(allowed)}, got {getattr(config, name)!r}", field=name
            )
    for name, low in AT_LEAST.items():
        if getattr(config, name) < low:
            raise UserError(f"{name} must be at least {low}, got {getattr(config, name)!r}", field=name)
    for name in ABOVE_ZERO:
        if not getattr(config, name) > 0:
            raise UserError(f"{name} must be above 0, got {getattr(config, name)!r}", field=name)
    if not 0 <= config.dropout < 1:
        raise UserError(f"dropout must be in [0, 1), got {config.dropout!r}", field="dropout")


# ---------------------------------------------------------------- data


def make_batches(examples: list[list[int]], batch_tokens: int, rng: random.Random) -> list[list[int]]:
    """Indices of examples grouped by length (so padding is negligible), batch order shuffled."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i]), rng.random()))
    batches, current = [], []
    for index in order:
        if current and (len(current) + 1) * len(examples[index]) > batch_tokens:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(examples: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(e) for e in examples)
    inputs = torch.full((len(examples), width - 1), pad_id, dtype=torch.long)
    targets = torch.full((len(examples), width - 1), -100, dtype=torch.long)
    for row, example in enumerate(examples):
        sequence = torch.tensor(example)
        inputs[row, : len(example) - 1] = sequence[:-1]
        targets[row, : len(example) - 1] = sequence[1:]
    return inputs, targets


def encode_poems(
    poems: list[Poem], tokenizer, keywords: dict[str, list[str]] | None, max_title_chars: int = 12
) -> list[tuple[int, list[int], list[int], list[int]]]:
    """Encode each poem once: (form tag id, title ids, keyword ids, body ids + </s>)."""
    encoded = []
    for poem in poems:
        title = tokenizer.encode(poem.title[:max_title_chars]) if poem.title else []
        keyword_ids = [i for word in (keywords or {}).get(poem.body, []) for i in tokenizer.encode(word)]
        encoded.append(
            (
                tokenizer.form_id(poem.form),
                title,
                keyword_ids,
                [*tokenizer.encode(poem.body), tokenizer.eos_id],
            )
        )
    return encoded


def epoch_examples(
    encoded: list[tuple[int, list[int], list[int], list[int]]],
    tokenizer,
    seed: int,
    epoch: int,
    max_len: int,
    dropout: ConditioningDropout | None = None,
) -> list[list[int]]:
    """The epoch's training sequences `[form] [<title> title] [<kw> keywords] <s> body </s>`, with each
    conditioning part dropped at random (reproducibly per epoch) so that each is optional at inference."""
    rng = random.Random(f"{seed}-examples-{epoch}")
    dropout = dropout or ConditioningDropout()
    examples = []
    for form_id, title, keyword_ids, body in encoded:
        ids = [form_id] if rng.random() >= dropout.form else []
        if title and rng.random() >= dropout.title:
            ids += [tokenizer.title_id, *title]
        if keyword_ids and rng.random() >= dropout.keywords:
            ids += [tokenizer.keywords_id, *keyword_ids]
        ids += [tokenizer.bos_id, *body]
        examples.append(ids[:max_len])
    return examples


def train_step(
    trained: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    clip: float,
    autocast=None,
) -> torch.Tensor:
    """One optimizer step on one batch; returns the loss. (scripts/bench_train.py times this very function.)
    The model computes its own loss: the adaptive output layer then scores only the cluster each target
    falls in, not the whole vocabulary (1.4x the characters per second on a CPU)."""
    if autocast is not None:
        with autocast:
            loss = trained(inputs, targets=targets)
    else:
        loss = trained(inputs, targets=targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trained.parameters(), clip)
    optimizer.step()
    return loss


# ---------------------------------------------------------------- schedule


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps))
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(run_dir: Path, model: PoetryLM, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Write checkpoint/ atomically: build it beside, then swap directories (the old one survives a crash)."""
    from safetensors.torch import save

    final, staging, previous = run_dir / "checkpoint", run_dir / "checkpoint.tmp", run_dir / "checkpoint.old"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging)
    optimizer_state = optimizer.state_dict()
    tensors = {}
    for param_id, param_state in optimizer_state["state"].items():
        for key, value in param_state.items():
            tensors[f"{param_id}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    write_atomic(staging / "optimizer.safetensors", save(tensors))
    state = dict(state, param_groups=optimizer_state["param_groups"], python_rng=random.getstate())
    write_atomic(staging / "state.json", json.dumps(state, ensure_ascii=False))
    if final.exists():
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(final, previous)
    os.replace(staging, final)
    shutil.rmtree(previous, ignore_errors=True)


def find_checkpoint(run_dir: Path) -> Path | None:
    for name in ("checkpoint", "checkpoint.old"):  # .old exists only if a crash hit the swap
        candidate = run_dir / name
        if (candidate / "state.json").is_file() and (candidate / "optimizer.safetensors").is_file():
            return candidate
    return None


def load_checkpoint(path: Path, model: PoetryLM, optimizer: torch.optim.Optimizer) -> dict:
    from safetensors.torch import load_file

    from poetry_rnn.model import read_weights

    model.load_state_dict(read_weights(path, model))
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    tensors = load_file(str(path / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("rng.torch"))
    optimizer_state: dict = {"state": {}, "param_groups": state.pop("param_groups")}
    for name, tensor in tensors.items():
        param_id, key = name.split(".", 1)
        optimizer_state["state"].setdefault(int(param_id), {})[key] = tensor
    optimizer.load_state_dict(optimizer_state)
    python_rng = state.pop("python_rng")
    random.setstate((python_rng[0], tuple(python_rng[1]), python_rng[2]))
    return state


# ---------------------------------------------------------------- run folder


def check_writable(run_dir: Path, needed_bytes: int) -> None:
    """Fail at the start, not after an hour: the folder must be writable with room for checkpoints."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"0" * 1024)
        probe.unlink()
    except OSError as error:
        raise UserError(f"output folder {run_dir} is not writable ({error.strerror})", field="out") from None
    free = shutil.disk_usage(run_dir).free
    if free < needed_bytes:
        raise UserError(
            f"output folder {run_dir} has {free / 1e6:.0f} MB free; checkpoints need about "
            f"{needed_bytes / 1e6:.0f} MB",
            field="out",
        )


def trim_metrics(path: Path, step: int) -> None:
    """Keep the records up to the checkpoint's step: a resumed run logs the later steps again (and a
    killed run may have left half a line)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue
    write_atomic(path, "".join(kept))


def plot_curves(run_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line]
    train = [r for r in records if r["kind"] == "train"]
    valid = [r for r in records if r["kind"] == "valid"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([r["minutes"] for r in train], [r["loss"] for r in train], lw=0.8)
    left.set(xlabel="minutes", ylabel="training loss (nats/token)", title="training loss")
    right.plot([r["minutes"] for r in valid], [r["char_ppl"] for r in valid], marker="o")
    right.set(xlabel="minutes", ylabel="char perplexity", title="validation perplexity", yscale="log")
    figure.tight_layout()
    temp = run_dir / ".curves.png.tmp"
    figure.savefig(temp, format="png", dpi=90)
    plt.close(figure)
    os.replace(temp, run_dir / "curves.png")


# ---------------------------------------------------------------- main loop


def pick_device(name: str) -> torch.device:
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise UserError(
                f"unknown device {name!r}; e.g. auto, cpu, cuda, cuda:1, mps", field="device"
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise UserError(f"device {name!r}: CUDA is not available on this machine", field="device")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def train(config: TrainConfig, resume: bool = False) -> dict:
    check_config(config)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = pick_device(config.device)
    if distributed:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    main_process = rank == 0
    if config.threads:
        torch.set_num_threads(config.threads)
    run_dir = Path(config.out)
    checkpoint = find_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None:
        raise UserError(
            f"--resume: no checkpoint in {run_dir} (looked for {run_dir}/checkpoint)", field="resume"
        )
    if checkpoint is not None:  # the run's own settings win, so the resumed run is the same run
        try:
            saved = json.loads((run_dir / "train_config.json").read_text(encoding="utf-8"))
            config = TrainConfig(
                **{k: v for k, v in saved.items() if k in {f.name for f in fields(TrainConfig)}}
            )
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise UserError(
                f"--resume: {run_dir / 'train_config.json'} is missing or damaged ({error})", field="resume"
            ) from None
        check_config(config)
    if main_process:
        check_writable(run_dir, needed_bytes=200_000_000)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if main_process else (lambda *a: None)

    source = config.source or default_source()
    keywords = None
    if is_prepared(source):  # cleaned corpus in one file: no raw corpus or `datasets` needed
        corpus, prepared_keywords, _ = read_prepared(source)
        keywords = prepared_keywords if config.keywords else None
    else:
        corpus = load_corpus(source)
    if config.script != corpus.script:
        from poetry_rnn.corpus import to_script

        corpus = to_script(corpus, config.script)
    train_poems = corpus.split("train", FORMS if config.train_forms == "regular" else None)
    valid_poems = corpus.split("valid", FORMS)
    if config.valid_limit:
        valid_poems = valid_poems[: config.valid_limit]
    if len(train_poems) < 8 or not valid_poems:
        raise UserError(
            f"{config.source}: too few poems to train on ({len(train_poems)} train, "
            f"{len(valid_poems)} regular-form valid); need at least 8 and 1",
            field="source",
        )
    if checkpoint is not None:
        tokenizer = load_tokenizer(checkpoint)
    else:
        tokenizer, coverage = build_tokenizer(
            config.tokenizer, corpus, config.min_count, config.sp_vocab_size
        )
        log(f"tokenizer: {config.tokenizer}, {tokenizer.vocab_size:,} pieces, coverage {coverage:.4%}")
    if config.keywords and keywords is None:
        from poetry_rnn.keywords import corpus_keywords

        keywords = corpus_keywords(train_poems)

    encoded = encode_poems(train_poems, tokenizer, keywords)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    model_config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        cell=config.cell,
        embedding_dim=config.embedding_dim,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        output_layer=config.output_layer,
        script=config.script,
    )
    model = PoetryLM(model_config)
    model.tokenizer = tokenizer
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=(0.9, 0.99),
    )
    state = {
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "seconds": 0.0,
        "total_steps": 0,
        "best_ppl": None,
        "bad_epochs": 0,
        "tokens": 0,
        "chars": 0,
    }
    if checkpoint is not None:
        from safetensors import SafetensorError

        try:
            state.update(load_checkpoint(checkpoint, model, optimizer))
        except UserError as error:
            raise UserError(
                f"--resume: checkpoint {checkpoint} does not fit this run: {error}", field="resume"
            ) from None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as error:
            raise UserError(
                f"--resume: checkpoint {checkpoint} is damaged ({type(error).__name__}: {error})",
                field="resume",
            ) from None
        log(
            f"resumed from {checkpoint}: epoch {state['epoch']}, batch {state['batch']}, step {state['step']}"
        )
        if main_process:
            trim_metrics(run_dir / "metrics.jsonl", state["step"])
    elif main_process:
        write_atomic(run_dir / "train_config.json", json.dumps(asdict(config), indent=2))
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)
    model.to(device)
    trained = model
    if distributed:
        # the adaptive output layer only runs the tail clusters a batch's targets fall in: the others'
        # weights get no gradient on that rank, which DDP must be told to expect
        trained = torch.nn.parallel.DistributedDataParallel(
            model, find_unused_parameters=hasattr(model, "adaptive")
        )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None

    stop_signal: list[int] = []
    previous_handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous_handlers:
        signal.signal(signum, lambda number, _frame: stop_signal.append(number))

    def metrics(record: dict) -> None:
        if main_process:
            with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def validate() -> float:
        model.eval()
        scored = score_bodies(model, tokenizer, [(p.body, p.form) for p in valid_poems], device=device)
        model.train()
        ppl = scored.as_dict()["char_ppl"]
        if distributed:  # rank 0's figure everywhere: the same best model and early-stopping decision
            shared = torch.tensor([ppl], dtype=torch.float64, device=device)
            torch.distributed.broadcast(shared, src=0)
            ppl = float(shared[0])
        return ppl

    def checkpoint_now() -> None:
        if main_process:
            try:
                save_checkpoint(run_dir, model, optimizer, state)
            except OSError as error:
                raise UserError(
                    f"could not write a checkpoint in {run_dir} ({error.strerror or error}); the previous "
                    "checkpoint is intact: free some space and continue with --resume",
                    field="out",
                ) from None

    from tqdm import tqdm

    threads = torch.get_num_threads()

    def clock() -> float:
        if config.budget_clock == "cpu" and device.type == "cpu":
            return time.process_time() / threads
        return time.perf_counter()

    started = clock() - state["seconds"]
    last_checkpoint = time.perf_counter()
    budget = config.max_minutes * 60
    finished_reason = "epochs"
    model.train()
    while state["epoch"] < config.epochs:
        epoch = state["epoch"]
        examples = epoch_examples(encoded, tokenizer, config.seed, epoch, config.max_len)
        batches = make_batches(
            examples, config.batch_tokens * world, random.Random(f"{config.seed}-order-{epoch}")
        )
        if not state["total_steps"]:
            state["total_steps"] = len(batches) * config.epochs  # refitted below when a time budget is set
            if config.max_tokens:
                tokens_per_batch = sum(map(len, examples)) / len(batches)
                state["total_steps"] = min(
                    state["total_steps"], int(config.max_tokens / tokens_per_batch) + 1
                )
        progress = tqdm(
            total=len(batches),
            initial=state["batch"],
            desc=f"epoch {epoch + 1}",
            unit="batch",
            disable=not main_process or not sys.stderr.isatty(),
            dynamic_ncols=True,
        )
        window_tokens, window_started = 0, clock()
        # (a run stopped after the last batch of an epoch resumes with no batch left in it)
        out_of_time = out_of_steps = False
        while state["batch"] < len(batches):
            batch = [examples[i] for i in batches[state["batch"]]]
            inputs, targets = collate(batch[rank::world] or batch[:1], tokenizer.pad_id)
            inputs, targets = inputs.to(device), targets.to(device)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, state["step"], state["total_steps"])
            # Dropout draws from a seed fixed by (seed, step, rank): a resumed run, single or data-parallel,
            # draws the same masks as an uninterrupted one without carrying every rank's random state.
            torch.manual_seed(((config.seed * 1_000_003 + state["step"]) * 1024 + rank) % 2**63)
            loss = train_step(trained, optimizer, inputs, targets, config.clip, autocast)
            real_tokens = int((targets != -100).sum())
            now = time.perf_counter()
            seconds = clock() - started
            if distributed:
                # Every rank must stop at the same step, or the others wait forever in the next gradient
                # all-reduce: agree on the token count, rank 0's clock and a signal any rank received.
                shared = torch.tensor(
                    [real_tokens, seconds if main_process else 0.0, len(stop_signal)],
                    dtype=torch.float64,
                    device=device,
                )
                torch.distributed.all_reduce(shared)
                real_tokens, seconds = int(shared[0]), float(shared[1])
                if shared[2] and not stop_signal:
                    stop_signal.append(signal.SIGTERM)
            state["step"] += 1
            state["batch"] += 1
            state["tokens"] += real_tokens
            window_tokens += real_tokens
            state["seconds"] = seconds
            if state["step"] == 100 and budget:  # (a run resumed from before step 100 fits it too)
                # fit the cosine schedule to the time budget from the measured speed (then fixed: resumable)
                by_time = int(state["step"] * budget / state["seconds"])
                state["total_steps"] = max(state["step"] + 1, min(state["total_steps"], by_time))
            if state["step"] % 50 == 0:
                speed = window_tokens / max(1e-9, clock() - window_started)
                progress.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{speed:,.0f}")
                metrics(
                    {
                        "kind": "train",
                        "step": state["step"],
                        "epoch": epoch,
                        "loss": round(loss.item(), 4),
                        "lr": optimizer.param_groups[0]["lr"],
                        "tokens_per_s": round(speed),
                        "minutes": round(state["seconds"] / 60, 3),
                    }
                )
                if not sys.stderr.isatty() and state["step"] % 500 == 0:
                    log(
                        f"step {state['step']} epoch {epoch + 1} batch {state['batch']}/{len(batches)} "
                        f"loss {loss.item():.3f} {speed:,.0f} tok/s {state['seconds'] / 60:.1f} min"
                    )
                window_tokens, window_started = 0, clock()
            progress.update(1)
            out_of_time = budget and state["seconds"] >= budget
            out_of_steps = (config.max_steps and state["step"] >= config.max_steps) or (
                config.max_tokens and state["tokens"] >= config.max_tokens
            )
            if stop_signal or out_of_time or out_of_steps:
                break
            if now - last_checkpoint > config.checkpoint_minutes * 60:
                checkpoint_now()
                last_checkpoint = now
        progress.close()
        if stop_signal:
            checkpoint_now()
            log(f"stopped by signal {stop_signal[0]}; checkpoint saved, continue with --resume")
            finished_reason = "signal"
            break
        epoch_done = state["batch"] >= len(batches)
        if epoch_done:
            state["epoch"] += 1
            state["batch"] = 0
        if epoch_done or out_of_time or out_of_steps:
            ppl = validate()
            improved = state["best_ppl"] is None or ppl < state["best_ppl"]
            if improved:
                state["best_ppl"], state["bad_epochs"] = ppl, 0
                if main_process:
                    model.save_pretrained(run_dir / "best")
            else:
                state["bad_epochs"] += 1
            metrics(
                {
                    "kind": "valid",
                    "step": state["step"],
                    "epoch": state["epoch"],
                    "char_ppl": ppl,
                    "minutes": round(state["seconds"] / 60, 3),
                }
            )
            log(
                f"epoch {state['epoch']} step {state['step']}: valid char_ppl {ppl:.2f}"
                f"{' (best)' if improved else ''}, {state['seconds'] / 60:.1f} min"
            )
            checkpoint_now()
            last_checkpoint = time.perf_counter()
            if main_process:
                plot_curves(run_dir)
        if out_of_time or out_of_steps:
            finished_reason = "time budget" if out_of_time else "step/token budget"
            break
        if state["bad_epochs"] >= config.patience:
            finished_reason = "early stopping"
            break
    for signum, handler in previous_handlers.items():  # a caller's Ctrl-C works again after train()
        signal.signal(signum, handler)
    summary = {
        "run": str(run_dir),
        "finished": finished_reason,
        "best_valid_char_ppl": state["best_ppl"],
        "steps": state["step"],
        "epochs": state["epoch"],
        "minutes": round(state["seconds"] / 60, 2),
        "tokens": state["tokens"],
        "tokens_per_s": round(state["tokens"] / max(1e-9, state["seconds"])),
    }
    if main_process:
        write_atomic(run_dir / "summary.json", json.dumps(summary, indent=2))
        log(json.dumps(summary))
    if distributed:
        torch.distributed.destroy_process_group()
    return summary


# ---------------------------------------------------------------- CLI


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON file with any of the options below (flags override it)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    for item in fields(TrainConfig):
        flag = "--" + item.name.replace("_", "-")
        if item.type in ("bool", bool):
            parser.add_argument(
                flag, type=lambda v: v.lower() in ("1", "true", "yes"), default=None, metavar="true|false"
            )
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(item.type), str)
            parser.add_argument(flag, type=kind, default=None)


def run(args: argparse.Namespace) -> int:
    values = {}
    if args.config:
        try:
            values = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UserError(f"--config {args.config}: {error}", field="config") from None
        if not isinstance(values, dict):
            raise UserError(f"--config {args.config}: expected a JSON object of options", field="config")
        unknown = set(values) - {f.name for f in fields(TrainConfig)}
        if unknown:
            raise UserError(f"--config {args.config}: unknown options {sorted(unknown)}", field="config")
    for item in fields(TrainConfig):
        value = getattr(args, item.name)
        if value is not None:
            values[item.name] = value
    config = TrainConfig(**values)
    if config.cell not in ("gru", "lstm"):
        raise UserError("--cell must be gru or lstm", field="cell")
    train(config, resume=args.resume)
    return 0
