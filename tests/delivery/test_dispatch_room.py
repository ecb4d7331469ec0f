"""Events are dispatched as far as the worker has room to send their deliveries: the rest stay
undispatched (the backlog) instead of becoming pending deliveries to be claimed back later; a webhook
stuck at its concurrency limit holds up nobody else's events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hookdoor.db.tables import deliveries, events
from hookdoor.delivery.worker import Worker
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from tests.delivery.recording import recording_worker, update_user_event, update_user_webhook

WEBHOOKS = ("a", "b", "c")
MAX_CONCURRENCY = 2
EVENTS = 5


@pytest.fixture
async def worker(tmp_path: Path) -> Any:
    webhooks = [update_user_webhook(name, maxConcurrency=MAX_CONCURRENCY) for name in WEBHOOKS]
    new_events = [update_user_event(f"01EVENT{number:019d}") for number in range(EVENTS)]
    async with recording_worker(tmp_path, webhooks, new_events) as worker:
        yield worker


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
