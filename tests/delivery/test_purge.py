from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.migrate import upgrade
from hookdoor.db.tables import attempts, deliveries, events
from hookdoor.db.types import utcnow
from hookdoor.delivery.worker import purge


def _event(event_id: str, age: timedelta, dispatched: bool) -> dict:
    return {"id": event_id, "action": "login", "organization": "o", "actor": "", "subject": None, "outcome": "ok",
            "status_code": 200, "message": "", "user": None, "object": None, "request": {},
            "created_at": utcnow() - age, "dispatched": dispatched}


def _delivery(delivery_id: str, age: timedelta, state: str) -> dict:
    moment = utcnow() - age
    return {"id": delivery_id, "event_id": "e", "action": "login", "webhook_owner": "o", "webhook_name": "w",
            "organization": "o", "state": state, "ordered": False, "trigger": "event", "payload": "{}",
            "attempts": 1, "next_attempt_at": moment, "created_at": moment, "updated_at": moment}


def _attempt(delivery_id: str) -> dict:
    return {"delivery_id": delivery_id, "number": 1, "trigger": "scheduled", "started_at": utcnow(),
            "duration_ms": 1.0, "request_url": "http://x", "request_headers": {}}


async def test_purge_forgets_only_what_is_old_and_final(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}"))
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    old, new = timedelta(days=40), timedelta(days=1)
    async with sessionmaker() as db:
        await db.execute(insert(events), [_event("old-done", old, True), _event("old-waiting", old, False),
                                          _event("new", new, True)])
        await db.execute(insert(deliveries), [_delivery("d-old-ok", old, "succeeded"),
                                              _delivery("d-old-pending", old, "pending"),
                                              _delivery("d-new", new, "failed")])
        await db.execute(insert(attempts), [_attempt("d-old-ok"), _attempt("d-old-pending"), _attempt("d-new")])
        await db.commit()

    assert await purge(sessionmaker, timedelta(days=30)) == 1

    async with sessionmaker() as db:
        assert set(await db.scalars(select(events.c.id))) == {"old-waiting", "new"}
        assert set(await db.scalars(select(deliveries.c.id))) == {"d-old-pending", "d-new"}
        assert await db.scalar(select(func.count()).select_from(attempts)) == 2
    await engine.dispose()
