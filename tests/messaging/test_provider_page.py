"""The console's provider page: a sending provider is created from the form, and "Send a test"
sends through it (a real SMTP server and HTTP receiver), with the provider's error shown when it fails."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.console.browser import ConsoleClient
from tests.identity.test_events_recorded import events
from tests.messaging.peers import SMTP_PASSWORD, SMTP_USER, SmtpSink
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


def _console(server: ServerProcess) -> ConsoleClient:
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    return console


def test_an_email_provider_made_in_the_console_sends_a_test(server: ServerProcess, admin: Api,
                                                             smtp: SmtpSink) -> None:
    console, name = _console(server), unique("mail")
    created = console.submit("/console/providers/new", {
        "owner": "built-in", "name": name, "category": "Email", "type": "Default", "host": "127.0.0.1",
        "port": str(smtp.port), "sslMode": "Disable", "clientId": SMTP_USER, "clientSecret": SMTP_PASSWORD,
        "clientId2": "console@example.com", "method": "POST"})
    assert created.status_code == 303, created.text[:800]
    page = console.get(f"/console/providers/built-in/{name}")
    assert "Send a test" in page.text and SMTP_PASSWORD not in page.text
    receiver = f"{unique('test')}@example.com"
    sent = console.submit(f"/console/providers/built-in/{name}/test", {"receiver": receiver})
    assert sent.status_code == 303 and "notice=test-sent" in sent.headers["location"], sent.headers
    [mail] = smtp.wait_for(receiver)
    assert mail.message["Subject"] == "Hookdoor test" and mail.sender == "console@example.com"
    assert admin.get("get-provider", id=f"built-in/{name}")["data"]["clientSecret"] == SMTP_PASSWORD
    tested = [e for e in events(server, action="send-email")
              if (e["object"] or {}).get("provider") == f"built-in/{name}"]
    assert [e["outcome"] for e in tested] == ["ok"]


def test_a_failing_test_shows_the_providers_error(server: ServerProcess, admin: Api, receiver: Receiver) -> None:
    console, name = _console(server), unique("sms")
    created = console.submit("/console/providers/new", {
        "owner": "built-in", "name": name, "category": "SMS", "type": "Custom HTTP SMS", "method": "POST",
        "endpoint": receiver.url("/status/503"), "port": ""})
    assert created.status_code == 303, created.text[:800]
    sent = console.submit(f"/console/providers/built-in/{name}/test", {"receiver": "+15550001212"})
    assert sent.status_code == 303
    error = parse_qs(urlsplit(sent.headers["location"]).query)["testError"][0]
    assert error == f"SMS provider built-in/{name} refused the message: HTTP 503"
    shown = console.get(sent.headers["location"])
    assert "refused the message: HTTP 503" in shown.text
