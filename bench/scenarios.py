"""The scenarios of bench/run.py, each a function returning the figures it measured (JSON-ready).

They reuse bench/delivery.py's process handling, receiver client, API client, open-loop driver,
capacity probe, latency matcher and overhead test, and add: PostgreSQL, several workers on one
database, the time-bounded 1,000,000-delivery drain with RSS sampling, fan-out and isolation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import cpu_profile
import psutil
from sqlalchemy import create_engine, insert, text

import delivery
from delivery import BENCH_ENV, CHILDREN, PYTHON, Api, ReceiverClient

POSTGRES_ADMIN = os.environ.get("HOOKDOOR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


# ---- databases ---------------------------------------------------------------------------------------

@dataclass
class Database:
    backend: str  # sqlite or postgresql
    url: str  # as Hookdoor takes it (HOOKDOOR_DATABASE_URL)
    sync_url: str  # for the benchmark's own inserts and checks
    path: Path | None = None

    @classmethod
    def fresh(cls, backend: str, work: Path, label: str) -> Database:
        if backend == "sqlite":
            path = work / f"{label}.db"
            return cls(backend, f"sqlite:///{path}", f"sqlite:///{path}", path)
        name = f"hookdoor_bench_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        base = POSTGRES_ADMIN.rsplit("/", 1)[0]
        return cls(backend, f"{base}/{name}", f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}")

    def drop(self) -> None:
        if self.backend == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.url.rsplit("/", 1)[1]}" WITH (FORCE)')
        elif self.path:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def scalar(self, sql: str) -> Any:
        engine = create_engine(self.sync_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql)).scalar()
        finally:
            engine.dispose()


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(sql)


def postgres_version() -> str:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]
    return "unreachable"


def insert_events(db: Database, count: int, user: dict[str, Any], batch: int = 5000) -> float:
    """`count` update-user events, as the API would record them, inserted straight into `events`."""
    from hookdoor.db.tables import events
    from hookdoor.db.types import utcnow
    from hookdoor.events.ids import new_ulid
    from hookdoor.events.recorder import user_summary

    if db.backend == "postgresql":
        return _copy_events(db, count, user)
    engine = create_engine(db.sync_url)
    request = {"method": "POST", "uri": f"/api/update-user?id=built-in%2F{user['name']}", "clientIp": "127.0.0.1",
               "userAgent": "casdoor-python-sdk/1.43.3", "language": "en"}
    summary = user_summary(user)
    started = time.monotonic()
    made = 0
    while made < count:
        rows = []
        for _ in range(min(batch, count - made)):
            rows.append({
                "id": new_ulid(), "action": "update-user", "organization": "built-in", "actor": "built-in/admin",
                "subject": f"built-in/{user['name']}", "outcome": "ok", "status_code": 200, "message": "",
                "user": summary, "object": {**user, "displayName": f"bench-0-{made}"}, "request": request,
                "created_at": utcnow(), "dispatched": False,
            })
            made += 1
        with engine.begin() as connection:
            connection.execute(insert(events), rows)
    engine.dispose()
    return time.monotonic() - started


def _copy_events(db: Database, count: int, user: dict[str, Any]) -> float:
    """The same rows as insert_events, into PostgreSQL with COPY (a million rows in well under a minute)."""
    import json

    import psycopg

    from hookdoor.db.types import utcnow
    from hookdoor.events.ids import new_ulid
    from hookdoor.events.recorder import user_summary

    request = json.dumps({"method": "POST", "uri": f"/api/update-user?id=built-in%2F{user['name']}",
                          "clientIp": "127.0.0.1", "userAgent": "casdoor-python-sdk/1.43.3", "language": "en"})
    summary = json.dumps(user_summary(user))
    columns = 'id, action, organization, actor, subject, outcome, status_code, message, "user", object, request, ' \
              "created_at, dispatched"
    started = time.monotonic()
    with psycopg.connect(db.url) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY events ({columns}) FROM STDIN") as copy:
            for made in range(count):
                copy.write_row((new_ulid(), "update-user", "built-in", "built-in/admin", f"built-in/{user['name']}",
                                "ok", 200, "", summary, json.dumps({**user, "displayName": f"bench-0-{made}"}),
                                request, utcnow(), False))
        connection.commit()
    return time.monotonic() - started


def check_deliveries(db: Database) -> dict[str, Any]:
    """What the database says after a drain: states, attempt rows, signatures."""
    engine = create_engine(db.sync_url)
    try:
        with engine.connect() as c:
            states = dict(c.execute(text("SELECT state, count(*) FROM deliveries GROUP BY state")).all())
            attempts = c.execute(text("SELECT count(*) FROM attempts")).scalar()
            ok = c.execute(text("SELECT count(*) FROM attempts WHERE response_status = 200")).scalar()
            signed = c.execute(text("SELECT count(*) FROM attempts WHERE CAST(request_headers AS TEXT) "
                                    "LIKE '%webhook-signature%v1,%'")).scalar()
            not_one = c.execute(text(
                "SELECT count(*) FROM (SELECT d.id FROM deliveries d LEFT JOIN attempts a ON a.delivery_id = d.id "
                "GROUP BY d.id HAVING count(a.id) != 1) AS x")).scalar()
            payload = c.execute(text("SELECT d.payload FROM deliveries d LIMIT 1")).scalar()
            headers = c.execute(text("SELECT CAST(request_headers AS TEXT) FROM attempts LIMIT 1")).scalar()
    finally:
        engine.dispose()
    return {"states": {str(k): v for k, v in states.items()}, "attempt_rows": attempts, "attempts_http_200": ok,
            "attempts_signed": signed, "deliveries_without_exactly_one_attempt": not_one,
            "sample_payload": payload, "sample_headers": headers}


# ---- helpers -----------------------------------------------------------------------------------------

def worker_env(db: Database) -> dict[str, str]:
    return {**BENCH_ENV, "HOOKDOOR_DATABASE_URL": db.url}


async def prepare(work: Path, db: Database, http: aiohttp.ClientSession, hooks: list[tuple[str, str, dict[str, Any]]]
                  ) -> dict[str, Any]:
    """Migrate and bootstrap `db` with `hookdoor serve --no-worker`, add the webhooks through the API; the
    admin user (as get-user returns it)."""
    base = await delivery.start_serve("serve-prepare", work, work / "unused.db", http, worker=False,
                                      env={"HOOKDOOR_DATABASE_URL": db.url})
    api = Api(http, base)
    await api.login()
    for name, url, fields in hooks:
        await api.post("add-webhook", {"owner": "built-in", "name": name, "url": url, "events": ["update-user"],
                                       **fields})
    admin = (await api.get("get-user", id="built-in/admin"))["data"]
    CHILDREN.stop("serve-prepare")
    return delivery.realistic_user("ada", admin)


def start_workers(work: Path, db: Database, count: int, label: str) -> list[int]:
    pids = []
    for i in range(count):
        proc = CHILDREN.start(f"{label}-{i}", [PYTHON, "-m", "hookdoor", "worker"], worker_env(db), work,
                              work / f"{label}-{i}.log")
        pids.append(proc.pid)
    return pids


def stop_workers(label: str, count: int) -> None:
    for i in range(count):
        CHILDREN.stop(f"{label}-{i}")


async def start_default_serve(work: Path, db: Database, http: aiohttp.ClientSession) -> str:
    """`hookdoor serve` as it starts by default on 2 cores: the API, its worker a child process."""
    base = await delivery.start_serve("serve", work, work / "unused.db", http, worker=True,
                                      env={"HOOKDOOR_WORKER_PROCESS": "true", "HOOKDOOR_DATABASE_URL": db.url})
    await delivery.wait_for_worker_child(CHILDREN.procs["serve"].pid)
    return base


def rss_mb(pid: int) -> float:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).memory_info().rss / 2**20
    return 0.0


# ---- backlog drain -----------------------------------------------------------------------------------

async def hookdoor_drain(work: Path, http: aiohttp.ClientSession, receiver: ReceiverClient, backend: str,
                         events: int, workers: int = 1, profile: bool = False) -> dict[str, Any]:
    """`events` update-user events inserted into a fresh database with one webhook (maxConcurrency 256);
    then `workers` `hookdoor worker` processes drain them; arrivals timed at the receiver. With `profile`,
    py-spy samples the (first) worker throughout (which slows it: the rate of such a run is not a figure)."""
    label = f"drain-{backend}-{workers}w" + ("-profiled" if profile else "")
    raw = work / f"{label}.pyspy.txt"
    db = Database.fresh(backend, work, label)
    try:
        user = await prepare(work, db, http, [("tp", receiver.url(f"/drain/{backend}"), {"maxConcurrency": 256})])
        insert_s = insert_events(db, events, user)
        await receiver.reset()
        started_wall = time.time()
        pids = start_workers(work, db, workers, label)
        spy, window = None, {}
        if profile:  # from the first arrival on: the steady state, not the start-up's imports
            await receiver.wait_for(1, 60, poll=0.01, alive=f"{label}-0")
            window = {"cpu": delivery.cpu_seconds(pids[0]), "arrived": await receiver.count()}
            spy = CHILDREN.start(f"{label}-py-spy", [cpu_profile.py_spy() or "py-spy", "record", "--pid", str(pids[0]),
                                                     "--rate", "250", "--format", "raw", "--output", str(raw),
                                                     "--nonblocking"], {}, work, work / f"{label}-py-spy.log")
        meter = delivery.CpuMeter({**{f"worker{i}": pid for i, pid in enumerate(pids)},
                                   "receiver": CHILDREN.procs["receiver"].pid})
        arrived = await receiver.wait_for(events, max(60.0, events / 300), poll=0.2, alive=f"{label}-0")
        deadline = time.monotonic() + 30
        settled = "SELECT count(*) FROM deliveries WHERE state IN ('succeeded', 'failed')"
        while db.scalar(settled) < events and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a database)
            await asyncio.sleep(0.2)
        settled_wall = time.time()
        cpu = meter.stop()
        if window:
            window = {"cpu": delivery.cpu_seconds(pids[0]) - window["cpu"], "arrived": arrived - window["arrived"]}
        stop_workers(label, workers)
        if spy is not None:  # py-spy writes its samples when the process it samples has exited
            await asyncio.to_thread(spy.wait, 30)
        records = await receiver.records()
        check = check_deliveries(db)
    finally:
        stop_workers(label, workers)
        db.drop()
    worker_cpu = sum(v for k, v in cpu.items() if k.startswith("worker"))
    profiled = cpu_profile.summarize(raw, window["arrived"], window["cpu"]) if window and raw.exists() else None
    return {
        "profile": profiled,
        "backend": backend, "workers": workers, "events": events, "arrived": arrived, "insert_s": round(insert_s, 2),
        "arrival": delivery.rates([r[0] for r in records]),
        "start_to_last_arrival_s": (max(r[0] for r in records) - started_wall) if records else None,
        "start_to_all_settled_s": settled_wall - started_wall, "cpu": cpu, "worker_cpu_s": round(worker_cpu, 2),
        "cpu_us_per_delivery": worker_cpu / max(1, arrived) * 1e6,
        "distinct_webhook_ids": len({r[3] for r in records}), "db": check,
        "all_ok": (check["states"].get("succeeded") == events == check["attempt_rows"] == check["attempts_http_200"]
                   == check["attempts_signed"] and check["deliveries_without_exactly_one_attempt"] == 0),
    }


async def ceiling_drain(receiver: ReceiverClient, payload: str, headers: dict[str, str], total: int) -> dict[str, Any]:
    """The ceiling: bare aiohttp posting the same body with the same headers, 256 in flight."""
    out = await delivery.bare_sender(receiver, {"payload": payload, "headers": headers}, total, 256)
    out["cpu_us_per_delivery"] = out["cpu"]["bench_cpu_s"] / max(1, total) * 1e6
    return out


# ---- memory through a large backlog -----------------------------------------------------------------

async def memory_drain(work: Path, http: aiohttp.ClientSession, receiver: ReceiverClient, backend: str,
                       backlog: int, window_s: float) -> dict[str, Any]:
    """`backlog` events (one webhook: as many deliveries) inserted directly; one worker drains them for at
    most `window_s`; its RSS and the queue depth (backlog less arrivals) sampled every second."""
    label = f"memory-{backend}"
    db = Database.fresh(backend, work, label)
    try:
        user = await prepare(work, db, http, [("mem", receiver.url(f"/memory/{backend}"), {"maxConcurrency": 256})])
        print(f"      inserting {backlog:,} events into {backend} ...", flush=True)
        insert_s = insert_events(db, backlog, user)
        await receiver.reset()
        pid = start_workers(work, db, 1, label)[0]
        cpu_start = delivery.cpu_seconds(pid)
        started = time.monotonic()
        samples = []
        arrived = 0
        while arrived < backlog and time.monotonic() - started < window_s:
            CHILDREN.check_alive(f"{label}-0")
            await asyncio.sleep(max(0.0, started + len(samples) + 1 - time.monotonic()))
            arrived = await receiver.count()
            samples.append({"t": round(time.monotonic() - started, 2), "rss_mb": round(rss_mb(pid), 1),
                            "delivered": arrived, "queue_depth": backlog - arrived})
        cpu = delivery.cpu_seconds(pid) - cpu_start
        stop_workers(label, 1)
    finally:
        stop_workers(label, 1)
        db.drop()
    elapsed = samples[-1]["t"] if samples else 0.0
    after = [s["rss_mb"] for s in samples if s["t"] >= 60] or [s["rss_mb"] for s in samples[len(samples) // 2:]]
    return {
        "backend": backend, "backlog": backlog, "window_s": window_s, "insert_s": round(insert_s, 1),
        "delivered": arrived, "drained": arrived >= backlog, "elapsed_s": elapsed,
        "rate": arrived / elapsed if elapsed else 0.0, "worker_cpu_s": round(cpu, 1), "samples": samples,
        "rss_after_first_minute": {"basis": "t >= 60 s" if any(s["t"] >= 60 for s in samples) else
                                   "second half of the window (shorter than a minute)",
                                   "min": min(after, default=0.0), "max": max(after, default=0.0),
                                   "spread": (max(after) / min(after) - 1) if after and min(after) else None},
    }


# ---- the API server: capacity, steady arrival, recording overhead ------------------------------------

async def add_users(api: Api, prefix: str, count: int) -> list[dict[str, Any]]:
    """``count`` realistic users added through the API, as stored (their issued fields too), for the
    update-user calls that make events."""
    users = []
    for i in range(count):
        user = delivery.realistic_user(f"{prefix}-{i}")
        await api.post("add-user", user)
        users.append({**user, **(await api.get("get-user", id=f"built-in/{user['name']}"))["data"]})
    return users


async def serve_suite(args: argparse.Namespace, work: Path, http: aiohttp.ClientSession, receiver: ReceiverClient,
                      sample: dict[str, Any]) -> dict[str, Any]:
    """`hookdoor serve` on SQLite as it starts by default (its worker a child process): capacity probe, then
    event-to-delivery latency at 25/50/90 % of it beside the ceiling at the same rate, then the overhead."""
    out: dict[str, Any] = {}
    db = Database.fresh("sqlite", work, "serve")
    base = await start_default_serve(work, db, http)
    async with delivery.new_client(limit=200, timeout=300) as api_http:
        api = Api(api_http, base)
        await api.login()
        users = await add_users(api, "bench-user", 20)
        await api.add_webhook("latency", receiver.url("/latency"))
        overhead_hooks = [f"overhead-{i}" for i in range(10)]
        for name in overhead_hooks:
            await api.add_webhook(name, receiver.url(f"/overhead/{name}"), isEnabled=False)
        await delivery.open_loop(50, 1, delivery._warm_call(api, users), limit_s=30)
        await receiver.wait_quiet()
        out["capacity"] = cap = await delivery.capacity(api, users, args.capacity_seconds)
        await receiver.wait_quiet()
        print(f"      capacity: {cap['rate']:.0f} update-user calls/s", flush=True)
        out["latency"] = []
        for run_id, fraction in enumerate(args.fractions, start=1):
            rate = max(2.0, cap["rate"] * fraction)
            lat = await delivery.latency(argparse.Namespace(duration=args.latency_seconds), api, receiver, users,
                                         db.path, run_id, rate)
            await receiver.wait_quiet()
            bare = await delivery.bare_latency(argparse.Namespace(rate=rate, duration=args.latency_seconds), receiver,
                                               sample)
            lat.update(fraction=fraction, ceiling=bare)
            out["latency"].append(lat)
            ev = lat["event_to_arrival"]
            print(f"      {fraction:.0%} = {rate:.0f}/s: event->arrival p50 {delivery._fmt(ev.get('p50'), 2)} ms, "
                  f"p99 {delivery._fmt(ev.get('p99'), 2)} ms; ceiling p99 "
                  f"{delivery._fmt(bare['request_to_arrival'].get('p99'), 2)} ms", flush=True)
            await receiver.wait_quiet()
        await api.set_enabled(["latency"], False)
        ns = argparse.Namespace(overhead_calls=args.overhead_calls, overhead_rounds=args.overhead_rounds)
        out["overhead"] = await delivery.overhead(ns, api, receiver, users[0], overhead_hooks)
        out["overhead_paced"] = await delivery.overhead(ns, api, receiver, users[0], overhead_hooks,
                                                        pace_rate=args.overhead_pace_rate)
        print(f"      overhead: back to back {out['overhead']['ratio_mean']:.3f}, paced "
              f"{out['overhead_paced']['ratio_mean']:.3f}", flush=True)
        out["fanout"] = await fanout(args, api, receiver, users[0], db)
    CHILDREN.stop("serve")
    await receiver.wait_quiet()
    db.drop()
    return out


# ---- fan-out -----------------------------------------------------------------------------------------

async def fanout(args: argparse.Namespace, api: Api, receiver: ReceiverClient, user: dict[str, Any],
                 db: Database) -> dict[str, Any]:
    """One update-user event to `args.fanout` webhooks, `args.fanout_events` times in turn: event created →
    each arrival."""
    names = [f"fan-{i}" for i in range(args.fanout)]
    added = time.monotonic()
    for name in names:
        await api.post("add-webhook", {"owner": "built-in", "name": name, "url": receiver.url(f"/fan/{name}"),
                                       "events": ["update-user"]})
    add_s = time.monotonic() - added
    runs = []
    for i in range(args.fanout_events):
        await receiver.reset()
        marker = f"bench-8-{i}"
        async with api.http.post(f"{api.base}/api/update-user", params={"id": f"built-in/{user['name']}"},
                                 json={**user, "displayName": marker}) as response:
            assert (await response.json())["status"] == "ok"
        got = await receiver.wait_for(args.fanout, 120, poll=0.1)
        records = [r for r in await receiver.records() if r[2] == marker]
        created = delivery._event_times(db.path, list({r[1] for r in records}))
        if not created:
            runs.append({"arrived": got, "matched": 0})
            continue
        t0 = next(iter(created.values()))
        delays = sorted(r[0] - t0 for r in records)
        runs.append({"arrived": got, "matched": len(records), "distinct_paths": len({r[4] for r in records}),
                     "latency": delivery.summary_ms(delays), "last_s": delays[-1], "first_s": delays[0]})
    await api.set_enabled(names, False)
    return {"webhooks": args.fanout, "add_webhooks_s": round(add_s, 1), "runs": runs}


async def ceiling_fanout(receiver: ReceiverClient, payload: str, headers: dict[str, str], count: int) -> dict[str, Any]:
    """The ceiling of fan-out: `count` POSTs to `count` paths, 256 in flight, from the first send."""
    await receiver.reset()
    body = payload.encode()
    headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256),
                                     timeout=aiohttp.ClientTimeout(total=30)) as client:
        t0 = time.time()

        async def one(i: int) -> None:
            async with client.post(receiver.url(f"/bare-fan/{i}"), data=body, headers=headers) as response:
                await response.read()

        await asyncio.gather(*(one(i) for i in range(count)))
    await receiver.wait_for(count, 10)
    delays = sorted(r[0] - t0 for r in await receiver.records())
    return {"requests": count, "latency": delivery.summary_ms(delays), "last_s": delays[-1] if delays else None}


# ---- isolation -----------------------------------------------------------------------------------------

async def isolation(args: argparse.Namespace, work: Path, http: aiohttp.ClientSession, receiver: ReceiverClient,
                    rate_hint: float) -> dict[str, Any]:
    """10 webhooks, 2 of which (20 %) point at endpoints that hang past the webhooks' 2 s timeout: update-user
    open-loop at `rate_hint` calls/s (each call: 8 healthy deliveries, and 2 to the hanging endpoints), first
    with the hanging two disabled, then enabled; the healthy eight's delivery rate and event-to-arrival
    latency in each phase."""
    db = Database.fresh("sqlite", work, "isolation")
    base = await start_default_serve(work, db, http)
    healthy = [f"healthy-{i}" for i in range(8)]
    hanging = [f"hang-{i}" for i in range(2)]
    out: dict[str, Any] = {"rate": rate_hint, "seconds": args.isolation_seconds, "healthy": 8, "hanging": 2,
                           "timeout_s": 2}
    async with delivery.new_client(limit=200, timeout=300) as api_http:
        api = Api(api_http, base)
        await api.login()
        users = await add_users(api, "iso-user", 10)
        for name in healthy:
            await api.add_webhook(name, receiver.url(f"/healthy/{name}"), timeoutSeconds=2, maxConcurrency=64)
        for name in hanging:
            await api.add_webhook(name, receiver.url(f"/_hang/{name}"), timeoutSeconds=2, maxConcurrency=64,
                                  isEnabled=False)
        await delivery.open_loop(20, 1, delivery._warm_call(api, users), limit_s=30)
        await receiver.wait_quiet()
        # A-B-A: without, with, without again, so that drift of the shared machine shows
        for number, (phase, enabled) in enumerate((("without_hanging", False), ("with_hanging", True),
                                                   ("without_hanging_again", False))):
            await api.set_enabled(hanging, enabled)
            out[phase] = await _isolation_phase(args, api, receiver, users, db, rate_hint, 10 + number)
            print(f"      {phase}: healthy {out[phase]['healthy_rate']:.0f} deliveries/s, p99 "
                  f"{delivery._fmt(out[phase]['latency'].get('p99'), 1)} ms", flush=True)
        await api.set_enabled(hanging, False)
    CHILDREN.stop("serve")
    db.drop()
    without = mean([out["without_hanging"]["healthy_rate"], out["without_hanging_again"]["healthy_rate"]])
    out["throughput_ratio"] = out["with_hanging"]["healthy_rate"] / without if without else None
    out["without_mean_rate"] = without
    return out


async def _isolation_phase(args: argparse.Namespace, api: Api, receiver: ReceiverClient, users: list[dict[str, Any]],
                           db: Database, rate: float, tag: int) -> dict[str, Any]:
    await receiver.reset()
    url = f"{api.base}/api/update-user"

    async def call(i: int, results: list[dict[str, Any]]) -> None:
        user = users[i % len(users)]
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            async with api.http.post(url, params={"id": f"built-in/{user['name']}"},
                                     json={**user, "displayName": f"bench-{tag}-{i}"}) as response:
                results.append({"ok": (await response.json()).get("status") == "ok"})

    started = time.time()
    loop = await delivery.open_loop(rate, args.isolation_seconds, call, limit_s=args.isolation_seconds + 120)
    ok = sum(1 for r in loop.results if r["ok"])
    expected = ok * 8
    prefix = f"bench-{tag}-"
    deadline = time.monotonic() + 60
    while True:  # until every healthy delivery of this phase's calls arrived, or a minute passed
        records = [r for r in await receiver.records() if r[4].startswith("/healthy/") and r[2].startswith(prefix)]
        if len(records) >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    created = delivery._event_times(db.path, list({r[1] for r in records}))
    delays = [r[0] - created[r[1]] for r in records if r[1] in created]
    end = max((r[0] for r in records), default=started)
    return {"calls_ok": ok, "expected_healthy": expected, "healthy_arrived": len(records),
            "healthy_rate": len(records) / max(1e-9, end - started), "latency": delivery.summary_ms(delays),
            "hang_requests": await _hangs(receiver)}


async def _hangs(receiver: ReceiverClient) -> int:
    async with receiver.http.get(receiver.url("/_bench/hangs")) as response:
        return (await response.json())["hangs"]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
