"""Cold start of the web app: process start → first poem served, on this machine.

    python scripts/bench_cold_start.py [--runs 3] [--json-out FILE]

Each run starts `python app.py --port N` (shipped model, HF_HUB_OFFLINE=1, analytics off), polls until the
server answers, then asks /generate for one 七绝 through gradio_client and stops the app. Reported per run:
`ready_s` (process start → HTTP ready), `first_poem_s` (process start → first poem received; the goal is
≤ 15 s), `request_s` (the first request alone) and `app_cpu_s` (CPU time the app process used until then:
about what the start takes on an idle box). The load average is printed because the box is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from app_server import app_process  # noqa: E402
from gradio_client import Client  # noqa: E402  (imported before any clock starts)

from poetry_rnn.files import write_atomic  # noqa: E402


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far: what the start-up costs on an idle box."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(timeout: float = 180.0) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        with app_process(Path(folder) / "app.log", timeout=timeout, poll_s=0.05) as (url, process):
            ready = time.perf_counter() - started
            client = Client(url, verbose=False)
            request_started = time.perf_counter()
            result = client.predict(form="qijue", mode="free", n=1, seed=1, api_name="/generate")
            done = time.perf_counter()
            cpu = _cpu_seconds(process.pid)
    return {
        "ready_s": round(ready, 2),
        "first_poem_s": round(done - started, 2),
        "request_s": round(done - request_started, 2),
        "app_cpu_s": round(cpu, 2),
        "poem": result["poems"][0]["text"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json-out", help="write the results here as JSON")
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        load = os.getloadavg()[0]
        run = one_run()
        run["load_avg_1min_before"] = round(load, 2)
        runs.append(run)
        print(
            f"run {index + 1}: ready {run['ready_s']:.2f} s, first poem {run['first_poem_s']:.2f} s "
            f"(request {run['request_s']:.2f} s), app CPU {run['app_cpu_s']:.2f} s, load {load:.2f}: {run['poem']}"
        )
    summary = {
        "runs": runs,
        "median_ready_s": statistics.median(r["ready_s"] for r in runs),
        "median_first_poem_s": statistics.median(r["first_poem_s"] for r in runs),
        "median_app_cpu_s": statistics.median(r["app_cpu_s"] for r in runs),
        "cpus": os.cpu_count(),
        "goal_first_poem_s": 15,
    }
    print(
        f"median: ready {summary['median_ready_s']:.2f} s, first poem {summary['median_first_poem_s']:.2f} s "
        f"(goal ≤ 15 s), app CPU {summary['median_app_cpu_s']:.2f} s, on {os.cpu_count()} CPUs"
    )
    if args.json_out:
        write_atomic(args.json_out, json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
