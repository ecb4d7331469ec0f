"""Who may call each route of invitations/ and tickets/: a matrix of callers × routes on organization
A's objects, every refusal with its status and recorded as an error event of the route's name, every
allowed call answered."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from tests.compat.sdk import Tenant
from tests.identity.test_events_recorded import events
from tests.invitations.peers import add_invitation, signup_tenant
from tests.support import Api, ServerProcess, unique

PASSWORD = "authz-password-123"
CALLERS = ("anonymous", "member", "reporter", "org-admin", "application", "other-admin", "global-admin")


@dataclass(frozen=True)
class Cell:
    route: str
    method: str
    allowed: tuple[str, ...]
    refused: dict[str, int]


CELLS = (
    Cell("get-invitation-info", "GET", CALLERS, {}),
    Cell("verify-invitation", "GET", ("org-admin", "application", "global-admin"),
         {"anonymous": 401, "member": 403, "reporter": 403, "other-admin": 403}),
    # An application manages its organization but sends nothing without an Email provider: 400 then.
    Cell("send-invitation", "POST", (), {"anonymous": 401, "member": 403, "reporter": 403, "other-admin": 403}),
    Cell("add-ticket-message", "POST", ("reporter", "org-admin", "global-admin"),
         {"anonymous": 401, "member": 403, "application": 403, "other-admin": 403}),
)


@dataclass
class World:
    tenant: Tenant
    invitation: str
    code: str
    ticket: str
    callers: dict[str, tuple[requests.Session, dict[str, str]]]


def _user(server: ServerProcess, admin: Api, tenant: Tenant, *, is_admin: bool = False) -> Api:
    name = unique("caller")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD,
                                   "isAdmin": is_admin})["status"] == "ok"
    api = Api(server.url)
    assert api.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    return api


@pytest.fixture
def world(server: ServerProcess, admin: Api) -> World:
    tenant, other = signup_tenant(admin), signup_tenant(admin)
    invitation = add_invitation(admin, tenant, quota=100)
    reporter = _user(server, admin, tenant)
    ticket = unique("ticket")
    assert reporter.post("add-ticket", {"owner": tenant.organization, "name": ticket})["status"] == "ok"
    return World(tenant, f"{tenant.organization}/{invitation['name']}", invitation["code"],
                 f"{tenant.organization}/{ticket}", {
                     "anonymous": (requests.Session(), {}),
                     "member": (_user(server, admin, tenant).http, {}),
                     "reporter": (reporter.http, {}),
                     "org-admin": (_user(server, admin, tenant, is_admin=True).http, {}),
                     "application": (requests.Session(), {"clientId": tenant.client_id,
                                                          "clientSecret": tenant.client_secret}),
                     "other-admin": (_user(server, admin, other, is_admin=True).http, {}),
                     "global-admin": (admin.http, {}),
                 })


def _call(server: ServerProcess, world: World, cell: Cell, caller: str, marker: str) -> requests.Response:
    http, credentials = world.callers[caller]
    params = {**credentials, "matrixCell": marker}
    url = f"{server.url}/api/{cell.route}"
    if cell.route == "get-invitation-info":
        return http.get(url, params={**params, "code": world.code,
                                     "applicationId": f"admin/{world.tenant.application}"}, timeout=30)
    if cell.route == "verify-invitation":
        return http.get(url, params={**params, "id": world.invitation}, timeout=30)
    if cell.route == "send-invitation":
        return http.post(url, params={**params, "id": world.invitation}, json=["someone@example.com"], timeout=30)
    return http.post(url, params={**params, "id": world.ticket}, json={"text": f"from {caller}"}, timeout=30)


@pytest.mark.parametrize("cell", CELLS, ids=[c.route for c in CELLS])
def test_each_route_answers_exactly_who_may_call_it(server: ServerProcess, world: World, cell: Cell) -> None:
    problems = []
    for caller in CALLERS:
        marker = f"{cell.route}.{caller}.{unique('m')}"
        response = _call(server, world, cell, caller, marker)
        if caller in cell.refused:
            if response.status_code != cell.refused[caller] or response.json()["status"] != "error":
                problems.append(f"{caller}: expected {cell.refused[caller]}, got {response.status_code} "
                                f"{response.text[:200]}")
            recorded = [e for e in events(server, action=cell.route, outcome="error")
                        if f"matrixCell={marker}" in e["request"]["uri"]]
            if len(recorded) != 1:
                problems.append(f"{caller}: refusal recorded {len(recorded)} times")
        elif caller in cell.allowed and (response.status_code != 200 or response.json()["status"] != "ok"):
            problems.append(f"{caller}: refused {response.status_code} {response.text[:200]}")
        elif caller not in cell.allowed and caller not in cell.refused and response.status_code in (401, 403):
            problems.append(f"{caller}: refused {response.status_code}, yet manages the organization")
    assert not problems, "\n".join(problems)


def test_an_invitation_is_no_business_of_members(server: ServerProcess, world: World) -> None:
    """The generic routes too: members neither read an invitation (its code) nor list them."""
    http, _ = world.callers["member"]
    got = http.get(f"{server.url}/api/get-invitation", params={"id": world.invitation}, timeout=30)
    assert got.status_code == 403 and world.code not in got.text
    listed = http.get(f"{server.url}/api/get-invitations", params={"owner": world.tenant.organization}, timeout=30)
    assert listed.status_code == 403 and world.code not in listed.text
