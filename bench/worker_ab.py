"""CPU per delivery of two versions of `hookdoor worker`, and of a bare aiohttp sender, measured
at the same time: on a machine shared with other work, CPU time per operation moves with the load
(from one minute to the next by a third, here), so figures taken one after the other cannot tell a
change of 10 % from noise. Run side by side, all arms meet the same load.

    .venv/bin/python bench/worker_ab.py --baseline-src /tmp/baseline/src [--events 20000] [--rounds 3]

``--baseline-src``: a ``src`` folder of another checkout (e.g. ``git archive <commit> src | tar -x``),
put first on the baseline worker's PYTHONPATH; the other worker runs this checkout's code. Each round:
one database prepared as bench/delivery.py's section 1 does (webhook added through the API, events
inserted straight into the table), copied once per worker; then both workers and the bare sender
drain the same number of deliveries at once, to one receiver. A worker's start-up CPU (imports,
migrations check) is measured on an empty copy first and left out. Every delivery is checked in the
database afterwards (one attempt each, HTTP 200, signed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
import delivery as bench  # noqa: E402 (bench/ is not a package)


async def idle_startup_cpu(name: str, database: Path, work: Path, env: dict[str, str]) -> float:
    """CPU of a worker that starts on a database with nothing to send, once it has settled."""
    proc = bench.CHILDREN.start(name, [bench.PYTHON, "-m", "hookdoor", "worker"], env, work, work / f"{name}.log")
    previous, steady = -1.0, 0
    for _ in range(200):
        await asyncio.sleep(0.1)
        bench.CHILDREN.check_alive(name)
        now = bench.cpu_seconds(proc.pid)
        steady = steady + 1 if now - previous < 0.005 else 0
        previous = now
        if steady >= 5:
            break
    bench.CHILDREN.stop(name)
    return previous


async def bare_lanes(url: str, body: bytes, headers: dict[str, str], total: int, concurrency: int) -> dict[str, Any]:
    cpu = time.process_time()
    errors = await bench.post_lanes(url, body, headers, total, concurrency)
    return {"cpu_s": time.process_time() - cpu, "errors": errors}


async def prepare(work: Path, receiver: bench.ReceiverClient, events: int) -> tuple[Path, dict[str, Any]]:
    database = work / "prepared.db"
    async with bench.new_client() as http:
        base = await bench.start_serve("serve-prepare", work, database, http, worker=False)
        api = bench.Api(http, base)
        await api.login()
        await api.add_webhook("tp-0", receiver.url("/tp/0"), maxConcurrency=256)
        admin = (await api.get("get-user", id="built-in/admin"))["data"]
    bench.CHILDREN.stop("serve-prepare")
    empty = work / "empty.db"
    shutil.copy(database, empty)
    bench.insert_events(database, events, bench.realistic_user("ada", admin))
    return database, {"empty": empty}


async def one_round(args: argparse.Namespace, work: Path, receiver: bench.ReceiverClient,
                    arms: dict[str, dict[str, str]]) -> dict[str, Any]:
    prepared, extra = await prepare(work, receiver, args.events)
    startup = {}
    for arm, env in arms.items():
        empty = work / f"empty-{arm}.db"
        shutil.copy(extra["empty"], empty)
        startup[arm] = await idle_startup_cpu(f"idle-{arm}", empty, work,
                                              {**env, "HOOKDOOR_DATABASE_URL": f"sqlite:///{empty}"})
    databases = {}
    for arm in arms:
        databases[arm] = work / f"drain-{arm}.db"
        shutil.copy(prepared, databases[arm])
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            for arm in arms:
                shutil.copy(str(prepared) + suffix, str(databases[arm]) + suffix)
    sample_body = bench.realistic_user("ada")  # same size class as the deliveries' payloads
    body = json.dumps({"id": "0" * 26, "event": "update-user", "object": sample_body}).encode()
    headers = {"Content-Type": "application/json", "webhook-id": "msg_x", "webhook-timestamp": "0",
               "webhook-signature": "v1," + "A" * 44}
    await receiver.reset()
    procs = {}
    started = time.monotonic()
    for arm, env in arms.items():
        procs[arm] = bench.CHILDREN.start(
            f"worker-{arm}", [bench.PYTHON, "-m", "hookdoor", "worker"],
            {**env, "HOOKDOOR_DATABASE_URL": f"sqlite:///{databases[arm]}"}, work, work / f"worker-{arm}.log")
    bare = asyncio.create_task(bare_lanes(receiver.url("/bare"), body, headers, args.events, 256))
    finished: dict[str, float] = {}
    cpu: dict[str, float] = {}
    deadline = time.monotonic() + max(120.0, args.events / 100)
    while len(finished) < len(arms) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        for arm, proc in procs.items():
            if arm not in finished:
                bench.CHILDREN.check_alive(f"worker-{arm}")
                if bench.settled_count(databases[arm]) >= args.events:
                    cpu[arm] = bench.cpu_seconds(proc.pid)
                    finished[arm] = time.monotonic() - started
    bare_result = await asyncio.wait_for(bare, 120)
    for arm in arms:
        bench.CHILDREN.stop(f"worker-{arm}")
    result: dict[str, Any] = {"bare_us": bare_result["cpu_s"] / args.events * 1e6, "bare_errors": bare_result["errors"]}
    for arm in arms:
        if arm not in cpu:
            raise RuntimeError(f"worker {arm} did not settle {args.events} deliveries in time")
        check = bench.check_deliveries(databases[arm], args.events)
        result[arm] = {"us": (cpu[arm] - startup[arm]) / args.events * 1e6, "startup_cpu_s": startup[arm],
                       "seconds": finished[arm], "all_ok": check["all_ok"]}
    remove_databases(work)
    return result


def remove_databases(work: Path) -> None:
    for path in work.glob("*.db*"):  # the database, its WAL, and its doorbell folder
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


async def run(args: argparse.Namespace, work: Path, baseline_src: Path) -> list[dict[str, Any]]:
    port = bench.free_port()
    bench.CHILDREN.start("receiver", [bench.PYTHON, str(bench.ROOT / "bench" / "receiver.py"), "--port", str(port),
                                      "--max-seconds", "3600"], {}, work, work / "receiver.log")
    env = {**bench.BENCH_ENV}
    arms = {"baseline": {**env, "PYTHONPATH": str(baseline_src)}, "this": {**env, "PYTHONPATH": ""}}
    rounds = []
    async with bench.new_client() as http:
        receiver = bench.ReceiverClient(http, port)
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientError, OSError):
                await receiver.count()
                break
            await asyncio.sleep(0.1)
        for number in range(args.rounds):
            found = await one_round(args, work, receiver, arms)
            rounds.append(found)
            print(f"round {number + 1}: baseline {found['baseline']['us']:.0f} µs/delivery "
                  f"({found['baseline']['seconds']:.1f} s, ok {found['baseline']['all_ok']}), "
                  f"this {found['this']['us']:.0f} µs/delivery ({found['this']['seconds']:.1f} s, "
                  f"ok {found['this']['all_ok']}), bare aiohttp {found['bare_us']:.0f} µs/request; "
                  f"this/baseline {found['this']['us'] / found['baseline']['us']:.2f}, "
                  f"this/bare {found['this']['us'] / found['bare_us']:.2f}, "
                  f"baseline/bare {found['baseline']['us'] / found['bare_us']:.2f}", flush=True)
    bench.CHILDREN.stop("receiver")
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", required=True, help="the src folder of the baseline checkout")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the rounds' figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hookdoor-ab-"))
    try:
        rounds = uvloop.run(run(args, work, Path(args.baseline_src).resolve()))
    finally:
        bench.CHILDREN.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    ratios = [r["this"]["us"] / r["baseline"]["us"] for r in rounds]
    print(f"median this/baseline over {len(rounds)} rounds: {statistics.median(ratios):.2f}; "
          f"median µs: baseline {statistics.median(r['baseline']['us'] for r in rounds):.0f}, "
          f"this {statistics.median(r['this']['us'] for r in rounds):.0f}, "
          f"bare {statistics.median(r['bare_us'] for r in rounds):.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rounds, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
