"""SQLite for the async engine without a thread per connection: the stdlib driver, called in the loop.

aiosqlite runs every call on a thread of its own and hands the result back through the event loop:
~0.3 ms of CPU per statement as measured here, far more than SQLite's own work on a small indexed
statement. This dialect is SQLAlchemy's own pysqlite dialect flagged as async-capable, so the async
engine runs its (synchronous) calls inline in the loop: a statement costs SQLite's work and
SQLAlchemy's (~60 µs for a `select 1` through `AsyncSession`, measured), with no thread hop.

The one call that could block the loop is taking the write lock (`BEGIN IMMEDIATE`) while someone
else holds it: SQLite's busy handler would sleep in the loop's thread, and if the holder is a
coroutine of this same loop it could never finish. So connections run with ``busy_timeout=0`` and
``begin()`` waits here instead, without blocking:

* within this process, transactions queue on one FIFO ``asyncio.Lock`` (the lock is SQLite's single
  writer anyway; queueing here is fair and costs no retries);
* against other processes (a separate ``hookdoor worker``), a busy ``BEGIN IMMEDIATE`` is retried
  at every turn of the event loop for the first 2 ms (a failed attempt costs a few µs; the loop's
  other work runs in between), then after 1 ms sleeps. uvloop's timers count whole milliseconds
  (measured: ``asyncio.sleep(0.0004)`` returns after 3 µs, ``asyncio.sleep(0.0006)`` after 1.08 ms),
  so there is no sleep between a loop turn and a millisecond, and a holder's transaction typically
  lasts less than one.

The lock is released when the transaction ends, whichever way: commit, rollback, or the pool taking
the connection back. See docs/architecture.md, "SQLite".
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from sqlalchemy import event, pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, Engine
from sqlalchemy.util.concurrency import await_, in_greenlet

DRIVER = "hookdoor"
HOLDS_LOCK = "hookdoor_holds_write_lock"
SPIN_SECONDS = 0.002
RETRY_SLEEP_SECONDS = 0.001
GIVE_UP_SECONDS = 30.0


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """SQLAlchemy's async results call this to release a driver's cursor early; rows of a
        sqlite3 cursor stay readable until it is closed, so there is nothing to do."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


class SQLiteDialect_inloop(SQLiteDialect_pysqlite):  # noqa: N801 (SQLAlchemy's naming of dialects)
    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    # SQLAlchemy's AsyncConnection.execute() insists that a statement yield to the event loop at least
    # once (it takes a driver that never does for a sync driver used by mistake): let every statement
    # pass through the loop's greenlet once. AsyncSession does not ask for it; the cost was lost in the
    # noise of a ~60 µs `AsyncSession.execute` when measured.
    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        _pass_through_loop()
        super().do_execute(cursor, statement, parameters, context)

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        _pass_through_loop()
        super().do_execute_no_params(cursor, statement, context)

    def do_executemany(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        _pass_through_loop()
        super().do_executemany(cursor, statement, parameters, context)

    def create_connect_args(self, url: URL) -> Any:
        args, kwargs = super().create_connect_args(url)
        # Pooled connections are only ever used by the loop's thread, one at a time; the flag only
        # spares a spurious error when the pool closes a connection from a finalizer.
        kwargs["check_same_thread"] = False
        kwargs["factory"] = _Connection
        kwargs["timeout"] = 0  # busy waits happen in WriteLock.acquire, not in the loop's thread
        return args, kwargs


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_inloop")


async def _nothing() -> None:
    return None


def _pass_through_loop() -> None:
    if in_greenlet():
        await_(_nothing())


class WriteLock:
    """One writer at a time: FIFO among this process's coroutines, polite retries against others."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def acquire(self, dbapi_connection: sqlite3.Connection) -> None:
        await self._lock.acquire()
        try:
            await _begin_immediate(dbapi_connection)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        if self._lock.locked():
            self._lock.release()


async def _begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
    started = time.monotonic()
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            waited = time.monotonic() - started
            if not _is_busy(error) or waited >= GIVE_UP_SECONDS:
                raise
        await asyncio.sleep(0 if waited < SPIN_SECONDS else RETRY_SLEEP_SECONDS)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "locked" in str(error)
    )


def install_write_lock(engine: Engine) -> WriteLock:
    """Make every transaction of ``engine`` (the sync engine behind an AsyncEngine) take the lock."""
    lock = WriteLock()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        dbapi_connection = connection.connection.driver_connection
        await_(lock.acquire(dbapi_connection))
        connection.info[HOLDS_LOCK] = True

    def _end(info: dict[str, Any]) -> None:
        if info.pop(HOLDS_LOCK, False):
            lock.release()

    # commit/rollback fire just before the driver's COMMIT/ROLLBACK, which then run without yielding
    # to the loop: nobody can begin in between.
    event.listen(engine, "commit", lambda connection: _end(connection.info))
    event.listen(engine, "rollback", lambda connection: _end(connection.info))

    @event.listens_for(engine.pool, "reset")
    def _reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        _end(connection_record.info)

    @event.listens_for(engine.pool, "invalidate")
    def _invalidate(dbapi_connection: Any, connection_record: Any, exception: Any) -> None:
        _end(connection_record.info)

    return lock
