"""Identity pages: list (paged, searchable), create, edit and delete for six kinds, through the same
service and the same events as the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.console.browser import ConsoleClient, shoot, table_rows
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


@pytest.fixture(scope="module")
def organization(server: ServerProcess) -> str:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    name = unique("org")
    body = {"owner": "admin", "name": name, "displayName": "Console Org"}
    assert api.post("add-organization", body)["status"] == "ok"
    return name


def saved(page: Page, notice: str) -> None:
    expect(page.locator(".notice")).to_have_text(notice)


def test_organization_created_edited_and_deleted_from_the_console(page: Page, server: ServerProcess,
                                                                   screenshots: bool) -> None:
    name = unique("org")
    page.goto("/console/organizations/new")
    page.fill("#f-name", name)
    page.fill("#f-displayName", "Made in the console")
    page.click("button:has-text('Create organization')")
    saved(page, "Created.")
    expect(page).to_have_url(f"{server.url}/console/organizations/admin/{name}?notice=created")

    page.fill("#f-websiteUrl", "https://example.com")
    page.click("button:has-text('Save')")
    saved(page, "Saved.")
    expect(page.locator("#f-websiteUrl")).to_have_value("https://example.com")
    assert [e["action"] for e in table_rows(server, "events", organization=name)] == [
        "add-organization", "update-organization"]

    page.goto(f"/console/organizations?q={name}")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    if screenshots:
        shoot(page, "organizations")
    page.click(f"a:has-text('{name}')")
    page.click("text=Delete")
    if screenshots:
        shoot(page, "confirm-delete")
    page.click("button:has-text('Delete')")
    saved(page, "Deleted.")
    page.goto(f"/console/organizations?q={name}")
    expect(page.locator("table.list tbody")).to_contain_text("No organizations matching")


KIND_FIELDS: dict[str, dict[str, Any]] = {
    "users": {"email": "someone@example.com", "password": "a-long-password-1", "isAdmin": "on"},
    "applications": {"description": "console app", "enableSignUp": "on"},
    "groups": {"type": "Virtual"},
    "roles": {"users": ["{org}/someone", "{org}/another"]},  # a multiple select: one value per member
    "permissions": {"actions": "Read\nWrite", "resources": "*", "effect": "Deny"},
}


@pytest.mark.parametrize("plural", list(KIND_FIELDS))
def test_each_kind_is_created_found_edited_and_deleted(server: ServerProcess, organization: str, plural: str) -> None:
    """Over plain HTTP, for speed: the browser walks the same pages in the tests around this one."""
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    singular = plural.removesuffix("s")
    owner = "admin" if plural == "applications" else organization
    name = unique(singular)
    fields = {k: [x.format(org=organization) for x in v] if isinstance(v, list) else v.format(org=organization)
              for k, v in KIND_FIELDS[plural].items()}
    org_field = "organization" if plural == "applications" else "owner"
    created = console.submit(f"/console/{plural}/new", {org_field: organization, "name": name, **fields})
    assert created.status_code == 303, created.text[:300]
    path = f"/console/{plural}/{owner}/{name}"
    assert created.headers["location"] == f"{path}?notice=created"

    form = console.get(path)
    assert form.status_code == 200 and f'value="{name}"' in form.text
    updated = console.submit(path, {org_field: organization, "displayName": "Renamed",
                                    **{k: v for k, v in fields.items() if k != "password"}})
    assert updated.status_code == 303, updated.text[:300]
    listed = console.get(f"/console/{plural}?organization={organization}&field=displayName&q=Renamed")
    assert listed.status_code == 200 and name in listed.text

    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    stored = api.get(f"get-{singular}", id=f"{owner}/{name}")["data"]
    assert stored["displayName"] == "Renamed"
    for field, value in fields.items():
        if field == "password":
            continue
        expected: Any = value if isinstance(value, list) else True if value == "on" else value.split(
            "\n") if "\n" in value or field in ("users", "actions", "resources") else value
        assert stored[field] == expected, field

    assert console.get(f"{path}/delete").status_code == 200
    assert console.submit(f"{path}/delete", {}).status_code == 303
    assert api.get(f"get-{singular}", id=f"{owner}/{name}")["data"] is None
    actions = [e["action"] for e in table_rows(server, "events", organization=organization)
               if name in (e["object"] or "") and e["outcome"] == "ok"]
    assert actions == [f"add-{singular}", f"update-{singular}", f"delete-{singular}"]


def test_user_page_shows_their_recent_events(page: Page, server: ServerProcess, organization: str,
                                             screenshots: bool) -> None:
    name = unique("user")
    page.goto(f"/console/users/new?organization={organization}")
    page.fill("#f-name", name)
    page.fill("#f-email", f"{name}@example.com")
    page.fill("#f-password", "a-long-password-1")
    page.click("button:has-text('Create user')")
    saved(page, "Created.")
    page.fill("#f-displayName", "Renamed")
    page.click("button:has-text('Save')")
    saved(page, "Saved.")
    expect(page.locator("h1")).to_contain_text("Renamed")
    events = page.locator("#user-events tbody tr")
    expect(events.nth(0)).to_contain_text("update-user")
    expect(events.nth(1)).to_contain_text("add-user")
    if screenshots:
        shoot(page, "user")
        page.goto(f"/console/users?organization={organization}")
        shoot(page, "users")
        for plural in ("applications", "groups", "roles", "permissions"):
            page.goto(f"/console/{plural}/new?organization={organization}")
            shoot(page, f"{plural}-new")


def test_list_pages_and_searches(server: ServerProcess, organization: str) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    prefix = unique("paged")
    for index in range(23):
        body = {"owner": organization, "name": f"{prefix}-{index:02d}", "displayName": f"Group {index}"}
        assert api.post("add-group", body)["status"] == "ok"
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)

    def rows(query: str) -> int:
        answer = console.get(f"/console/groups?organization={organization}&{query}")
        assert answer.status_code == 200
        return answer.text.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")

    assert rows(f"q={prefix}") == 20
    assert "23 in all · page 1 of 2" in console.get(f"/console/groups?organization={organization}&q={prefix}").text
    assert rows(f"q={prefix}&p=2") == 3
    assert rows("field=displayName&q=Group 17") == 1
    assert rows(f"field=nosuchfield&q={prefix}") == 20  # an unknown field falls back to the name


def test_invalid_input_is_named_beside_its_field(page: Page, organization: str, screenshots: bool) -> None:
    page.goto(f"/console/users/new?organization={organization}")
    page.fill("#f-name", unique("user"))
    page.fill("#f-email", "not-an-email")
    page.click("button:has-text('Create user')")
    expect(page.locator("#form-error")).to_contain_text("invalid field email")
    field = page.locator(".field.has-error")
    expect(field.locator("#f-email")).to_have_value("not-an-email")
    expect(field.locator(".error-text")).to_contain_text("is not an email address")
    if screenshots:
        shoot(page, "user-invalid")


def test_duplicate_name_is_refused_inline(server: ServerProcess, organization: str) -> None:
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    assert console.submit("/console/roles/new", {"owner": organization, "name": "twice"}).status_code == 303
    again = console.submit("/console/roles/new", {"owner": organization, "name": "twice"})
    assert again.status_code == 409
    assert f"role {organization}/twice already exists" in again.text
    assert 'id="form-error"' in again.text


def test_member_sees_only_their_own_account(server: ServerProcess, organization: str) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    app = unique("app")
    assert api.post("add-application", {"owner": "admin", "name": app, "organization": organization})["status"] == "ok"
    member = unique("member")
    body = {"owner": organization, "name": member, "password": "member-password-1"}
    assert api.post("add-user", body)["status"] == "ok"
    console = ConsoleClient(server.url)
    console.login(member, "member-password-1", organization=organization, application=app)

    landing = console.get("/console")
    assert landing.status_code == 303 and landing.headers["location"] == f"/console/users/{organization}/{member}"
    own = console.get(f"/console/users/{organization}/{member}")
    assert own.status_code == 200 and re.search(r'id="f-isAdmin" *disabled', own.text)
    assert console.get("/console/users/built-in/admin").status_code == 403
    assert console.get("/console/webhooks").status_code == 403
    listed = console.get("/console/users")
    assert listed.status_code == 200 and member in listed.text and "admin" not in listed.text.split("<tbody>")[1]

    answer = console.submit(f"/console/users/{organization}/{member}", {"displayName": "Self-named"})
    assert answer.status_code == 303
    [user] = [u for u in api.get("get-users", owner=organization)["data"] if u["name"] == member]
    assert user["displayName"] == "Self-named" and user["isAdmin"] is False
