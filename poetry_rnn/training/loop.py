"""The training loop, readable top to bottom: one optimizer step, when a run is done, a run's parts (device,
model, optimizer, checkpoint), the `Run` that steps through the epochs, and `train()`, which sets it up.
The learning-rate schedule is schedule.py's.

No compute on padding: each batch holds poems of (nearly) the same length. AdamW, warm-up + cosine
learning rate, gradient clipping, validation perplexity every epoch, early stopping. A checkpoint is
written every epoch, every few minutes and on SIGINT/SIGTERM, atomically; `resume=True` continues exactly
where it stopped (model, optimizer, schedule, random state, data order), so a resumed run ends with the
weights of an uninterrupted one (bit for bit on one CPU thread, as scripts/fault_test.py checks; with more
threads the sums' order may differ in the last bits). Under `torchrun` the same loop runs
data-parallel.

The training loss it records is one batch's mean over every next token, the conditioning prefix (tags,
title, keywords) included and dropout on; the validation figure scores the bodies alone, without dropout
(poetry_rnn.perplexity). So exp(training loss) and the validation perplexity are not the same measure.
Log lines count epochs from 1, the epoch under way; `summary.json`'s `epochs` counts those completed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections.abc import Collection
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic
from poetry_rnn.model import ModelConfig, PoetryLM
from poetry_rnn.perplexity import score_bodies
from poetry_rnn.training.checkpoint import (
    check_writable,
    find_checkpoint,
    holds_a_run,
    load_checkpoint,
    plot_curves,
    save_best,
    save_checkpoint,
    trim_metrics,
)
from poetry_rnn.training.config import TrainConfig, check_config, pick_device
from poetry_rnn.training.data import collate, encode_poems, epoch_examples, make_batches, prepare_data
from poetry_rnn.training.schedule import (
    fit_schedule,
    learning_rate,
    schedule_fit_due,
    schedule_steps,
    warmup_steps,
)
from poetry_rnn.training.warm_start import load_starting_model, starting_weights


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
    falls in, not the whole vocabulary: most targets are in the shortlist, so most of the output layer is
    never computed."""
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


def budget_spent(config: TrainConfig, state: dict) -> str | None:
    """The budget a run whose progress is `state` has used up ("time budget", "step/token budget"), or
    None: checked after every step."""
    if config.max_minutes and state["seconds"] >= config.max_minutes * 60:
        return "time budget"
    if (config.max_steps and state["step"] >= config.max_steps) or (
        config.max_tokens and state["tokens"] >= config.max_tokens
    ):
        return "step/token budget"
    return None


def finished_reason(config: TrainConfig, state: dict) -> str | None:
    """Why a run whose progress is `state` has nothing left to train, or None: the loop's own stopping
    rules, so that a finished run resumed does not take one more step."""
    if state["epoch"] >= config.epochs:
        return "epochs"
    spent = budget_spent(config, state)
    if spent:
        return spent
    if state["bad_epochs"] >= config.patience:
        return "early stopping"
    return None


def run_summary(run_dir: Path, finished: str, state: dict) -> dict:
    return {
        "run": str(run_dir),
        "finished": finished,
        "best_valid_char_ppl": state["best_ppl"],
        "steps": state["step"],
        "epochs": state["epoch"],
        "minutes": round(state["seconds"] / 60, 2),
        "tokens": state["tokens"],
        "tokens_per_s": round(state["tokens"] / max(1e-9, state["seconds"])),
    }


def resumed_run(
    run_dir: Path, given: TrainConfig, asked: Collection[str], log
) -> tuple[Path, TrainConfig, dict | None]:
    """The checkpoint to resume from and the run's own settings (they win, so the resumed run is the same
    run); the third item is the summary when the run has already finished, else None."""
    checkpoint = find_checkpoint(run_dir)
    if checkpoint is None:
        raise UserError(
            f"--resume: no checkpoint in {run_dir} (looked for {run_dir}/checkpoint)", field="resume"
        )
    try:
        saved = json.loads((run_dir / "train_config.json").read_text(encoding="utf-8"))
        config = TrainConfig(**{k: v for k, v in saved.items() if k in {f.name for f in fields(TrainConfig)}})
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise UserError(
            f"--resume: {run_dir / 'train_config.json'} is missing or damaged ({error})", field="resume"
        ) from None
    check_config(config)
    ignored = [
        name for name in sorted(asked) if name != "out" and getattr(given, name) != getattr(config, name)
    ]
    if ignored:
        log(
            "--resume continues the run with the settings it started with; ignored: "
            + ", ".join(
                f"--{name.replace('_', '-')} {getattr(given, name)} (the run's: {getattr(config, name)})"
                for name in ignored
            )
        )
    try:
        state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
        finished = finished_reason(config, state)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise UserError(
            f"--resume: checkpoint {checkpoint} is damaged ({type(error).__name__}: {error})", field="resume"
        ) from None
    if finished is None:
        return checkpoint, config, None
    summary = run_summary(run_dir, finished, state)
    log(
        f"{run_dir} has already finished ({finished}, step {state['step']}); nothing left to train. "
        "To train further, start a new run from its best model: --init-from "
        f"{run_dir / 'best'} --out <a new folder>"
    )
    return checkpoint, config, summary


@dataclass(frozen=True)
class Processes:
    """Where this process stands: one of `world` processes under torchrun, or the only one."""

    world: int = 1
    rank: int = 0

    @classmethod
    def from_environment(cls) -> Processes:
        return cls(int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0")))

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0, the one process that writes files and logs."""
        return self.rank == 0

    def log(self, *parts) -> None:
        if self.main:
            print(*parts, file=sys.stderr, flush=True)


def open_device(config: TrainConfig, processes: Processes) -> torch.device:
    """The device this process trains on; under torchrun, also joins the process group."""
    device = pick_device(config.device)
    if processes.distributed:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if config.threads:
        torch.set_num_threads(config.threads)
    return device


def build_model(config: TrainConfig, data, base: PoetryLM | None) -> PoetryLM:
    """The network `config` describes over the prepared data's vocabulary, from `base`'s weights if given."""
    tokenizer = data.tokenizer
    model_config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        cell=config.cell,
        embedding_dim=config.embedding_dim,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        output_layer=config.output_layer,
        script=config.script,
        embedding_dropout=config.embedding_dropout,
        locked_dropout=config.locked_dropout,
        keywords=config.keywords,
        # a fine-tune on the primary corpus keeps the model's tags: generation still gives it the primary's;
        # the run itself stays a single-corpus one (no upsampling, only the keywords the corpus carries)
        sources=tokenizer.sources if data.fine_tunes_primary else data.sources,
    )
    model = PoetryLM(model_config)
    if base is not None:
        model.load_state_dict(starting_weights(base, model_config))
    model.tokenizer = tokenizer
    return model


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, with no weight decay on biases and other vectors."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=(0.9, 0.99),
    )


def new_state() -> dict:
    """A run's progress before its first step: what a checkpoint saves and a resumed run reads back. Three
    keys join once the run knows them, their absence meaning "not yet": `warmup` (warm-up steps, set when the
    schedule's length is first known), `step_bound` (the epochs' steps, beyond which a schedule fitted to a
    time budget never reaches) and `schedule_anchor` ([step, seconds] that fit starts from; both in
    training/schedule.py)."""
    return {
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "seconds": 0.0,
        "total_steps": 0,
        "best_ppl": None,
        "bad_epochs": 0,
        "tokens": 0,
    }


def restore_checkpoint(checkpoint: Path, model: PoetryLM, optimizer: torch.optim.Optimizer) -> dict:
    """Read `checkpoint` into `model` and `optimizer`; returns the progress it saved."""
    from safetensors import SafetensorError

    try:
        return load_checkpoint(checkpoint, model, optimizer)
    except UserError as error:
        raise UserError(
            f"--resume: checkpoint {checkpoint} cannot be used: {error}", field="resume"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as error:
        raise UserError(
            f"--resume: checkpoint {checkpoint} is damaged ({type(error).__name__}: {error})", field="resume"
        ) from None


def start_run_folder(run_dir: Path, config: TrainConfig) -> None:
    """Make a new run's folder with its settings. Only now: a run refused or stopped before this leaves
    nothing behind."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(run_dir / "train_config.json", json.dumps(asdict(config), indent=2))
    except OSError as error:
        raise UserError(f"output folder {run_dir} is not writable ({error.strerror})", field="out") from None
    (run_dir / "metrics.jsonl").unlink(missing_ok=True)


@contextmanager
def stop_signals():
    """Collects SIGINT and SIGTERM into the list it yields instead of stopping at once: the loop checkpoints
    and ends after the step under way. The caller's handlers come back afterwards, however the run ended."""
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda number, _frame: received.append(number))
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Run:
    """One training run under way: the model, its optimizer and its progress (`state`), and what the loop
    does each step, each epoch and at the end. `train()` sets it up; `epochs()` runs it."""

    def __init__(
        self,
        config: TrainConfig,
        processes: Processes,
        run_dir: Path,
        model: PoetryLM,
        optimizer,
        state: dict,
        valid_poems: list,
        device: torch.device,
        stop_signal: list[int],
    ) -> None:
        self.config, self.processes, self.run_dir = config, processes, run_dir
        self.model, self.optimizer, self.state = model, optimizer, state
        self.tokenizer, self.valid_poems, self.device = model.tokenizer, valid_poems, device
        self.stop_signal = stop_signal
        self.trained: torch.nn.Module = model
        if processes.distributed:
            # the adaptive output layer only runs the tail clusters a batch's targets fall in: the others'
            # weights get no gradient on that rank, which DDP must be told to expect
            self.trained = torch.nn.parallel.DistributedDataParallel(
                model, find_unused_parameters=hasattr(model, "adaptive")
            )
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None
        self.threads = torch.get_num_threads()
        self.started = self.clock() - state["seconds"]
        self.last_checkpoint = self.last_log = time.perf_counter()
        self.budget = config.max_minutes * 60

    def clock(self) -> float:
        """Seconds by the clock the budget counts: CPU time per thread with `--budget-clock cpu` on a CPU
        (a run beside other work then gets the budget's worth of computing), else wall time."""
        if self.config.budget_clock == "cpu" and self.device.type == "cpu":
            return time.process_time() / self.threads
        return time.perf_counter()

    def record(self, record: dict) -> None:
        """Append a line to metrics.jsonl."""
        if self.processes.main:
            with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def validate(self) -> float:
        """Char perplexity on the valid poems' bodies, without dropout."""
        self.model.eval()
        scored = score_bodies(
            self.model, self.tokenizer, [(p.body, p.form) for p in self.valid_poems], device=self.device
        )
        self.model.train()
        ppl = scored.as_dict()["char_ppl"]
        if self.processes.distributed:  # rank 0's figure everywhere: the same best model and early stopping
            shared = torch.tensor([ppl], dtype=torch.float64, device=self.device)
            torch.distributed.broadcast(shared, src=0)
            ppl = float(shared[0])
        return ppl

    def save_checkpoint(self) -> None:
        if self.processes.main:
            try:
                save_checkpoint(self.run_dir, self.model, self.optimizer, self.state)
            except OSError as error:
                raise UserError(
                    f"could not write a checkpoint in {self.run_dir} ({error.strerror or error}); the previous "
                    "checkpoint is intact: free some space and continue with --resume",
                    field="out",
                ) from None

    def epochs(self, encoded: list[list[int]]) -> str:
        """Train epoch after epoch until a stopping rule ends the run; returns why it ended."""
        config, state = self.config, self.state
        self.model.train()
        while state["epoch"] < config.epochs:
            epoch = state["epoch"]  # counted from 0 here; records and log lines count from 1
            examples = epoch_examples(encoded, self.tokenizer, config.seed, epoch, config.max_len)
            batches = make_batches(
                examples,
                config.batch_tokens * self.processes.world,
                random.Random(f"{config.seed}-order-{epoch}"),
            )
            if not state["total_steps"]:  # (refitted as it goes when a time budget is set)
                state["total_steps"] = schedule_steps(config, examples, len(batches))
            state.setdefault("warmup", warmup_steps(config, state["total_steps"]))
            spent = self.epoch(epoch, examples, batches)
            if self.stop_signal:
                self.save_checkpoint()
                self.processes.log(
                    f"stopped by signal {self.stop_signal[0]}; checkpoint saved, continue with --resume"
                )
                return "signal"
            epoch_done = state["batch"] >= len(batches)
            if epoch_done:
                state["epoch"] += 1
                state["batch"] = 0
            if epoch_done or spent:
                self.close_epoch(epoch)
            if spent:
                return spent
            if state["bad_epochs"] >= config.patience:
                return "early stopping"
        return "epochs"

    def epoch(self, epoch: int, examples: list[list[int]], batches: list[list[int]]) -> str | None:
        """The rest of one epoch's batches, from `state["batch"]` on (a run stopped after an epoch's last
        batch resumes with none left); returns the budget spent if one ended it, else None."""
        from tqdm import tqdm

        config, state, processes = self.config, self.state, self.processes
        progress = tqdm(
            total=len(batches),
            initial=state["batch"],
            desc=f"epoch {epoch + 1}",
            unit="batch",
            disable=not processes.main or not sys.stderr.isatty(),
            dynamic_ncols=True,
        )
        window_tokens, window_started = 0, self.clock()
        spent = None
        while state["batch"] < len(batches):
            batch = [examples[i] for i in batches[state["batch"]]]
            inputs, targets = collate(
                batch[processes.rank :: processes.world] or batch[:1], self.tokenizer.pad_id
            )
            # counted before the copy: counting on the GPU would wait for it to finish the step
            real_tokens = int((targets != -100).sum())
            inputs = inputs.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(config, state["step"], state["total_steps"], state["warmup"])
            # Dropout draws from a seed fixed by (seed, step, rank): a resumed run, single or data-parallel,
            # draws the same masks as an uninterrupted one without carrying every rank's random state.
            torch.manual_seed(((config.seed * 1_000_003 + state["step"]) * 1024 + processes.rank) % 2**63)
            loss = train_step(self.trained, self.optimizer, inputs, targets, config.clip, self.autocast)
            now = time.perf_counter()
            seconds = self.clock() - self.started
            if processes.distributed:
                real_tokens, seconds = self.agree(real_tokens, seconds)
            state["step"] += 1
            state["batch"] += 1
            state["tokens"] += real_tokens
            window_tokens += real_tokens
            state["seconds"] = seconds
            if self.budget and schedule_fit_due(state, self.budget):
                fit_schedule(state, self.budget)
            spent = budget_spent(config, state)
            # the step a run ends at, or an epoch, is recorded too: a short run shows its loss (not a stop by
            # signal: the resumed run's records then match an uninterrupted run's)
            last_step = spent or state["batch"] == len(batches)
            if state["step"] % 50 == 0 or last_step:
                speed = window_tokens / max(1e-9, self.clock() - window_started)
                progress.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{speed:,.0f}")
                self.record(
                    {
                        "kind": "train",
                        "step": state["step"],
                        "epoch": epoch + 1,
                        "loss": round(loss.item(), 4),
                        "lr": self.optimizer.param_groups[0]["lr"],
                        "tokens_per_s": round(speed),
                        "minutes": round(state["seconds"] / 60, 3),
                    }
                )
                window_tokens, window_started = 0, self.clock()
            # without a progress bar (a log file): a line every 500 steps, and at least one a minute
            if not sys.stderr.isatty() and (
                state["step"] % 500 == 0 or now - self.last_log > 60 or last_step
            ):
                processes.log(
                    f"step {state['step']} epoch {epoch + 1} batch {state['batch']}/{len(batches)} "
                    f"loss {loss.item():.3f} {state['tokens'] / max(1e-9, state['seconds']):,.0f} tok/s "
                    f"{state['seconds'] / 60:.1f} min"
                )
                self.last_log = now
            progress.update(1)
            if self.stop_signal or spent:
                break
            if now - self.last_checkpoint > config.checkpoint_minutes * 60:
                self.save_checkpoint()
                self.last_checkpoint = now
        progress.close()
        return spent

    def agree(self, real_tokens: int, seconds: float) -> tuple[int, float]:
        """Every rank must stop at the same step, or the others wait forever in the next gradient all-reduce:
        agree on the batch's token count, rank 0's clock and a signal any rank received."""
        shared = torch.tensor(
            [real_tokens, seconds if self.processes.main else 0.0, len(self.stop_signal)],
            dtype=torch.float64,
            device=self.device,
        )
        torch.distributed.all_reduce(shared)
        if shared[2] and not self.stop_signal:
            self.stop_signal.append(signal.SIGTERM)
        return int(shared[0]), float(shared[1])

    def close_epoch(self, epoch: int) -> None:
        """Validate at the end of an epoch (or of a budget): keep the best model, count epochs without
        improvement, checkpoint, redraw the curves."""
        state = self.state
        ppl = self.validate()
        improved = state["best_ppl"] is None or ppl < state["best_ppl"]
        if improved:
            state["best_ppl"], state["bad_epochs"] = ppl, 0
            if self.processes.main:
                save_best(self.run_dir, self.model)
        else:
            state["bad_epochs"] += 1
        self.record(
            {
                "kind": "valid",
                "step": state["step"],
                "epoch": epoch + 1,
                "char_ppl": ppl,
                "minutes": round(state["seconds"] / 60, 3),
            }
        )
        self.processes.log(
            f"epoch {epoch + 1} step {state['step']}: valid char_ppl {ppl:.2f}"
            f"{' (best)' if improved else ''}, {state['seconds'] / 60:.1f} min"
        )
        self.save_checkpoint()
        self.last_checkpoint = time.perf_counter()
        if self.processes.main:
            plot_curves(self.run_dir)


def train(config: TrainConfig, resume: bool = False, asked: Collection[str] = ()) -> dict:
    """Train as `config` says into `config.out`; returns the run's summary (also in summary.json).

    A new run refuses a folder that already holds one. `resume=True` continues the run in `config.out` with
    the settings it was started with; `asked` names the options the user set (the CLI's flags), so that those
    a resumed run ignores can be named. A run that has already finished is not trained further."""
    check_config(config)
    processes = Processes.from_environment()
    run_dir = Path(config.out)
    checkpoint = None
    if resume:
        checkpoint, config, finished = resumed_run(run_dir, config, asked, processes.log)
        if finished is not None:
            return finished
    elif holds_a_run(run_dir):
        raise UserError(
            f"{run_dir} already holds a training run: continue it with --resume, or train into a new --out "
            "folder (or delete this one first)",
            field="out",
        )
    device = open_device(config, processes)
    if processes.main:
        check_writable(run_dir, needed_bytes=200_000_000)
    # a starting model is read and checked before the corpus: a wrong folder is refused at once
    base = None
    if config.init_from and checkpoint is None:
        base, config = load_starting_model(config, asked)

    data = prepare_data(config, base, checkpoint, processes.log)
    encoded = encode_poems(data.train_poems, data.tokenizer, data.keywords)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    model = build_model(config, data, base)
    del base
    optimizer = make_optimizer(model, config)
    state = new_state()
    if checkpoint is not None:
        state.update(restore_checkpoint(checkpoint, model, optimizer))
        processes.log(
            f"resumed from {checkpoint}: epoch {state['epoch']}, batch {state['batch']}, step {state['step']}"
        )
        if processes.main:
            trim_metrics(run_dir / "metrics.jsonl", state["step"])
    elif processes.main:
        start_run_folder(run_dir, config)
    model.to(device)

    with stop_signals() as stop_signal:
        run = Run(config, processes, run_dir, model, optimizer, state, data.valid_poems, device, stop_signal)
        finished = run.epochs(encoded)
    summary = run_summary(run_dir, finished, state)
    if processes.main:
        write_atomic(run_dir / "summary.json", json.dumps(summary, indent=2))
        processes.log(json.dumps(summary))
    if processes.distributed:
        # every process leaves together: one that tore down its group while another still wrote the
        # summary was seen to abort at exit under load
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return summary
