"""Casdoor's .xlsx imports and resource files on a real server: per-row reports, all or nothing,
the events, the limits, and the file served back and removed."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from openpyxl import Workbook

from tests.compat.sdk import Tenant
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, eventually, unique

PASSWORD = "upload-password-1234"


def workbook(*rows: list[Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(api: Api, route: str, content: bytes, filename: str = "import.xlsx", **params: str) -> dict[str, Any]:
    files = {"file": (filename, content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    return api.http.post(f"{api.base_url}/api/{route}", params=params, files=files, timeout=60).json()


def _names(admin: Api, plural: str, organization: str) -> set[str]:
    answer = admin.get(f"get-{plural}", owner=organization)
    assert answer["status"] == "ok", answer
    return {item["name"] for item in answer["data"]}


def test_users_import_reports_each_row_and_records_an_add_event_each(server: ServerProcess, admin: Api,
                                                                     tenant: Tenant) -> None:
    existing = unique("up-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": existing})["status"] == "ok"
    new = [unique("up-user") for _ in range(2)]
    content = workbook(
        ["Name#name", "Display name#displayName", "email", "isAdmin", "groups", "password"],
        [new[0], "First", f"{new[0]}@example.com", 0, "", PASSWORD],
        [new[1], "Second", f"{new[1]}@example.com", "1", "", PASSWORD],
        [existing, "Kept", "", "", "", ""],
    )
    answer = upload(admin, "upload-users", content, owner=tenant.organization)
    assert answer["status"] == "ok", answer
    report = answer["data"]
    assert (report["created"], report["skipped"], report["refused"]) == (2, 1, 0)
    assert [row["outcome"] for row in report["rows"]] == ["created", "created", "skipped"]
    assert {existing, *new} <= _names(admin, "users", tenant.organization)
    second = admin.get("get-user", id=f"{tenant.organization}/{new[1]}")["data"]
    assert second["isAdmin"] is True and second["displayName"] == "Second"
    first = admin.get("get-user", id=f"{tenant.organization}/{new[0]}")["data"]
    assert (first["type"], first["registerType"], first["registerSource"]) == ("normal-user", "Upload Users",
                                                                             "built-in/admin")
    signed_in = Api(server.url).login(new[0], PASSWORD, tenant.organization, tenant.application)
    assert signed_in["status"] == "ok", signed_in
    [uploaded] = eventually(lambda: events(server, action="upload-users", organization=tenant.organization),
                            "the upload-users event")
    assert uploaded["outcome"] == "ok" and uploaded["object"]["created"] == 2
    added = eventually(lambda: [e for e in events(server, action="add-user", organization=tenant.organization,
                                                  outcome="ok") if e["object"]["name"] in new], "add-user events")
    assert sorted(e["object"]["name"] for e in added) == sorted(new)
    assert all(e["object"].get("password") in (None, "", "***") for e in added)


@pytest.mark.parametrize("plural", ["groups", "roles", "permissions"])
def test_groups_roles_and_permissions_import(admin: Api, tenant: Tenant, plural: str) -> None:
    names = [unique(f"up-{plural[:4]}") for _ in range(2)]
    content = workbook(["owner", "name", "displayName"], *[[tenant.organization, n, n.upper()] for n in names])
    answer = upload(admin, f"upload-{plural}", content)
    assert answer["status"] == "ok", answer
    assert set(names) <= _names(admin, plural, tenant.organization)


def test_one_refused_row_imports_nothing(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    good, bad = unique("up-role"), unique("up-role")
    content = workbook(["name", "isEnabled", "users"], [good, 1, ""], [bad, "maybe", ""])
    answer = upload(admin, "upload-roles", content, owner=tenant.organization)
    assert answer["status"] == "error"
    assert "row 3" in answer["msg"] and "isEnabled" in answer["msg"] and "yes/no" in answer["msg"]
    assert [row["outcome"] for row in answer["data"]["rows"]] == ["accepted", "refused"]
    assert not {good, bad} & _names(admin, "roles", tenant.organization)

    elsewhere = workbook(["owner", "name"], [tenant.organization, good], ["built-in", bad])
    org_admin = unique("up-admin")
    assert admin.post("add-user", {"owner": tenant.organization, "name": org_admin, "password": PASSWORD,
                                   "isAdmin": True})["status"] == "ok"
    caller = Api(server.url)
    assert caller.login(org_admin, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    answer = caller.http.post(f"{server.url}/api/upload-roles", files={"file": ("r.xlsx", elsewhere)}).json()
    assert answer["status"] == "error" and "1 of 2 rows" in answer["msg"] and "built-in" in answer["msg"]
    rows = {row["row"]: row for row in answer["data"]["rows"]}
    assert rows[2]["outcome"] == "accepted" and rows[3]["outcome"] == "refused"
    assert good not in _names(admin, "roles", tenant.organization)
    failed = eventually(lambda: events(server, action="upload-roles", outcome="error"), "failed upload events")
    assert failed and not [e for e in events(server, action="add-role") if (e["object"] or {}).get("name") == good]


def test_bad_files_are_refused_naming_the_problem(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    not_xlsx = upload(admin, "upload-groups", b"name,displayName\nx,y\n", filename="groups.csv")
    assert not_xlsx["status"] == "error" and "'groups.csv' is not an .xlsx workbook" in not_xlsx["msg"]
    unknown = upload(admin, "upload-groups", workbook(["name", "favouriteColour"], ["g", "blue"]))
    assert unknown["status"] == "error" and "column B ('favouriteColour') is not a field of a group" in unknown["msg"]
    stray = upload(admin, "upload-groups", workbook(["name"], ["g1", "stray"]))
    assert stray["status"] == "error" and "row 2 (" in stray["msg"] and "column B holds 'stray'" in stray["msg"]
    empty = upload(admin, "upload-groups", workbook())
    assert empty["status"] == "error"
    no_file = admin.http.post(f"{server.url}/api/upload-groups", data={"x": "1"}).json()
    assert no_file["status"] == "error" and "'file'" in no_file["msg"]
    member = unique("up-member")
    assert admin.post("add-user", {"owner": tenant.organization, "name": member, "password": PASSWORD})["status"] \
        == "ok"
    caller = Api(server.url)
    assert caller.login(member, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    refused = upload(caller, "upload-users", workbook(["name"], [unique("u")]))
    assert refused["status"] == "error" and "only administrators" in refused["msg"]


def _resource_params(tenant: Tenant, user: str, path: str, **extra: str) -> dict[str, str]:
    return {"owner": tenant.organization, "user": user, "application": tenant.application, "tag": "custom",
            "parent": "", "fullFilePath": path, **extra}


def _store(server: ServerProcess, api: Api, params: dict[str, str], content: bytes) -> dict[str, Any]:
    return api.http.post(f"{server.url}/api/upload-resource", params=params, files={"file": ("f", content)}).json()


def test_resource_files_are_stored_served_and_removed(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    user = unique("up-owner")
    assert admin.post("add-user", {"owner": tenant.organization, "name": user})["status"] == "ok"
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    params = _resource_params(tenant, user, "pictures/logo.png")
    answer = _store(server, admin, params, png)
    assert answer["status"] == "ok", answer
    url, name = answer["data"], answer["data2"]
    served = requests.get(url, timeout=10)
    assert served.content == png and served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    resource = admin.get("get-resource", id=f"{tenant.organization}/{name}")["data"]
    assert (resource["fileSize"], resource["fileType"], resource["fileFormat"]) == (len(png), "image", ".png")
    again = _store(server, admin, params, png)
    assert again["data2"] != name and again["data"].endswith("logo-1.png")

    deleted = admin.post("delete-resource", {"owner": tenant.organization, "name": name})
    assert deleted["status"] == "ok" and deleted["data"] == "Affected"
    assert requests.get(url, timeout=10).status_code == 404
    assert eventually(lambda: events(server, action="upload-resource", organization=tenant.organization),
                      "upload-resource events")


def test_resource_limits_and_paths(server: ServerProcess, admin: Api, tenant: Tenant) -> None:
    user = unique("up-owner")
    assert admin.post("add-user", {"owner": tenant.organization, "name": user})["status"] == "ok"

    def send(path: str, content: bytes = b"hello") -> requests.Response:
        return admin.http.post(f"{server.url}/api/upload-resource", params=_resource_params(tenant, user, path),
                               files={"file": ("f", content)}, timeout=60)

    for path in ("../../etc/passwd.txt", "a/../../b.txt", "/etc/../../x.txt", "a\\..\\..\\b.txt"):
        answer = send(path)
        assert answer.status_code == 400 and "invalid path" in answer.json()["msg"], (path, answer.text)
    html = send("page.html", b"<script>alert(1)</script>")
    assert html.status_code == 415 and "text/html" in html.json()["msg"]
    big = send("big.txt", b"x" * 10_000_001)  # HOOKDOOR_UPLOAD_MAX_BYTES: 10,000,000 by default
    assert big.status_code == 413 and "10000000" in big.json()["msg"]
    assert admin.get("get-resources", owner=tenant.organization)["data"] == []
    files = requests.get(f"{server.url}/files/..%2F..%2Fhookdoor.db", timeout=10)
    assert files.status_code in (400, 404)
