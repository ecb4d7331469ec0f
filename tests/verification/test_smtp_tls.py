"""SMTP over TLS: STARTTLS and implicit TLS to real aiosmtpd servers with a certificate for
"localhost", which the server under test trusts (SSL_CERT_FILE); a certificate for another name fails."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import requests

from tests.compat.sdk import new_tenant
from tests.messaging.peers import SmtpSink, email_provider, use_providers
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


@pytest.fixture(params=["StartTLS", "Enable"])
def tls_sink(request: pytest.FixtureRequest, localhost_tls: tuple[str, ssl.SSLContext]) -> Iterator[SmtpSink]:
    sink = SmtpSink(tls=localhost_tls[1], implicit=request.param == "Enable").start()
    sink.mode = request.param  # type: ignore[attr-defined]
    try:
        yield sink
    finally:
        sink.stop()


def test_mail_goes_over_tls(brief_codes_server: ServerProcess, tls_sink: SmtpSink) -> None:
    admin = Api(brief_codes_server.url)
    assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    tenant = new_tenant(admin)
    mode = tls_sink.mode  # type: ignore[attr-defined]
    provider = email_provider(admin, tenant.organization, tls_sink, host="localhost", sslMode=mode)
    use_providers(admin, tenant.application, {"name": provider})
    client = {"clientId": tenant.client_id, "clientSecret": tenant.client_secret}
    receiver = f"{unique('tls')}@example.com"
    sent = requests.post(f"{brief_codes_server.url}/api/send-email", params=client, timeout=30,
                         json={"title": "Over TLS", "content": "secret mail", "sender": "t", "receivers": [receiver]})
    assert sent.status_code == 200, sent.text
    assert tls_sink.wait_for(receiver)[0].message["Subject"] == "Over TLS"
    # Without TLS, the server refuses to sign in (STARTTLS required) or to speak (implicit TLS).
    plain = email_provider(admin, tenant.organization, tls_sink, host="localhost", sslMode="Disable")
    refused = requests.post(f"{brief_codes_server.url}/api/send-email", params={**client, "provider": plain},
                            timeout=30, json={"title": "t", "content": "c", "sender": "t", "receivers": [receiver]})
    assert refused.status_code == 502 and f"email provider {tenant.organization}/{plain}" in refused.json()["msg"]


def test_a_certificate_for_another_name_fails(brief_codes_server: ServerProcess,
                                              localhost_tls: tuple[str, ssl.SSLContext]) -> None:
    sink = SmtpSink(tls=localhost_tls[1]).start()
    try:
        admin = Api(brief_codes_server.url)
        assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
        tenant = new_tenant(admin)
        # 127.0.0.1 is not the name on the certificate.
        provider = email_provider(admin, tenant.organization, sink, host="127.0.0.1", sslMode="StartTLS")
        answer = requests.post(f"{brief_codes_server.url}/api/send-email", timeout=30,
                               params={"clientId": tenant.client_id, "clientSecret": tenant.client_secret,
                                       "provider": provider},
                               json={"title": "t", "content": "c", "sender": "t", "receivers": ["a@example.com"]})
        assert answer.status_code == 502, answer.text
        assert f"email provider {tenant.organization}/{provider} could not send" in answer.json()["msg"]
        assert not sink.received
    finally:
        sink.stop()
