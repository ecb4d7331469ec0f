"""Tickets: filed by members (the server names the reporter), read and closed by them, moved on by
their administrators; the thread written by add-ticket-message alone, by the reporter and the
organization's administrators, each message arriving at a webhook receiver; the console's thread."""

from __future__ import annotations

import requests

from tests.compat.sdk import Tenant, new_tenant
from tests.console.browser import ConsoleClient
from tests.invitations.peers import arrived, hook_events
from tests.receiver import Receiver
from tests.support import Api, ServerProcess, unique

PASSWORD = "ticket-password-123"


def member(server: ServerProcess, admin: Api, tenant: Tenant, *, is_admin: bool = False) -> tuple[Api, str]:
    name = unique("admin" if is_admin else "member")
    added = admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD,
                                    "isAdmin": is_admin})
    assert added["status"] == "ok", added
    api = Api(server.url)
    assert api.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    return api, f"{tenant.organization}/{name}"


def file_ticket(api: Api, tenant: Tenant, **fields: object) -> str:
    name = unique("ticket")
    body = {"owner": tenant.organization, "name": name, "title": "Cannot sign in", "content": "Help",
            "state": "Open", "messages": [], **fields}
    added = api.post("add-ticket", body)
    assert added["status"] == "ok", added
    return f"{tenant.organization}/{name}"


def test_the_reporter_and_administrators_write_the_thread(server: ServerProcess, admin: Api,
                                                          receiver: Receiver) -> None:
    tenant = new_tenant(admin)
    path = hook_events(admin, receiver, "add-ticket-message")
    reporter, reporter_id = member(server, admin, tenant)
    other, _ = member(server, admin, tenant)
    org_admin, org_admin_id = member(server, admin, tenant, is_admin=True)
    ticket = file_ticket(reporter, tenant, user="somebody-else")
    stored = reporter.get("get-ticket", id=ticket)["data"]
    assert stored["user"] == reporter_id and stored["state"] == "Open"

    said = reporter.post("add-ticket-message", {"text": "Still broken"}, params={"id": ticket})
    assert said["status"] == "ok" and said["data"]["author"] == reporter_id and said["data"]["isAdmin"] is False
    answered = org_admin.post("add-ticket-message", {"text": "Looking into it"}, params={"id": ticket})
    assert answered["status"] == "ok" and answered["data"]["isAdmin"] is True
    thread = reporter.get("get-ticket", id=ticket)["data"]["messages"]
    assert [(m["author"], m["text"]) for m in thread] == [(reporter_id, "Still broken"),
                                                          (org_admin_id, "Looking into it")]
    refused = other.http.post(f"{server.url}/api/add-ticket-message", params={"id": ticket}, json={"text": "me too"},
                              timeout=30)
    assert refused.status_code == 403
    empty = reporter.http.post(f"{server.url}/api/add-ticket-message", params={"id": ticket}, json={"text": " "},
                               timeout=30)
    assert empty.status_code == 400 and "text" in empty.json()["msg"]

    payloads = [p for p in arrived(receiver, path, "add-ticket-message", 4) if p["organization"] == tenant.organization]
    assert [p["outcome"] for p in payloads] == ["ok", "ok", "error", "error"]
    assert [p["object"]["message"]["text"] for p in payloads[:2]] == ["Still broken", "Looking into it"]
    assert payloads[0]["object"]["ticket"] == ticket and payloads[0]["user"]["username"] == reporter_id.split("/")[1]


def test_members_see_and_close_only_their_own(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    reporter, reporter_id = member(server, admin, tenant)
    other, _ = member(server, admin, tenant)
    org_admin, _ = member(server, admin, tenant, is_admin=True)
    ticket = file_ticket(reporter, tenant)
    file_ticket(other, tenant)
    mine = reporter.get("get-tickets", owner=tenant.organization)["data"]
    assert [t["user"] for t in mine] == [reporter_id]
    assert other.http.get(f"{server.url}/api/get-ticket", params={"id": ticket}, timeout=30).status_code == 403
    assert len(org_admin.get("get-tickets", owner=tenant.organization)["data"]) == 2

    current = reporter.get("get-ticket", id=ticket)["data"]
    for change, field in (({"state": "Resolved"}, "state"), ({"user": f"{tenant.organization}/x"}, "user"),
                          ({"messages": [{"author": "x", "text": "forged"}]}, "messages")):
        answer = reporter.post("update-ticket", {**current, **change}, params={"id": ticket})
        assert answer["status"] == "error" and field in answer["msg"], (change, answer)
    assert other.post("update-ticket", {**current, "state": "Closed"}, params={"id": ticket})["status"] == "error"
    closed = reporter.post("update-ticket", {**current, "state": "Closed", "title": "Solved myself"},
                           params={"id": ticket})
    assert closed["status"] == "ok", closed
    current = reporter.get("get-ticket", id=ticket)["data"]
    assert reporter.post("update-ticket", {**current, "state": "Open"}, params={"id": ticket})["status"] == "error"
    reopened = org_admin.post("update-ticket", {**current, "state": "Open"}, params={"id": ticket})
    assert reopened["status"] == "ok", reopened
    assert reporter.post("delete-ticket", current)["status"] == "error"
    assert org_admin.post("delete-ticket", current)["status"] == "ok"


def test_applications_and_strangers_file_nothing(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    reporter, _ = member(server, admin, tenant)
    ticket = file_ticket(reporter, tenant)
    as_app = requests.post(f"{server.url}/api/add-ticket", timeout=30,
                           params={"clientId": tenant.client_id, "clientSecret": tenant.client_secret},
                           json={"owner": tenant.organization, "name": unique("t")})
    assert as_app.status_code == 403
    stranger_tenant = new_tenant(admin)
    stranger, _ = member(server, admin, stranger_tenant)
    elsewhere = stranger.http.post(f"{server.url}/api/add-ticket", timeout=30,
                                   json={"owner": tenant.organization, "name": unique("t")})
    assert elsewhere.status_code == 403
    assert stranger.http.post(f"{server.url}/api/add-ticket-message", params={"id": ticket}, json={"text": "hi"},
                              timeout=30).status_code == 403


def test_the_console_shows_the_thread_and_adds_to_it(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    reporter, reporter_id = member(server, admin, tenant)
    ticket = file_ticket(reporter, tenant)
    console = ConsoleClient(server.url)
    console.login(reporter_id.split("/")[1], PASSWORD, tenant.organization, tenant.application)
    page = f"/console/tickets/{ticket}"
    answer = console.submit(f"{page}/messages", {"text": "Sent from the console"})
    assert answer.status_code == 303 and "message-added" in answer.headers["location"], answer.text[:300]
    shown = console.get(page)
    assert shown.status_code == 200 and "Sent from the console" in shown.text and 'id="ticket-thread"' in shown.text
    assert "but not change it" not in shown.text  # the reporter edits (and closes) their ticket here
    forged = console.post(f"{page}/messages", {"text": "no token"})
    assert forged.status_code in (303, 403) and "no token" not in console.get(page).text


def test_concurrent_messages_are_all_kept(server: ServerProcess, admin: Api) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    tenant = new_tenant(admin)
    reporter, _ = member(server, admin, tenant)
    org_admin, _ = member(server, admin, tenant, is_admin=True)
    ticket = file_ticket(reporter, tenant)
    start = threading.Barrier(6)

    def say(n: int) -> str:
        api = Api(server.url)  # a session of its own per thread, signed in as the reporter or the admin
        api.http.cookies.update((reporter if n % 2 else org_admin).http.cookies)
        start.wait()
        return api.post("add-ticket-message", {"text": f"message {n}"}, params={"id": ticket})["status"]

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(say, range(6))) == ["ok"] * 6
    thread = admin.get("get-ticket", id=ticket)["data"]["messages"]
    assert sorted(m["text"] for m in thread) == [f"message {n}" for n in range(6)]
