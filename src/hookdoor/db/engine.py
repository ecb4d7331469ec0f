"""The database engine and the session factory, tuned per backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from hookdoor.config import Settings
from hookdoor.db import sqlite_inloop


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers run beside the single writer; NORMAL is durable across process crashes.
    # The driver's own implicit BEGIN is turned off: the write lock's BEGIN IMMEDIATE takes its place
    # (a deferred transaction that read first fails at once with SQLITE_BUSY when another writer got
    # in between, and every API call writes its event row anyway).
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")
    # Checkpoints run in a thread (db/checkpoint.py), not inside a commit in the event loop.
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for another backend or an in-memory database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def is_in_memory(database_url: str) -> bool:
    """``sqlite:///:memory:`` or ``sqlite://``: a database that lives as long as its one connection."""
    return make_url(database_url).get_backend_name() == "sqlite" and sqlite_file(database_url) is None


def _sqlite_pool(database_url: str) -> dict[str, Any]:
    if is_in_memory(database_url):
        # One connection, kept open for the life of the process (closing it would drop the data), and
        # taken by one session at a time: SQLAlchemy's StaticPool would hand it to every session at
        # once, and one session's rollback (or the pool's reset of one returned) would end another's
        # transaction on it. A session waits for it as it would for the write lock.
        return {"poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0}
    return {"pool_size": 8, "max_overflow": 8}


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        url = make_url(settings.database_url).set(drivername=f"sqlite+{sqlite_inloop.DRIVER}")
        engine = create_async_engine(url, **_sqlite_pool(settings.database_url))
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        sqlite_inloop.install_write_lock(engine.sync_engine)
        return engine
    return create_async_engine(settings.database_url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
