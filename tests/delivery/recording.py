"""A worker on a fresh SQLite file with given webhooks and events, which records the deliveries it
would send instead of sending them: for tests of what a cycle dispatches and leases."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.migrate import upgrade
from hookdoor.db.tables import events
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.delivery.worker import Worker
from hookdoor.events.wakeup import Wakeup
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.webhooks.signing import generate_secret


def update_user_event(event_id: str) -> dict[str, Any]:
    return {"id": event_id, "action": "update-user", "organization": "built-in", "actor": "built-in/admin",
            "subject": None, "outcome": "ok", "status_code": 200, "message": "", "user": None, "object": {},
            "request": {}, "created_at": utcnow(), "dispatched": False}


def update_user_webhook(name: str, **fields: Any) -> dict[str, Any]:
    created = rfc3339(utcnow() - timedelta(minutes=1))  # before the events
    return {"owner": "built-in", "name": name, "organization": "built-in", "url": f"http://127.0.0.1:9/{name}",
            "events": ["update-user"], "isEnabled": True, "signingSecret": generate_secret(),
            "createdTime": created, "updatedTime": created, **fields}


@contextlib.asynccontextmanager
async def recording_worker(tmp_path: Path, webhooks: list[dict[str, Any]],
                           new_events: list[dict[str, Any]]) -> AsyncIterator[Worker]:
    """``worker.started`` lists the deliveries the worker started sending, in order."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}")
    engine = create_engine(settings)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as db:
        for webhook in webhooks:
            await ObjectRepository(db, kind("webhook")).insert(webhook)
        await db.execute(insert(events), new_events)
        await db.commit()
    worker = Worker(sessionmaker, settings, Wakeup())
    worker.started = []  # type: ignore[attr-defined]
    worker._start = worker.started.append  # type: ignore[method-assign, attr-defined]
    try:
        yield worker
    finally:
        await engine.dispose()
