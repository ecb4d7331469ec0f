"""The small things a user reads: one "HTTP 500", a connection error in words, a timeout as "15",
and an unknown console page that keeps the navigation."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, free_port, unique


def _failing(api: Api, url: str) -> str:
    name = unique("detail")
    body = {"owner": "built-in", "name": name, "url": url, "events": ["delete-ticket"]}  # no other test causes it
    assert api.post("add-webhook", body)["status"] == "ok"
    assert api.post("test-webhook", params={"id": f"built-in/{name}"})["status"] == "ok"
    eventually(lambda: api.get("get-webhook-events", webhook=f"built-in/{name}")["data"][0]["attemptCount"],
               "an attempt")
    return name


def test_errors_read_as_words(page: Page, server: ServerProcess, receiver: Receiver) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    answered_500 = _failing(api, receiver.url(f"/status/500/{unique('d')}"))
    page.goto(f"/console/webhooks/built-in/{answered_500}")
    cell = page.locator("#deliveries tbody tr td").nth(4)
    expect(cell).to_have_text("HTTP 500")

    port = free_port()  # nothing listens there
    refused = _failing(api, f"http://127.0.0.1:{port}/hook")
    page.goto(f"/console/webhooks/built-in/{refused}")
    health = page.locator("#webhook-health")
    expect(health).to_contain_text(f"could not connect to 127.0.0.1:{port}: connection refused")
    expect(page.locator("body")).not_to_contain_text("ClientConnector")

    page.goto(f"/console/webhooks/built-in/{refused}/edit")
    expect(page.locator("#f-timeoutSeconds")).to_have_value("15")


def test_an_unknown_console_page_keeps_the_navigation(page: Page) -> None:
    answer = page.goto("/console/no-such-page")
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("nav.sidenav")).to_contain_text("Webhooks")
