"""What the invitation tests share: an organization that takes sign-ups, its invitations, a member."""

from __future__ import annotations

import json
from typing import Any

from tests.compat.sdk import Tenant, new_tenant
from tests.delivery.test_webhook_delivery import add_webhook
from tests.receiver import Arrival, Receiver
from tests.support import Api, unique

PASSWORD = "invited-password-123"


def signup_tenant(admin: Api) -> Tenant:
    return new_tenant(admin, enable_sign_up=True)


def add_invitation(admin: Api, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    name = unique("invitation")
    body = {"owner": tenant.organization, "name": name, "code": unique("CODE"), "quota": 1,
            "application": tenant.application, "state": "Active", **fields}
    added = admin.post("add-invitation", body)
    assert added["status"] == "ok", added
    return admin.get("get-invitation", id=f"{tenant.organization}/{name}")["data"]


def signup(api: Api, tenant: Tenant, code: str, username: str | None = None, **fields: Any) -> Any:
    body = {"application": tenant.application, "organization": tenant.organization,
            "username": username or unique("newcomer"), "password": PASSWORD, "invitationCode": code, **fields}
    return api.http.post(f"{api.base_url}/api/signup", json=body, timeout=30)


def hook_events(admin: Api, receiver: Receiver, *names: str) -> str:
    """A webhook of every organization's ``names`` events to a path of its own on the receiver."""
    path = f"/{unique('events')}"
    add_webhook(admin, receiver.url(path), list(names), includeFailures=True)
    return path


def arrived(receiver: Receiver, path: str, action: str, count: int = 1) -> list[dict[str, Any]]:
    def is_it(arrival: Arrival) -> bool:
        return arrival.path == path and json.loads(arrival.body).get("event") == action
    return [json.loads(a.body) for a in receiver.wait_for(is_it, count)]
