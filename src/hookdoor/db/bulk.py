"""Many-row statements on SQLite's own driver, for the delivery worker's hot path.

SQLAlchemy processes every bound value and every result value in Python (type processors, cache
keys, row objects); for a batch of hundreds of deliveries of 18 columns each, the worker's profile
showed that costing more than SQLite's own work. A `BulkStatement` is compiled by SQLAlchemy once, from the same
`Table` objects as everything else, and then run with ``executemany`` straight on the connection's
sqlite3 driver, inside the session's transaction, converting values the way SQLAlchemy stores them
(UTC datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff``, JSON as ``json.dumps`` text, booleans as 0/1), so
rows written either way read back the same. On PostgreSQL it simply runs through SQLAlchemy.

Both run in a `Transaction`: the session, and on SQLite the sqlite3 connection under it, fetched once
per transaction rather than once per statement.
"""

from __future__ import annotations

import contextlib
import json
import operator
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
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


async def sqlite_connection(db: AsyncSession) -> sqlite3.Connection | None:
    """The sqlite3 connection under the session's transaction, or None on another backend."""
    connection = await db.connection()
    if connection.dialect.name != "sqlite":
        return None
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    return driver if isinstance(driver, sqlite3.Connection) else None


@dataclass(frozen=True)
class Transaction:
    """A session in a transaction and, on SQLite, the sqlite3 connection that transaction runs on."""

    db: AsyncSession
    driver: sqlite3.Connection | None

    @classmethod
    async def of(cls, db: AsyncSession) -> Transaction:
        """The transaction ``db`` is in, begun here if it had not begun yet."""
        return cls(db, await sqlite_connection(db))


@contextlib.asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Transaction]:
    """A transaction committed when the block ends without an error (rolled back otherwise). On
    SQLite it has begun, so it holds the write lock, from the start of the block."""
    async with sessionmaker() as db:
        yield await Transaction.of(db)
        await db.commit()


class BulkStatement:
    """An INSERT or UPDATE with named binds, executed for many parameter dicts at once."""

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

    async def execute_many(self, tx: Transaction, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if tx.driver is None:
            await tx.db.execute(self.statement, list(rows))
            return
        tx.driver.executemany(self.sql, [self.sqlite_parameters(row) for row in rows])


class BulkSelect:
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

    async def rows(self, tx: Transaction, **params: Any) -> list[dict[str, Any]]:
        if tx.driver is None:
            return [dict(row) for row in (await tx.db.execute(self.statement, params)).mappings()]
        values = tuple(convert(params.get(name, default)) for name, convert, default in self._binds)
        return _converted(self._columns, tx.driver.execute(self.sql, values))


def _bind_type(compiled: Any, name: str) -> Any:
    return compiled.binds[name].type


def _result_columns(statement: Any) -> list[tuple[str, Converter]]:
    return [(column.key, _result_converter(column.type)) for column in statement.exported_columns]


def _converted(columns: list[tuple[str, Converter]], rows: Any) -> list[dict[str, Any]]:
    return [{key: convert(value) for (key, convert), value in zip(columns, row, strict=True)} for row in rows]
