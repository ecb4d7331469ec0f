"""No credential reaches the server's log: a real `hookdoor serve` (with its worker child), called
with every credential query parameter, real and made up, then its whole output searched."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import SERVER_ENV
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, running_server, unique


@pytest.fixture(params=["sqlite", "postgresql"])
def logged_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own, so that its log holds this test's requests only."""
    with running_server(request.param, tmp_path, SERVER_ENV) as process:
        yield process


def made_up(name: str) -> str:
    """A value no log line could contain by chance."""
    return unique(f"secret-{name.lower()}")


def raw_request(server: ServerProcess, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def call_with_query_credentials(server: ServerProcess, admin: Api) -> list[str]:
    """Calls that carry credentials in their query strings, succeeding and failing; the secrets sent."""
    url = server.url
    app = admin.get("get-application", id="admin/app-built-in")["data"]
    client = {"client_id": app["clientId"], "client_secret": app["clientSecret"]}
    password_grant = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
    tokens = requests.post(f"{url}/api/login/oauth/access_token", params={**password_grant, **client},
                           data={**password_grant, **client}, timeout=30).json()
    assert "access_token" in tokens, tokens
    keys = admin.post("add-user-keys", {"owner": "built-in", "name": "admin"})
    assert keys["status"] == "ok", keys
    user = admin.get("get-user", id="built-in/admin")["data"]
    access_secret = user["accessSecret"]
    fake = {name: made_up(name) for name in (
        "accessToken", "access_token", "clientSecret", "accessSecret", "password", "code", "refresh_token",
        "oldPassword", "newPassword", "metricsKey", "token", "id_token")}
    calls = [
        ("get", "get-account", {"accessToken": tokens["access_token"]}),  # a real token: succeeds
        ("get", "get-account", {"access_token": fake["access_token"]}),
        ("get", "get-account", {"accessToken": fake["accessToken"]}),
        ("get", "get-account", {"clientId": app["clientId"], "clientSecret": app["clientSecret"]}),
        ("get", "get-account", {"clientId": app["clientId"], "clientSecret": fake["clientSecret"]}),
        ("get", "get-account", {"accessKey": user["accessKey"], "accessSecret": access_secret}),
        ("get", "get-account", {"accessKey": "nobody", "accessSecret": fake["accessSecret"]}),
        ("post", "login", {"password": fake["password"]}),
        ("post", "login/oauth/access_token", {"grant_type": "authorization_code", "code": fake["code"], **client}),
        ("post", "login/oauth/access_token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                              **client}),
        ("post", "login/oauth/access_token", {"grant_type": "refresh_token", "refresh_token": fake["refresh_token"]}),
        ("post", "set-password", {"userOwner": "built-in", "userName": "admin", "oldPassword": fake["oldPassword"],
                                  "newPassword": fake["newPassword"]}),
        ("get", "metrics", {"metricsKey": fake["metricsKey"]}),
        ("get", "userinfo", {"id_token": fake["id_token"], "token": fake["token"]}),
    ]
    for method, action, params in calls:
        requests.request(method, f"{url}/api/{action}", params=params, timeout=30)
    # Requests the server cannot even parse are logged as errors by uvicorn: their secrets neither.
    broken = made_up("broken")
    raw_request(server, f"GET /api/get-account?accessToken={broken} HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: nonsense\r\n\r\n".encode())
    secrets = [tokens["access_token"], tokens["refresh_token"], app["clientSecret"], access_secret, ADMIN_PASSWORD,
               broken, *fake.values()]
    return secrets


def test_no_credential_from_a_query_string_reaches_the_log(logged_server: ServerProcess) -> None:
    admin = Api(logged_server.url)
    assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    secrets = call_with_query_credentials(logged_server, admin)
    logged_server.stop()  # everything written and flushed, the worker child's lines included
    log = logged_server.log_path.read_text()
    # The request lines are there (so the search below searched something), their credentials masked.
    assert '"GET /api/get-account?accessToken=*** HTTP/1.1" 200' in log
    assert '"GET /api/get-account?access_token=*** HTTP/1.1" 401' in log
    assert "/api/get-account?clientId=" in log and "&clientSecret=*** HTTP/1.1" in log
    assert "&accessSecret=*** HTTP/1.1" in log
    assert '"POST /api/login?password=*** HTTP/1.1" 400' in log
    assert "code=***&client_id=" in log and "refresh_token=***" in log
    assert "oldPassword=***&newPassword=***" in log and "metricsKey=***" in log
    assert "id_token=***&token=***" in log
    assert "Invalid HTTP request received" in log
    leaked = [secret for secret in secrets if secret in log]
    assert not leaked, f"credentials in the log: {leaked}"
