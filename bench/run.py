"""The benchmark suite: Hookdoor beside its ceiling and the Celery peer, in one run.

    .venv/bin/python bench/run.py            # full run (about 15-20 minutes on 2 cores): docs/benchmarks.md,
                                             # docs/bench/*.png, docs/bench/results.json
    .venv/bin/python bench/run.py --quick    # a short smoke run of every scenario into --out (default a temp dir)

Every figure written is measured in this run. All traffic stays on 127.0.0.1; every wait and loop is
bounded in count and time, and the whole run by --max-seconds. Arms: the ceiling (bare aiohttp, same
bodies, same receiver), the Celery peer (Celery 5 + Redis + requests, prefork and gevent pools, in its own
virtual environment under .bench-venv/), Hookdoor on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import charts
import cpu_profile
import peer_celery
import psutil
import report
import scenarios

import delivery
from delivery import CHILDREN, PYTHON, ROOT

FULL = {"drain_events": 20_000, "peer_tasks": 5_000, "capacity_seconds": 10.0, "latency_seconds": 15.0,
        "overhead_calls": 100, "overhead_rounds": 6, "overhead_pace_rate": 50.0, "fanout": 1000, "fanout_events": 3,
        "isolation_seconds": 15.0, "memory_backlog": 1_000_000, "memory_window": 120.0}
QUICK = {"drain_events": 1_000, "peer_tasks": 200, "capacity_seconds": 2.0, "latency_seconds": 2.0,
         "overhead_calls": 20, "overhead_rounds": 2, "overhead_pace_rate": 50.0, "fanout": 50, "fanout_events": 1,
         "isolation_seconds": 2.0, "memory_backlog": 3_000, "memory_window": 4.0}
SCENARIOS = ("drain", "profile", "peer", "serve", "isolation", "memory")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Hookdoor benchmark suite (bench/run.py)")
    parser.add_argument("--quick", action="store_true", help="every scenario, small and short (a minute or two)")
    parser.add_argument("--out", help="folder for benchmarks.md, results.json and the charts (default: docs/ with "
                        "charts and JSON in docs/bench/; with --quick a temporary folder)")
    parser.add_argument("--skip", default="", help=f"comma-separated scenarios to leave out: {', '.join(SCENARIOS)}")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="hard bound on the whole run")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, SQLite files)")
    parser.add_argument("--from-json", help="run nothing: draw the charts and write the document again from a "
                        "results.json of an earlier run")
    for key, value in FULL.items():
        parser.add_argument("--" + key.replace("_", "-"), type=type(value), default=None,
                            help=f"default {value} ({QUICK[key]} with --quick)")
    args = parser.parse_args(argv)
    for key in FULL:
        if getattr(args, key) is None:
            setattr(args, key, (QUICK if args.quick else FULL)[key])
    args.fractions = [0.25, 0.5, 0.9]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip - set(SCENARIOS):
        parser.error(f"--skip: choose from {', '.join(SCENARIOS)}")
    return args


def planned_seconds(args: argparse.Namespace) -> float:
    """A rough plan of the run's length on this kind of machine, printed before it starts."""
    plan = {
        "drain": 60 + args.drain_events * 4 / 1500,  # SQLite, PostgreSQL x 2, the ceiling
        "profile": 15 + args.drain_events / 800,
        "peer": 20 + 2 * args.peer_tasks / 220,
        "serve": 15 + args.capacity_seconds + 2 * len(args.fractions) * args.latency_seconds
        + 4 * args.overhead_rounds * args.overhead_calls * 0.006 + 10 + args.fanout * 0.01 + 3 * args.fanout_events,
        "isolation": 15 + 2 * args.isolation_seconds,
        "memory": 2 * (15 + args.memory_backlog / 12_000 + args.memory_window),
    }
    return sum(v for k, v in plan.items() if k not in args.skip)


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict[str, Any]:
    facts = delivery.machine_facts()
    facts["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    for package in ("psycopg", "asyncpg", "matplotlib", "psutil", "standardwebhooks", "fastapi"):
        facts[package] = delivery._version(package)
    facts["postgresql"] = scenarios.postgres_version()
    return facts


async def start_receiver(work: Path, http: aiohttp.ClientSession, max_seconds: float) -> delivery.ReceiverClient:
    port = delivery.free_port()
    CHILDREN.start("receiver", [PYTHON, str(ROOT / "bench" / "receiver.py"), "--port", str(port),
                                "--max-seconds", str(max_seconds), "--hang-seconds", "30"], {}, work,
                   work / "receiver.log")
    receiver = delivery.ReceiverClient(http, port)
    deadline = time.monotonic() + 20
    while True:
        CHILDREN.check_alive("receiver")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            await receiver.count()
            return receiver
        if time.monotonic() > deadline:
            raise RuntimeError("the receiver did not start")
        await asyncio.sleep(0.1)


class Run:
    """Runs scenarios in turn, noting the load before each and any failure (which the report shows)."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        results.setdefault("load_before", {})
        results.setdefault("errors", {})

    async def step(self, key: str, title: str, coro: Any) -> Any:
        self.results["load_before"][key] = loadavg()
        print(f"[{key}] {title} (load {' '.join(f'{v:.2f}' for v in loadavg())})", flush=True)
        started = time.monotonic()
        try:
            return await coro
        except Exception as exc:  # one broken scenario is reported, the others still run
            self.results["errors"][key] = f"{type(exc).__name__}: {exc}"[:2000]
            traceback.print_exc()
            return None
        finally:
            self.results.setdefault("scenario_seconds", {})[key] = round(time.monotonic() - started, 1)


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
    steps = Run(results)
    async with delivery.new_client() as http:
        receiver = await start_receiver(work, http, args.max_seconds)
        arms: list[dict[str, Any]] = []
        results["drain_arms"] = arms
        sample = None
        if "drain" not in args.skip:
            sqlite = await steps.step("drain-sqlite", f"backlog drain: {args.drain_events:,} deliveries, one "
                                      "`hookdoor worker` on SQLite",
                                      scenarios.hookdoor_drain(work, http, receiver, "sqlite", args.drain_events))
            if sqlite:
                arms.append(_arm("hookdoor-sqlite", "Hookdoor, SQLite, 1 worker", sqlite, kind="hookdoor"))
                sample = {"payload": sqlite["db"]["sample_payload"],
                          "headers": json.loads(sqlite["db"]["sample_headers"])}
        if sample is None:
            sample = _fallback_sample()
        results["sample_body_bytes"] = len(sample["payload"].encode())
        if "drain" not in args.skip:
            ceiling = await steps.step("drain-ceiling", "backlog drain: the ceiling (bare aiohttp, 256 in flight)",
                                       scenarios.ceiling_drain(receiver, sample["payload"], sample["headers"],
                                                               args.drain_events))
            if ceiling:
                arms.insert(0, _arm("ceiling", "ceiling: bare aiohttp", ceiling, kind="ceiling"))
            for workers in (1, 2):
                pg = await steps.step(f"drain-postgresql-{workers}w", f"backlog drain on PostgreSQL, {workers} "
                                      "worker(s) on one database",
                                      scenarios.hookdoor_drain(work, http, receiver, "postgresql", args.drain_events,
                                                               workers))
                if pg:
                    arms.append(_arm(f"hookdoor-postgresql-{workers}w", f"Hookdoor, PostgreSQL, {workers} worker"
                                     + ("s" if workers > 1 else ""), pg, kind="hookdoor"))
        broker = None
        if "profile" not in args.skip and cpu_profile.py_spy():
            profiled = await steps.step("profile-sqlite", "the SQLite drain again, the worker sampled by py-spy "
                                        "(its rate is not a figure: sampling slows it)",
                                        scenarios.hookdoor_drain(work, http, receiver, "sqlite", args.drain_events,
                                                                 profile=True))
            results["profile"] = (profiled or {}).get("profile")
        if "peer" not in args.skip:
            results["peer_versions"] = await steps.step("peer-install", "the Celery peer's virtual environment",
                                                        asyncio.to_thread(peer_celery.ensure_venv))
            broker = await steps.step("peer-broker", "the Redis broker", peer_celery.broker(work))
            results["peer_broker"] = broker
            if broker and results.get("peer_versions"):
                for pool, concurrency in (("prefork", 2), ("gevent", 64)):
                    peer = await steps.step(f"peer-{pool}", f"backlog drain: Celery {pool} pool x {concurrency}, "
                                            f"{args.peer_tasks:,} tasks",
                                            peer_celery.drain(work, broker["url"], receiver, sample["payload"],
                                                              args.peer_tasks, pool, concurrency, pool))
                    if peer:
                        arms.append(_arm(f"celery-{pool}", f"Celery {pool} x {concurrency}", peer, kind="peer"))
        if "serve" not in args.skip:
            results["serve"] = await steps.step(
                "serve", "`hookdoor serve` on SQLite: capacity, steady arrival at 25/50/90 %, recording overhead, "
                "fan-out", scenarios.serve_suite(args, work, http, receiver, sample))
            results["ceiling_fanout"] = await steps.step(
                "fanout-ceiling", f"fan-out ceiling: {args.fanout} POSTs",
                scenarios.ceiling_fanout(receiver, sample["payload"], sample["headers"], args.fanout))
            peers = [a for a in arms if a["kind"] == "peer" and a.get("rate")]
            rates = [r["rate"] for r in (results.get("serve") or {}).get("latency", [])]
            if peers and rates and broker:
                best = max(peers, key=lambda a: a["rate"])
                pool, concurrency = best["figures"]["pool"], best["figures"]["concurrency"]
                runs = await steps.step(
                    "peer-steady", f"steady arrival through the best Celery arm ({pool} x {concurrency}) at the "
                    "same rates", peer_celery.steady(work, broker["url"], receiver, sample["payload"], pool,
                                                     concurrency, rates, args.latency_seconds))
                results["peer_steady"] = {"pool": pool, "concurrency": concurrency, "runs": runs or []}
        if "isolation" not in args.skip:
            capacity = ((results.get("serve") or {}).get("capacity") or {}).get("rate") or 100.0
            drain = next((a["rate"] for a in arms if a["key"] == "hookdoor-sqlite" and a.get("rate")), 2000.0)
            # Calls at which the eight healthy webhooks ask for a quarter of one worker's drain rate (and at
            # most half the API's capacity): the worker has room, so what the hanging two take shows.
            rate = max(2.0, min(capacity * 0.5, drain * 0.25 / 8))
            results["isolation"] = await steps.step(
                "isolation", "isolation: 20 % of endpoints hang past their timeout",
                scenarios.isolation(args, work, http, receiver, rate))
        if "memory" not in args.skip:
            results["memory"] = []
            for backend in ("sqlite", "postgresql"):
                mem = await steps.step(f"memory-{backend}", f"worker RSS through a {args.memory_backlog:,}-delivery "
                                       f"backlog on {backend} (at most {args.memory_window:g} s)",
                                       scenarios.memory_drain(work, http, receiver, backend, args.memory_backlog,
                                                              args.memory_window))
                if mem:
                    results["memory"].append(mem)
    CHILDREN.stop("receiver")
    CHILDREN.stop("redis")
    return results


def _arm(key: str, label: str, figures: dict[str, Any], kind: str) -> dict[str, Any]:
    rate = figures["arrival"].get("rate_middle_80")
    return {"key": key, "label": label, "kind": kind, "rate": rate, "figures": figures,
            "cpu_us_per_delivery": figures.get("cpu_us_per_delivery")}


def _fallback_sample() -> dict[str, Any]:
    """A body of Hookdoor's size when the SQLite drain did not run (--skip drain)."""
    user = {**delivery.realistic_user("ada"), "displayName": "bench-0-0"}  # the ceiling's latency marks it
    payload = json.dumps({"id": "01JBENCHBENCHBENCHBENCHBEN", "type": "update-user", "data": {"object": user}})
    return {"payload": payload, "headers": {"content-type": "application/json"}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = ".venv/bin/python bench/run.py" + (" " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else "")
    if args.out:
        out = Path(args.out)
        doc, chart_dir = out / "benchmarks.md", out / "bench"
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="hookdoor-bench-quick-"))
        doc, chart_dir = out / "benchmarks.md", out / "bench"
    else:
        doc, chart_dir = ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "bench"
    if args.from_json:  # only draw and write again, from a saved run
        results = json.loads(Path(args.from_json).read_text())
        return write(results, doc, chart_dir)
    plan = planned_seconds(args)
    print(f"planned duration: about {plan / 60:.1f} minutes (bound: {args.max_seconds:g} s); writing {doc}",
          flush=True)
    results = delivery.run_with_children(lambda work: run(args, work), "hookdoor-suite-", args.max_seconds,
                                         args.keep)
    results["planned_s"] = plan
    results["command"] = command
    results["args"] = {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()}
    return write(results, doc, chart_dir)


def write(results: dict[str, Any], doc: Path, chart_dir: Path) -> int:
    """The charts, the results file and the document; non-zero when a scenario failed."""
    chart_dir.mkdir(parents=True, exist_ok=True)
    results_file = chart_dir / "results.json"
    made = charts.draw(results, chart_dir)
    results["charts"] = [str(p.relative_to(doc.parent)) for p in made]
    results_file.write_text(json.dumps(results, indent=1, default=str))
    doc.write_text(report.render(results, results_file.relative_to(doc.parent)))
    print(f"written: {doc}, {results_file}, {len(made)} charts; runtime {results['runtime_s']:.0f} s"
          + (f"; errors in: {', '.join(results['errors'])}" if results["errors"] else ""), flush=True)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
