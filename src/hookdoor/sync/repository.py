"""SQL of synchronization: the last run of each source, and the lock that lets one process run it.

A run is held by a PostgreSQL session-level advisory lock on a connection kept for the run, or on
SQLite by a lease row (taken by a conditional UPDATE, expiring so that a dead process frees it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hookdoor.db.tables import sync_leases, sync_runs
from hookdoor.db.types import utcnow

LEASE_SECONDS = 600.0  # a run longer than this may be taken over by another process
HOLDER = f"{os.getpid()}-{secrets.token_hex(6)}"


async def last_run(db: AsyncSession, source: str, key: str) -> dict[str, Any] | None:
    row = (await db.execute(select(sync_runs).where(sync_runs.c.source == source, sync_runs.c.key == key))).first()
    return dict(row._mapping) if row else None


async def last_runs(db: AsyncSession, source: str) -> dict[str, dict[str, Any]]:
    rows = (await db.execute(select(sync_runs).where(sync_runs.c.source == source))).all()
    return {row.key: dict(row._mapping) for row in rows}


async def save_run(db: AsyncSession, source: str, key: str, *, started_at: datetime, outcome: str,
                   counts: dict[str, Any], error: str = "", finished_at: datetime | None = None) -> None:
    values = {"started_at": started_at, "finished_at": finished_at, "outcome": outcome, "counts": counts,
              "error": error[:65536]}
    changed = await db.execute(update(sync_runs).where(sync_runs.c.source == source, sync_runs.c.key == key)
                               .values(**values))
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        await db.execute(insert(sync_runs).values(source=source, key=key, **values))


# ---- one run at a time, across processes ---------------------------------------------------------

def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def run_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Yields True if this process now runs ``name`` (until the block ends), False if another does."""
    if engine.dialect.name == "postgresql":
        async with _advisory_lock(engine, name) as held:
            yield held
    else:
        async with _lease(engine, name) as held:
            yield held


@contextlib.asynccontextmanager
async def _advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    key = _advisory_key(name)
    async with engine.connect() as connection:
        held = bool(await connection.scalar(select(func.pg_try_advisory_lock(key))))
        await connection.commit()  # the lock is the session's: it outlives this transaction
        try:
            yield held
        finally:
            if held:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await connection.commit()


@contextlib.asynccontextmanager
async def _lease(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    held = await _take_lease(engine, name)
    try:
        yield held
    finally:
        if held:
            async with AsyncSession(engine) as db:
                await db.execute(update(sync_leases).where(sync_leases.c.key == name, sync_leases.c.holder == HOLDER)
                                 .values(expires_at=0.0))
                await db.commit()


async def _take_lease(engine: AsyncEngine, name: str) -> bool:
    now = time.time()
    async with AsyncSession(engine) as db:
        taken = await db.execute(update(sync_leases).where(sync_leases.c.key == name, sync_leases.c.expires_at < now)
                                 .values(holder=HOLDER, expires_at=now + LEASE_SECONDS))
        if taken.rowcount == 0:  # type: ignore[attr-defined]
            try:
                await db.execute(insert(sync_leases).values(key=name, holder=HOLDER, expires_at=now + LEASE_SECONDS))
            except IntegrityError:  # held by another process, whose lease has not expired
                await db.rollback()
                return False
        await db.commit()
        return True


def now() -> datetime:
    return utcnow()
