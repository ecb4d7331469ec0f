"""A syncer's source database (MySQL/MariaDB, PostgreSQL, SQLite), read and written with SQLAlchemy.

Everything here is blocking and runs in a thread (``asyncio.to_thread``), never inside one of
Hookdoor's own transactions: a slow or unreachable source holds up no other writer. Table and column
names are the syncer's and reach SQL quoted by SQLAlchemy, values only as parameters.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from hookdoor.errors import BadRequest
from hookdoor.sync.outbound import SourceUnavailable, checked_address
from hookdoor.sync.schemas import DRIVERS, DatabaseSyncer
from hookdoor.webhooks.target_guard import TargetPolicy

CONNECT_TIMEOUT_SECONDS = 5


class SourceDatabase:
    def __init__(self, syncer: DatabaseSyncer, policy: TargetPolicy, sqlite_dir: str) -> None:
        self.syncer = syncer
        self.engine = self._engine(policy, sqlite_dir)
        self.table_name = syncer.table

    # ---- connecting ---------------------------------------------------------------------------

    def _engine(self, policy: TargetPolicy, sqlite_dir: str) -> Engine:
        kind = self.syncer.engine_kind
        if kind not in DRIVERS:
            raise BadRequest(f"invalid field databaseType: {self.syncer.databaseType!r} is not one of mysql, "
                             "postgres, sqlite3")
        if kind == "sqlite3":
            path = _sqlite_file(self.syncer.database, sqlite_dir)
            return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=rw", uri=True),
                                    poolclass=NullPool)
        if not self.syncer.database:
            raise BadRequest("invalid field database: the source database's name is required")
        port = self.syncer.port_number
        address = checked_address(self.syncer.host, port, policy, "database")
        url = URL.create(DRIVERS[kind], username=self.syncer.user, password=self.syncer.password or None,
                         host=address, port=port, database=self.syncer.database)
        return sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})

    def connect(self) -> Connection:
        try:
            return self.engine.connect()
        except DBAPIError as exc:
            raise SourceUnavailable(self._described(exc)) from None

    def _described(self, exc: BaseException) -> str:
        """The driver's reason, on one line and without the password."""
        text = str(getattr(exc, "orig", None) or exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        if self.syncer.password:
            reason = reason.replace(self.syncer.password, "***")
        where = self.syncer.database if self.syncer.engine_kind == "sqlite3" else \
            f"{self.syncer.host}:{self.syncer.port_number}/{self.syncer.database}"
        return f"cannot use the {self.syncer.engine_kind} database {where}: {reason}"

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- what the mapping needs ---------------------------------------------------------------

    def check(self, connection: Connection) -> list[str]:
        """The table and every column the mapping names exist; returns the table's columns."""
        if not self.table_name:
            raise BadRequest("invalid field table: the source table is required")
        inspector = sa.inspect(connection)
        try:
            present = [column["name"] for column in inspector.get_columns(self.table_name)]
        except NoSuchTableError:
            raise BadRequest(f"invalid field table: table {self.table_name!r} does not exist in the source "
                             "database") from None
        wanted = [name for column in self.syncer.tableColumns for name in column.source_names()]
        missing = [name for name in wanted if name not in present]
        if missing:
            raise BadRequest(f"invalid field tableColumns: table {self.table_name!r} has no column "
                             f"{', '.join(repr(m) for m in missing)}")
        if self.syncer.affiliationTable and not inspector.has_table(self.syncer.affiliationTable):
            raise BadRequest(f"invalid field affiliationTable: table {self.syncer.affiliationTable!r} does not exist")
        return present

    def _table(self, names: list[str]) -> sa.TableClause:
        return sa.table(self.table_name, *(sa.column(name) for name in names))

    def _mapped_names(self) -> list[str]:
        return list(dict.fromkeys(name for column in self.syncer.tableColumns for name in column.source_names()))

    # ---- reading and writing ------------------------------------------------------------------

    def rows(self, connection: Connection) -> list[dict[str, str]]:
        """Every row, each mapped column's value as text (NULL as ""), as Casdoor reads them."""
        names = self._mapped_names()
        result = self._run(connection, sa.select(*self._table(names).c))
        return [{name: _text(value) for name, value in zip(names, row, strict=True)} for row in result]

    def affiliations(self, connection: Connection) -> dict[int, str]:
        table = sa.table(self.syncer.affiliationTable, sa.column("id"), sa.column("name"))
        result = self._run(connection, sa.select(table.c.id, table.c.name).order_by(table.c.id))
        return {int(row[0]): _text(row[1]) for row in result}

    def insert(self, connection: Connection, values: dict[str, Any]) -> None:
        self._run(connection, sa.insert(self._table(list(values))).values(**values))
        connection.commit()

    def update(self, connection: Connection, key: str, key_value: Any, values: dict[str, Any]) -> None:
        table = self._table([key, *values])
        self._run(connection, sa.update(table).where(table.c[key] == key_value).values(**values))
        connection.commit()

    def _run(self, connection: Connection, statement: Any) -> Any:
        try:
            return connection.execute(statement).fetchall() if isinstance(statement, sa.Select) \
                else connection.execute(statement)
        except SQLAlchemyError as exc:
            connection.rollback()
            raise SourceUnavailable(self._described(exc)) from None


def _sqlite_file(database: str, sqlite_dir: str) -> Path:
    """A SQLite source is a file the server opens: only one inside HOOKDOOR_SYNCER_SQLITE_DIR."""
    if not sqlite_dir:
        raise BadRequest("invalid field databaseType: SQLite sources are off on this server "
                         "(HOOKDOOR_SYNCER_SQLITE_DIR names the folder they may be read from)")
    folder = Path(sqlite_dir).resolve()
    path = (folder / database).resolve()
    if not database or folder not in path.parents:
        raise BadRequest(f"invalid field database: a SQLite source must be a file in {folder}")
    if not path.is_file():
        raise BadRequest(f"invalid field database: {database!r} does not exist in {folder}")
    return path


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
