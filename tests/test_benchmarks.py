"""The decoding benchmark script runs end to end (on the tiny model, one repeat): its report has every
figure the README quotes, and its phase breakdown adds up. Speeds themselves are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_bench_decode_reports_every_figure_and_a_consistent_breakdown(tiny_model_dir, tmp_path):
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_decode.py"), "--model", str(tiny_model_dir),
         "--repeats", "1", "--breakdown", "--json-out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    for batch in (1, 8):
        assert report[f"constrained_ms_{batch}"] > 0 and report[f"unconstrained_ms_{batch}"] > 0
        constrained, unconstrained = report[f"constrained_ms_{batch}"], report[f"unconstrained_ms_{batch}"]
        # the overhead comes from the unrounded ms; each ms figure is rounded to 0.005 at most
        rounding = 0.005 / unconstrained + 0.005 * constrained / unconstrained**2
        assert report[f"overhead_{batch}"] == pytest.approx(
            constrained / unconstrained - 1, abs=rounding + 1e-4
        )
    assert 0 < report["final_check_ms_8"] and report["memory_bound_ms_per_step"] > 0
    phases = report["breakdown_ms_8"]
    assert phases["  of which int8 products"] <= phases["model steps"]
    assert phases["  of which rows computing a cluster"] <= phases["sampler"]
    top_level = ["model steps", "sampler", "rules (plan)", "rules (advance)", "final checker pass"]
    assert all(phases[name] > 0 for name in top_level)
    assert sum(phases[name] for name in top_level) <= phases["total (with the timers)"]
    assert "where an 8-candidate request's time goes" in completed.stdout


def test_bench_ab_times_both_trees_in_turns_and_refuses_an_unknown_revision(tmp_path):
    out = tmp_path / "ab.json"
    command = [sys.executable, str(REPO / "scripts" / "bench_ab.py")]
    completed = subprocess.run(
        [*command, "HEAD", "--rounds", "1", "--repeats", "1", "--json-out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["base"] == "HEAD" and len(report["rounds"]) == 1
    assert all(ms > 0 for pair in report["rounds"][0].values() for ms in pair)
    assert set(report["median_ratio"]) == {"1", "8"}
    worktrees = subprocess.run(["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True)
    assert str(tmp_path) not in worktrees.stdout  # its temporary checkout is gone
    refused = subprocess.run(
        [*command, "no-such-revision-here", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert refused.returncode != 0 and "cannot check out 'no-such-revision-here'" in refused.stderr
