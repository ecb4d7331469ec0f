"""The access-control pages in a browser: a model refused beside its text, then an enforcer's rules
added and tried in the enforce tester."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.authz.support import RBAC_MODEL, new_enforcer
from tests.console.browser import shoot
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


def test_model_editor_and_enforce_tester_in_a_browser(page: Page, server: ServerProcess, screenshots: bool) -> None:
    page.goto("/console/models/new?organization=built-in")
    page.fill("#f-name", unique("model"))
    page.fill("#f-modelText", RBAC_MODEL.replace("[matchers]", "[matcher]"))
    page.click("button:has-text('Create model')")
    expect(page.locator(".field.has-error .error-text")).to_contain_text("[matcher]")

    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    enforcer = new_enforcer(api, "built-in", RBAC_MODEL)
    page.goto(f"/console/enforcers/{enforcer.owner}/{enforcer.name}")
    page.click("text=Policies and enforce tester")
    add = page.locator("#add-policy")
    for name, value in (("v0", "alice"), ("v1", "data1"), ("v2", "read")):
        add.locator(f"input[name={name}]").fill(value)
    add.locator("button:has-text('Add')").click()
    expect(page.locator(".notice")).to_have_text("Saved.")
    expect(page.locator("#policies tbody tr")).to_have_count(1)

    page.fill("#f-request", "alice\ndata1\nread")
    page.click("button:has-text('Enforce')")
    expect(page.locator("#verdict")).to_have_text("Allowed")
    expect(page.locator("#matched")).to_contain_text("alice, data1, read")
    if screenshots:
        shoot(page, "enforce-tester")
    page.fill("#f-request", "alice\ndata1\nwrite")
    page.click("button:has-text('Enforce')")
    expect(page.locator("#verdict")).to_have_text("Denied")
