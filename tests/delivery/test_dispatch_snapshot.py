"""On SQLite the worker reads new events from a snapshot and writes their deliveries afterwards: an
event dispatched by someone else in between must not be dispatched twice."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.migrate import upgrade
from hookdoor.db.tables import deliveries, events
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.delivery import queue
from hookdoor.delivery.worker import Worker
from hookdoor.events.wakeup import Wakeup
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.webhooks.signing import generate_secret


def _event(event_id: str) -> dict[str, Any]:
    return {"id": event_id, "action": "update-user", "organization": "built-in", "actor": "built-in/admin",
            "subject": None, "outcome": "ok", "status_code": 200, "message": "", "user": None, "object": {},
            "request": {}, "created_at": utcnow(), "dispatched": False}


@pytest.fixture
async def worker(tmp_path: Path) -> Any:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}")
    engine = create_engine(settings)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    created = rfc3339(utcnow() - timedelta(minutes=1))
    webhook = {"owner": "built-in", "name": "hook", "organization": "built-in", "url": "http://127.0.0.1:9/x",
               "events": ["update-user"], "isEnabled": True, "signingSecret": generate_secret(),
               "createdTime": created, "updatedTime": created}
    async with sessionmaker() as db:
        await ObjectRepository(db, kind("webhook")).insert(webhook)
        await db.execute(insert(events), [_event("01EVENT0000000000000000001"), _event("01EVENT0000000000000000002")])
        await db.commit()
    worker = Worker(sessionmaker, settings, Wakeup())
    worker.started = []
    worker._start = worker.started.append  # record instead of sending
    yield worker
    await engine.dispose()


async def _deliveries(worker: Worker) -> int:
    async with worker.sessionmaker() as db:
        return await db.scalar(select(func.count()).select_from(deliveries))


async def test_events_read_from_the_snapshot_become_leased_deliveries(worker: Worker) -> None:
    assert await worker._cycle_from_snapshot() is False
    assert await _deliveries(worker) == 2
    assert [d["state"] for d in worker.started] == ["delivering", "delivering"]


async def test_events_dispatched_meanwhile_are_not_dispatched_again(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = queue.undispatched_in_snapshot

    def read_then_lose_the_race(driver: Any, limit: int) -> list[dict[str, Any]]:
        rows = read(driver, limit)
        other = sqlite3.connect(worker.settings.database_url.removeprefix("sqlite:///"))
        with other:  # another worker's transaction, committed between the snapshot and the write
            other.execute("UPDATE events SET dispatched = 1 WHERE id = ?", (rows[0]["id"],))
        other.close()
        return rows

    monkeypatch.setattr(queue, "undispatched_in_snapshot", read_then_lose_the_race)
    assert await worker._cycle_from_snapshot() is None  # gave up: the general way must run
    assert await _deliveries(worker) == 0 and worker.started == []

    assert await worker._cycle() is False  # the general way: only the event still undispatched
    assert await _deliveries(worker) == 1
    async with worker.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(events).where(events.c.dispatched.is_(False))) == 0
