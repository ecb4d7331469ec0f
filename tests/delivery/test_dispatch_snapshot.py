"""On SQLite the worker reads new events from a snapshot and writes their deliveries afterwards: an
event dispatched by someone else in between must not be dispatched twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hookdoor.db.tables import deliveries, events
from hookdoor.delivery import queue
from hookdoor.delivery.worker import Worker
from tests.delivery.recording import recording_worker, update_user_event, update_user_webhook


@pytest.fixture
async def worker(tmp_path: Path) -> Any:
    new_events = [update_user_event("01EVENT0000000000000000001"), update_user_event("01EVENT0000000000000000002")]
    async with recording_worker(tmp_path, [update_user_webhook("hook")], new_events) as worker:
        yield worker


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
