"""A real HTTP receiver on 127.0.0.1 that records every request it gets.

Paths choose its behaviour: ``/ok``, ``/status/<code>``, ``/hang`` (never answers in time),
``/slow/<seconds>``, ``/flaky/<n>`` (fails the first n tries of each webhook-id, then succeeds).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from tests.support import PATIENCE, free_port


@dataclass(frozen=True)
class Arrival:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[Arrival] = []
        self._tries: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._started = threading.Event()

    def url(self, path: str = "/ok") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self) -> None:
        # Close the server first (it cancels the handlers still waiting, e.g. /hang), then the loop.
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._started.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.Response:
        arrival = Arrival(request.method, request.path, request.query_string, dict(request.headers),
                          await request.read(), time.monotonic())
        with self._lock:
            self.arrivals.append(arrival)
        parts = request.path.strip("/").split("/")
        if parts[0] == "status":
            return web.Response(status=int(parts[1]), text="as asked")
        if parts[0] == "hang":
            await asyncio.sleep(3600)
        if parts[0] == "slow":
            await asyncio.sleep(float(parts[1]))
        if parts[0] == "flaky":
            key = arrival.header("webhook-id") or ""
            with self._lock:
                self._tries[key] += 1
                tries = self._tries[key]
            if tries <= int(parts[1]):
                return web.Response(status=503, text="try again")
        return web.Response(text="received")

    def matching(self, predicate: Callable[[Arrival], bool]) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if predicate(a)]

    def wait_for(
        self, predicate: Callable[[Arrival], bool], count: int = 1, timeout: float = PATIENCE
    ) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        found = self.matching(predicate)
        raise AssertionError(f"expected {count} matching arrivals within {timeout}s, got {len(found)}")
