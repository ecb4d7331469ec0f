"""`bench/run.py --quick` runs every scenario of the suite end to end and writes what it promises.

No figure is asserted (this is a shared machine): only that each scenario ran, that the results file and
the document carry every section, and that the charts are PNG files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ["## Run", "## Targets", "## Casdoor on paper", "## 1. Backlog drain", "## 1b. Where the worker's CPU",
            "## 2. Steady arrival", "## 3. Fan-out", "## 4. Isolation", "## 5. Recording overhead",
            "## 6. Worker memory", "## 7. PostgreSQL: one worker, then two", "## Charts"]
ARMS = {"ceiling", "hookdoor-sqlite", "hookdoor-postgresql-1w", "hookdoor-postgresql-2w", "celery-prefork",
        "celery-gevent"}


def test_quick_run_writes_results_document_and_charts(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    assert "planned duration: about" in run.stdout

    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert results["errors"] == {}
    assert {arm["key"] for arm in results["drain_arms"]} == ARMS
    assert all(arm["rate"] and arm["figures"]["arrived"] > 0 for arm in results["drain_arms"])
    hookdoor = [arm["figures"] for arm in results["drain_arms"] if arm["kind"] == "hookdoor"]
    assert all(figures["all_ok"] for figures in hookdoor), [f["db"] for f in hookdoor]
    assert [run["fraction"] for run in results["serve"]["latency"]] == [0.25, 0.5, 0.9]
    assert all(run["matched"] == run["requests"] for run in results["serve"]["latency"])
    assert len(results["peer_steady"]["runs"]) == 3
    assert results["serve"]["fanout"]["runs"][0]["arrived"] == results["serve"]["fanout"]["webhooks"]
    assert results["isolation"]["with_hanging"]["hang_requests"] > 0
    assert {m["backend"] for m in results["memory"]} == {"sqlite", "postgresql"}
    assert all(len(m["samples"]) >= 2 for m in results["memory"])
    assert results["profile"]["samples"] > 0
    assert set(results["load_before"]) >= {"drain-sqlite", "serve", "isolation", "memory-postgresql"}

    document = (tmp_path / "benchmarks.md").read_text()
    positions = [document.find(section) for section in SECTIONS]
    assert -1 not in positions, [s for s, p in zip(SECTIONS, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    assert "3.3 deliveries/s" in document and "bench/run.py --quick" in document
    assert "**met**" in document or "**not met**" in document
    for chart in results["charts"]:
        assert (tmp_path / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", chart
    assert len(results["charts"]) == 4
