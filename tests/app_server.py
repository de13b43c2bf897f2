"""Start `python app.py` on a free local port for end-to-end tests, and stop it again."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 180  # a loaded shared box can take a while to import torch and gradio


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "gradio_api/info", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextmanager
def app_process(
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
    poll_s: float = 0.5,
):
    """Start app.py on a free port; yield (base URL "http://127.0.0.1:PORT/", the process) once it serves.
    Its output goes to log_path; it is stopped on exit. Shared by the tests and the load/cold-start scripts."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        **(extra_env or {}),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "app.py"), "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _ready(url):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"app.py exited with {process.returncode} before serving:\n{log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"app.py did not serve within {timeout} s:\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(poll_s)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_app(log_path: Path, extra_env: dict[str, str] | None = None):
    """Yield the base URL of a freshly started app (see app_process)."""
    with app_process(log_path, extra_env) as (url, _process):
        yield url
