"""Statements compiled by SQLAlchemy once and run straight on SQLite's own driver: the hot paths.

SQLAlchemy processes every statement and every bound and result value in Python (cache keys,
execution contexts, type processors, row objects): about 60 µs per small statement through
`AsyncSession` here (four small SELECTs in one transaction: 380 µs of CPU through it, 131 µs straight
on the driver), several times SQLite's own work on it. For the statements every API call
and every delivery batch runs, a `DirectStatement` or `DirectSelect` is compiled by SQLAlchemy once,
from the same `Table` objects as everything else, and then run on the sqlite3 connection under the
session's transaction, converting values the way SQLAlchemy stores them (UTC datetimes as
``YYYY-MM-DD HH:MM:SS.ffffff``, JSON as ``json.dumps`` text, booleans as 0/1), so rows written
either way read back the same. On PostgreSQL they simply run through SQLAlchemy.

The session remembers its sqlite3 connection until its transaction ends, so finding it costs one
dictionary lookup per statement after the first.
"""

from __future__ import annotations

import contextlib
import json
import operator
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from hookdoor.db.sqlite_inloop import SQLiteDialect_inloop
from hookdoor.db.types import UTCDateTime

_SQLITE = SQLiteDialect_inloop()
Converter = Callable[[Any], Any]


def sqlite_datetime(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores for an aware datetime (naive UTC, microseconds)."""
    if value is None:
        return None
    if value is _last_datetime[0]:  # the rows of a batch share their `now`
        return _last_datetime[1]
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    text = utc.replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_datetime[:] = [value, text]
    return text


_last_datetime: list[Any] = [None, None]


def parse_sqlite_datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _json_text(value: Any) -> str:
    return json.dumps(value)


def _bool_int(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _identity(value: Any) -> Any:
    return value


def _bind_converter(type_: Any) -> Converter:
    if isinstance(type_, UTCDateTime):
        return sqlite_datetime
    if isinstance(type_, JSON):
        return _json_text
    if isinstance(type_, Boolean):
        return _bool_int
    return _identity


def _result_converter(type_: Any) -> Converter:
    if isinstance(type_, UTCDateTime):
        return parse_sqlite_datetime
    if isinstance(type_, JSON):
        return lambda text: None if text is None else json.loads(text)
    if isinstance(type_, Boolean):
        return lambda value: None if value is None else bool(value)
    return _identity


_DRIVER = "hookdoor_sqlite_driver"


async def sqlite_connection(db: AsyncSession) -> sqlite3.Connection | None:
    """The sqlite3 connection under the session's transaction (begun here if it was not yet), or
    None on another backend."""
    info = db.info
    if _DRIVER not in info:
        connection = await db.connection()
        driver = connection.sync_connection.connection.driver_connection
        info[_DRIVER] = driver if isinstance(driver, sqlite3.Connection) else None
    return info[_DRIVER]


@contextlib.asynccontextmanager
async def sqlite_snapshot(engine: AsyncEngine) -> AsyncIterator[sqlite3.Connection]:
    """A read-only transaction on a pooled SQLite connection, outside SQLAlchemy's transactions and
    so without the write lock they take: in WAL mode readers neither wait for the writer nor hold
    it up. For reads whose results a later write transaction acts on (the worker's dispatch)."""
    pooled = await engine.raw_connection()
    try:
        driver = pooled.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        driver.execute("BEGIN")  # deferred: one consistent snapshot for every read, no lock
        try:
            yield driver
        finally:
            driver.execute("ROLLBACK")
    finally:
        pooled.close()


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, _transaction: Any) -> None:
    # The session's next transaction may run on another pooled connection.
    session.info.pop(_DRIVER, None)


class DirectStatement:
    """An INSERT, UPDATE or DELETE with named binds, for one parameter dict or many at once."""

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        """``column_keys``: for an INSERT, the columns every row gives (the rest take their defaults)."""
        self.statement = statement
        compiled = statement.compile(dialect=_SQLITE, column_keys=list(column_keys) if column_keys else None)
        self.sql = str(compiled)
        names = list(compiled.positiontup or [])
        converters = [_bind_converter(compiled.binds[name].type) for name in names]
        # Values are picked in C (itemgetter); only the columns that need it are converted after.
        self._pick = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        self._convert = [(index, convert) for index, convert in enumerate(converters) if convert is not _identity]

    def sqlite_parameters(self, row: Mapping[str, Any]) -> list[Any]:
        values = list(self._pick(row))
        for index, convert in self._convert:
            values[index] = convert(values[index])
        return values

    async def execute(self, db: AsyncSession, row: Mapping[str, Any]) -> int:
        """Run it once; the number of rows it matched."""
        driver = await sqlite_connection(db)
        if driver is None:
            return (await db.execute(self.statement, dict(row))).rowcount  # type: ignore[attr-defined]
        return driver.execute(self.sql, self.sqlite_parameters(row)).rowcount

    def converted(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """The rows as SQLite parameters: for a caller that converts them before taking the write lock."""
        return [self.sqlite_parameters(row) for row in rows]

    async def execute_many(
        self, db: AsyncSession, rows: Sequence[Mapping[str, Any]], converted: list[list[Any]] | None = None
    ) -> int:
        """Run it for every row; the number of rows they matched in all. ``converted``: the rows
        already converted by `converted` (used on SQLite only)."""
        if not rows:
            return 0
        driver = await sqlite_connection(db)
        if driver is None:
            return (await db.execute(self.statement, list(rows))).rowcount  # type: ignore[attr-defined]
        return driver.executemany(self.sql, converted if converted is not None else self.converted(rows)).rowcount


class DirectSelect:
    """A SELECT whose rows come back as dicts of Python values, without SQLAlchemy's row machinery
    on SQLite. Bind parameters are passed positionally in the order SQLAlchemy compiled them.

    ``raw_json`` names JSON columns to hand over unparsed, as ``<name>_json`` text, on SQLite (on
    another backend they come parsed, under their own name): for a caller that may only need to copy
    them into another JSON document."""

    def __init__(self, statement: Any, raw_json: Sequence[str] = ()) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_SQLITE)
        self.sql = str(compiled)
        # Binds the caller does not name keep the value SQLAlchemy gave them (literals, the OFFSET of a
        # LIMIT). Expanding IN lists are not supported: write them as comparisons.
        defaults = compiled.construct_params(_check=False)
        self._binds = [
            (name, _bind_converter(_bind_type(compiled, name)), defaults.get(name))
            for name in compiled.positiontup or []
        ]
        self._columns = [
            (f"{key}_json", _identity) if key in raw_json else (key, convert)
            for key, convert in _result_columns(statement)
        ]

    async def rows(self, db: AsyncSession, **params: Any) -> list[dict[str, Any]]:
        driver = await sqlite_connection(db)
        if driver is None:
            return [dict(row) for row in (await db.execute(self.statement, params)).mappings()]
        return self.rows_on(driver, **params)

    def rows_on(self, driver: sqlite3.Connection, **params: Any) -> list[dict[str, Any]]:
        """The rows, read on a sqlite3 connection given directly (see `sqlite_snapshot`)."""
        return _converted(self._columns, driver.execute(self.sql, self._values(params)))

    async def first(self, db: AsyncSession, **params: Any) -> dict[str, Any] | None:
        driver = await sqlite_connection(db)
        if driver is None:
            row = (await db.execute(self.statement, params)).mappings().first()
            return dict(row) if row is not None else None
        found = driver.execute(self.sql, self._values(params)).fetchone()
        return None if found is None else _converted(self._columns, [found])[0]

    def _values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(convert(params.get(name, default)) for name, convert, default in self._binds)


def _bind_type(compiled: Any, name: str) -> Any:
    return compiled.binds[name].type


def _result_columns(statement: Any) -> list[tuple[str, Converter]]:
    return [(column.key, _result_converter(column.type)) for column in statement.exported_columns]


def _converted(columns: list[tuple[str, Converter]], rows: Any) -> list[dict[str, Any]]:
    return [{key: convert(value) for (key, convert), value in zip(columns, row, strict=True)} for row in rows]
