"""OAuth benchmark: the token endpoint (client_credentials and authorization_code), introspection and
JWKS, each beside an update-user call measured in the same run, with 16 callers in a closed loop.

    .venv/bin/python bench/oauth.py                 # writes docs/benchmarks-oauth.md
    .venv/bin/python bench/oauth.py --seconds 3     # shorter phases, writes nothing unless --output

Every figure is measured in this run: calls/s and the CPU of `hookdoor serve` and its worker per call
(from /proc), and each phase's CPU as a ratio to update-user's, which is how the target is stated
("issuing a token costs at most 2x the CPU of an update-user call"): machines differ up to 3x in
speed, ratios within one run do not. All traffic stays on 127.0.0.1; children end on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
import delivery as common  # noqa: E402  (the delivery bench's process, CPU and client helpers)

CLIENTS = 16
TARGET_RATIO = 2.0
Call = Callable[[int, int], Awaitable[bool]]


async def closed_loop(call: Call, seconds: float, clients: int = CLIENTS, limit: int | None = None) -> dict[str, Any]:
    """``clients`` callers, each calling again as soon as its call is answered, for ``seconds``
    (or until ``limit`` calls were made); the server's CPU over the same span."""
    done = failed = issued = 0
    stop_at = time.monotonic() + seconds

    async def client(c: int) -> None:
        nonlocal done, failed, issued
        i = 0
        while time.monotonic() < stop_at and (limit is None or issued < limit):
            issued += 1
            ok = await call(c, i)
            i += 1
            done += ok
            failed += not ok

    meter = common.CpuMeter(common.server_pids())
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(client(c) for c in range(clients))), timeout=seconds + 60)
    elapsed = time.monotonic() - started
    cpu = meter.stop()
    server_cpu_s = cpu["serve_cpu_s"] + cpu.get("serve-worker_cpu_s", 0.0)
    return {"calls": done, "failed": failed, "seconds": round(elapsed, 2), "rate": round(done / elapsed, 1),
            "server_cpu_ms_per_call": round(server_cpu_s * 1000 / max(1, done), 3),
            "load_before": os.getloadavg()[0]}


async def setup(http: Any, base: str) -> dict[str, Any]:
    api = common.Api(http, base)
    await api.login()
    users = []
    for n in range(50):
        name = f"bench-oauth-{n}"
        await api.post("add-user", {**common.realistic_user(name), "password": common.ADMIN_PASSWORD})
        stored = (await api.get("get-user", id=f"built-in/{name}"))["data"]
        users.append(common.realistic_user(name, stored))
    app = (await api.get("get-application", id="admin/app-built-in"))["data"]
    return {"api": api, "users": users, "client_id": app["clientId"], "client_secret": app["clientSecret"]}


async def codes(http: Any, base: str, count: int) -> list[str]:
    """Authorization codes made ahead of the exchange phase, by Casdoor's code login."""
    made: list[str] = []

    async def one(c: int) -> None:
        while len(made) < count:
            async with http.post(f"{base}/api/login", json={
                "type": "code", "organization": "built-in", "application": "app-built-in",
                "username": "bench-oauth-0", "password": common.ADMIN_PASSWORD,
            }) as response:
                answer = await response.json()
            if answer.get("status") != "ok":
                raise RuntimeError(f"code login failed: {answer}")
            made.append(answer["data"])

    await asyncio.gather(*(one(c) for c in range(8)))
    return made[:count]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hookdoor-oauth-bench-"))
    http = common.new_client(limit=CLIENTS * 2)
    try:
        base = await common.start_serve("serve", work, work / "bench.db", http, worker=True)
        ctx = await setup(http, base)
        users, client = ctx["users"], {"client_id": ctx["client_id"], "client_secret": ctx["client_secret"]}
        token_url = f"{base}/api/login/oauth/access_token"

        async def update_user(c: int, i: int) -> bool:
            user = users[(c + i) % len(users)]
            async with http.post(f"{base}/api/update-user", params={"id": f"built-in/{user['name']}"},
                                 json={**user, "displayName": f"oauth-bench-{c}-{i}"}) as response:
                return (await response.json()).get("status") == "ok"

        async def client_credentials(c: int, i: int) -> bool:
            async with http.post(token_url, data={"grant_type": "client_credentials", **client}) as response:
                return "access_token" in await response.json()

        pool = await codes(http, base, args.codes)

        async def authorization_code(c: int, i: int) -> bool:
            if not pool:
                return False
            async with http.post(token_url, data={"grant_type": "authorization_code", "code": pool.pop(),
                                                  **client}) as response:
                return "access_token" in await response.json()

        async with http.post(token_url, data={"grant_type": "client_credentials", **client}) as response:
            sample = (await response.json())["access_token"]

        async def introspect(c: int, i: int) -> bool:
            async with http.post(f"{base}/api/login/oauth/introspect", data={"token": sample, **client}) as response:
                return (await response.json()).get("active") is True

        async def jwks(c: int, i: int) -> bool:
            async with http.get(f"{base}/.well-known/jwks") as response:
                return bool((await response.json()).get("keys"))

        phases = {}
        for name, call, limit in (("update-user", update_user, None), ("token: client_credentials", client_credentials,
                                  None), ("token: authorization_code", authorization_code, len(pool)),
                                  ("introspect", introspect, None), ("jwks", jwks, None),
                                  ("update-user (again)", update_user, None)):
            phases[name] = await closed_loop(call, args.seconds, limit=limit)
            print(f"{name}: {phases[name]}", flush=True)
        return {"phases": phases, "codes_made": args.codes}
    finally:
        await http.close()
        common.CHILDREN.stop_all()


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    phases = result["phases"]
    baseline = (phases["update-user"]["server_cpu_ms_per_call"] + phases["update-user (again)"]
                ["server_cpu_ms_per_call"]) / 2
    command = " ".join([".venv/bin/python", "bench/oauth.py", *sys.argv[1:]])
    lines = [
        "# OAuth benchmark", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command}` on {os.cpu_count()} cores"
        f" ({platform.processor() or platform.machine()}), Python {platform.python_version()}, SQLite,"
        " `hookdoor serve` as it starts by default (its worker in a child process).", "",
        f"{CLIENTS} callers in a closed loop, {args.seconds:g} s per phase. Server CPU is `hookdoor serve` and its"
        " worker, read from /proc. The ratio is each phase's CPU per call over update-user's (the mean of the"
        " phases before and after). Target: a token costs at most"
        f" {TARGET_RATIO:g}× an update-user call.", "",
        "| phase | calls | failed | calls/s | server CPU ms/call | × update-user | load before |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, phase in phases.items():
        ratio = phase["server_cpu_ms_per_call"] / baseline if baseline else float("nan")
        lines.append(f"| {name} | {phase['calls']} | {phase['failed']} | {phase['rate']:,.1f} | "
                     f"{phase['server_cpu_ms_per_call']:.3f} | {ratio:.2f} | {phase['load_before']:.2f} |")
    for name in ("token: client_credentials", "token: authorization_code"):
        ratio = phases[name]["server_cpu_ms_per_call"] / baseline
        verdict = "met" if ratio <= TARGET_RATIO else "not met"
        lines.append(f"\n{name}: {ratio:.2f}× update-user's CPU per call: **{verdict}**.")
    lines.append(f"\nThe authorization_code phase exchanges {result['codes_made']} codes made before it (by "
                 "Casdoor's code login, not measured); it ends early when they run out.")
    return "\n".join(lines) + "\n"


def phased_arguments(description: str) -> argparse.ArgumentParser:
    """The options every closed-loop benchmark takes: how long each phase lasts, where the report goes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--output", type=Path, default=None, help="where to write the report")
    return parser


def run_and_report(args: argparse.Namespace, run: Any, report: Any, document: str) -> None:
    """Run, print the report, and write it to docs/``document`` for a full-length run (or --output)."""
    if args.output is None and args.seconds >= 10:
        args.output = common.ROOT / "docs" / document
    text = report(uvloop.run(run(args)), args)
    print(text)
    if args.output:
        args.output.write_text(text)


def main() -> None:
    parser = phased_arguments(__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=3000, help="authorization codes made for the exchange phase")
    run_and_report(parser.parse_args(), run, report, "benchmarks-oauth.md")


if __name__ == "__main__":
    main()
