"""verify-identification against a real ID-verification peer on 127.0.0.1 (type "Custom HTTP")."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.compat.sdk import new_tenant
from tests.identity.test_events_recorded import events
from tests.messaging.peers import use_providers
from tests.support import Api, ServerProcess, free_port, unique

PASSWORD = "idv-password-123"


class IdvPeer(BaseHTTPRequestHandler):
    """Says yes to the real name "Ada Lovelace" with card "X123", for the client idv-client:idv-secret."""

    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        credentials = base64.b64decode(self.headers.get("Authorization", "Basic ").split()[-1] or b"").decode()
        IdvPeer.seen.append({**body, "auth": credentials})
        verified = credentials == "idv-client:idv-secret" and body == {"idCardType": "Passport", "idCard": "X123",
                                                                         "realName": "Ada Lovelace"}
        answer = json.dumps({"verified": verified}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def idv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), IdvPeer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/verify"
    finally:
        server.shutdown()


def test_a_user_verifies_their_identification(server: ServerProcess, admin: Api, idv_url: str) -> None:
    tenant = new_tenant(admin)
    user = Api(server.url)
    name = unique("idv")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD,
                                   "signupApplication": tenant.application})["status"] == "ok"
    assert user.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    missing = user.post("verify-identification")
    assert missing["status"] == "error" and "ID card information and real name are required" in missing["msg"]
    stored = admin.get("get-user", id=f"{tenant.organization}/{name}")["data"]
    assert admin.post("update-user", {**stored, "idCardType": "Passport", "idCard": "X123", "realName": "Ada Lovelace"},
                      params={"id": f"{tenant.organization}/{name}"})["status"] == "ok"
    none = user.post("verify-identification")
    assert none["status"] == "error" and "No ID Verification provider configured" in none["msg"]
    provider = unique("idv")
    assert admin.post("add-provider", {"owner": tenant.organization, "name": provider, "category": "ID Verification",
                                       "type": "Custom HTTP", "endpoint": idv_url, "clientId": "idv-client",
                                       "clientSecret": "idv-secret"})["status"] == "ok"
    use_providers(admin, tenant.application, {"name": provider})
    # A user cannot mark themselves verified by editing their account.
    own = user.get("get-account")["data"]
    assert user.post("update-user", {**own, "isVerified": True},
                     params={"id": f"{tenant.organization}/{name}"})["status"] == "error"
    verified = user.post("verify-identification")
    assert verified == {**verified, "status": "ok", "data": "Ada Lovelace"}, verified
    assert IdvPeer.seen[-1] == {"idCardType": "Passport", "idCard": "X123", "realName": "Ada Lovelace",
                                "auth": "idv-client:idv-secret"}
    assert admin.get("get-user", id=f"{tenant.organization}/{name}")["data"]["isVerified"] is True
    again = user.post("verify-identification")
    assert again["msg"] == "User is already verified"
    recorded = events(server, action="verify-identification", subject=f"{tenant.organization}/{name}")
    assert [e["outcome"] for e in recorded] == ["error", "error", "ok", "error"]
    assert "idv-secret" not in json.dumps(recorded, default=str)


def test_a_refusal_and_another_users_verification(server: ServerProcess, admin: Api, idv_url: str) -> None:
    tenant = new_tenant(admin)
    provider = unique("idv")
    assert admin.post("add-provider", {"owner": tenant.organization, "name": provider, "category": "ID Verification",
                                       "type": "Custom HTTP", "endpoint": idv_url, "clientId": "idv-client",
                                       "clientSecret": "idv-secret"})["status"] == "ok"
    name, other = unique("idv"), unique("idv")
    for who, real in ((name, "Someone Else"), (other, "Ada Lovelace")):
        assert admin.post("add-user", {"owner": tenant.organization, "name": who, "password": PASSWORD,
                                       "idCardType": "Passport", "idCard": "X123", "realName": real})["status"] == "ok"
    user = Api(server.url)
    assert user.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    refused = user.post("verify-identification", params={"provider": provider})
    assert refused["status"] == "error" and refused["msg"].startswith("Identity verification failed")
    foreign = user.http.post(f"{server.url}/api/verify-identification",
                             params={"owner": tenant.organization, "name": other, "provider": provider}, timeout=30)
    assert foreign.status_code == 403
    by_admin = admin.post("verify-identification", params={"owner": tenant.organization, "name": other,
                                                            "provider": provider})
    assert by_admin["status"] == "ok" and by_admin["data"] == "Ada Lovelace"
