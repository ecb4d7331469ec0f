"""update-cert-domain-expire asks a real WHOIS server (RFC 3912, a TCP peer on 127.0.0.1) for the
cert's domain, through the SSRF guard, and stores the expiry it gives."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookdoor.directory.whois import WhoisFailed, domain_expiry
from hookdoor.webhooks.target_guard import TargetPolicy
from tests.conftest import SERVER_ENV
from tests.identity.test_events_recorded import events
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, free_port, running_server, unique

ANSWERS = {
    "example.com": "   Domain Name: EXAMPLE.COM\r\n   Registry Expiry Date: 2031-08-13T04:00:00Z\r\n",
    "nodate.org": "Domain Name: NODATE.ORG\r\nStatus: ok\r\n",
}


class Whois(socketserver.StreamRequestHandler):
    asked: list[str] = []

    def handle(self) -> None:
        domain = self.rfile.readline().decode().strip()
        Whois.asked.append(domain)
        self.wfile.write(ANSWERS.get(domain, "No match\r\n").encode())


@pytest.fixture(scope="module")
def whois_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), Whois)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def whois_server(tmp_path_factory: pytest.TempPathFactory, whois_port: int) -> Iterator[ServerProcess]:
    env = {**SERVER_ENV, "HOOKDOOR_WHOIS_SERVER": f"127.0.0.1:{whois_port}"}
    with running_server("sqlite", Path(tmp_path_factory.mktemp("whois")), env) as process:
        yield process


def _admin(server: ServerProcess) -> Api:
    api = Api(server.url)
    assert api.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    return api


def test_the_expiry_whois_gives_is_stored(whois_server: ServerProcess) -> None:
    admin = _admin(whois_server)
    assert admin.post("add-cert", {"owner": "built-in", "name": "www.example.com", "type": "SSL"})["status"] == "ok"
    answer = admin.post("update-cert-domain-expire", params={"id": "built-in/www.example.com"})
    assert answer["status"] == "ok" and answer["data"] == "Affected", answer
    assert Whois.asked[-1] == "example.com"
    cert = admin.get("get-cert", id="built-in/www.example.com")["data"]
    assert cert["domainExpireTime"] == "2031-08-13T04:00:00.000Z"
    assert eventually(lambda: events(whois_server, action="update-cert-domain-expire", outcome="ok"), "the event")


def test_failures_name_the_problem_and_strangers_cause_no_query(whois_server: ServerProcess) -> None:
    admin = _admin(whois_server)
    assert admin.post("add-cert", {"owner": "built-in", "name": "nodate.org"})["status"] == "ok"
    answer = admin.post("update-cert-domain-expire", params={"id": "built-in/nodate.org"})
    assert answer["status"] == "error" and "gives no expiration date" in answer["msg"]
    name = unique("not a domain").replace(" ", "-")
    assert admin.post("add-cert", {"owner": "built-in", "name": name})["status"] == "ok"
    answer = admin.post("update-cert-domain-expire", params={"id": f"built-in/{name}"})
    assert answer["status"] == "error" and "is not a domain name" in answer["msg"]
    asked = len(Whois.asked)
    stranger = Api(whois_server.url).post("update-cert-domain-expire", params={"id": "built-in/www.example.com"})
    assert stranger["status"] == "error" and len(Whois.asked) == asked
    failed = eventually(lambda: events(whois_server, action="update-cert-domain-expire", outcome="error"),
                        "the failed calls' events")
    assert len(failed) == 3


async def test_the_ssrf_guard_refuses_an_internal_whois_server() -> None:
    with pytest.raises(WhoisFailed, match="is refused"):
        await domain_expiry("example.com", "127.0.0.1:43", TargetPolicy.from_strings([]))
