"""Delivery health tells the truth on every surface: a failing endpoint's retrying deliveries are
counted on the webhook page, the dashboard and get-webhook-health; a failing webhook never reads 100 %.
And the pages are live: a test event and a resend show their outcome without a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.browser import shoot
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, PATIENCE, Api, ServerProcess, eventually, unique


def _webhook(api: Api, url: str) -> str:
    name = unique("health")
    body = {"owner": "built-in", "name": name, "url": url, "events": ["delete-ticket"]}  # no other test causes it
    assert api.post("add-webhook", body)["status"] == "ok"
    return name


def _health(api: Api, name: str) -> dict:
    return api.get("get-webhook-health", id=f"built-in/{name}")["data"]


def test_a_failing_endpoint_counts_as_failing_everywhere(page: Page, server: ServerProcess, receiver: Receiver,
                                                        screenshots: bool) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    name = _webhook(api, receiver.url(f"/status/500/{unique('health')}"))
    for _ in range(2):
        assert api.post("test-webhook", params={"id": f"built-in/{name}"})["status"] == "ok"
    counts = eventually(lambda: (c := _health(api, name)["deliveries"])["retrying"] == 2 and c,
                        "both deliveries to wait for a retry")
    assert counts["succeeded"] == 0 and counts["failed"] == 0 and counts["successRate"] == 0.0
    assert counts["nextRetryTime"]

    page.goto(f"/console/webhooks/built-in/{name}")
    expect(page.locator("#webhook-state")).to_contain_text("failing (2 in a row)")
    expect(page.locator("#webhook-counts")).to_contain_text("0 succeeded, 0 failed, 2 retrying (next try")
    expect(page.locator("#webhook-window .big")).to_have_text("0%")
    expect(page.locator("#deliveries tbody .badge.retrying")).to_have_count(2)
    if screenshots:
        shoot(page, "webhook-failing")

    page.goto("/console/webhooks")
    expect(page.locator("#webhooks tbody tr", has_text=name)).to_contain_text("0% 0/2, 2 retrying")

    page.goto("/console")
    failed_or_retrying = int(page.locator("#stat-failed").inner_text())
    assert failed_or_retrying >= 2
    expect(page.locator("#stat-rate")).not_to_have_text("100%")
    row = page.locator("#dashboard-webhooks tbody tr", has_text=name)
    expect(row).to_contain_text("failing")
    expect(row.locator("td").nth(2)).to_have_text("0%")
    if screenshots:
        shoot(page, "dashboard-failing")


def test_a_test_event_and_a_resend_show_their_outcome_without_reload(page: Page, server: ServerProcess,
                                                                    receiver: Receiver, screenshots: bool) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    path = f"/slow/1.5/{unique('live')}"  # slow enough that the page is shown before the outcome
    name = _webhook(api, receiver.url(path))
    page.goto(f"/console/webhooks/built-in/{name}")
    page.evaluate("window.notReloaded = true")
    page.click("#send-test")
    expect(page.locator(".notice")).to_contain_text("its outcome shows below")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#deliveries tbody .badge")).to_have_text("succeeded", timeout=PATIENCE * 1000)
    expect(page.locator("#webhook-counts")).to_contain_text("1 succeeded")
    assert page.evaluate("window.notReloaded === true")

    page.click("#deliveries tbody a")
    expect(page.locator("#attempts .attempt")).to_have_count(1)
    page.click("#resend")
    expect(page.locator(".notice")).to_contain_text("queued again")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#attempts .attempt")).to_have_count(2, timeout=PATIENCE * 1000)
    expect(page.locator("#attempts")).to_contain_text("Attempt 2")
    expect(page.locator("#delivery-state")).to_have_text("succeeded")
    assert page.evaluate("window.notReloaded === true")
    receiver.wait_for(lambda a: a.path == path, count=2)
    if screenshots:
        shoot(page, "delivery-live")


def test_the_dashboard_follows_a_new_failure_live(page: Page, server: ServerProcess, receiver: Receiver) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    page.goto("/console")
    page.evaluate("window.notReloaded = true")
    before = int(page.locator("#stat-failed").inner_text())
    name = _webhook(api, receiver.url(f"/status/500/{unique('live')}"))
    assert api.post("test-webhook", params={"id": f"built-in/{name}"})["status"] == "ok"
    expect(page.locator("#dashboard-webhooks")).to_contain_text(name, timeout=PATIENCE * 1000)
    eventually(lambda: int(page.locator("#stat-failed").inner_text()) > before, "the failure on the dashboard")
    assert page.evaluate("window.notReloaded === true")
