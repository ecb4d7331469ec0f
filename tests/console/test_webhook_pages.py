"""Settings > Webhooks: add, edit, deliveries, attempt detail, resend, test event, recover, rotate,
delete; and the dashboard's failing-first list and charts."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.console.browser import shoot
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, PATIENCE, Api, ServerProcess, eventually, unique


def live_until(page: Page, selector: str, text: str, timeout: float = PATIENCE) -> None:
    """The page is live: the worker's outcome shows without a reload."""
    expect(page.locator(selector)).to_contain_text(text, timeout=timeout * 1000)


def pick_event(page: Page, name: str) -> None:
    page.fill("[data-event-search]", name)
    page.check(f"input[name=events][value='{name}']")


def test_add_webhook_then_follow_its_deliveries(page: Page, server: ServerProcess, receiver: Receiver,
                                                screenshots: bool) -> None:
    name, path = unique("hook"), f"/ok/{unique('console')}"
    page.goto("/console/webhooks")
    if screenshots:
        shoot(page, "webhooks")
    page.click("text=Add Webhook")
    page.fill("#f-name", name)
    page.fill("#f-url", "http://10.0.0.1/hooks")  # refused by the SSRF guard: named beside the field
    pick_event(page, "login")
    pick_event(page, "update-user")
    page.fill("[data-event-search]", "")
    invitations = page.locator("[data-category='Invitations']")
    invitations.locator("summary").click()
    invitations.locator("[data-select-all]").check()
    expect(invitations.locator("input[name=events]:checked")).to_have_count(2)
    invitations.locator("[data-select-all]").uncheck()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.locator("input[name=header_name]").first.fill("X-Api-Key")
    page.locator("input[name=header_value]").first.fill("k-console-123")
    page.click("text=Add header")
    expect(page.locator(".header-row")).to_have_count(2)
    if screenshots:
        shoot(page, "webhook-new")
    page.click("button:has-text('Save webhook')")

    error = page.locator(".field.has-error .error-text")
    expect(error).to_contain_text("invalid field url: 10.0.0.1 is a private address")
    expect(page.locator(".field.has-error #f-url")).to_have_value("http://10.0.0.1/hooks")
    expect(page.locator("input[name=events]:checked")).to_have_count(2)  # nothing picked is lost
    expect(page.locator("input[name=header_value]").first).to_have_value("k-console-123")
    if screenshots:
        shoot(page, "webhook-invalid")
    page.fill("#f-url", receiver.url(path))
    page.click("button:has-text('Save webhook')")
    expect(page.locator(".notice")).to_have_text("Created.")
    expect(page.locator("h1")).to_contain_text(name)

    page.click("#send-test")
    expect(page.locator(".notice")).to_contain_text("A test event was queued")
    [arrival] = receiver.wait_for(lambda a: a.path == path)
    assert arrival.header("X-Api-Key") == "k-console-123"
    live_until(page, "#deliveries", "succeeded")
    if screenshots:
        shoot(page, "webhook")

    page.click("#deliveries tbody a")
    expect(page.locator("h1")).to_contain_text("webhook-test")
    attempt = page.locator(".attempt").first
    expect(attempt.locator("tr", has_text="X-Api-Key")).to_contain_text("***")  # stored redacted
    expect(attempt).to_contain_text("HTTP 200")
    expect(attempt).to_contain_text("received")
    if screenshots:
        shoot(page, "delivery")
    page.click("#resend")
    expect(page.locator(".notice")).to_contain_text("queued again")
    live_until(page, ".page-head", "succeeded")
    live_until(page, "#attempts", "Attempt 2")
    receiver.wait_for(lambda a: a.path == path, count=2)

    page.click(f"a:has-text('{name}')")
    page.select_option("select[name=state]", "failed")
    page.click("button:has-text('Filter')")
    expect(page.locator("#deliveries")).to_contain_text("No deliveries match these filters")
    page.fill("#recover-since", "2020-01-01T00:00:00")
    page.click("text=Send them again")
    expect(page.locator(".notice")).to_contain_text("(0 queued)")

    page.click("a:has-text('Edit')")
    secret = page.locator("#signing-secret")
    expect(secret).to_have_attribute("type", "password")
    page.click("[data-reveal=signing-secret]")
    expect(secret).to_have_attribute("type", "text")
    before = secret.input_value()
    assert before.startswith("whsec_")
    if screenshots:
        shoot(page, "webhook-edit")
    page.click("button:has-text('Rotate')")
    expect(page.locator(".notice")).to_contain_text("new signing secret")
    assert page.locator("#signing-secret").input_value() not in ("", before)

    page.goto("/console/webhooks")
    page.click(f"a:has-text('{name}')")
    page.click("a:has-text('Delete')")
    page.click("button:has-text('Delete')")
    expect(page.locator(".notice")).to_have_text("Deleted.")
    expect(page.locator("#webhooks")).not_to_contain_text(name)


def test_edit_keeps_what_the_form_does_not_show(page: Page, server: ServerProcess, receiver: Receiver) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    name = unique("hook")
    body = {"owner": "built-in", "name": name, "url": receiver.url("/ok/keep"), "events": ["login", "add-*"],
            "filter": {"object.owner": "built-in"}, "headers": [{"name": "X-One", "value": "1"}]}
    assert api.post("add-webhook", body)["status"] == "ok"
    page.goto(f"/console/webhooks/built-in/{name}/edit")
    expect(page.locator("#f-eventPatterns")).to_have_value("add-*")
    page.fill("#f-timeoutSeconds", "5")
    page.click("button:has-text('Save changes')")
    expect(page.locator(".notice")).to_have_text("Saved.")
    stored = api.get("get-webhook", id=f"built-in/{name}")["data"]
    assert stored["timeoutSeconds"] == 5
    assert stored["filter"] == {"object.owner": "built-in"}
    assert stored["events"] == ["login", "add-*"]
    assert stored["headers"] == [{"name": "X-One", "value": "1"}]

    page.goto(f"/console/webhooks/built-in/{name}/edit")
    page.fill("#f-maxConcurrency", "lots")
    page.click("button:has-text('Save changes')")
    expect(page.locator(".field.has-error .error-text")).to_have_text(
        "invalid field maxConcurrency: must be a whole number")

    page.goto(f"/console/webhooks/built-in/{name}/edit")
    page.fill("#f-eventPatterns", "add-* no-such-event")
    page.click("button:has-text('Save changes')")
    marked = page.locator(".field.has-error")
    expect(marked).to_have_count(1)
    # The Patterns field is marked, not the event search box.
    expect(marked.locator("#f-eventPatterns")).to_have_value("add-* no-such-event")
    expect(marked.locator(".error-text")).to_contain_text("unknown event: no-such-event (see 'hookdoor events list'")

    page.goto(f"/console/webhooks/built-in/{name}/edit")
    each_checked = page.locator("input[name=events]:checked")
    for _ in range(each_checked.count()):
        each_checked.first.uncheck()
    page.fill("#f-eventPatterns", "")
    page.click("button:has-text('Save changes')")
    expect(page.locator(".events-picker.has-error .error-text")).to_contain_text("select at least one event or pattern")


def _webhook(api: Api, url: str, **fields: Any) -> str:
    name = unique("dash")
    body = {"owner": "built-in", "name": name, "url": url, "events": ["login"], **fields}
    assert api.post("add-webhook", body)["status"] == "ok"
    return name


def _attempted(api: Api, name: str) -> None:
    def attempted() -> bool:
        events = api.get("get-webhook-events", webhook=f"built-in/{name}")["data"]
        return bool(events and events[0]["attemptCount"] > 0)

    eventually(attempted, f"a delivery attempt to webhook {name}")


def test_dashboard_shows_failing_webhooks_first(page: Page, server: ServerProcess, receiver: Receiver,
                                               screenshots: bool) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    healthy = _webhook(api, receiver.url("/ok/dash"))
    failing = _webhook(api, receiver.url("/status/500"))
    gone = _webhook(api, receiver.url("/status/410"))
    Api(server.url).login("admin", ADMIN_PASSWORD)
    for name in (healthy, failing, gone):
        _attempted(api, name)

    page.goto("/console")
    names = [n.strip() for n in page.locator("#dashboard-webhooks tbody tr td:first-child a").all_text_contents()]
    states = page.locator("#dashboard-webhooks tbody tr td:nth-child(2)").all_text_contents()
    assert names.index(failing) < names.index(healthy) and names.index(gone) < names.index(healthy)
    first_healthy = next(i for i, s in enumerate(states) if "healthy" in s or "no deliveries" in s)
    assert all(re.search("failing|disabled", s) for s in states[:first_healthy])
    assert all(not re.search("failing|disabled", s) for s in states[first_healthy:])
    assert page.locator("svg rect.bar-events").count() > 0
    assert page.locator("svg rect.bar-succeeded").count() > 0
    assert page.locator("svg rect.bar-failed").count() > 0  # the 410 made its delivery final
    if screenshots:
        shoot(page, "dashboard")
