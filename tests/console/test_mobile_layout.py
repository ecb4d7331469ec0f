"""At 390 px every navigation item is on screen and the deliveries table fits (nothing clipped)."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.console.browser import ARTIFACTS
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique

PHONE = {"width": 390, "height": 800}


def test_navigation_and_deliveries_fit_a_phone(page: Page, server: ServerProcess, receiver: Receiver) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    name = unique("phone")
    url = receiver.url(f"/status/500/{name}")
    body = {"owner": "built-in", "name": name, "url": url, "events": ["delete-ticket"]}  # no other test causes it
    assert api.post("add-webhook", body)["status"] == "ok"
    assert api.post("test-webhook", params={"id": f"built-in/{name}"})["status"] == "ok"
    eventually(lambda: api.get("get-webhook-events", webhook=f"built-in/{name}")["data"][0]["attemptCount"],
               "an attempt")

    page.set_viewport_size(PHONE)
    page.goto(f"/console/webhooks/built-in/{name}")
    links = page.locator("nav.sidenav a")
    assert links.count() >= 8
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], links.nth(index).inner_text()
    wrap = page.locator("#deliveries-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the deliveries table is wider than the screen"
    badge = page.locator("#deliveries tbody .badge").first.bounding_box()
    assert badge and badge["x"] + badge["width"] <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "console" / "webhook-phone-390.png"), full_page=True)
