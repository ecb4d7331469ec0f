"""Database syncers against real source databases (MariaDB, PostgreSQL, SQLite): test-syncer-db,
run-syncer in both directions with Casdoor's rules, the events of each user, passwords kept in the
organization's scheme, scheduled runs, and the refusals (bad credentials, unknown table or column,
unreachable or internal hosts, callers who do not manage the syncer)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Any

import pytest

from tests.compat.sdk import Tenant
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, eventually, unique
from tests.sync.sources import SOURCES, Source

PASSWORD = "alice-secret-1"


def _md5_salt(password: str, salt: str) -> str:
    """Casdoor's md5-salt scheme, as the source system stored it."""
    inner = hashlib.md5(password.encode()).hexdigest()  # noqa: S324 - the legacy scheme under test
    return hashlib.md5((inner + salt).encode()).hexdigest()  # noqa: S324


@pytest.fixture(params=list(SOURCES))
def source(request: pytest.FixtureRequest) -> Iterator[Source]:
    with SOURCES[request.param]() as made:
        yield made


def _add_syncer(admin: Api, tenant: Tenant, source: Source, **extra: Any) -> dict[str, Any]:
    syncer = source.syncer(tenant.organization, tenant.organization, unique("syncer"), **extra)
    answer = admin.post("add-syncer", syncer)
    assert answer["status"] == "ok", answer
    return syncer


def _users(admin: Api, tenant: Tenant) -> dict[str, dict[str, Any]]:
    answer = admin.get("get-users", owner=tenant.organization)
    assert answer["status"] == "ok", answer
    return {user["name"]: user for user in answer["data"]}


def _run(admin: Api, syncer: dict[str, Any]) -> dict[str, Any]:
    return admin.get("run-syncer", id=f"{syncer['owner']}/{syncer['name']}")


def test_a_run_syncs_both_ways_as_casdoor_does(server: ServerProcess, admin: Api, tenant: Tenant,
                                                source: Source) -> None:
    assert admin.post("update-organization", {"owner": "admin", "name": tenant.organization,
                                              "displayName": tenant.organization, "passwordType": "md5-salt"},
                      params={"id": f"admin/{tenant.organization}"})["status"] == "ok"
    uid = f"u{random.randint(10**6, 10**9)}"  # user ids are unique server-wide
    source.execute("INSERT INTO people (uid, login, first_name, last_name, mail, phone, pwd, salt, dept) VALUES "
                   "(:a, 'alice', 'Alice', 'Liddell', 'alice@example.com', '555-0101', :pwd, 'NaCl', 1), "
                   "(:b, 'bob', 'Bob', 'Builder', 'bob@example.com', '', '', '', 2)",
                   a=uid, b=f"{uid}b", pwd=_md5_salt(PASSWORD, "NaCl"))
    assert admin.post("add-user", {"owner": tenant.organization, "name": "carol",
                                   "email": "carol@example.com"})["status"] == "ok"
    syncer = _add_syncer(admin, tenant, source)
    tested = admin.post("test-syncer-db", syncer)
    assert tested["status"] == "ok", tested
    assert "login" in tested["data"]["columns"]

    first = _run(admin, syncer)
    assert first["status"] == "ok", first
    assert first["data"] == {"created": 2, "updated": 0, "exported": 1, "unchanged": 0, "failed": []}
    users = _users(admin, tenant)
    alice = users["alice"]
    assert (alice["displayName"], alice["email"], alice["affiliation"]) == ("Alice Liddell", "alice@example.com",
                                                                           "Engineering")
    assert alice["registerSource"] == f"{tenant.organization}/{syncer['name']}"
    assert users["bob"]["affiliation"] == "Sales"
    assert [row["login"] for row in source.rows()] == ["alice", "bob", "carol"]  # carol went to the source
    subject = f"{tenant.organization}/alice"
    for action in ("add-user", "new-user-syncer"):
        recorded = events(server, action=action, subject=subject)
        assert [e["outcome"] for e in recorded] == ["ok"], action
        assert recorded[0]["message"] == f"by syncer {syncer['owner']}/{syncer['name']}"
        assert "password" not in recorded[0]["object"] or recorded[0]["object"]["password"] in ("", "***")
    assert [e["outcome"] for e in events(server, action="run-syncer")][-1:] == ["ok"]

    # The source's password, in the organization's scheme (md5-salt), signs alice in.
    signed_in = Api(server.url).login("alice", PASSWORD, tenant.organization, tenant.application)
    assert signed_in["status"] == "ok", signed_in
    assert Api(server.url).login("alice", "wrong-password-1", tenant.organization, tenant.application)["status"] \
        == "error"

    # Changed there: the source wins. Changed here: the source follows.
    source.execute("UPDATE people SET mail = 'bob@builders.example' WHERE login = 'bob'")
    edited = {**alice, "email": "alice@wonderland.example"}
    assert admin.post("update-user", edited, params={"id": subject})["status"] == "ok"
    second = _run(admin, syncer)
    assert second["status"] == "ok", second
    assert (second["data"]["updated"], second["data"]["exported"]) == (1, 1), second
    assert _users(admin, tenant)["bob"]["email"] == "bob@builders.example"
    assert events(server, action="update-user", subject=f"{tenant.organization}/bob")[-1]["message"].startswith(
        "by syncer")
    rows = {row["login"]: row for row in source.rows()}
    assert rows["alice"]["mail"] == "alice@wonderland.example"
    assert rows["alice"]["first_name"] == "Alice"  # a column made of two is left as the source has it

    # Nothing changed: a third run writes nothing.
    third = _run(admin, syncer)
    assert third["data"]["created"] == third["data"]["updated"] == third["data"]["exported"] == 0, third

    # Deleted in the source: as in Casdoor, the user stays here and is written back there.
    source.execute("DELETE FROM people WHERE login = 'bob'")
    fourth = _run(admin, syncer)
    assert fourth["data"]["exported"] == 1, fourth
    assert "bob" in _users(admin, tenant) and "bob" in {row["login"] for row in source.rows()}


def test_test_syncer_db_says_what_is_wrong(admin: Api, tenant: Tenant, source: Source) -> None:
    syncer = source.syncer(tenant.organization, tenant.organization, unique("syncer"))
    answer = admin.post("test-syncer-db", {**syncer, "table": "nobody_here"})
    assert answer["status"] == "error" and "table 'nobody_here' does not exist" in answer["msg"], answer
    columns = [*syncer["tableColumns"], {"name": "shoe_size", "casdoorName": "Tag"}]
    answer = admin.post("test-syncer-db", {**syncer, "tableColumns": columns})
    assert answer["status"] == "error" and "no column 'shoe_size'" in answer["msg"], answer
    if source.database_type == "sqlite3":
        answer = admin.post("test-syncer-db", {**syncer, "database": "../../etc/passwd"})
        assert answer["status"] == "error" and "must be a file in" in answer["msg"], answer
        return
    answer = admin.post("test-syncer-db", {**syncer, "user": "nobody", "password": "wrong-password"})
    assert answer["status"] == "error" and "cannot use the" in answer["msg"], answer
    assert "wrong-password" not in answer["msg"]
    answer = admin.post("test-syncer-db", {**syncer, "port": 9})  # nothing listens on the discard port
    assert answer["status"] == "error" and "cannot use the" in answer["msg"], answer


def test_internal_hosts_and_unknown_fields_are_refused(admin: Api, tenant: Tenant) -> None:
    base = {"owner": tenant.organization, "name": unique("syncer"), "organization": tenant.organization,
            "type": "Database", "databaseType": "mysql", "host": "10.20.30.40", "port": 3306, "user": "root",
            "database": "x", "table": "people", "tableColumns": [{"name": "login", "casdoorName": "Name"}]}
    for action in ("add-syncer", "test-syncer-db"):
        answer = admin.post(action, base)
        assert answer["status"] == "error" and "invalid field host" in answer["msg"], (action, answer)
    answer = admin.post("add-syncer", {**base, "host": "127.0.0.1",
                                       "tableColumns": [{"name": "login", "casdoorName": "ShoeSize"}]})
    assert answer["status"] == "error" and "'ShoeSize' is no user field" in answer["msg"], answer


def test_only_managers_run_or_test_a_syncer(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    with SOURCES["sqlite"]() as source:
        syncer = _add_syncer(admin, tenant, source)
        user = unique("member")
        assert admin.post("add-user", {"owner": tenant.organization, "name": user, "password": PASSWORD})["status"] \
            == "ok"
        member = Api(server.url)
        assert member.login(user, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
        refused = _run(member, syncer)
        assert refused["status"] == "error" and "only administrators" in refused["msg"], refused
        refused = member.post("test-syncer-db", syncer)
        assert refused["status"] == "error" and "only administrators" in refused["msg"], refused
        assert _run(Api(server.url), syncer)["status"] == "error"  # signed out
        outcomes = [e["outcome"] for e in events(server, action="run-syncer", actor=f"{tenant.organization}/{user}")]
        assert outcomes == ["error"]


def test_an_enabled_syncer_runs_on_its_interval(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    with SOURCES["sqlite"]() as source:
        uid = f"u{random.randint(10**6, 10**9)}"
        source.execute("INSERT INTO people (uid, login, mail, dept) VALUES (:u, 'dora', 'dora@example.com', 0)", u=uid)
        syncer = _add_syncer(admin, tenant, source, isEnabled=True, syncInterval=1)
        eventually(lambda: "dora" in _users(admin, tenant), "the scheduled run to bring dora in")
        source.execute("INSERT INTO people (uid, login, mail, dept) VALUES (:u, 'eve', 'eve@example.com', 0)",
                       u=f"{uid}e")
        eventually(lambda: "eve" in _users(admin, tenant), "the next scheduled run to bring eve in")
        assert len(events(server, action="new-user-syncer", subject=f"{tenant.organization}/dora")) == 1
        assert admin.post("update-syncer", {**syncer, "isEnabled": False},
                          params={"id": f"{syncer['owner']}/{syncer['name']}"})["status"] == "ok"
