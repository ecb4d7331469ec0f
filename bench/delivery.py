"""Delivery benchmark: throughput of one `hookdoor worker`, event-to-delivery latency under load,
request-path overhead of subscribed webhooks, and a bare-aiohttp ceiling for the first two.

    .venv/bin/python bench/delivery.py            # full run, prints its figures; --output FILE for a report
    .venv/bin/python bench/delivery.py --quick    # short smoke run

The whole suite, which writes docs/benchmarks.md, is bench/run.py; this is one of its parts run alone.

Every figure printed or written is measured in this run; nothing is estimated. All traffic stays on
127.0.0.1. Child processes (receiver, `hookdoor serve`, `hookdoor worker`) are ended on exit, errors
included, and every wait is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import ctypes
import json
import math
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADMIN_PASSWORD = "bench-admin-password"
BENCH_ENV = {
    "HOOKDOOR_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "HOOKDOOR_PASSWORD_TIME_COST": "1",  # only the bench's own login hashes a password
    "HOOKDOOR_PASSWORD_MEMORY_KIB": "1024",
    "HOOKDOOR_WEBHOOK_ALLOW_TARGETS": "127.0.0.1",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
_CROCKFORD = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}

TOPOLOGIES = {
    "serve": "`hookdoor serve` as it starts by default on this 2-core machine: the API, and its worker as a child "
             "process (`hookdoor worker` at `HOOKDOOR_WORKER_NICE`=10, woken at commit by the SQLite doorbell)",
    "inline": "`hookdoor serve` with `HOOKDOOR_WORKER_PROCESS=false` (API and worker in one event loop, woken at "
              "commit)",
    "separate": "`hookdoor serve --no-worker` beside one `hookdoor worker` process started by hand (woken at commit "
                "by the SQLite doorbell)",
}
LAYOUT_NAMES = {"serve": "`hookdoor serve`, worker in a child process", "inline": "worker in `hookdoor serve`'s "
                "event loop", "separate": "separate `hookdoor worker`"}
SERVE_ENV = {"serve": {"HOOKDOOR_WORKER_PROCESS": "true"}, "inline": {"HOOKDOOR_WORKER_PROCESS": "false"},
             "separate": {}}
TARGETS = {
    "throughput": "≥ 4,000 deliveries/s sustained by one `hookdoor worker` (SQLite WAL, signing, attempt log)",
    "latency": "event-to-delivery p50 ≤ 5 ms and p99 ≤ 50 ms at 500 events/s",
    "overhead": "update-user latency with 10 subscribed webhooks ≤ 1.1 × with none",
}


# ---- child processes ---------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Children:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
        handle = log.open("ab")
        proc = subprocess.Popen(
            args, cwd=cwd, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )
        handle.close()
        self.procs[name], self.logs[name] = proc, log
        return proc

    def stop(self, name: str, timeout: float = 20) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name, timeout=10)

    def check_alive(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is not None:
            tail = self.logs[name].read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")


CHILDREN = Children()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """utime + stime of the event loop's thread (the main one) and of all other threads together
    (on SQLite: the WAL checkpoints; sqlite3 releases the GIL in them): measured, not sampled."""
    used = {"event_loop_thread": 0.0, "other_threads": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            key = "event_loop_thread" if task.name == str(pid) else "other_threads"
            used[key] = round(used[key] + (int(fields[11]) + int(fields[12])) / CLK_TCK, 2)
    return used


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU used by named processes and by the whole machine over a phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.self_start = time.process_time()
        self.machine_start = machine_busy()
        self.wall_start = time.monotonic()

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.wall_start
        used = {name: cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items()}
        used["bench"] = time.process_time() - self.self_start
        busy, total = machine_busy()
        cores = os.cpu_count() or 1
        machine = (busy - self.machine_start[0]) / max(1, total - self.machine_start[1]) * cores
        result = {f"{name}_cpu_s": round(value, 2) for name, value in used.items()}
        result["wall_s"] = round(wall, 2)
        result["machine_cores_busy"] = round(machine, 2)
        result["others_cores_busy"] = round(max(0.0, machine - sum(used.values()) / wall), 2)
        return result


# ---- statistics ------------------------------------------------------------------------------------

def pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    values = sorted(v * 1000 for v in seconds)
    if not values:
        return {"n": 0}
    return {
        "n": len(values), "mean": statistics.fmean(values), "p50": pct(values, 50), "p90": pct(values, 90),
        "p99": pct(values, 99), "max": values[-1], "min": values[0],
    }


def rates(arrivals: list[float]) -> dict[str, float]:
    """Arrival rate first-to-last, and over the middle 80 % of arrivals (steady state)."""
    times = sorted(arrivals)
    n = len(times)
    out = {"n": n}
    if n >= 2 and times[-1] > times[0]:
        out["span_s"] = times[-1] - times[0]
        out["rate_first_last"] = (n - 1) / (times[-1] - times[0])
        lo, hi = int(n * 0.1), int(n * 0.9) - 1
        if hi > lo and times[hi] > times[lo]:
            out["rate_middle_80"] = (hi - lo) / (times[hi] - times[lo])
        # worst and best one-second windows in the middle 80 %
        per_second = Counter(int(t - times[lo]) for t in times[lo:hi + 1])
        full = [per_second[s] for s in range(int(times[hi] - times[lo]))]
        if full:
            out["min_1s_window"], out["max_1s_window"] = min(full), max(full)
    return out


def ulid_ms(value: str) -> int:
    number = 0
    for char in value[:10]:
        number = number * 32 + _CROCKFORD[char]
    return number


def parse_db_time(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# ---- talking to the receiver and the server ---------------------------------------------------------

class ReceiverClient:
    def __init__(self, http: aiohttp.ClientSession, port: int) -> None:
        self.http, self.base = http, f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    async def count(self) -> int:
        async with self.http.get(self.base + "/_bench/count") as response:
            return (await response.json())["count"]

    async def records(self) -> list[list[Any]]:
        async with self.http.get(self.base + "/_bench/records") as response:
            return (await response.json())["records"]

    async def reset(self) -> None:
        async with self.http.post(self.base + "/_bench/reset") as response:
            response.raise_for_status()

    async def wait_for(self, count: int, within: float, poll: float = 0.05, alive: str | None = None) -> int:
        deadline = time.monotonic() + within
        seen = await self.count()
        while seen < count and time.monotonic() < deadline:
            if alive:
                CHILDREN.check_alive(alive)
            await asyncio.sleep(poll)
            seen = await self.count()
        return seen

    async def wait_quiet(self, quiet: float = 0.5, within: float = 30) -> int:
        """Until no new request arrived for `quiet` seconds."""
        deadline = time.monotonic() + within
        last, since = await self.count(), time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = await self.count()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return last


class Api:
    """Casdoor-style calls with the admin's session cookie."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def get(self, action: str, **params: str) -> Any:
        async with self.http.get(f"{self.base}/api/{action}", params=params) as response:
            return await response.json()

    async def post(self, action: str, body: Any = None, **params: str) -> Any:
        async with self.http.post(f"{self.base}/api/{action}", json=body, params=params) as response:
            answer = await response.json()
        if answer.get("status") != "ok":
            raise RuntimeError(f"{action} failed: {answer}")
        return answer

    async def login(self) -> None:
        await self.post("login", {"type": "login", "organization": "built-in", "application": "app-built-in",
                                  "username": "admin", "password": ADMIN_PASSWORD})

    async def add_webhook(self, name: str, url: str, **fields: Any) -> dict[str, Any]:
        await self.post("add-webhook", {"owner": "built-in", "name": name, "url": url, "events": ["update-user"],
                                        **fields})
        return (await self.get("get-webhook", id=f"built-in/{name}"))["data"]

    async def set_enabled(self, names: list[str], enabled: bool) -> None:
        for name in names:
            webhook = (await self.get("get-webhook", id=f"built-in/{name}"))["data"]
            if webhook["isEnabled"] != enabled:
                await self.post("update-webhook", {**webhook, "isEnabled": enabled}, id=f"built-in/{name}")


def realistic_user(name: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Casdoor user as an SDK sends it to update-user: identity, contact, profile fields (~1 KB)."""
    user = {
        "owner": "built-in", "name": name, "type": "normal-user", "displayName": f"Bench User {name}",
        "firstName": "Ada", "lastName": "Lovelace", "email": f"{name}@example.com", "emailVerified": True,
        "phone": "5551234567", "countryCode": "US", "region": "CA", "location": "San Francisco",
        "address": ["1 Market Street", "Suite 100"], "affiliation": "Example Corp", "title": "Engineer",
        "homepage": "https://example.com/~ada", "bio": "Writes programs for engines that do not exist yet.",
        "tag": "staff", "language": "en", "gender": "female", "birthday": "1815-12-10",
        "education": "Home-schooled", "score": 2000, "karma": 10, "ranking": 3, "isDefaultAvatar": False,
        "avatar": "https://cdn.example.com/avatars/ada-lovelace-400x400.png",
        "signupApplication": "app-built-in", "isAdmin": False, "isForbidden": False, "isDeleted": False,
        "properties": {"department": "R&D", "costCenter": "CC-1234", "employeeId": "E-000042"},
        "groups": ["built-in/engineering"], "roles": [], "permissions": [],
    }
    if base:
        user = {**user, **{k: v for k, v in base.items() if k in ("id", "createdTime", "updatedTime")}}
    return user


# ---- server lifecycle --------------------------------------------------------------------------------

async def start_serve(name: str, workdir: Path, database: Path, http: aiohttp.ClientSession,
                      *, worker: bool, env: dict[str, str] | None = None, within: float = 60) -> str:
    port = free_port()
    env = {**BENCH_ENV, "HOOKDOOR_DATABASE_URL": f"sqlite:///{database}", "HOOKDOOR_PORT": str(port), **(env or {})}
    args = [PYTHON, "-m", "hookdoor", "serve"] + ([] if worker else ["--no-worker"])
    CHILDREN.start(name, args, env, workdir, workdir / f"{name}.log")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        CHILDREN.check_alive(name)
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.get(base + "/api/health", timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    return base
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not answer /api/health within {within:g} s")


def server_pids() -> dict[str, int]:
    """The processes of the server under test: `hookdoor serve`, and its `hookdoor worker` (its child, or
    separate)."""
    pids = {name: CHILDREN.procs[name].pid for name in ("serve", "serve-worker") if name in CHILDREN.procs}
    if "serve" in pids and "serve-worker" not in pids and (children := children_of(pids["serve"])):
        pids["serve-worker"] = children[0]
    return pids


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError):
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


async def wait_for_worker_child(serve_pid: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not children_of(serve_pid):
        if time.monotonic() > deadline:
            raise RuntimeError("`hookdoor serve` started no worker process")
        await asyncio.sleep(0.1)


def start_separate_worker(workdir: Path, database: Path, nice: int) -> None:
    env = {**BENCH_ENV, "HOOKDOOR_DATABASE_URL": f"sqlite:///{database}"}
    niced = ["nice", "-n", str(nice)] if nice else []
    CHILDREN.start("serve-worker", [*niced, PYTHON, "-m", "hookdoor", "worker"], env, workdir,
                   workdir / "serve-worker.log")


def new_client(limit: int = 100, timeout: float = 30) -> aiohttp.ClientSession:
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so that no call is sent on a
    # connection the server is closing at that moment (a ServerDisconnectedError that is no failure of it).
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, keepalive_timeout=3), cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


# ---- 1. throughput -----------------------------------------------------------------------------------

def insert_events(database: Path, count: int, user: dict[str, Any], batch: int = 1000) -> float:
    """N update-user events, as the API would record them, inserted straight into the table."""
    from sqlalchemy import create_engine, insert

    from hookdoor.db.tables import events
    from hookdoor.db.types import utcnow
    from hookdoor.events.ids import new_ulid
    from hookdoor.events.recorder import user_summary

    engine = create_engine(f"sqlite:///{database}")
    request = {"method": "POST", "uri": f"/api/update-user?id=built-in%2F{user['name']}", "clientIp": "127.0.0.1",
               "userAgent": "casdoor-python-sdk/1.43.3", "language": "en"}
    started = time.monotonic()
    made = 0
    with engine.begin() as connection:
        while made < count:
            rows = []
            for _ in range(min(batch, count - made)):
                obj = {**user, "displayName": f"bench-0-{made}"}
                rows.append({
                    "id": new_ulid(), "action": "update-user", "organization": "built-in", "actor": "built-in/admin",
                    "subject": f"built-in/{user['name']}", "outcome": "ok", "status_code": 200, "message": "",
                    "user": user_summary(obj), "object": obj, "request": request, "created_at": utcnow(),
                    "dispatched": False,
                })
                made += 1
            connection.execute(insert(events), rows)
    engine.dispose()
    return time.monotonic() - started


def check_deliveries(database: Path, expected: int) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        states = dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
        attempts_total = db.execute("SELECT count(*) FROM attempts").fetchone()[0]
        not_one = db.execute(
            "SELECT count(*) FROM (SELECT d.id FROM deliveries d LEFT JOIN attempts a ON a.delivery_id = d.id "
            "GROUP BY d.id HAVING count(a.id) != 1)"
        ).fetchone()[0]
        ok_attempts = db.execute("SELECT count(*) FROM attempts WHERE response_status = 200").fetchone()[0]
        payload = db.execute("SELECT avg(length(payload)), count(*) FROM deliveries").fetchone()
        signed = db.execute(
            "SELECT count(*) FROM attempts WHERE request_headers LIKE '%webhook-signature%v1,%'"
        ).fetchone()[0]
    return {
        "expected": expected, "states": states, "attempt_rows": attempts_total,
        "deliveries_without_exactly_one_attempt": not_one, "attempts_http_200": ok_attempts,
        "attempts_signed": signed, "deliveries": payload[1],
        "avg_payload_bytes": round(payload[0] or 0), "all_ok": (
            states.get("succeeded", 0) == expected == payload[1] == attempts_total == ok_attempts == signed
            and not_one == 0),
    }


def settled_count(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        return db.execute("SELECT count(*) FROM deliveries WHERE state IN ('succeeded', 'failed')").fetchone()[0]


async def throughput(args: argparse.Namespace, work: Path, receiver: ReceiverClient) -> dict[str, Any]:
    database = work / "throughput.db"
    expected = args.events * args.webhooks
    async with new_client() as http:
        base = await start_serve("serve-prepare", work, database, http, worker=False)
        api = Api(http, base)
        await api.login()
        hooks = [await api.add_webhook(f"tp-{i}", receiver.url(f"/tp/{i}"), maxConcurrency=args.max_concurrency)
                 for i in range(args.webhooks)]
        admin = (await api.get("get-user", id="built-in/admin"))["data"]
    CHILDREN.stop("serve-prepare")
    user = realistic_user("ada", admin)
    print(f"  inserting {args.events} update-user events ...", flush=True)
    insert_seconds = insert_events(database, args.events, user)
    await receiver.reset()

    env = {**BENCH_ENV, "HOOKDOOR_DATABASE_URL": f"sqlite:///{database}"}
    print(f"  starting `hookdoor worker` for {expected} deliveries ...", flush=True)
    started_wall = time.time()
    proc = CHILDREN.start("worker", [PYTHON, "-m", "hookdoor", "worker"], env, work, work / "worker.log")
    # --workers N: more `hookdoor worker` processes on the same file, sharing the queue through leases
    # (their CPU is added to the first one's in the figures).
    others = [CHILDREN.start(f"worker-{n}", [PYTHON, "-m", "hookdoor", "worker"], env, work, work / f"worker-{n}.log")
              for n in range(2, args.workers + 1)]
    meter = CpuMeter({"worker": proc.pid, "receiver": CHILDREN.procs["receiver"].pid,
                      **{f"worker-{n}": other.pid for n, other in enumerate(others, start=2)}})
    profiler = start_profiler(args.profile_worker, args.profile_rate, proc.pid, work) if args.profile_worker else None
    # The workers' CPU when the first delivery arrives: their start-up (imports, migrations check),
    # which the CPU per delivery leaves out (sampled every 10 ms: at most ~10 ms of sending counted in).
    startup_cpu = await cpu_at_first_arrival(receiver, [proc.pid, *(other.pid for other in others)], within=60)
    timeout = max(60.0, expected / 500)
    arrived = await receiver.wait_for(expected, timeout, poll=0.2, alive="worker")
    deadline = time.monotonic() + 30
    while settled_count(database) < expected and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a file)
        await asyncio.sleep(0.1)
    settled_wall = time.time()
    cpu = meter.stop()
    cpu["worker_threads_cpu_s"] = thread_cpu_seconds(proc.pid)
    CHILDREN.stop("worker")
    for n in range(2, args.workers + 1):
        CHILDREN.stop(f"worker-{n}")
        cpu["worker_cpu_s"] = round(cpu["worker_cpu_s"] + cpu.pop(f"worker-{n}_cpu_s"), 2)
    if profiler is not None:
        stop_profiler(profiler)
    cpu["worker_startup_cpu_s"] = round(startup_cpu, 3)
    cpu["worker_us_per_delivery"] = round((cpu["worker_cpu_s"] - startup_cpu) / expected * 1e6, 1)
    records = await receiver.records()
    times = [r[0] for r in records]
    result: dict[str, Any] = {
        "events": args.events, "webhooks": args.webhooks, "max_concurrency": args.max_concurrency,
        "worker_concurrency": 256, "workers": args.workers, "expected": expected, "arrived": arrived,
        "insert_seconds": round(insert_seconds, 2), "arrival": rates(times),
        "distinct_webhook_ids": len({r[3] for r in records}),
        "distinct_event_ids_per_path": {path: len(ids) for path, ids in _ids_by_path(records).items()},
        "start_to_last_arrival_s": (max(times) - started_wall) if times else None,
        "start_to_all_settled_s": settled_wall - started_wall, "cpu": cpu,
        "db": check_deliveries(database, expected), "secret_of_first": hooks[0]["signingSecret"][:10] + "...",
    }
    result["sample_payload"] = _sample_payload(database)
    return result


async def cpu_at_first_arrival(receiver: ReceiverClient, pids: list[int], within: float) -> float:
    deadline = time.monotonic() + within
    before = sum(cpu_seconds(pid) for pid in pids)
    while time.monotonic() < deadline:
        CHILDREN.check_alive("worker")
        if await receiver.count() > 0:
            return before
        before = sum(cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(0.01)
    raise RuntimeError(f"no delivery arrived within {within:g} s of the worker's start")


def start_profiler(output: str, rate: int, pid: int, work: Path) -> subprocess.Popen[bytes]:
    """py-spy (from PyPI) sampling the worker from outside, as collapsed stacks (``--format raw``,
    summed up by bench/profile_breakdown.py): ``rate`` samples/s of every thread, without pausing the
    worker (``--nonblocking``), idle frames left out."""
    py_spy = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("--profile-worker needs py-spy: .venv/bin/pip install py-spy")
    return CHILDREN.start("profiler", [py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
                                       "--format", "raw", "--output", str(Path(output).resolve())],
                          {}, work, work / "profiler.log")


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    """py-spy writes its output when the process it samples exits (the worker was just stopped)."""
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        CHILDREN.stop("profiler")
    CHILDREN.procs.pop("profiler", None)


def _ids_by_path(records: list[list[Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for record in records:
        out.setdefault(record[4], set()).add(record[1])
    return out


def _sample_payload(database: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        payload, headers = db.execute(
            "SELECT d.payload, a.request_headers FROM deliveries d JOIN attempts a ON a.delivery_id = d.id LIMIT 1"
        ).fetchone()
    return {"payload": payload, "headers": json.loads(headers)}


async def post_lanes(url: str, body: bytes, headers: dict[str, str], total: int, concurrency: int) -> int:
    """The bare sender's loop: ``total`` POSTs of ``body`` from ``concurrency`` lanes on one plain aiohttp
    session; how many failed or were not answered 200."""
    sent = errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15)) as http:

        async def lane() -> None:
            nonlocal sent, errors
            while sent < total:
                sent += 1
                try:
                    async with http.post(url, data=body, headers=headers) as response:
                        await response.read()
                        errors += response.status != 200
                except (aiohttp.ClientError, OSError):
                    errors += 1

        await asyncio.gather(*(lane() for _ in range(concurrency)))
    return errors


def run_with_children(run: Callable[[Path], Coroutine[Any, Any, dict[str, Any]]], prefix: str, max_seconds: float,
                      keep: bool) -> dict[str, Any]:
    """``run(work)`` in a fresh work folder, bounded by ``max_seconds``; every child process it started
    is stopped however it ends, and the folder removed unless ``keep`` or the run failed (its logs)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(CHILDREN.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    try:
        results = uvloop.run(asyncio.wait_for(run(work), max_seconds))
    except BaseException:
        print(f"benchmark failed; logs in {work}", file=sys.stderr)
        keep = True
        raise
    finally:
        CHILDREN.stop_all()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    results["runtime_s"] = time.monotonic() - started
    if keep:
        results["work"] = str(work)
    return results


async def bare_sender(receiver: ReceiverClient, sample: dict[str, Any], total: int, concurrency: int) -> dict[str, Any]:
    """The ceiling: plain aiohttp POSTs of same-size signed-looking bodies, no database, no signing."""
    body = sample["payload"].encode()
    headers = {k: v for k, v in sample["headers"].items() if k.lower() != "content-length"}
    await receiver.reset()
    meter = CpuMeter({"receiver": CHILDREN.procs["receiver"].pid})
    started = time.monotonic()
    errors = await asyncio.wait_for(post_lanes(receiver.url("/bare"), body, headers, total, concurrency),
                                    timeout=max(60, total / 200))
    elapsed = time.monotonic() - started
    cpu = meter.stop()
    arrived = await receiver.wait_for(total, 10)
    records = await receiver.records()
    return {"requests": total, "concurrency": concurrency, "errors": errors, "arrived": arrived,
            "client_rate": total / elapsed, "arrival": rates([r[0] for r in records]), "cpu": cpu,
            "body_bytes": len(body)}


# ---- 2. latency at a steady rate ---------------------------------------------------------------------

@dataclass
class OpenLoop:
    results: list[dict[str, Any]]
    issue_rate: float  # calls started per second, first to last
    completion_s: float  # from the first start to the last answer


async def open_loop(rate: float, duration: float, call: Any, limit_s: float) -> OpenLoop:
    """Start call(i) at t0 + i / rate, without waiting for earlier calls (open loop)."""
    count = max(2, int(rate * duration))
    results: list[dict[str, Any]] = []
    tasks = []
    t0 = time.monotonic() + 0.05
    for i in range(count):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(call(i, results)))
    issued = time.monotonic() - t0
    with contextlib.suppress(TimeoutError):  # calls still unanswered are counted as not ok
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=limit_s)
    return OpenLoop(results, (count - 1) / issued if issued > 0 else math.nan, time.monotonic() - t0)


async def capacity(api: Api, users: list[dict[str, Any]], seconds: float, clients: int = 16) -> dict[str, Any]:
    """How many update-user calls/s the server completes with `clients` callers in a closed loop."""
    url = f"{api.base}/api/update-user"
    done, failed = 0, 0
    stop_at = time.monotonic() + seconds

    async def client(c: int) -> None:
        nonlocal done, failed
        i = 0
        while time.monotonic() < stop_at:
            user = users[(c + i) % len(users)]
            i += 1
            async with api.http.post(url, params={"id": f"built-in/{user['name']}"},
                                     json={**user, "displayName": f"bench-6-{c * 100000 + i}"}) as response:
                ok = (await response.json()).get("status") == "ok"
            done += ok
            failed += not ok

    meter = CpuMeter(server_pids())
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(client(c) for c in range(clients))), timeout=seconds + 60)
    elapsed = time.monotonic() - started
    cpu = meter.stop()
    server_cpu_s = cpu["serve_cpu_s"] + cpu.get("serve-worker_cpu_s", 0.0)
    return {"clients": clients, "seconds": elapsed, "calls": done, "failed": failed, "rate": done / elapsed,
            "serve_cpu_ms_per_call": cpu["serve_cpu_s"] * 1000 / max(1, done),
            "server_cpu_ms_per_call": server_cpu_s * 1000 / max(1, done), "cpu": cpu}


async def latency(args: argparse.Namespace, api: Api, receiver: ReceiverClient, users: list[dict[str, Any]],
                  database: Path, run_id: int, rate: float) -> dict[str, Any]:
    await receiver.reset()
    url = f"{api.base}/api/update-user"

    async def call(i: int, results: list[dict[str, Any]]) -> None:
        user = users[i % len(users)]
        marker = f"bench-{run_id}-{i}"
        sent = time.time()
        status = None
        try:
            async with api.http.post(url, params={"id": f"built-in/{user['name']}"},
                                     json={**user, "displayName": marker}) as response:
                answer = await response.json()
                status = answer.get("status")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            status = type(exc).__name__
        results.append({"marker": marker, "sent": sent, "answered": time.time(), "status": status})

    meter = CpuMeter({**server_pids(), "receiver": CHILDREN.procs["receiver"].pid})
    loop = await open_loop(rate, args.duration, call, limit_s=args.duration * 10 + 60)
    results = loop.results
    ok = [r for r in results if r["status"] == "ok"]
    arrived = await receiver.wait_for(len(ok), 60)
    cpu = meter.stop()
    records = await receiver.records()
    by_marker = {r[2]: r for r in records if r[2]}
    created = _event_times(database, [r[1] for r in records])
    event_to_arrival, ulid_to_arrival, send_to_arrival, answer_to_arrival, api_latency = [], [], [], [], []
    for request in ok:
        api_latency.append(request["answered"] - request["sent"])
        record = by_marker.get(request["marker"])
        if record is None:
            continue
        at, event_id = record[0], record[1]
        send_to_arrival.append(at - request["sent"])
        answer_to_arrival.append(at - request["answered"])
        ulid_to_arrival.append(at - ulid_ms(event_id) / 1000)
        if event_id in created:
            event_to_arrival.append(at - created[event_id])
    return {
        "rate": rate, "duration": args.duration, "requests": int(max(2, rate * args.duration)), "ok": len(ok),
        "not_ok": dict(Counter(str(r["status"]) for r in results if r["status"] != "ok")),
        "issue_rate": loop.issue_rate, "completion_s": loop.completion_s, "arrived": arrived,
        "matched": len(send_to_arrival), "duplicates": len(records) - len({r[3] for r in records}),
        "event_to_arrival": summary_ms(event_to_arrival), "ulid_to_arrival": summary_ms(ulid_to_arrival),
        "request_to_arrival": summary_ms(send_to_arrival), "response_to_arrival": summary_ms(answer_to_arrival),
        "api_latency": summary_ms(api_latency), "cpu": cpu,
    }


def _event_times(database: Path, ids: list[str]) -> dict[str, float]:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        out = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for event_id, created in db.execute(f"SELECT id, created_at FROM events WHERE id IN ({marks})", chunk):
                out[event_id] = parse_db_time(created)
    return out


async def bare_latency(args: argparse.Namespace, receiver: ReceiverClient, sample: dict[str, Any]) -> dict[str, Any]:
    """The ceiling for figure 2: the same open-loop rate of same-size POSTs straight to the receiver."""
    await receiver.reset()
    body = sample["payload"].encode()
    headers = {k: v for k, v in sample["headers"].items() if k.lower() != "content-length"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100),
                                     timeout=aiohttp.ClientTimeout(total=15)) as http:
        url = receiver.url("/bare-latency")

        async def call(i: int, results: list[dict[str, Any]]) -> None:
            sent = time.time()
            marked = body.replace(b"bench-0-", f"bench-9-{i}x".encode(), 1)
            try:
                async with http.post(url, data=marked, headers=headers) as response:
                    await response.read()
                    results.append({"marker": f"bench-9-{i}", "sent": sent, "answered": time.time(),
                                    "ok": response.status == 200})
            except (aiohttp.ClientError, OSError, TimeoutError):
                results.append({"marker": f"bench-9-{i}", "sent": sent, "answered": time.time(), "ok": False})

        results = (await open_loop(args.rate, args.duration, call, limit_s=args.duration + 60)).results
    await receiver.wait_for(len(results), 10)
    records = {r[2]: r[0] for r in await receiver.records() if r[2]}
    ok = [r for r in results if r["ok"]]
    return {
        "requests": len(results), "ok": len(ok),
        "response_latency": summary_ms([r["answered"] - r["sent"] for r in ok]),
        "request_to_arrival": summary_ms([records[r["marker"]] - r["sent"] for r in ok if r["marker"] in records]),
    }


# ---- 3. request-path overhead ------------------------------------------------------------------------

async def overhead(args: argparse.Namespace, api: Api, receiver: ReceiverClient, user: dict[str, Any],
                   hooks: list[str], pace_rate: float | None = None) -> dict[str, Any]:
    """Sequential update-user calls with 0 and with 10 webhooks: back to back, or started at most
    ``pace_rate`` per second (a call that takes longer delays the next)."""
    url = f"{api.base}/api/update-user"
    timings: dict[int, list[float]] = {0: [], 10: []}
    per_round: list[dict[str, float]] = []
    counter = 0

    async def run_phase(n_hooks: int) -> None:
        nonlocal counter
        await api.set_enabled(hooks, n_hooks > 0)
        before = await receiver.wait_quiet()
        phase = []
        for _ in range(args.overhead_calls):
            counter += 1
            body = {**user, "displayName": f"bench-7-{counter}"}
            started = time.perf_counter()
            async with api.http.post(url, params={"id": f"built-in/{user['name']}"}, json=body) as response:
                answer = await response.json()
            phase.append(time.perf_counter() - started)
            if pace_rate:
                await asyncio.sleep(max(0.0, started + 1 / pace_rate - time.perf_counter()))
            if answer.get("status") != "ok":
                raise RuntimeError(f"update-user failed during the overhead test: {answer}")
        timings[n_hooks].extend(phase)
        per_round.append({"webhooks": n_hooks, "mean_ms": statistics.fmean(phase) * 1000})
        if n_hooks:
            expected = before + n_hooks * len(phase)
            got = await receiver.wait_for(expected, 60)
            if got < expected:
                raise RuntimeError(f"overhead phase: {got - before} of {n_hooks * len(phase)} deliveries arrived")

    # warm-up, not measured
    for _ in range(50):
        async with api.http.post(url, params={"id": f"built-in/{user['name']}"}, json=user) as response:
            await response.read()
    for round_no in range(args.overhead_rounds):
        order = (0, 10) if round_no % 2 == 0 else (10, 0)
        for n_hooks in order:
            await run_phase(n_hooks)
    await api.set_enabled(hooks, False)
    none, ten = summary_ms(timings[0]), summary_ms(timings[10])
    return {
        "calls_per_phase": args.overhead_calls, "rounds": args.overhead_rounds, "pace_rate": pace_rate,
        "none": none, "ten": ten,
        "ratio_mean": ten["mean"] / none["mean"], "ratio_p50": ten["p50"] / none["p50"],
        "ratio_p99": ten["p99"] / none["p99"], "per_round": per_round,
    }


# ---- the run -----------------------------------------------------------------------------------------

async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine_facts(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
    port = free_port()
    CHILDREN.start("receiver", [PYTHON, str(ROOT / "bench" / "receiver.py"), "--port", str(port),
                                "--max-seconds", str(args.max_seconds)], {}, work, work / "receiver.log")
    async with new_client() as http:
        receiver = ReceiverClient(http, port)
        deadline = time.monotonic() + 20
        while True:
            CHILDREN.check_alive("receiver")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                await receiver.count()
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            await asyncio.sleep(0.1)

        print(f"[1/4] throughput: {args.events} events x {args.webhooks} webhook(s) through one `hookdoor worker`",
              flush=True)
        results["throughput"] = tp = await throughput(args, work, receiver)
        print(f"      {_fmt(tp['arrival'].get('rate_middle_80'))} deliveries/s (middle 80 %), "
              f"{_fmt(tp['arrival'].get('rate_first_last'))} first-to-last; db all ok: {tp['db']['all_ok']}",
              flush=True)
        concurrency = min(256, args.webhooks * args.max_concurrency)
        bare = await bare_sender(receiver, tp["sample_payload"], tp["expected"], concurrency)
        results["bare_throughput"] = bare
        print(f"      ceiling (bare aiohttp, {concurrency} in flight): {_fmt(bare['arrival'].get('rate_middle_80'))}"
              " requests/s (middle 80 %)", flush=True)
        bare_us = bare["cpu"]["bench_cpu_s"] / bare["requests"] * 1e6
        worker_us = tp["cpu"]["worker_us_per_delivery"]
        print(f"      CPU: worker {worker_us:.0f} µs per delivery (start-up {tp['cpu']['worker_startup_cpu_s']:.2f} s "
              f"left out), bare aiohttp {bare_us:.0f} µs per request: {worker_us / bare_us:.2f}x; worker threads "
              f"{tp['cpu']['worker_threads_cpu_s']}", flush=True)
        if args.throughput_only:
            CHILDREN.stop("receiver")
            return results

        results["layouts"] = {}
        for layout in args.layouts:
            results["layouts"][layout] = await serve_phases(args, work, http, receiver, layout)
        results["bare_latency"] = bl = await bare_latency(args, receiver, tp["sample_payload"])
        print(f"      ceiling (bare aiohttp at {args.rate:g}/s): "
              f"p50 {_fmt(bl['response_latency'].get('p50'), 2)} ms,"
              f" p99 {_fmt(bl['response_latency'].get('p99'), 2)} ms", flush=True)
    CHILDREN.stop("receiver")
    return results


async def serve_phases(args: argparse.Namespace, work: Path, http: aiohttp.ClientSession, receiver: ReceiverClient,
                       layout: str) -> dict[str, Any]:
    """Sections 2 and 3 on a fresh server in one layout: the worker inside `serve`, or separate."""
    out: dict[str, Any] = {}
    print(f"[2/4] latency ({layout} worker): update-user at {args.rate:g}/s for {args.duration:g} s", flush=True)
    database = work / f"serve-{layout}.db"
    base = await start_serve("serve", work, database, http, worker=layout != "separate", env=SERVE_ENV[layout])
    if layout == "separate":
        start_separate_worker(work, database, args.worker_nice)
    elif layout == "serve":
        await wait_for_worker_child(CHILDREN.procs["serve"].pid)
    # a long timeout: at the target rate calls queue up, and every one should get its answer
    async with new_client(limit=200, timeout=300) as api_http:
        api = Api(api_http, base)
        await api.login()
        users = []
        for i in range(args.users):
            user = realistic_user(f"bench-user-{i}")
            await api.post("add-user", user)
            users.append({**user, **(await api.get("get-user", id=f"built-in/{user['name']}"))["data"]})
        await api.add_webhook("latency", receiver.url("/latency"))
        overhead_hooks = [f"overhead-{i}" for i in range(10)]
        for name in overhead_hooks:
            await api.add_webhook(name, receiver.url(f"/overhead/{name}"), isEnabled=False)
        # warm-up at a low rate, not measured
        await open_loop(50, 1, _warm_call(api, users), limit_s=30)
        await receiver.wait_quiet()
        out["capacity"] = cap = await capacity(api, users, args.capacity_seconds)
        await receiver.wait_quiet()
        print(f"      capacity: {cap['rate']:.0f} update-user calls/s with {cap['clients']} callers "
              f"({cap['serve_cpu_ms_per_call']:.2f} ms serve CPU per call)", flush=True)
        out["latency"] = lat = await latency(args, api, receiver, users, database, 1, args.rate)
        ev = lat["event_to_arrival"]
        print(f"      at {args.rate:g}/s: event->arrival p50 {_fmt(ev.get('p50'), 2)} ms, p99 "
              f"{_fmt(ev.get('p99'), 2)} ms ({lat['matched']} of {lat['requests']} matched)", flush=True)
        await receiver.wait_quiet()
        out["latency_low"] = low = await latency(args, api, receiver, users, database, 2, args.low_rate)
        ev = low["event_to_arrival"]
        print(f"      at {args.low_rate:g}/s: event->arrival p50 {_fmt(ev.get('p50'), 2)} ms, p99 "
              f"{_fmt(ev.get('p99'), 2)} ms ({low['matched']} of {low['requests']} matched)", flush=True)

        print(f"[3/4] overhead ({layout} worker): {args.overhead_rounds} x {args.overhead_calls} sequential "
              "update-user calls with 0 and with 10 webhooks", flush=True)
        await api.set_enabled(["latency"], False)
        out["overhead"] = ov = await overhead(args, api, receiver, users[0], overhead_hooks)
        print(f"      back to back: mean {_fmt(ov['none']['mean'], 2)} ms -> {_fmt(ov['ten']['mean'], 2)} ms, "
              f"ratio {_fmt(ov['ratio_mean'], 3)}", flush=True)
        out["overhead_paced"] = ov = await overhead(args, api, receiver, users[0], overhead_hooks,
                                                    pace_rate=args.overhead_pace_rate)
        print(f"      paced at {args.overhead_pace_rate:g} calls/s: mean {_fmt(ov['none']['mean'], 2)} ms -> "
              f"{_fmt(ov['ten']['mean'], 2)} ms, ratio {_fmt(ov['ratio_mean'], 3)}", flush=True)
    CHILDREN.stop("serve-worker")
    CHILDREN.stop("serve")
    await receiver.wait_quiet()
    return out


def _warm_call(api: Api, users: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    async def call(i: int, results: list[dict[str, Any]]) -> None:
        user = users[i % len(users)]
        async with api.http.post(f"{api.base}/api/update-user", params={"id": f"built-in/{user['name']}"},
                                 json={**user, "displayName": f"bench-5-{i}"}) as response:
            await response.read()
    return call


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def machine_facts() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True)
    return {
        "nproc": nproc, "cpu_model": model, "python": platform.python_version(), "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version, "aiohttp": _version("aiohttp"), "uvloop": _version("uvloop"),
        "sqlalchemy": _version("sqlalchemy"), "uvicorn": _version("uvicorn"),
        "commit": commit.stdout.strip() + (" (with uncommitted changes in src/)" if dirty.stdout.strip() else ""),
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
    }


# ---- the report --------------------------------------------------------------------------------------

def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def report(results: dict[str, Any], command: str) -> str:
    m, tp, bare, bl = (results[k] for k in ("machine", "throughput", "bare_throughput", "bare_latency"))
    layouts = results["layouts"]
    tp_rate = tp["arrival"].get("rate_middle_80") or 0
    tp_met = tp_rate >= 4000 and tp["db"]["all_ok"]

    cpu = tp["cpu"]
    lines = [
        "# Delivery benchmarks",
        "",
        "Produced by `bench/delivery.py`; every figure below was measured in the run described here, on this "
        "machine. Re-run it to refresh this file.",
        "",
        "## Run",
        "",
        f"- Command: `{command}` (from the repository root)",
        f"- Date (UTC): {results['started']}; runtime {results['runtime_s']:.0f} s",
        f"- Machine: nproc {m['nproc']} ({m['cpu_model']}), {m['platform']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}; aiohttp {m['aiohttp']}, uvloop {m['uvloop']}, "
        f"SQLAlchemy {m['sqlalchemy']}, uvicorn {m['uvicorn']}",
        f"- Code: commit {m['commit']}",
        f"- Load average before the run: {' '.join(m['loadavg_before'])}. The machine is shared: the "
        "'other processes' column below is the CPU that processes outside this benchmark used during each phase.",
        "",
        "All processes (receiver, `hookdoor serve`/`hookdoor worker`, the benchmark's own client) run on this "
        "machine and talk over 127.0.0.1. The receiver (`bench/receiver.py`, aiohttp + uvloop, its own process) "
        "answers 200 at once and records `time.time()` at arrival, the payload's event id and the webhook-id.",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        f"| {TARGETS['throughput']} | {tp_rate:,.0f} deliveries/s (middle 80 %), all {tp['expected']:,} succeeded "
        f"with one attempt each: {'yes' if tp['db']['all_ok'] else 'NO'} | {verdict(tp_met)} |",
        *(latency_target_row(name, phases["latency"]) for name, phases in layouts.items()),
        *(overhead_target_row(name, ov) for name, phases in layouts.items()
          for ov in (phases["overhead"], phases.get("overhead_paced")) if ov),
        "",
        "## 1. Throughput of one worker process",
        "",
        f"A SQLite (WAL) file prepared by `hookdoor serve --no-worker` (migrations, bootstrap, then "
        f"{tp['webhooks']} webhook(s) added through the API, subscribed to `update-user`, maxConcurrency "
        f"{tp['max_concurrency']}, pointing at the receiver); then {tp['events']:,} `update-user` events "
        f"(a ~1 KB user object each; average delivery payload {tp['db']['avg_payload_bytes']:,} bytes) inserted "
        f"straight into `events` with SQLAlchemy in batches of 1,000 ({tp['insert_seconds']:.1f} s), all created "
        "after the webhooks. Then one `hookdoor worker` (default settings: worker_concurrency 256, "
        "worker_batch_size 200) is started on that file and the receiver's arrivals are timed.",
        "",
        "| figure | hookdoor worker | bare aiohttp sender (ceiling) |",
        "| --- | --- | --- |",
        f"| requests | {tp['arrived']:,} of {tp['expected']:,} | {bare['arrived']:,} of {bare['requests']:,} |",
        f"| in flight | up to {min(256, tp['webhooks'] * tp['max_concurrency'])} | {bare['concurrency']} |",
        f"| rate, middle 80 % of arrivals | **{_fmt(tp['arrival'].get('rate_middle_80'))}/s** | "
        f"**{_fmt(bare['arrival'].get('rate_middle_80'))}/s** |",
        f"| rate, first to last arrival | {_fmt(tp['arrival'].get('rate_first_last'))}/s | "
        f"{_fmt(bare['arrival'].get('rate_first_last'))}/s |",
        f"| slowest / fastest whole second (middle 80 %) | {_fmt(tp['arrival'].get('min_1s_window'))} / "
        f"{_fmt(tp['arrival'].get('max_1s_window'))} | {_fmt(bare['arrival'].get('min_1s_window'))} / "
        f"{_fmt(bare['arrival'].get('max_1s_window'))} |",
        f"| worker start to last arrival | {tp['start_to_last_arrival_s']:.2f} s | |",
        f"| worker start to all outcomes stored | {tp['start_to_all_settled_s']:.2f} s | |",
        f"| CPU: sending process | worker {cpu['worker_cpu_s']:.1f} s, start-up included "
        f"({cpu['worker_cpu_s'] / tp['expected'] * 1e6:.0f} µs per delivery) | benchmark process "
        f"{bare['cpu']['bench_cpu_s']:.1f} s ({bare['cpu']['bench_cpu_s'] / bare['requests'] * 1e6:.0f} µs per "
        "request) |",
        f"| CPU: receiver | {cpu['receiver_cpu_s']:.1f} s | {bare['cpu']['receiver_cpu_s']:.1f} s |",
        f"| CPU: other processes (cores busy) | {cpu['others_cores_busy']:.2f} over {cpu['wall_s']:.1f} s | "
        f"{bare['cpu']['others_cores_busy']:.2f} over {bare['cpu']['wall_s']:.1f} s |",
        "",
        f"Database check after the worker stopped: deliveries by state {tp['db']['states']}, "
        f"{tp['db']['attempt_rows']:,} attempt rows ({tp['db']['attempts_http_200']:,} with HTTP 200, "
        f"{tp['db']['attempts_signed']:,} with a `v1,` webhook-signature), "
        f"{tp['db']['deliveries_without_exactly_one_attempt']} deliveries without exactly one attempt; "
        f"receiver saw {tp['distinct_webhook_ids']:,} distinct webhook-ids and "
        f"{', '.join(f'{n:,} distinct event ids on {p}' for p, n in tp['distinct_event_ids_per_path'].items())}.",
        "",
        *(line for number, (name, phases) in enumerate(layouts.items())
          for line in layout_sections(results, name, phases, "abcdefgh"[number])),
        "Ceiling for section 2: the same open-loop rate of same-size bodies posted by a bare aiohttp client "
        f"straight to the receiver ({results['args']['rate']:g}/s for {results['args']['duration']:g} s), "
        "latencies in ms:",
        "",
        *summary_table("measure", [
            row("bare aiohttp POST: request sent → response", bl["response_latency"]),
            row("bare aiohttp POST: request sent → arrival at the receiver", bl["request_to_arrival"]),
        ]),
        "## How to read these figures",
        "",
        "- Every process of the benchmark shares the machine's cores with whatever else runs there; the CPU "
        "that other processes used during each phase is given beside the figures, and the bare-aiohttp ceilings "
        "were measured in the same run, under the same conditions, for comparison.",
        "- Sections 2 and 3 vary from run to run on this shared 2-core machine, the overhead ratios most (each "
        "phase is a few hundred milliseconds of calls): one run's verdict near a threshold is not a guarantee; "
        "re-run before relying on it.",
        "- CPU per delivery of the worker (section 1) is the figure least sensitive to other load: it says how "
        "much work one delivery costs, whatever the share of the cores the worker got.",
        "- `events.created_at` is stamped when the API call records its event, just before its commit: "
        "event-to-arrival covers the commit, the worker's wake-up, its dispatch-and-lease transaction, "
        "signing and the HTTP request, but not the API call's own work before the event is recorded.",
        "- With the worker in `hookdoor serve`'s event loop the API and the worker share one core and the SQLite "
        "write lock; with the worker in a process of its own (`serve`'s child, or started by hand) they run on "
        "separate cores and share only the write lock. When the offered rate exceeds the API's capacity "
        "(measured in section 2), calls queue.",
        "",
    ]
    return "\n".join(lines)


def latency_target_row(layout: str, lat: dict[str, Any]) -> str:
    ev = lat["event_to_arrival"]
    met = ev.get("p50", math.inf) <= 5 and ev.get("p99", math.inf) <= 50 and lat["matched"] == lat["requests"]
    return (f"| {TARGETS['latency']} ({LAYOUT_NAMES[layout]}) | p50 {ev.get('p50', math.nan):.2f} ms, "
            f"p99 {ev.get('p99', math.nan):.2f} ms ({lat['matched']:,} of {lat['requests']:,} events delivered) "
            f"| {verdict(met)} |")


def overhead_target_row(layout: str, ov: dict[str, Any]) -> str:
    return (f"| {TARGETS['overhead']} ({LAYOUT_NAMES[layout]}, {_calls(ov)}) | ratio of means {ov['ratio_mean']:.3f} "
            f"(p50 {ov['ratio_p50']:.3f}, p99 {ov['ratio_p99']:.3f}) | {verdict(ov['ratio_mean'] <= 1.1)} |")


def _calls(ov: dict[str, Any]) -> str:
    return f"calls paced at {ov['pace_rate']:g}/s" if ov.get("pace_rate") else "calls back to back"


def overhead_section(ov: dict[str, Any]) -> list[str]:
    return [
        f"### {_calls(ov).capitalize()}",
        "",
        *summary_table("webhooks", [row("0", ov["none"]), row("10", ov["ten"])]),
        f"Ratio 10 / 0: mean {ov['ratio_mean']:.3f}, p50 {ov['ratio_p50']:.3f}, p99 {ov['ratio_p99']:.3f}. "
        "Per-phase means (ms), in order: "
        + ", ".join(f"{p['webhooks']}: {p['mean_ms']:.2f}" for p in ov["per_round"]) + ".",
        "",
    ]


def layout_sections(results: dict[str, Any], layout: str, phases: dict[str, Any], letter: str) -> list[str]:
    lat, low, ov, cap = (phases[k] for k in ("latency", "latency_low", "overhead", "capacity"))
    paced = phases.get("overhead_paced")
    return [
        f"## 2{letter}. Event-to-delivery latency at a steady rate: {LAYOUT_NAMES[layout]}",
        "",
        f"{TOPOLOGIES[layout]}{_niced(results, layout)} on a fresh SQLite file; one webhook subscribed to "
        "`update-user`. The benchmark "
        f"process sends `update-user` calls (admin session cookie, rotating over {results['args']['users']} "
        "users, ~1 KB bodies, up to 200 connections) open-loop: call i starts at t0 + i / rate whether or not "
        "earlier calls were answered.",
        "",
        f"Capacity first, for context: {cap['clients']} callers in a closed loop for {cap['seconds']:.1f} s "
        f"completed **{cap['rate']:.0f} update-user calls/s** ({cap['calls']:,} calls, {cap['failed']} failed), "
        f"{_server_cpu(cap)} (other processes: "
        f"{cap['cpu']['others_cores_busy']:.2f} cores busy).",
        "",
        *latency_section(lat, f"At the target rate, {lat['rate']:g} calls/s", cap),
        *latency_section(low, f"Below capacity, {low['rate']:g} calls/s (not the target condition; shows the "
                              "delivery path when the API is not saturated)", cap),
        f"## 3{letter}. Request-path overhead of subscribed webhooks: {LAYOUT_NAMES[layout]}",
        "",
        f"Same server. Sequential `update-user` calls with the admin session cookie, {ov['calls_per_phase']} per "
        f"phase, {ov['rounds']} rounds, each round one phase with 0 and one with 10 enabled webhooks (all 10 "
        "subscribed to `update-user`, pointing at the receiver), order alternating per round (ABBA) to cancel "
        "drift; between phases the webhooks are enabled/disabled through the API and the deliveries of a "
        "10-webhook phase are all received before the next phase. Back to back, each call starts when the "
        "previous one is answered: the 10 webhooks then ask the worker for ten times the API's top call rate in "
        "deliveries. Paced, calls start at most at the given rate (the rate of section 2's low run gives 10 x "
        "that in deliveries). Latency in ms (client-side, per call):",
        "",
        *overhead_section(ov),
        *(overhead_section(paced) if paced else []),
    ]


def _server_cpu(cap: dict[str, Any]) -> str:
    if "serve-worker_cpu_s" not in cap["cpu"]:
        return f"the `serve` process using {cap['serve_cpu_ms_per_call']:.2f} ms CPU per call"
    return (f"`serve` and its worker using {cap['server_cpu_ms_per_call']:.2f} ms CPU per call together "
            f"({cap['serve_cpu_ms_per_call']:.2f} ms `serve`)")


def _niced(results: dict[str, Any], layout: str) -> str:
    nice = results["args"].get("worker_nice") or 0
    return f", the worker started with `nice -n {nice}` (a lower CPU priority than the API's)" if (
        layout == "separate" and nice) else ""


def summary_table(first_column: str, rows: list[str]) -> list[str]:
    return [f"| {first_column} | n | mean | p50 | p90 | p99 | max |", "| --- | --- | --- | --- | --- | --- | --- |",
            *rows, ""]


def row(name: str, s: dict[str, float]) -> str:
    if not s.get("n"):
        return f"| {name} | 0 | n/a | n/a | n/a | n/a | n/a |"
    return (f"| {name} | {s['n']:,} | {s['mean']:.2f} | {s['p50']:.2f} | {s['p90']:.2f} | {s['p99']:.2f} "
            f"| {s['max']:.2f} |")


def latency_section(lat: dict[str, Any], title: str, cap: dict[str, Any]) -> list[str]:
    cpu = lat["cpu"]
    return [
        f"### {title}",
        "",
        f"{lat['requests']:,} calls over {lat['duration']:g} s, issued at {lat['issue_rate']:.0f}/s; the last "
        f"answer came {lat['completion_s']:.1f} s after the first call; {lat['ok']:,} answered ok{_not_ok(lat)}; "
        f"{lat['matched']:,} of them matched to a delivery at the receiver ({lat['duplicates']} duplicate "
        f"webhook-ids). CPU during the phase: serve {cpu['serve_cpu_s']:.1f} s, "
        + (f"worker {cpu['serve-worker_cpu_s']:.1f} s, " if "serve-worker_cpu_s" in cpu else "")
        + f"receiver {cpu['receiver_cpu_s']:.1f} s, "
        f"benchmark {cpu['bench_cpu_s']:.1f} s, other processes {cpu['others_cores_busy']:.2f} cores busy, over "
        f"{cpu['wall_s']:.1f} s. Latencies in ms:",
        "",
        *summary_table("measure", [
            row("**event created (events.created_at, µs) → arrival**", lat["event_to_arrival"]),
            row("event id's ULID time (ms, rounded down) → arrival", lat["ulid_to_arrival"]),
            row("request sent → arrival", lat["request_to_arrival"]),
            row("response received → arrival (negative: delivered before the caller had its answer)",
                lat["response_to_arrival"]),
            row("update-user: request sent → response", lat["api_latency"]),
        ]),
    ]


def _not_ok(lat: dict[str, Any]) -> str:
    return f"; not ok: {lat['not_ok']}" if lat["not_ok"] else ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Hookdoor delivery benchmark")
    parser.add_argument("--quick", action="store_true", help="short smoke run (small counts, a few seconds each)")
    parser.add_argument("--events", type=int, help="events for the throughput run (default 20000, quick 2000)")
    parser.add_argument("--webhooks", type=int, default=1, help="webhooks in the throughput run")
    parser.add_argument("--max-concurrency", type=int, default=256, help="maxConcurrency of those webhooks")
    parser.add_argument("--rate", type=float, default=500.0, help="update-user calls per second (latency run)")
    parser.add_argument("--duration", type=float, help="seconds of the latency run (default 20, quick 3)")
    parser.add_argument("--low-rate", type=float, default=50.0,
                        help="a second latency run at this rate, below the server's capacity")
    parser.add_argument("--capacity-seconds", type=float, help="closed-loop capacity probe (default 10, quick 2)")
    parser.add_argument("--users", type=int, default=20, help="users the latency run updates in turn")
    parser.add_argument("--overhead-calls", type=int, help="calls per overhead phase (default 100, quick 50)")
    parser.add_argument("--overhead-rounds", type=int, help="rounds of the overhead test (default 6, quick 2)")
    parser.add_argument("--overhead-pace-rate", type=float, default=50.0,
                        help="calls/s of the overhead test's paced run (default 50)")
    parser.add_argument("--output", help="Markdown report to write (default none; docs/benchmarks.md is run.py's)")
    parser.add_argument("--json", help="also write the raw results as JSON here")
    parser.add_argument("--from-json", help="only re-render the report of a run saved with --json")
    parser.add_argument("--layouts", default="serve,inline,separate",
                        help="sections 2 and 3, comma-separated: serve (`hookdoor serve` as it starts by default, its "
                        "worker a child process), inline (the worker in `serve`'s event loop), separate "
                        "(`hookdoor serve --no-worker` beside a `hookdoor worker` started by the benchmark)")
    parser.add_argument("--worker-nice", type=int, default=0,
                        help="start the separate worker with `nice -n N` (lower CPU priority than the API)")
    parser.add_argument("--throughput-only", action="store_true",
                        help="stop after the throughput phase and its ceiling; print them, write no report")
    parser.add_argument("--workers", type=int, default=1,
                        help="`hookdoor worker` processes draining the throughput run's database together")
    parser.add_argument("--profile-worker", metavar="PATH",
                        help="sample the throughput run's worker with py-spy; collapsed stacks written to PATH")
    parser.add_argument("--profile-rate", type=int, default=500, help="py-spy samples per second (--profile-worker)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (databases, logs)")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="hard bound on the whole run")
    args = parser.parse_args(argv)
    args.layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    if not args.layouts or set(args.layouts) - set(TOPOLOGIES):
        parser.error(f"--layouts: choose from {', '.join(TOPOLOGIES)}")
    quick = args.quick
    args.events = args.events or (2000 if quick else 20000)
    args.duration = args.duration or (3.0 if quick else 20.0)
    args.capacity_seconds = args.capacity_seconds or (2.0 if quick else 10.0)
    args.overhead_calls = args.overhead_calls or (50 if quick else 100)
    args.overhead_rounds = args.overhead_rounds or (2 if quick else 6)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = ".venv/bin/python bench/delivery.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        text = report(saved, saved["command"])
        print(text)
        if args.output:
            Path(args.output).write_text(text)
            print(f"written to {args.output}")
        return 0
    results = run_with_children(lambda work: run(args, work), "hookdoor-bench-", args.max_seconds, args.keep)
    results["args"] = vars(args)
    results["command"] = command
    if args.throughput_only:
        print(json.dumps({key: results[key] for key in ("throughput", "bare_throughput")}, indent=1, default=str))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        return 0
    text = report(results, command)
    print()
    print(text)
    if args.output:
        Path(args.output).write_text(text)
        print(f"written to {args.output}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    print(f"runtime {results['runtime_s']:.1f} s" + (f"; work directory kept: {results['work']}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
