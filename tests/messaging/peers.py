"""Real peers of the providers that send: an SMTP server (aiosmtpd) on 127.0.0.1 that asks for a
sign-in and keeps what it receives, and the providers and applications that point at them."""

from __future__ import annotations

import email
import email.policy
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import PATIENCE, Api, free_port, unique

SMTP_USER, SMTP_PASSWORD = "mailer@example.com", "smtp-password-never-logged"


@dataclass
class Received:
    sender: str
    receivers: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain", "html"))
        return body.get_content() if body is not None else ""


@dataclass
class SmtpSink:
    """An SMTP server that requires ``SMTP_USER``/``SMTP_PASSWORD`` and records each message."""

    port: int = field(default_factory=free_port)
    # TLS: with ``implicit`` the whole session is TLS (port 465 style), else STARTTLS is required.
    tls: ssl.SSLContext | None = None
    implicit: bool = False
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> SmtpSink:
        tls: dict[str, Any] = {}
        if self.tls is not None:
            tls = {"ssl_context": self.tls} if self.implicit else {"tls_context": self.tls, "require_starttls": True}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=self._authenticate,
                                      auth_required=True,
                                      # aiosmtpd counts only STARTTLS as TLS; an implicit-TLS session is all TLS.
                                      auth_require_tls=self.tls is not None and not self.implicit, **tls)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == SMTP_USER and \
            data.password.decode() == SMTP_PASSWORD
        if ok:
            with self._lock:
                self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address in r.receivers]

    def wait_for(self, address: str, count: int = 1) -> list[Received]:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            if len(found := self.to(address)) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no {count} message(s) to {address}: got {len(self.to(address))}")

    def code_to(self, address: str) -> str:
        """The verification code in the newest message to ``address``."""
        found = re.search(r"\b(\d{6})\b", self.wait_for(address, len(self.to(address)) or 1)[-1].text)
        assert found, self.to(address)[-1].text
        return found.group(1)


def email_provider(admin: Api, organization: str, smtp: SmtpSink, **overrides: Any) -> str:
    name = unique("mail")
    body = {"owner": organization, "name": name, "category": "Email", "type": "Default", "host": "127.0.0.1",
            "port": smtp.port, "sslMode": "Disable", "clientId": SMTP_USER, "clientSecret": SMTP_PASSWORD,
            "clientId2": "noreply@example.com", "clientSecret2": "Hookdoor Tests", "title": "Your code",
            "content": "Hello %{user.friendlyName}, your code is %s.<reset-link> Reset: %link</reset-link>",
            **overrides}
    added = admin.post("add-provider", body)
    assert added["status"] == "ok", added
    return name


def sms_provider(admin: Api, organization: str, endpoint: str, **overrides: Any) -> str:
    name = unique("sms")
    body = {"owner": organization, "name": name, "category": "SMS", "type": "Custom HTTP SMS", "endpoint": endpoint,
            "method": "POST", "title": "text", "templateCode": "Your code is %s", "issuerUrl": "application/json",
            "userMapping": {"phoneNumber": "to"}, "httpHeaders": {"X-Api-Key": "sms-key-never-logged"}, **overrides}
    added = admin.post("add-provider", body)
    assert added["status"] == "ok", added
    return name


def notification_provider(admin: Api, organization: str, receiver: str, **overrides: Any) -> str:
    name = unique("notify")
    body = {"owner": organization, "name": name, "category": "Notification", "type": "Custom HTTP",
            "receiver": receiver, "method": "POST", "title": "message", **overrides}
    added = admin.post("add-provider", body)
    assert added["status"] == "ok", added
    return name


def use_providers(admin: Api, application: str, *items: dict[str, Any], **fields: Any) -> None:
    """Set the application's providers list (Casdoor's ProviderItems: name and rule) and other fields."""
    current = admin.get("get-application", id=f"admin/{application}")["data"]
    updated = admin.post("update-application", {**current, "providers": list(items), **fields},
                         params={"id": f"admin/{application}"})
    assert updated["status"] == "ok", updated


def self_signed_localhost(directory: Any) -> tuple[str, ssl.SSLContext]:
    """A certificate for "localhost" (its PEM file, for SSL_CERT_FILE) and a server context with it."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "localhost.pem", directory / "localhost.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return str(cert_path), context
