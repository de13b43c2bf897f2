"""诗 · poetry_rnn — the web app: 作诗 (generate), 格律检测 (check), 关于 (about). The Space's entry point.

    python app.py                              # http://127.0.0.1:7860
    python app.py --port 7861 --host 0.0.0.0   # or env PORT / GRADIO_SERVER_PORT, GRADIO_SERVER_NAME

The app lives in the `poetry_rnn.app` package (handlers, rendering, layout, settings); every rule and the
model live in the rest of `poetry_rnn`. The model is loaded once per process.

Named API endpoints for gradio_client: /generate and /check (see `poetry_rnn.app.handlers.PoetryApp`).

Settings (environment): POETRY_RNN_MODEL (model folder), POETRY_RNN_CONCURRENCY (requests decoded at
once, default 2), POETRY_RNN_QUEUE_SIZE (waiting requests, default 64), POETRY_RNN_TIME_LIMIT (seconds per
request, default 30), POETRY_RNN_TORCH_THREADS (threads per request, default 1).
"""

import time

PROCESS_STARTED = time.perf_counter()  # for the start-up times in the log

if __name__ == "__main__":
    import sys

    # gradio imports IPython (for notebook magics) whenever it is installed, slowing every start of a
    # server that never runs in a notebook. A None entry makes that optional import fail fast.
    sys.modules.setdefault("IPython", None)

from poetry_rnn.app.server import main  # noqa: E402  (after the IPython entry: it imports gradio)

if __name__ == "__main__":
    raise SystemExit(main(process_started=PROCESS_STARTED))
