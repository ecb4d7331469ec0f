"""Runs a worker beside the API (``hookdoor serve``) or on its own (``hookdoor worker``), and listens
for what committed events send to workers in other processes (PostgreSQL: NOTIFY; SQLite: the
doorbell of events/wakeup.py), so they wake at once; polling stays as the safety net."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url

from hookdoor.config import Settings
from hookdoor.delivery.worker import Worker
from hookdoor.events.wakeup import Doorbell, Wakeup

log = logging.getLogger(__name__)
CHANNEL = "hookdoor_events"


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def listening(settings: Settings, wakeup: Wakeup) -> AsyncIterator[None]:
    if settings.is_sqlite:
        doorbell = Doorbell.for_database(settings.database_url)
        with doorbell.listening(wakeup) if doorbell else contextlib.nullcontext():
            yield
        return
    connection = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    await connection.add_listener(CHANNEL, lambda *_: wakeup.notify())
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


@contextlib.asynccontextmanager
async def running_worker(worker: Worker, settings: Settings) -> AsyncIterator[asyncio.Task[None]]:
    stopping = asyncio.Event()
    async with listening(settings, worker.wakeup):
        task = asyncio.create_task(worker.run(stopping), name="hookdoor-worker")
        try:
            yield task
        finally:
            stopping.set()
            worker.wakeup.notify()
            await task
