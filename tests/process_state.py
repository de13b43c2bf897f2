"""train() sets torch's thread count and installs its own SIGINT/SIGTERM handlers: tests that run it in
this process put both back, so the tests after them see the process as it was."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def kept_process_state() -> Iterator[None]:
    threads = torch.get_num_threads()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
