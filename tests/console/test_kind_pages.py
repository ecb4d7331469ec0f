"""A page for every kind the registry declares: each one not given pages of its own is listed,
created, found, edited (its other fields as JSON too) and deleted from the console, recording the
API's events. Derived from the registry, so a new kind is tested here without a line added."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from hookdoor.console.forms import EXTRA, MORE_PAGES, PAGES
from tests.console.browser import ConsoleClient, posted_form, shoot, table_rows
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


@pytest.fixture(scope="module")
def console(server: ServerProcess) -> ConsoleClient:
    client = ConsoleClient(server.url)
    client.login("admin", ADMIN_PASSWORD)
    return client


def _textarea(html: str, name: str) -> str:
    return dict(posted_form(html)).get(name, "")


def test_every_declared_kind_has_pages() -> None:
    from hookdoor.identity.registry import KINDS

    assert {k.plural for k in KINDS} - set(PAGES) == {"webhooks"}  # Settings > Webhooks has its own
    assert len(MORE_PAGES) >= 15


@pytest.mark.parametrize("plural", MORE_PAGES)
def test_a_derived_kind_page_does_what_the_api_does(console: ConsoleClient, server: ServerProcess,
                                                     plural: str) -> None:
    page = PAGES[plural]
    singular, name = page.kind.singular, unique(page.kind.singular)
    listed = console.get(f"/console/{plural}")
    assert listed.status_code == 200 and f"<h1>{page.title}</h1>" in listed.text
    key = page.kind.key_field  # "name", or "id" for LDAP servers
    created = console.submit(f"/console/{plural}/new", {"owner": "built-in", key: name,
                                                        "displayName": "From the console"})
    assert created.status_code == 303, created.text[:600]
    path = f"/console/{plural}/built-in/{name}"
    assert created.headers["location"] == f"{path}?notice=created"
    form = console.get(path)
    assert form.status_code == 200 and f'value="{name}"' in form.text

    extra = json.loads(_textarea(form.text, EXTRA) or "{}")
    changes = {"displayName": "Renamed", EXTRA: json.dumps({**extra, "consoleNote": "kept"})}
    updated = console.post(path, [*posted_form(form.text, **changes), ("csrf_token", console.csrf())])
    assert updated.status_code == 303, updated.text[:600]
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    stored = api.get(f"get-{singular}", id=f"built-in/{name}")["data"]
    assert stored["displayName"] == "Renamed" and stored["consoleNote"] == "kept", stored
    found = console.get(f"/console/{plural}?q={name}")
    assert name in found.text

    refused = console.post(path, [*posted_form(form.text, **{EXTRA: "{not json"}), ("csrf_token", console.csrf())])
    assert refused.status_code == 400 and f"invalid field {EXTRA}: not JSON" in refused.text
    assert console.get(f"{path}/delete").status_code == 200
    assert console.submit(f"{path}/delete", {}).status_code == 303
    assert api.get(f"get-{singular}", id=f"built-in/{name}")["data"] is None
    actions = [e["action"] for e in table_rows(server, "events", organization="built-in")
               if name in (e["object"] or "") and e["outcome"] == "ok"]
    assert actions == [f"add-{singular}", f"update-{singular}", f"delete-{singular}"]


def test_a_derived_page_in_the_browser(page: Page, screenshots: bool) -> None:
    name = unique("provider")
    page.goto("/console/kinds")
    page.click("#kinds >> text=Providers")
    page.click("text=New provider")
    page.fill("#f-name", name)
    page.fill("#f-category", "Email")
    page.fill("#f-port", "587")
    page.fill("#f-clientSecret", "s3cret-value")
    page.click("button:has-text('Create provider')")
    expect(page.locator(".notice")).to_have_text("Created.")
    expect(page.locator("#f-port")).to_have_value("587")
    expect(page.locator("#f-clientSecret")).to_have_value("")  # a secret is never shown back
    page.fill("#f-displayName", "Mail")
    page.click("button:has-text('Save')")  # the empty secret input keeps the stored secret
    expect(page.locator(".notice")).to_have_text("Saved.")
    if screenshots:
        shoot(page, "provider")
        page.goto("/console/providers")
        shoot(page, "providers")
