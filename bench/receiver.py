"""Benchmark webhook receiver: answers 200 at once and records when each request arrived.

Run as its own process (aiohttp + uvloop, bound to 127.0.0.1):

    .venv/bin/python bench/receiver.py --port 9100 [--max-seconds 3600]

For every request outside ``/_bench/`` it records ``time.time()`` at arrival, the payload's ``id``
(the event's ULID: a hookdoor payload starts with ``{"id":"<26 characters>"``), the ``webhook-id``
header and an optional marker (the first ``bench-<digits>-<digits>`` string in the body, which the
load generator writes into the updated user's displayName). Control endpoints:

* ``GET /_bench/count``          -> ``{"count": n}``
* ``GET /_bench/records?since=k`` -> ``{"records": [[at, id, marker, webhook_id, path], ...]}`` from index k
* ``POST /_bench/reset``         -> forgets every record
* ``GET /_bench/hangs``          -> ``{"hangs": n}``: requests to ``/_hang/...`` so far

A request to ``/_hang/...`` is not recorded: it is held for ``--hang-seconds`` (an endpoint that hangs
past the sender's timeout) and then answered 200.

It stops by itself after ``--max-seconds`` (a bound, in case its parent dies without stopping it),
and on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import time

import uvloop
from aiohttp import web

MARKER = re.compile(rb"bench-\d+-\d+")
ID_PREFIX = b'{"id":"'


class Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[float, str, str, str, str]] = []
        self.hangs = 0
        self.hang_seconds = 30.0

    async def handle(self, request: web.Request) -> web.Response:
        at = time.time()
        body = await request.read()
        payload_id = body[7:33].decode("ascii", "replace") if body.startswith(ID_PREFIX) else ""
        found = MARKER.search(body)
        marker = found.group().decode() if found else ""
        self.records.append((at, payload_id, marker, request.headers.get("webhook-id", ""), request.path))
        return web.Response(text="ok")

    async def hang(self, request: web.Request) -> web.Response:
        self.hangs += 1
        await request.read()
        await asyncio.sleep(self.hang_seconds)
        return web.Response(text="late")

    async def hang_count(self, _request: web.Request) -> web.Response:
        return web.json_response({"hangs": self.hangs})

    async def count(self, _request: web.Request) -> web.Response:
        return web.json_response({"count": len(self.records)})

    async def dump(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.Response(body=json.dumps({"records": self.records[since:]}), content_type="application/json")

    async def reset(self, _request: web.Request) -> web.Response:
        self.records = []
        return web.json_response({"count": 0})


async def serve(port: int, max_seconds: float, hang_seconds: float = 30.0) -> None:
    recorder = Recorder()
    recorder.hang_seconds = hang_seconds
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/_bench/count", recorder.count)
    app.router.add_get("/_bench/records", recorder.dump)
    app.router.add_post("/_bench/reset", recorder.reset)
    app.router.add_get("/_bench/hangs", recorder.hang_count)
    app.router.add_route("*", "/_hang/{tail:.*}", recorder.hang)
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"receiver listening on 127.0.0.1:{port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except TimeoutError:
        print("receiver: --max-seconds reached, stopping", flush=True)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--hang-seconds", type=float, default=30.0, help="how long /_hang/ requests are held")
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.max_seconds, args.hang_seconds))


if __name__ == "__main__":
    main()
