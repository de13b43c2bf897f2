"""Many concurrent users against the running web app, through its API with gradio_client.

    python scripts/load_test.py                                    # starts app.py; 32 users x 10 requests
    python scripts/load_test.py --users 4 --requests 3             # the test suite's version
    python scripts/load_test.py --soak-minutes 10 --soak-users 8   # then 10 minutes of steady load
    python scripts/load_test.py --url http://127.0.0.1:7860/ --pid 1234   # an app that is already running

Each user is a thread with its own gradio_client.Client, sending requests one after another: a mix of
/generate (the four forms; free, acrostic, first-line, title and theme modes; both rhyme schemes and
none; every tone setting; both scripts; 1-3 poems) and /check (3 requests in 4 generate). Every request
must succeed: a /generate answer must hold poems that keep the request (judged by the checker, as in
scripts/fuzz_test.py), a /check answer must equal the checker's analysis run here. Reports failed
requests by kind, latency p50/p95/max per endpoint, throughput, and the app's resident memory (VmRSS of
its process, sampled every 2 s) at the start and end of the run and of the soak. Exit status 1 if any
request failed or the memory grew by more than --max-rss-growth during the soak.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))
sys.path.insert(0, str(REPO_DIR / "tests"))

from app_server import app_process  # noqa: E402

ACROSTICS = {4: ["春江花月", "山水清音", "风花雪月", "明月清风"], 8: ["春江花月夜色正明", "天地玄黄宇宙洪荒"]}
FIRST_LINES = {"wujue": ["白日依山尽", "床前明月光"], "wulv": ["国破山河在"], "qijue": ["黄河远上白云间"],
               "qilv": ["风急天高猿啸哀"]}  # fmt: skip
TITLES = ["秋夜", "登高", "江南春", "送别", "山居秋暝"]
THEMES = ["秋天的夜晚，独自在江边思念故乡", "春风吹过山间，桃花盛开", "送别朋友远行"]
POEMS_TO_CHECK = [
    "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
    "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。",
    "春眠不觉晓，处处闻啼鸟。",
]
LINES_PER_FORM = {"wujue": 4, "qijue": 4, "wulv": 8, "qilv": 8}


def random_request(rng: random.Random) -> tuple[str, dict]:
    """("/generate" or "/check", keyword arguments), a realistic mix."""
    if rng.random() < 0.25:
        return "/check", {"text": rng.choice(POEMS_TO_CHECK), "scheme": rng.choice(["pingshui", "xinyun"]),
                          "strictness": rng.choice(["strict", "standard"])}  # fmt: skip
    form = rng.choice(list(LINES_PER_FORM))
    mode = rng.choice(["free", "free", "acrostic", "first_line", "title", "theme"])
    text = {
        "free": "",
        "acrostic": rng.choice(ACROSTICS[LINES_PER_FORM[form]]),
        "first_line": rng.choice(FIRST_LINES[form]),
        "title": rng.choice(TITLES),
        "theme": rng.choice(THEMES),
    }[mode]
    scheme = rng.choice(["pingshui", "pingshui", "xinyun", "none"])
    if mode == "first_line":  # classic lines: their tones fit 平水韵 (急 is level in 中华新韵)
        scheme = rng.choice(["pingshui", "none"])
    arguments = {
        "form": form, "mode": mode, "text": text, "rhyme_scheme": scheme, "rhyme_group": "auto",
        "first_line_rhymes": "auto", "tone": rng.choice(["strict", "strict", "standard", "off"]),
        "n": rng.choice([1, 1, 2, 3]), "temperature": 0.85, "top_p": 0.95, "seed": rng.randrange(2**31),
        "script": rng.choice(["simplified", "traditional"]),
    }  # fmt: skip
    return "/generate", arguments


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {"/generate": [], "/check": []}
        self.failures: Counter[str] = Counter()
        self.examples: list[dict] = []
        self.poems = 0

    def ok(self, endpoint: str, seconds: float, poems: int = 0) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            self.poems += poems

    def failed(self, endpoint: str, kind: str, detail: str, arguments: dict) -> None:
        with self.lock:
            self.failures[f"{endpoint}: {kind}"] += 1
            if len(self.examples) < 10:
                self.examples.append({"endpoint": endpoint, "kind": kind, "detail": detail[:500],
                                      "arguments": arguments})  # fmt: skip

    def summary(self, seconds: float) -> dict:
        def stats(values: list[float]) -> dict:
            if not values:
                return {"count": 0}
            ordered = sorted(values)
            return {
                "count": len(values),
                "p50_s": round(statistics.median(ordered), 3),
                "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
                "max_s": round(ordered[-1], 3),
            }

        done = sum(len(v) for v in self.latencies.values())
        failed = sum(self.failures.values())
        return {
            "requests_sent": done + failed,
            "requests_failed": failed,
            "failures": dict(self.failures),
            "failure_examples": self.examples,
            "poems_verified": self.poems,
            "latency": {endpoint: stats(values) for endpoint, values in self.latencies.items()},
            "latency_all": stats([x for values in self.latencies.values() for x in values]),
            "seconds": round(seconds, 1),
            "throughput_rps": round(done / seconds, 2) if seconds else None,
        }


def one_request(client, generator, endpoint: str, arguments: dict, results: Results) -> None:
    from fuzz_test import _web_options, verify_poems

    from poetry_rnn.prosody.check import analyze

    started = time.perf_counter()
    try:
        answer = client.predict(**arguments, api_name=endpoint)
    except Exception as error:  # noqa: BLE001 - every failure is counted, by kind
        results.failed(endpoint, type(error).__name__, str(error), arguments)
        return
    seconds = time.perf_counter() - started
    try:
        if endpoint == "/check":
            expected = analyze(arguments["text"], arguments["scheme"], arguments["strictness"]).to_dict()
            if answer != json.loads(json.dumps(expected, ensure_ascii=False)):
                results.failed(
                    endpoint, "wrong analysis", json.dumps(answer, ensure_ascii=False)[:300], arguments
                )
                return
            results.ok(endpoint, seconds)
            return
        problems = verify_poems(generator, _web_options(arguments), answer["poems"])
        if problems:
            results.failed(endpoint, "invalid poem", "; ".join(problems[:3]), arguments)
            return
        results.ok(endpoint, seconds, poems=len(answer["poems"]))
    except Exception:  # noqa: BLE001 - an answer of the wrong shape
        results.failed(endpoint, "malformed answer", traceback.format_exc(limit=2), arguments)


def user(
    url: str, generator, seed: int, requests: int, minutes: float | None, results: Results, barrier
) -> None:
    from gradio_client import Client

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False)
    except Exception as error:  # noqa: BLE001
        results.failed("connect", type(error).__name__, str(error), {})
        barrier.wait()
        return
    barrier.wait()  # every user starts at once
    until = time.monotonic() + minutes * 60 if minutes is not None else None
    sent = 0
    while (until is None and sent < requests) or (until is not None and time.monotonic() < until):
        endpoint, arguments = random_request(rng)
        one_request(client, generator, endpoint, arguments, results)
        sent += 1


def run_phase(url: str, generator, users: int, requests: int, minutes: float | None, seed: int) -> dict:
    results = Results()
    barrier = threading.Barrier(users + 1)
    threads = []
    for index in range(users):
        thread = threading.Thread(
            target=user,
            args=(url, generator, seed * 1000 + index, requests, minutes, results, barrier),
            daemon=True,
        )
        threads.append(thread)
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return results.summary(time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------- the app
def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class MemorySampler(threading.Thread):
    def __init__(self, pid: int | None, every: float = 2.0):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while self.pid and not self.stopped.is_set():
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append((time.monotonic() - self.started_at, value))
            self.stopped.wait(self.every)

    def now(self) -> float | None:
        return rss_mb(self.pid) if self.pid else None


def run(args: argparse.Namespace, url: str, pid: int | None) -> dict:
    sys.path.insert(0, str(REPO_DIR / "scripts"))
    from poetry_rnn.generation.generator import PoetryGenerator

    generator = PoetryGenerator.from_pretrained(args.model)  # only to judge the poems (corpus lines, groups)
    sampler = MemorySampler(pid)
    sampler.start()
    # one request first, so that the start-up allocations (lazy tables, corpus lines) are behind us
    run_phase(url, generator, 1, 1, None, args.seed + 99)
    report = {
        "url": url,
        "users": args.users,
        "requests_per_user": args.requests,
        "rss_mb_start": sampler.now(),
    }
    report["load"] = run_phase(url, generator, args.users, args.requests, None, args.seed)
    report["rss_mb_after_load"] = sampler.now()
    if args.soak_minutes:
        soak_start = sampler.now()
        report["soak"] = run_phase(url, generator, args.soak_users, 0, args.soak_minutes, args.seed + 1)
        soak_end = sampler.now()
        samples = [value for _, value in sampler.samples]
        report["soak"].update(
            {
                "minutes": args.soak_minutes,
                "users": args.soak_users,
                "rss_mb_start": soak_start,
                "rss_mb_end": soak_end,
                "rss_mb_max": max(samples) if samples else None,
            }  # fmt: skip
        )
        if soak_start and soak_end:
            growth = (soak_end - soak_start) / soak_start
            report["soak"]["rss_growth"] = round(growth, 4)
            report["soak"]["rss_flat"] = growth <= args.max_rss_growth
    report["rss_mb_end"] = sampler.now()
    sampler.stopped.set()
    parts = [report["load"], *([report["soak"]] if "soak" in report else [])]
    report["requests_sent"] = sum(p["requests_sent"] for p in parts)
    report["requests_failed"] = sum(p["requests_failed"] for p in parts)
    report["ok"] = report["requests_failed"] == 0 and report.get("soak", {}).get("rss_flat", True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start app.py here)")
    parser.add_argument("--pid", type=int, help="the running app's process id, for its memory")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--requests", type=int, default=10, help="requests per user")
    parser.add_argument("--soak-minutes", type=float, default=0.0)
    parser.add_argument("--soak-users", type=int, default=8)
    parser.add_argument("--max-rss-growth", type=float, default=0.10, help="allowed RSS growth over the soak")
    parser.add_argument("--model", help="the app's model folder, to judge poems (default: the shipped model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", default=None, help="app.py output (default: a temporary file)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.url:
        report = run(args, args.url if args.url.endswith("/") else args.url + "/", args.pid)
    else:
        import tempfile

        log_path = Path(args.log or tempfile.mkstemp(prefix="load_test-app-", suffix=".log")[1])
        with app_process(log_path, timeout=240) as (url, process):
            pid = process.pid
            report = run(args, url, pid)
        report["app_log"] = str(log_path)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
