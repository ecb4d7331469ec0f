"""A Bearer token acts for the user and application it was issued to, and for no one else."""

from __future__ import annotations

from typing import Any

from tests.compat.sdk import new_tenant
from tests.support import Api, ServerProcess, unique

PASSWORD = "token-password-1234"


def _org_admin(admin: Api) -> tuple[Any, str]:
    tenant = new_tenant(admin)
    name = unique("admina")
    added = admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD, "isAdmin": True})
    assert added["status"] == "ok", added
    return tenant, name


def _bearer(server: ServerProcess, tenant: Any, name: str) -> tuple[Api, str]:
    answer = Api(server.url).post("login", {"type": "token", "organization": tenant.organization,
                                            "application": tenant.application, "username": name,
                                            "password": PASSWORD})
    assert answer["status"] == "ok", answer
    api = Api(server.url)
    api.http.headers["Authorization"] = f"Bearer {answer['data']}"
    return api, answer["data"]


def _token_object(admin: Api, user: str) -> dict[str, Any]:
    (token,) = admin.get("get-tokens", owner="admin", field="user", value=user)["data"]
    return token


def test_an_org_admin_cannot_turn_its_token_into_the_built_in_application(server: ServerProcess, admin: Api) -> None:
    """The escalation found in issue 10, step by step: it is refused and the token stays what it was."""
    tenant, name = _org_admin(admin)
    bearer, _ = _bearer(server, tenant, name)
    token = _token_object(bearer, name)
    assert (token["organization"], token["application"], token["user"]) == (tenant.organization,
                                                                            tenant.application, name)

    widened = {**token, "user": "", "application": "app-built-in"}
    answer = bearer.post("update-token", widened, params={"id": f"admin/{token['name']}"})
    assert answer["status"] == "error" and "set by the server" in answer["msg"], answer

    assert bearer.get("get-users", owner="built-in")["status"] == "error"
    assert bearer.get("get-account")["data"]["name"] == name
    assert _token_object(admin, name)["application"] == tenant.application


def test_a_token_whose_application_left_its_organization_no_longer_authenticates(
    server: ServerProcess, admin: Api
) -> None:
    tenant, name = _org_admin(admin)
    bearer, _ = _bearer(server, tenant, name)
    assert bearer.get("get-account")["status"] == "ok"
    other = new_tenant(admin)
    application = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    moved = admin.post("update-application", {**application, "organization": other.organization},
                       params={"id": f"admin/{tenant.application}"})
    assert moved["status"] == "ok", moved

    refused = bearer.http.get(f"{server.url}/api/get-account", timeout=30)
    assert refused.status_code == 401
    assert "application" in refused.json()["msg"]


def test_logout_with_a_bearer_token_revokes_it(server: ServerProcess, admin: Api) -> None:
    tenant, name = _org_admin(admin)
    bearer, _ = _bearer(server, tenant, name)
    assert bearer.post("logout")["status"] == "ok"
    assert bearer.http.get(f"{server.url}/api/get-account", timeout=30).status_code == 401
    assert admin.get("get-tokens", owner="admin", field="user", value=name)["data"] == []


def test_set_password_does_not_tell_a_stranger_who_exists(server: ServerProcess, admin: Api) -> None:
    """Without the right to change the password, an existing and a missing user look the same."""
    tenant, name = _org_admin(admin)
    stranger, other_admin = _org_admin(admin)
    caller, _ = _bearer(server, stranger, other_admin)
    answers = []
    for target in (name, unique("nobody")):
        response = caller.http.post(f"{server.url}/api/set-password", timeout=30, data={
            "userOwner": tenant.organization, "userName": target, "newPassword": "another-password-1",
        })
        answers.append((response.status_code, response.json()["msg"].replace(target, "<name>")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 403
