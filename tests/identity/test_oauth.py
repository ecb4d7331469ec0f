"""The OAuth 2 token endpoint: every grant, and RFC 6749 errors."""

from __future__ import annotations

from typing import Any

import requests

from tests.identity.test_accounts import PASSWORD, add_user
from tests.support import Api, ServerProcess


def _client(admin: Api) -> dict[str, str]:
    app = admin.get("get-application", id="admin/app-built-in")["data"]
    return {"client_id": app["clientId"], "client_secret": app["clientSecret"]}


def _token(server: ServerProcess, form: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/api/login/oauth/access_token", data=form, timeout=30)


def _code(server: ServerProcess, name: str) -> str:
    body = {"type": "code", "organization": "built-in", "application": "app-built-in", "username": name,
            "password": PASSWORD}
    return requests.post(f"{server.url}/api/login", json=body, timeout=30).json()["data"]


def _account(server: ServerProcess, access_token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(f"{server.url}/api/get-account", headers=headers, timeout=30).json()


def test_code_is_exchanged_once_for_tokens_of_its_user(server: ServerProcess, admin: Api) -> None:
    name, client = add_user(admin), _client(admin)
    code = _code(server, name)
    assert _account(server, code)["status"] == "error"  # a code is not an access token
    answer = _token(server, {"grant_type": "authorization_code", "code": code, **client})
    assert answer.status_code == 200
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    assert _account(server, tokens["access_token"])["name"] == name
    again = _token(server, {"grant_type": "authorization_code", "code": code, **client})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_password_refresh_and_client_credentials(server: ServerProcess, admin: Api) -> None:
    name, client = add_user(admin), _client(admin)
    tokens = _token(server, {"grant_type": "password", "username": name, "password": PASSWORD, **client}).json()
    assert _account(server, tokens["access_token"])["name"] == name
    refreshed = _token(server, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **client})
    assert refreshed.status_code == 200 and _account(server, refreshed.json()["access_token"])["name"] == name
    reused = _token(server, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **client})
    assert reused.json()["error"] == "invalid_grant"
    app_token = _token(server, {"grant_type": "client_credentials", **client}).json()["access_token"]
    users = requests.get(f"{server.url}/api/get-users", params={"owner": "built-in"},
                         headers={"Authorization": f"Bearer {app_token}"}, timeout=30).json()
    assert users["status"] == "ok" and any(u["name"] == name for u in users["data"])


def test_errors_keep_the_rfc_6749_shape(server: ServerProcess, admin: Api) -> None:
    client = _client(admin)
    wrong = _token(server, {"grant_type": "client_credentials", "client_id": client["client_id"],
                            "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Basic"
    assert wrong.json()["error"] == "invalid_client"
    unsupported = _token(server, {"grant_type": "implicit", **client})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    name = add_user(admin)  # not admin: failed sign-ins count towards the account's lock-out
    bad_password = _token(server, {"grant_type": "password", "username": name, "password": "nope", **client})
    assert bad_password.json() == {"error": "invalid_grant", "error_description": "password or username is incorrect"}
