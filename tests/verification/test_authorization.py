"""Who may call each route of messaging/ and verification/: every cell refused with the right status
(before the body is looked at), and each refusal recorded as an error event of the route's name."""

from __future__ import annotations

import pytest
import requests

from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, unique

PASSWORD = "authz-password-123"
# route, method, body, callers refused: {caller: status}
ROUTES = (
    ("send-email", "POST", {"title": "t", "content": "c", "sender": "s", "receivers": ["a@example.com"]},
     {"anonymous": 401, "member": 403}),
    ("send-sms", "POST", {"content": "c", "receivers": ["+15550001234"]}, {"anonymous": 401, "member": 403}),
    ("send-notification", "POST", {"content": "c", "recipient": "r"}, {"anonymous": 401, "member": 403}),
    ("get-verifications", "GET", None, {"anonymous": 401, "member": 403}),
    ("reset-email-or-phone", "POST", {"type": "email", "dest": "n@example.com", "code": "123456"},
     {"anonymous": 401, "application": 403}),
)


@pytest.fixture
def callers(server: ServerProcess, admin: Api) -> dict[str, tuple[requests.Session, dict[str, str]]]:
    tenant: Tenant = new_tenant(admin)
    name = unique("member")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD})["status"] == "ok"
    member = Api(server.url)
    assert member.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    return {
        "anonymous": (requests.Session(), {}),
        "member": (member.http, {}),
        "application": (requests.Session(), {"clientId": tenant.client_id, "clientSecret": tenant.client_secret}),
    }


@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
def test_each_route_refuses_who_may_not_call_it(server: ServerProcess, callers: dict, route: tuple) -> None:
    action, method, body, refused = route
    before = len([e for e in events(server, action=action) if e["outcome"] == "error"])
    for caller, status in refused.items():
        http, params = callers[caller]
        if method == "GET":
            response = http.get(f"{server.url}/api/{action}", params=params, timeout=30)
        elif action == "reset-email-or-phone":
            response = http.post(f"{server.url}/api/{action}", params=params, data=body, timeout=30)
        else:
            response = http.post(f"{server.url}/api/{action}", params=params, json=body, timeout=30)
        assert response.status_code == status, (action, caller, response.text)
        assert response.json()["status"] == "error"
    after = [e for e in events(server, action=action) if e["outcome"] == "error"]
    assert len(after) == before + len(refused)


def test_an_org_admin_reads_only_their_organizations_verifications(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    name = unique("org-admin")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD,
                                   "isAdmin": True})["status"] == "ok"
    org_admin = Api(server.url)
    assert org_admin.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    assert org_admin.get("get-verifications")["status"] == "ok"
    other = org_admin.http.get(f"{server.url}/api/get-verifications", params={"owner": "built-in"}, timeout=30)
    assert other.status_code == 403
