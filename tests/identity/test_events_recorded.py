"""Every API call's event row, read straight from the database the server writes.

The event is written in the same transaction as the change it describes, before the response is
sent, so it is there as soon as the call returns; a failed call is rolled back and recorded as an
``error`` event. From outside, that means: no change without its event, and no event claiming a
change that did not happen.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from casdoor import CasdoorSDK
from casdoor.application import Application
from casdoor.user import User

from tests.compat.sdk import Tenant, built_in_sdk, new_tenant
from tests.support import Api, ServerProcess, unique

PASSWORD = "event-password-1234"
JSON_COLUMNS = ("user", "object", "request")


def events(server: ServerProcess, **equals: str) -> list[dict[str, Any]]:
    """Rows of the events table whose columns equal the given values, oldest first."""
    columns = list(equals)
    if server.database_url.startswith("sqlite:///"):
        rows = _sqlite_rows(server.database_url.removeprefix("sqlite:///"), columns, list(equals.values()))
    else:
        rows = asyncio.run(_postgres_rows(server.database_url, columns, list(equals.values())))
    for row in rows:
        for column in JSON_COLUMNS:
            if isinstance(row[column], str):
                row[column] = json.loads(row[column])
    return rows


def _sqlite_rows(path: str, columns: list[str], values: list[str]) -> list[dict[str, Any]]:
    where = " AND ".join(f'"{column}" = ?' for column in columns) or "1 = 1"
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(f"SELECT * FROM events WHERE {where} ORDER BY id", values).fetchall()
    return [dict(row) for row in found]


async def _postgres_rows(url: str, columns: list[str], values: list[str]) -> list[dict[str, Any]]:
    where = " AND ".join(f'"{column}" = ${i}' for i, column in enumerate(columns, 1)) or "TRUE"
    connection = await asyncpg.connect(url)
    try:
        found = await connection.fetch(f"SELECT * FROM events WHERE {where} ORDER BY id", *values)
    finally:
        await connection.close()
    return [dict(row) for row in found]


def one_event(server: ServerProcess, **equals: str) -> dict[str, Any]:
    rows = events(server, **equals)
    assert len(rows) == 1, f"expected one event with {equals}, found {len(rows)}: {rows}"
    return rows[0]




def new_user(owner: str, **fields: Any) -> User:
    user = User.new(owner=owner, name=unique("user"), created_time="", display_name="First")
    for key, value in fields.items():
        setattr(user, key, value)
    return user


def test_sdk_add_user_records_an_event_with_the_application_as_actor(
    server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant
) -> None:
    user = new_user(tenant.organization, password=PASSWORD)
    sdk.add_user(user)

    event = one_event(server, action="add-user", subject=f"{tenant.organization}/{user.name}")
    assert event["actor"] == f"app/{tenant.application}"
    assert (event["outcome"], event["status_code"]) == ("ok", 200)
    assert event["organization"] == tenant.organization
    assert event["object"]["name"] == user.name
    assert event["user"]["name"] == user.name
    assert PASSWORD not in json.dumps(event, default=str), "the password is never recorded"


def test_failed_add_changes_nothing_and_records_an_error_event(
    server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant
) -> None:
    user = new_user(tenant.organization)
    sdk.add_user(user)

    duplicate = User.new(owner=tenant.organization, name=user.name, created_time="", display_name="Second")
    with pytest.raises(Exception, match="already exists"):
        sdk.add_user(duplicate)

    assert sdk.get_user(user.name).displayName == "First", "the failed call changed nothing"
    recorded = events(server, action="add-user", organization=tenant.organization)
    assert [(e["outcome"], e["status_code"]) for e in recorded] == [("ok", 200), ("error", 409)]
    failed = recorded[1]
    assert failed["actor"] == f"app/{tenant.application}"
    assert "already exists" in failed["message"]
    assert failed["object"] is None, "an error event does not claim a change"


def test_client_secret_in_the_query_is_not_recorded(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant) -> None:
    user = new_user(tenant.organization)
    sdk.add_user(user)

    event = one_event(server, action="add-user", subject=f"{tenant.organization}/{user.name}")
    query = parse_qs(urlsplit(event["request"]["uri"]).query)
    assert "clientSecret" not in query  # left out, as Casdoor's FilterQuery leaves out accessToken
    assert query["clientId"] == [tenant.client_id]
    assert query["id"] == [f"{tenant.organization}/{user.name}"]
    assert tenant.client_secret not in json.dumps(event, default=str)


def test_access_token_in_the_query_is_not_recorded(server: ServerProcess, admin: Api) -> None:
    name = unique("user")
    admin.post("add-user", {"owner": "built-in", "name": name, "password": PASSWORD})
    token = Api(server.url).post("login", {"type": "token", "username": name, "password": PASSWORD})["data"]

    Api(server.url).get("get-account", accessToken=token)

    event = one_event(server, action="get-account", subject=f"built-in/{name}")
    assert event["request"]["uri"] == "/api/get-account"  # the token left out, as Casdoor's FilterQuery does
    assert token not in json.dumps(event, default=str)


def test_add_application_records_its_secret_masked(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    root = built_in_sdk(server.url, admin)
    application = Application.new(
        owner="admin", name=unique("app"), created_time="", display_name="", logo="", homepage_url="",
        description="", organization=tenant.organization,
    )
    application.clientSecret = "a-secret-the-caller-chose-1234"
    root.add_application(application)

    event = one_event(server, action="add-application", actor="app/app-built-in", organization=tenant.organization)
    assert event["object"]["name"] == application.name
    assert event["object"]["clientSecret"] == "***"
    assert "a-secret-the-caller-chose-1234" not in json.dumps(event, default=str)
    assert "clientSecret" not in parse_qs(urlsplit(event["request"]["uri"]).query)


def test_logout_event_names_the_user(server: ServerProcess, admin: Api) -> None:
    name = unique("user")
    admin.post("add-user", {"owner": "built-in", "name": name, "password": PASSWORD})
    user = Api(server.url)
    assert user.login(name, PASSWORD)["status"] == "ok"

    assert user.post("logout")["status"] == "ok"

    event = one_event(server, action="logout", subject=f"built-in/{name}")
    assert event["organization"] == "built-in"
    assert event["actor"] == f"built-in/{name}"
    assert (event["user"]["owner"], event["user"]["name"]) == ("built-in", name)


def test_set_password_event_names_the_user_not_the_caller(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    name = unique("user")
    admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD})

    form = {"userOwner": tenant.organization, "userName": name, "oldPassword": "", "newPassword": PASSWORD + "-new"}
    answer = admin.http.post(
        f"{server.url}/api/set-password", files={k: (None, v) for k, v in form.items()}, timeout=30
    ).json()
    assert answer["status"] == "ok", answer

    event = one_event(server, action="set-password", subject=f"{tenant.organization}/{name}")
    assert event["actor"] == "built-in/admin"
    assert event["organization"] == tenant.organization
    assert (event["user"]["owner"], event["user"]["name"]) == (tenant.organization, name)
    assert PASSWORD not in json.dumps(event, default=str)


def test_signup_records_signup_and_new_user(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin, enable_sign_up=True)
    name = unique("signup")
    answer = Api(server.url).post("signup", {
        "application": tenant.application, "organization": tenant.organization,
        "username": name, "password": PASSWORD, "email": f"{name}@example.com",
    })
    assert answer["status"] == "ok", answer

    subject = f"{tenant.organization}/{name}"
    assert sorted(e["action"] for e in events(server, subject=subject)) == ["new-user", "signup"]
    for event in events(server, subject=subject):
        assert event["outcome"] == "ok"
        assert event["user"]["email"] == f"{name}@example.com"
        assert PASSWORD not in json.dumps(event, default=str)
