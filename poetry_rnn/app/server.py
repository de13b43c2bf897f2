"""Run the app: `python app.py [--port N] [--host H] [--model DIR] [--no-warm-up]` (see app.py)."""

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

from poetry_rnn.app import settings
from poetry_rnn.app.handlers import PoetryApp
from poetry_rnn.app.layout import build_app
from poetry_rnn.errors import UserError

PROCESS_STARTED = time.perf_counter()  # when app.py does not say when the process started
CSS_FILE = Path(__file__).with_name("style.css")
PAGE_CSS_FILE = Path(__file__).with_name("page.css")  # outside the app's scope: in the page's head

log = logging.getLogger("poetry_rnn.app")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the poetry_rnn web app (Gradio).")
    env_port = os.environ.get("PORT") or os.environ.get("GRADIO_SERVER_PORT")
    parser.add_argument(
        "--port", type=int, default=int(env_port) if env_port else 7860, help="default: $PORT, 7860"
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="interface to listen on (0.0.0.0 for all; default $GRADIO_SERVER_NAME or 127.0.0.1)",
    )
    parser.add_argument("--model", help="model folder (default: $POETRY_RNN_MODEL or data/default_model)")
    parser.add_argument("--no-warm-up", action="store_true", help="skip loading lazy resources at start")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, process_started: float | None = None) -> int:
    """Serve the app until interrupted. `process_started` (time.perf_counter() at the start of the
    process) lets the log tell how long start-up took."""
    process_started = PROCESS_STARTED if process_started is None else process_started
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    import torch  # here, not at the top: `--help` stays instant, and the load time logged includes torch

    # Each request decodes in one thread; CONCURRENCY requests at once fill a 2-vCPU box.
    torch.set_num_threads(settings.TORCH_THREADS)
    from poetry_rnn.generation.generator import PoetryGenerator

    try:
        generator = PoetryGenerator.from_pretrained(args.model)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = PoetryApp(generator)
    log.info(
        "model loaded from %s in %.1f s (%.1f s after start)",
        generator.model_dir,
        time.perf_counter() - started,
        time.perf_counter() - process_started,
    )
    demo = build_app(app)
    demo.queue(default_concurrency_limit=settings.CONCURRENCY, max_size=settings.QUEUE_SIZE)
    if not args.no_warm_up:
        threading.Thread(target=app.warm_up, name="warm-up", daemon=True).start()
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        css=CSS_FILE.read_text(encoding="utf-8"),
        head=f"<style>{PAGE_CSS_FILE.read_text(encoding='utf-8')}</style>",
        show_error=False,  # gr.Error messages are shown; other exceptions only as a generic error
        footer_links=["api"],
        ssr_mode=False,
        prevent_thread_lock=True,
    )
    log.info("serving %.1f s after start", time.perf_counter() - process_started)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    return 0
