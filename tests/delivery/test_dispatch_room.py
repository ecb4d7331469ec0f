"""Events are dispatched as far as the worker has room to send their deliveries: the rest stay
undispatched (the backlog) instead of becoming pending deliveries to be claimed back later; a webhook
stuck at its concurrency limit holds up nobody else's events."""

from __future__ import annotations

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
from hookdoor.delivery.worker import Worker
from hookdoor.events.wakeup import Wakeup
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.webhooks.signing import generate_secret

WEBHOOKS = ("a", "b", "c")
MAX_CONCURRENCY = 2
EVENTS = 5


def _event(number: int) -> dict[str, Any]:
    return {"id": f"01EVENT{number:019d}", "action": "update-user", "organization": "built-in",
            "actor": "built-in/admin", "subject": None, "outcome": "ok", "status_code": 200, "message": "",
            "user": None, "object": {}, "request": {}, "created_at": utcnow(), "dispatched": False}


@pytest.fixture
async def worker(tmp_path: Path) -> Any:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}")
    engine = create_engine(settings)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    created = rfc3339(utcnow() - timedelta(minutes=1))
    async with sessionmaker() as db:
        for name in WEBHOOKS:
            await ObjectRepository(db, kind("webhook")).insert({
                "owner": "built-in", "name": name, "organization": "built-in", "url": f"http://127.0.0.1:9/{name}",
                "events": ["update-user"], "isEnabled": True, "signingSecret": generate_secret(),
                "maxConcurrency": MAX_CONCURRENCY, "createdTime": created, "updatedTime": created,
            })
        await db.execute(insert(events), [_event(number) for number in range(EVENTS)])
        await db.commit()
    worker = Worker(sessionmaker, settings, Wakeup())
    worker.started = []
    worker._start = worker.started.append  # record instead of sending
    yield worker
    await engine.dispose()


async def _counts(worker: Worker) -> tuple[int, int, int]:
    """Undispatched events, pending deliveries, leased deliveries."""
    async with worker.sessionmaker() as db:
        undispatched = await db.scalar(select(func.count()).select_from(events).where(events.c.dispatched.is_(False)))
        by_state = dict((await db.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))).all())
    return undispatched, by_state.get("pending", 0), by_state.get("delivering", 0)


@pytest.mark.parametrize("cycle", ["_cycle_from_snapshot", "_cycle"])
async def test_events_wait_undispatched_until_there_is_room_to_send_them(worker: Worker, cycle: str) -> None:
    busy = await getattr(worker, cycle)()
    # room for 3 webhooks x 2 sends: two events' deliveries, all leased at once; three events wait
    assert await _counts(worker) == (EVENTS - 2, 0, 6)
    assert len(worker.started) == 6
    assert busy is False and worker.held_back  # the next finished send wakes the loop, not a busy cycle


@pytest.mark.parametrize("cycle", ["_cycle_from_snapshot", "_cycle"])
async def test_a_webhook_at_its_limit_holds_up_no_other_webhooks_events(worker: Worker, cycle: str) -> None:
    worker.limits.in_flight[("built-in", "a")] = MAX_CONCURRENCY  # "a" hangs on its sends
    await getattr(worker, cycle)()
    # b and c have room for two events; a's deliveries of them wait as pending, for the claim
    assert await _counts(worker) == (EVENTS - 2, 2, 4)
    assert {(d["webhook_name"], d["event_id"][-1]) for d in worker.started} == {
        (name, number) for name in ("b", "c") for number in "01"
    }


@pytest.mark.parametrize("cycle", ["_cycle_from_snapshot", "_cycle"])
async def test_events_for_stuck_webhooks_only_are_dispatched_as_pending(worker: Worker, cycle: str) -> None:
    for name in WEBHOOKS:
        worker.limits.in_flight[("built-in", name)] = MAX_CONCURRENCY
    await getattr(worker, cycle)()
    assert await _counts(worker) == (0, EVENTS * len(WEBHOOKS), 0)  # for the claim, as the webhooks get room
    assert worker.started == []


@pytest.mark.parametrize("cycle", ["_cycle_from_snapshot", "_cycle"])
async def test_events_nobody_subscribes_to_are_dispatched_at_once(worker: Worker, cycle: str) -> None:
    async with worker.sessionmaker() as db:
        for name in WEBHOOKS:
            webhook = await ObjectRepository(db, kind("webhook")).get("built-in", name)
            await ObjectRepository(db, kind("webhook")).replace("built-in", name, {**webhook, "isEnabled": False})
        await db.commit()
    await getattr(worker, cycle)()
    assert await _counts(worker) == (0, 0, 0)  # a webhook enabled later must not get them
