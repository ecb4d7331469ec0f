"""Source databases for syncer tests, on real servers: a throwaway MariaDB database (127.0.0.1:3306,
root, no password), a throwaway PostgreSQL database, or a SQLite file in the folder the test servers'
syncers may read. Each holds a ``people`` table and an ``affiliations`` table."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.support import POSTGRES_ADMIN_URL, SYNCER_SQLITE_DIR, drop_postgres_database, new_postgres_database

MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
PEOPLE = """CREATE TABLE people (
    uid VARCHAR(64) PRIMARY KEY, login VARCHAR(100) NOT NULL UNIQUE, first_name VARCHAR(100), last_name VARCHAR(100),
    mail VARCHAR(200), phone VARCHAR(50), pwd VARCHAR(200), salt VARCHAR(50), dept INTEGER)"""
AFFILIATIONS = "CREATE TABLE affiliations (id INTEGER PRIMARY KEY, name VARCHAR(128))"
# The syncer's mapping: Casdoor's tableColumns. The login is the key; the display name is first + last.
TABLE_COLUMNS = [
    {"name": "uid", "type": "string", "casdoorName": "Id", "isHashed": False},
    {"name": "login", "type": "string", "casdoorName": "Name", "isKey": True, "isHashed": True},
    {"name": "first_name + last_name", "type": "string", "casdoorName": "DisplayName", "isHashed": True},
    {"name": "mail", "type": "string", "casdoorName": "Email", "isHashed": True},
    {"name": "phone", "type": "string", "casdoorName": "Phone", "isHashed": True},
    {"name": "pwd", "type": "string", "casdoorName": "Password", "isHashed": True},
    {"name": "salt", "type": "string", "casdoorName": "PasswordSalt", "isHashed": False},
    {"name": "dept", "type": "integer", "casdoorName": "Score", "isHashed": True},
]


@dataclass
class Source:
    """A source database, as a syncer names it and as the test reads and writes it."""

    database_type: str
    url: str
    fields: dict[str, Any]

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool)

    def execute(self, sql: str, **params: Any) -> None:
        engine = self.engine()
        with engine.begin() as connection:
            connection.execute(sa.text(sql), params)
        engine.dispose()

    def rows(self) -> list[dict[str, Any]]:
        engine = self.engine()
        with engine.connect() as connection:
            found = [dict(r._mapping) for r in connection.execute(sa.text("SELECT * FROM people ORDER BY login"))]
        engine.dispose()
        return found

    def syncer(self, owner: str, organization: str, name: str, **extra: Any) -> dict[str, Any]:
        return {"owner": owner, "name": name, "organization": organization, "type": "Database",
                "databaseType": self.database_type, **self.fields, "table": "people",
                "tableColumns": TABLE_COLUMNS, "affiliationTable": "affiliations", "syncInterval": 0,
                "isEnabled": False, "isReadOnly": False, **extra}


def _create_tables(source: Source) -> None:
    source.execute(PEOPLE)
    source.execute(AFFILIATIONS)
    source.execute("INSERT INTO affiliations (id, name) VALUES (1, 'Engineering'), (2, 'Sales')")


@contextlib.contextmanager
def mariadb_source() -> Iterator[Source]:
    name = f"hookdoor_sync_{uuid.uuid4().hex[:10]}"
    server = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306/", poolclass=sa.pool.NullPool)
    with server.begin() as connection:
        connection.execute(sa.text(f"CREATE DATABASE `{name}`"))
    source = Source("mysql", f"mysql+pymysql://root@127.0.0.1:3306/{name}", {**MARIADB, "database": name})
    try:
        _create_tables(source)
        yield source
    finally:
        with server.begin() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


@contextlib.contextmanager
def postgres_source() -> Iterator[Source]:
    url = new_postgres_database()
    name = url.rsplit("/", 1)[1]
    admin = sa.engine.make_url(POSTGRES_ADMIN_URL)
    source = Source("postgres", url.replace("postgresql://", "postgresql+psycopg://", 1),
                    {"host": admin.host, "port": admin.port or 5432, "user": admin.username, "password": "",
                     "database": name})
    try:
        _create_tables(source)
        yield source
    finally:
        drop_postgres_database(url)


@contextlib.contextmanager
def sqlite_source() -> Iterator[Source]:
    name = f"sync-{uuid.uuid4().hex[:10]}.db"
    path = Path(SYNCER_SQLITE_DIR) / name
    sqlite3.connect(path).close()
    source = Source("sqlite3", f"sqlite:///{path}", {"host": "", "port": 0, "user": "", "password": "",
                                                      "database": name})
    try:
        _create_tables(source)
        yield source
    finally:
        path.unlink(missing_ok=True)


SOURCES = {"mariadb": mariadb_source, "postgres": postgres_source, "sqlite": sqlite_source}
