"""An adapter naming an external MariaDB or PostgreSQL table (Casdoor's database-adapter fields): policies are rows of
that table, in Casdoor's xorm-adapter layout, read and written through the policy routes; the SSRF
guard keeps adapters from internal addresses the operator did not allow."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pymysql
import pytest

from tests.authz.support import RBAC_MODEL, casdoor_rule, new_enforcer, ok
from tests.compat.sdk import Tenant
from tests.support import Api, drop_postgres_database, new_postgres_database

MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def _mariadb(database: str | None = None) -> pymysql.connections.Connection:
    return pymysql.connect(**MARIADB, database=database, autocommit=True)


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    name = f"hookdoor_casbin_{uuid.uuid4().hex[:10]}"
    try:
        connection = _mariadb()
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"MariaDB is not running on 127.0.0.1:3306: {exc}")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


def _rows(database: str, table: str) -> list[tuple[str, ...]]:
    with _mariadb(database) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT ptype, v0, v1, v2, v3, v4, v5 FROM `{table}` ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]


def _refresh(admin: Api) -> None:
    t = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    m = hashlib.sha256(f"casbin-editor-v1|{t}".encode()).hexdigest()
    ok(admin.post("refresh-engines", params={"t": t, "m": m}))


def test_policies_live_in_the_external_mariadb_table(admin: Api, tenant: Tenant, mariadb_database: str) -> None:
    adapter = {"databaseType": "mysql", **MARIADB, "database": mariadb_database, "table": "hd_rules"}
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL, adapter)
    rule = casdoor_rule("p", "alice", "data1", "read")
    assert ok(admin.post("add-policy", rule, params={"id": enforcer.id}))["data"] == "Affected"
    assert ok(admin.post("add-policy", casdoor_rule("g", "bob", "alice"), params={"id": enforcer.id}))
    assert _rows(mariadb_database, "hd_rules") == [("p", "alice", "data1", "read", "", "", ""),
                                                   ("g", "bob", "alice", "", "", "", "")]
    assert ok(admin.post("enforce", ["bob", "data1", "read"], params={"enforcerId": enforcer.id}))["data"] == [True]
    assert ok(admin.get("get-policies", adapterId=enforcer.adapter))["data"] is None  # Casdoor: reach it, say nothing

    new = casdoor_rule("p", "alice", "data1", "write")
    assert ok(admin.post("update-policy", [rule, new], params={"id": enforcer.id}))["data"] == "Affected"
    assert _rows(mariadb_database, "hd_rules")[0] == ("p", "alice", "data1", "write", "", "", "")

    # Rules written into the table by someone else are read at once by get-policies, and enforced
    # once the engines are refreshed (the enforcer is cached by now).
    assert ok(admin.post("enforce", ["alice", "data1", "write"], params={"enforcerId": enforcer.id}))["data"] == [True]
    with _mariadb(mariadb_database) as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO hd_rules (ptype, v0, v1, v2, v3, v4, v5) VALUES "
                       "('p', 'carol', 'data9', 'read', '', '', '')")
    listed = ok(admin.get("get-policies", id=enforcer.id))["data"]
    assert [p["V0"] for p in listed] == ["alice", "bob", "carol"]
    assert ok(admin.post("enforce", ["carol", "data9", "read"], params={"enforcerId": enforcer.id}))["data"] == [False]
    _refresh(admin)
    assert ok(admin.post("enforce", ["carol", "data9", "read"], params={"enforcerId": enforcer.id}))["data"] == [True]


def test_an_external_adapter_cannot_reach_internal_addresses_or_unknown_databases(admin: Api, tenant: Tenant) -> None:
    internal = {"databaseType": "mysql", "host": "10.1.2.3", "port": 3306, "user": "root",
                "password": "s3cret-pass", "database": "x"}
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL, internal)
    refused = admin.post("add-policy", casdoor_rule("p", "a", "b", "c"), params={"id": enforcer.id})
    assert refused["status"] == "error" and "invalid field host" in refused["msg"]
    assert "s3cret-pass" not in refused["msg"]

    for fields, message in (({"databaseType": "oracle"}, "databaseType"), ({"table": "x; DROP TABLE y"}, "table")):
        answer = admin.post("add-adapter", {"owner": tenant.organization, "name": f"bad-{uuid.uuid4().hex[:6]}",
                                            **internal, **fields})
        assert answer["status"] == "error" and f"invalid field {message}" in answer["msg"], answer


def test_a_wrong_password_is_a_clear_error_without_the_password(admin: Api, tenant: Tenant,
                                                               mariadb_database: str) -> None:
    adapter = {"databaseType": "mysql", **MARIADB, "user": "nobody-here", "password": "wrong-secret-1",
               "database": mariadb_database}
    enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL, adapter)
    answer = admin.post("enforce", ["a", "b", "c"], params={"enforcerId": enforcer.id})
    assert answer["status"] == "error" and "the adapter's database 127.0.0.1:3306" in answer["msg"]
    assert "wrong-secret-1" not in answer["msg"]


def test_policies_live_in_an_external_postgresql_table(admin: Api, tenant: Tenant) -> None:
    url = new_postgres_database()
    try:
        database = url.rsplit("/", 1)[1]
        adapter = {"databaseType": "postgres", "host": "127.0.0.1", "port": 5432, "user": "postgres",
                   "password": "", "database": database, "table": "hd_rules"}
        enforcer = new_enforcer(admin, tenant.organization, RBAC_MODEL, adapter)
        assert ok(admin.post("add-policy", casdoor_rule("p", "alice", "data1", "read"), params={"id": enforcer.id}))
        assert ok(admin.post("add-policy", casdoor_rule("g", "bob", "alice"), params={"id": enforcer.id}))
        rows = asyncio.run(_postgres_rows(url))
        assert rows == [("p", "alice", "data1", "read", "", "", ""), ("g", "bob", "alice", "", "", "", "")]
        by_enforcer = {"enforcerId": enforcer.id}
        assert ok(admin.post("enforce", ["bob", "data1", "read"], params=by_enforcer))["data"] == [True]
        assert ok(admin.post("remove-policy", casdoor_rule("g", "bob", "alice"), params={"id": enforcer.id}))
        assert ok(admin.post("enforce", ["bob", "data1", "read"], params=by_enforcer))["data"] == [False]
    finally:
        drop_postgres_database(url)


async def _postgres_rows(url: str) -> list[tuple[str, ...]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT ptype, v0, v1, v2, v3, v4, v5 FROM hd_rules ORDER BY id")
        return [tuple(row) for row in rows]
    finally:
        await connection.close()
