"""The app's settings, from the environment: POETRY_RNN_CONCURRENCY (requests decoded at once, default 2),
POETRY_RNN_QUEUE_SIZE (waiting requests, default 64), POETRY_RNN_TIME_LIMIT (seconds per request, default
30), POETRY_RNN_TORCH_THREADS (threads per request, default 1). Read as `settings.NAME` at use, so that a
test can change one."""

import os

CONCURRENCY = int(os.environ.get("POETRY_RNN_CONCURRENCY", "2"))
QUEUE_SIZE = int(os.environ.get("POETRY_RNN_QUEUE_SIZE", "64"))
TIME_LIMIT = float(os.environ.get("POETRY_RNN_TIME_LIMIT", "30"))
TORCH_THREADS = int(os.environ.get("POETRY_RNN_TORCH_THREADS", "1"))
WARM_UP_EXTRAS_AFTER_S = 8.0
MAX_POEMS = 8  # per request: a shared 2-vCPU box
