"""The Celery peer's lifecycle for bench/run.py: its virtual environment, the broker, one drain.

The peer (bench/peer_celery_app.py) is installed by the benchmark into .bench-venv/celery (git-ignored,
kept between runs as a cache) from the package index, never into the project's environment. The broker
is the Redis on 127.0.0.1:6379 when one answers there (database 15, a queue named for this run);
otherwise the benchmark starts its own `redis-server` on a free loopback port, without persistence.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

import delivery
from delivery import CHILDREN, ROOT

VENV = ROOT / ".bench-venv" / "celery"
REQUIREMENTS = ["celery[redis]>=5.4,<6", "gevent>=24", "requests>=2.31", "standardwebhooks>=1.0"]
PACKAGES = ["celery", "kombu", "redis", "gevent", "requests", "standardwebhooks"]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> dict[str, str]:
    """Make (once) the peer's virtual environment; the versions installed in it."""
    stamp = VENV / "bench-requirements.json"
    if not (venv_python().exists() and stamp.exists() and json.loads(stamp.read_text()) == REQUIREMENTS):
        shutil.rmtree(VENV, ignore_errors=True)
        print(f"  installing the Celery peer into {VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True,
                       stdout=subprocess.DEVNULL)
        stamp.write_text(json.dumps(REQUIREMENTS))
    probe = ("import json, importlib.metadata as m, platform; print(json.dumps({**{p: m.version(p) for p in "
             f"{PACKAGES!r}}}, 'python': platform.python_version()}}))")
    return json.loads(subprocess.run([str(venv_python()), "-c", probe], check=True, capture_output=True,
                                     text=True).stdout)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


async def broker(work: Path) -> dict[str, Any]:
    """The Redis to use: 127.0.0.1:6379 if it answers, else one of our own."""
    if _answers(6379):
        return {"url": "redis://127.0.0.1:6379/15", "where": "the Redis already running on 127.0.0.1:6379 (db 15)"}
    port = delivery.free_port()
    CHILDREN.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], {}, work, work / "redis.log")
    deadline = time.monotonic() + 20
    while not _answers(port):
        CHILDREN.check_alive("redis")
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        await asyncio.sleep(0.1)
    return {"url": f"redis://127.0.0.1:{port}/0",
            "where": f"a redis-server started by the benchmark on 127.0.0.1:{port}"}


def _env(broker_url: str, queue: str) -> dict[str, str]:
    return {"BENCH_CELERY_BROKER": broker_url, "BENCH_CELERY_QUEUE": queue, "PYTHONPATH": str(ROOT / "bench")}


def _tree_cpu(pid: int) -> float:
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _tree_rss(pid: int) -> int:
    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0


async def drain(work: Path, broker_url: str, receiver: delivery.ReceiverClient, body: str, count: int,
                pool: str, concurrency: int, run_tag: str) -> dict[str, Any]:
    """Publish `count` tasks with no worker running, then start one Celery worker and time the arrivals."""
    queue = f"hookdoor-bench-{os.getpid()}-{run_tag}"
    env = _env(broker_url, queue)
    body_file = work / "peer-body.json"
    body_file.write_text(body)
    secret = _secret()
    await receiver.reset()
    enqueue = await asyncio.to_thread(
        subprocess.run, [str(venv_python()), str(ROOT / "bench" / "peer_celery_app.py"), "enqueue", str(count),
         receiver.url(f"/peer/{pool}"), str(body_file), secret, run_tag],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=max(120, count / 200))
    if enqueue.returncode:
        raise RuntimeError(f"enqueueing the Celery tasks failed:\n{enqueue.stderr[-3000:]}")
    name = f"celery-{pool}"
    args = [str(venv_python()), "-m", "celery", "-A", "peer_celery_app", "worker", "-P", pool, "-c", str(concurrency),
            "-Q", queue, "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"{name}-{run_tag}@127.0.0.1"]
    started_wall = time.time()
    proc = CHILDREN.start(name, args, env, ROOT / "bench", work / f"{name}.log")
    receiver_pid = CHILDREN.procs["receiver"].pid
    receiver_cpu = delivery.cpu_seconds(receiver_pid)
    wall = time.monotonic()
    peak_rss = 0
    deadline = time.monotonic() + max(60.0, count / 50)
    distinct = 0
    while distinct < count and time.monotonic() < deadline:  # every task's delivery, duplicates aside
        CHILDREN.check_alive(name)
        await asyncio.sleep(0.5)
        peak_rss = max(peak_rss, _tree_rss(proc.pid))
        if await receiver.count() >= count:
            distinct = len({r[3] for r in await receiver.records()})
    cpu = _tree_cpu(proc.pid)
    elapsed = time.monotonic() - wall
    receiver_cpu = delivery.cpu_seconds(receiver_pid) - receiver_cpu
    CHILDREN.stop(name, timeout=20)
    records = await receiver.records()
    first_of_each: dict[str, float] = {}
    for record in records:
        first_of_each.setdefault(record[3], record[0])
    return {
        "pool": pool, "concurrency": concurrency, "tasks": count, "arrived": len(first_of_each),
        "requests_received": len(records), "duplicates": len(records) - len(first_of_each),
        "enqueue_s": float(enqueue.stdout.strip() or "nan"), "arrival": delivery.rates(list(first_of_each.values())),
        "start_to_last_arrival_s": (max(r[0] for r in records) - started_wall) if records else None,
        "worker_cpu_s": round(cpu, 2), "cpu_us_per_delivery": cpu / max(1, len(first_of_each)) * 1e6,
        "receiver_cpu_s": round(receiver_cpu, 2), "wall_s": round(elapsed, 2), "peak_rss_mb": peak_rss / 2**20,
        "distinct_webhook_ids": len({r[3] for r in records}),
    }


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


async def steady(work: Path, broker_url: str, receiver: delivery.ReceiverClient, body: str, pool: str,
                 concurrency: int, rates: list[float], seconds: float) -> list[dict[str, Any]]:
    """One Celery worker running; tasks published open-loop at each rate in turn; publish → arrival."""
    tag = f"steady-{pool}"
    queue = f"hookdoor-bench-{os.getpid()}-{tag}"
    env = _env(broker_url, queue)
    body_file = work / "peer-body.json"
    body_file.write_text(body)
    secret = _secret()
    name = f"celery-{tag}"
    args = [str(venv_python()), "-m", "celery", "-A", "peer_celery_app", "worker", "-P", pool, "-c", str(concurrency),
            "-Q", queue, "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"{name}@127.0.0.1"]
    CHILDREN.start(name, args, env, ROOT / "bench", work / f"{name}.log")
    script = str(ROOT / "bench" / "peer_celery_app.py")
    out = []
    try:
        await receiver.reset()
        await asyncio.to_thread(subprocess.run, [str(venv_python()), script, "enqueue", "20",
                                                 receiver.url("/peer-warm"), str(body_file), secret, "warm"],
                                env={**os.environ, **env}, capture_output=True, timeout=60, check=True)
        if await receiver.wait_for(20, 60, alive=name) < 20:
            raise RuntimeError("the Celery worker did not deliver its warm-up tasks")
        for number, rate in enumerate(rates):
            await receiver.reset()
            done = await asyncio.to_thread(
                subprocess.run, [str(venv_python()), script, "paced", f"{rate:.3f}", f"{seconds:g}",
                                 receiver.url(f"/peer-steady/{number}"), str(body_file), secret, f"s{number}"],
                env={**os.environ, **env}, capture_output=True, text=True, timeout=seconds + 120)
            if done.returncode:
                raise RuntimeError(f"publishing at a steady rate failed:\n{done.stderr[-3000:]}")
            published = json.loads(done.stdout)
            await receiver.wait_for(len(published), 60, alive=name)
            records = await receiver.records()
            delays = [r[0] - published[r[3]] for r in records if r[3] in published]
            out.append({"rate": rate, "published": len(published), "delivered": len(delays),
                        "latency": delivery.summary_ms(delays)})
            await receiver.wait_quiet()
    finally:
        CHILDREN.stop(name, timeout=20)
    return out
