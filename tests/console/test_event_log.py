"""The event log: the events of a deleted user are still found, filtered by user, event and outcome,
and each event links to its deliveries."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.browser import ConsoleClient, shoot
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique


def test_a_deleted_users_events_and_their_deliveries(page: Page, server: ServerProcess, receiver: Receiver,
                                                     screenshots: bool) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    organization, username, hook = unique("logorg"), unique("gone"), unique("loghook")
    assert api.post("add-organization", {"owner": "admin", "name": organization})["status"] == "ok"
    application = unique("logapp")
    assert api.post("add-application", {"owner": "admin", "name": application,
                                        "organization": organization})["status"] == "ok"
    body = {"owner": organization, "name": hook, "url": receiver.url(f"/ok/{hook}"), "events": ["login"]}
    assert api.post("add-webhook", body)["status"] == "ok"
    user = {"owner": organization, "name": username, "password": "a-long-password-1"}
    assert api.post("add-user", user)["status"] == "ok"
    assert Api(server.url).login(username, "wrong-password", organization, application)["status"] == "error"
    assert Api(server.url).login(username, "a-long-password-1", organization, application)["status"] == "ok"
    receiver.wait_for(lambda a: a.path == f"/ok/{hook}")
    assert api.post("delete-user", user)["status"] == "ok"

    page.goto(f"/console/events?user={username}")
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(4)  # add-user, the failed login, the login, delete-user
    expect(rows.nth(0)).to_contain_text("delete-user")
    if screenshots:
        shoot(page, "event-log")
    page.select_option("select[name=outcome]", "error")
    page.click("button:has-text('Filter')")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("login")

    page.goto(f"/console/events?user={organization}/{username}&event=login&outcome=ok")
    expect(rows).to_have_count(1)
    rows.first.locator("a").click()
    expect(page.locator("#event-facts")).to_contain_text(f"{organization}/{username}")
    # Other webhooks may get every organization's logins too: this one's row.
    delivery = page.locator("#event-deliveries tbody tr", has_text=f"{organization}/{hook}")
    expect(delivery).to_have_count(1)
    eventually(lambda: "succeeded" in (page.reload() and delivery.inner_text()), "the delivery's outcome")
    if screenshots:
        shoot(page, "event")
    delivery.locator("a").click()
    expect(page.locator("h1")).to_contain_text("login")
    page.click("#delivery-event")  # and back from the delivery to its event
    expect(page.locator("#event-facts")).to_contain_text(f"{organization}/{username}")


def test_the_event_log_is_for_administrators_of_the_organization(server: ServerProcess) -> None:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    organization, member = unique("logorg"), unique("member")
    assert api.post("add-organization", {"owner": "admin", "name": organization})["status"] == "ok"
    application = unique("logapp")
    assert api.post("add-application", {"owner": "admin", "name": application,
                                        "organization": organization})["status"] == "ok"
    assert api.post("add-user", {"owner": organization, "name": member, "password": "member-password-1"})[
        "status"] == "ok"
    console = ConsoleClient(server.url)
    console.login(member, "member-password-1", organization=organization, application=application)
    assert console.get("/console/events").status_code == 403
    admin = ConsoleClient(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    assert admin.get("/console/events?outcome=maybe").status_code == 400
    assert admin.get("/console/events/01NOSUCHEVENT").status_code == 404
