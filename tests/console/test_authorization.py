"""The console's rules are the API's: an administrator of organization A cannot see or change
organization B's webhooks, deliveries or bins through any page or form."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.console.browser import ConsoleClient, table_rows
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

PASSWORD = "org-admin-password-1"


@dataclass
class TwoOrganizations:
    a: str
    b: str
    app_a: str
    alice: str
    hook_a: str
    hook_b: str
    marker: str
    delivery_b: str
    bin_b: str
    bin_b_url: str


@pytest.fixture
def orgs(server: ServerProcess, receiver: Receiver) -> TwoOrganizations:
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    a, b, app_a, alice = unique("org-a"), unique("org-b"), unique("app-a"), unique("alice")
    marker = unique("secret-marker")
    for name in (a, b):
        assert api.post("add-organization", {"owner": "admin", "name": name})["status"] == "ok"
    assert api.post("add-application", {"owner": "admin", "name": app_a, "organization": a})["status"] == "ok"
    user = {"owner": a, "name": alice, "password": PASSWORD, "isAdmin": True}
    assert api.post("add-user", user)["status"] == "ok"
    hooks = {}
    for org in (a, b):
        hooks[org] = unique("hook")
        body = {"owner": org, "name": hooks[org], "organization": org, "events": ["login"],
                "url": receiver.url(f"/ok/{marker}"), "headers": [{"name": "X-Secret", "value": marker}]}
        assert api.post("add-webhook", body)["status"] == "ok"
    delivery_b = api.post("test-webhook", params={"id": f"{b}/{hooks[b]}"})["data"]
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    created = console.submit("/console/inspector", {"organization": b, "label": f"bin of {b}"})
    assert created.status_code == 303, created.text[:300]
    bin_b = created.headers["location"].split("/")[3].split("?")[0]
    bin_page = console.get(f"/console/inspector/{bin_b}").text
    bin_url = bin_page.split('id="bin-url" value="')[1].split('"')[0]
    return TwoOrganizations(a, b, app_a, alice, hooks[a], hooks[b], marker, delivery_b, bin_b, bin_url)


def test_org_admin_cannot_reach_another_organizations_webhooks(server: ServerProcess,
                                                                orgs: TwoOrganizations) -> None:
    alice = ConsoleClient(server.url)
    alice.login(orgs.alice, PASSWORD, organization=orgs.a, application=orgs.app_a)
    b_hook = f"/console/webhooks/{orgs.b}/{orgs.hook_b}"
    secret_token = orgs.bin_b_url.rsplit("/", 1)[1]
    event_b = table_rows(server, "events", organization=orgs.b)[0]["id"]

    for path in (b_hook, f"{b_hook}/edit", f"{b_hook}/delete", f"{b_hook}/deliveries/{orgs.delivery_b}",
                 f"/console/webhooks?organization={orgs.b}", f"/console/users?organization={orgs.b}",
                 f"/console/inspector/{orgs.bin_b}", f"/console/inspector/{orgs.bin_b}/stream",
                 f"/console/inspector/{orgs.bin_b}/delete", f"/console/organizations/admin/{orgs.b}",
                 f"{b_hook}/live", f"{b_hook}/deliveries/{orgs.delivery_b}/live",
                 f"/console/events?organization={orgs.b}", f"/console/events/{event_b}",
                 f"/console/providers?organization={orgs.b}"):
        answer = alice.get(path)
        assert answer.status_code in (403, 404), (path, answer.status_code)
        assert orgs.marker not in answer.text and secret_token not in answer.text, path

    own = alice.get("/console/webhooks")
    assert own.status_code == 200 and orgs.hook_a in own.text and orgs.hook_b not in own.text
    dashboard = alice.get("/console")
    assert dashboard.status_code == 200 and orgs.hook_a in dashboard.text and orgs.hook_b not in dashboard.text
    log = alice.get("/console/events")
    assert log.status_code == 200 and orgs.a in log.text and orgs.b not in log.text
    bins = alice.get("/console/inspector")
    assert bins.status_code == 200 and secret_token not in bins.text and orgs.b not in bins.text
    assert alice.get(f"/console/webhooks/{orgs.a}/{orgs.hook_a}").status_code == 200


def _deliveries(admin: Api, orgs: TwoOrganizations) -> list[tuple[str, str]]:
    """Which deliveries org B's webhook has and what last queued each (a resend or recover says "manual");
    not their state, which the worker may still be moving along."""
    events = admin.get("get-webhook-events", webhook=f"{orgs.b}/{orgs.hook_b}")["data"]
    return [(event["name"], event["trigger"]) for event in events]


def test_org_admin_cannot_change_another_organizations_webhooks(server: ServerProcess,
                                                                 orgs: TwoOrganizations) -> None:
    alice = ConsoleClient(server.url)
    alice.login(orgs.alice, PASSWORD, organization=orgs.a, application=orgs.app_a)
    b_hook = f"/console/webhooks/{orgs.b}/{orgs.hook_b}"
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    before = _deliveries(admin, orgs)

    for path, form in ((f"{b_hook}/test", {}), (f"{b_hook}/rotate", {}), (f"{b_hook}/delete", {}),
                       (f"{b_hook}/recover", {"since": "2020-01-01T00:00"}),
                       (f"{b_hook}/deliveries/{orgs.delivery_b}/resend", {}),
                       (f"{b_hook}/edit", {"organization": orgs.b, "url": "https://evil.example/"}),
                       ("/console/webhooks/new", {"organization": orgs.b, "name": "sneaky", "url": "https://e.example/"}),
                       (f"/console/inspector/{orgs.bin_b}/delete", {}),
                       ("/console/inspector", {"organization": orgs.b, "label": "not mine"}),
                       ("/console/webhooks/new/bin", {"organization": orgs.b, "name": "sneaky"}),
                       ("/console/providers/new", {"owner": orgs.b, "name": "sneaky"})):
        answer = alice.submit(path, form)
        assert answer.status_code == 403, (path, answer.status_code, answer.text[:300])
        assert orgs.marker not in answer.text, path

    stored = admin.get("get-webhook", id=f"{orgs.b}/{orgs.hook_b}")["data"]
    assert stored["url"].endswith(orgs.marker) and stored["signingSecret"].startswith("whsec_")
    assert admin.get("get-webhook", id=f"{orgs.b}/sneaky")["data"] is None
    assert _deliveries(admin, orgs) == before  # no test event added, none resent or recovered
    refused = table_rows(server, "events", action="test-webhook", actor=f"{orgs.a}/{orgs.alice}")
    assert [(e["outcome"], e["status_code"]) for e in refused] == [("error", 403)]  # as the API records it
