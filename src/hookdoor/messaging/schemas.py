"""What a provider that sends is, read from Casdoor's provider object, and what a send asks for.

Casdoor keeps every provider in one kind, its fields reused per category; the names below are the
fields Casdoor's own senders read (object/email.go, object/sms_custom_http.go,
notification/custom_http.go), so a provider saved for Casdoor sends the same here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hookdoor.errors import BadRequest

EMAIL, SMS, NOTIFICATION = "Email", "SMS", "Notification"
SENDING_CATEGORIES = (EMAIL, SMS, NOTIFICATION)
SMTP_TYPES = ("Default", "SMTP")  # Casdoor's SMTP email provider is type "Default"
CUSTOM_HTTP_SMS = "Custom HTTP SMS"
CUSTOM_HTTP, SLACK = "Custom HTTP", "Slack"
NOTIFICATION_TYPES = (CUSTOM_HTTP, SLACK)
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE")
# Casdoor's sslMode: "Auto" is implicit TLS on 465 and STARTTLS elsewhere when the server offers it.
SSL_MODES = ("Auto", "Enable", "Disable", "StartTLS")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_EMAIL_CONTENT = "You have requested a verification code. Here is your code: %s, please enter it in 10 minutes."
DEFAULT_EMAIL_TITLE = "Verification code"


class SendFailed(BadRequest):
    """The provider refused or could not be reached; the message names the provider, never its secret."""

    status_code = 502


def provider_id(provider: Mapping[str, Any]) -> str:
    return f"{provider.get('owner', '')}/{provider.get('name', '')}"


def _text(provider: Mapping[str, Any], name: str) -> str:
    value = provider.get(name)
    return value if isinstance(value, str) else ""


def _headers(provider: Mapping[str, Any]) -> dict[str, str]:
    given = provider.get("httpHeaders")
    return {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}


@dataclass(frozen=True)
class SmtpProvider:
    """Category Email, type Default (SMTP): ``clientId`` is the account, ``clientSecret`` its password,
    ``clientId2`` the From address (the account when empty), ``clientSecret2`` the From name."""

    id: str
    host: str
    port: int
    ssl_mode: str
    user: str
    password: str = field(repr=False)
    from_address: str
    from_name: str
    title: str
    content: str

    @classmethod
    def of(cls, provider: Mapping[str, Any]) -> SmtpProvider:
        ssl_mode = _text(provider, "sslMode") or ("Disable" if provider.get("disableSsl") else "Auto")
        port = provider.get("port") or 0
        return cls(
            id=provider_id(provider), host=_text(provider, "host"), port=int(port) if isinstance(port, int) else 0,
            ssl_mode=ssl_mode, user=_text(provider, "clientId"), password=_text(provider, "clientSecret"),
            from_address=_text(provider, "clientId2") or _text(provider, "clientId"),
            from_name=_text(provider, "clientSecret2"), title=_text(provider, "title") or DEFAULT_EMAIL_TITLE,
            content=_text(provider, "content") or DEFAULT_EMAIL_CONTENT,
        )


@dataclass(frozen=True)
class HttpSmsProvider:
    """Casdoor's "Custom HTTP SMS": ``endpoint`` (``{mobile}`` and ``{code}`` filled in), ``method``,
    ``title`` the content field's name, ``templateCode`` the text (``%s`` is the content),
    ``userMapping`` renames ``phoneNumber``/``content``, ``issuerUrl`` the body's content type,
    ``httpHeaders`` sent as they are (API keys: they are a secret field)."""

    id: str
    endpoint: str
    method: str
    content_field: str
    phone_field: str
    template: str
    content_type: str
    headers: dict[str, str] = field(repr=False)

    @classmethod
    def of(cls, provider: Mapping[str, Any]) -> HttpSmsProvider:
        mapping = provider.get("userMapping") if isinstance(provider.get("userMapping"), dict) else {}
        return cls(
            id=provider_id(provider), endpoint=_text(provider, "endpoint"),
            method=(_text(provider, "method") or "POST").upper(),
            content_field=_text(provider, "title") or str(mapping.get("content") or "content"),
            phone_field=str(mapping.get("phoneNumber") or "phoneNumber"),
            template=_text(provider, "templateCode") or "%s",
            content_type=_text(provider, "issuerUrl") or "application/x-www-form-urlencoded",
            headers=_headers(provider),
        )


@dataclass(frozen=True)
class HttpNotificationProvider:
    """Category Notification. "Custom HTTP" (Casdoor's): ``receiver`` is the endpoint, ``method`` GET or
    POST, ``title`` the content field's name, the recipient sent as ``recipient``. "Slack": an incoming
    webhook, ``receiver`` its URL, sent ``{"text": ...}`` as JSON (what Slack, Mattermost, Rocket.Chat and
    Discord's /slack endpoints accept)."""

    id: str
    type: str
    endpoint: str
    method: str
    content_field: str
    headers: dict[str, str] = field(repr=False)

    @classmethod
    def of(cls, provider: Mapping[str, Any]) -> HttpNotificationProvider:
        kind = _text(provider, "type")
        return cls(
            id=provider_id(provider), type=kind,
            endpoint=_text(provider, "receiver") or _text(provider, "endpoint"),
            method="POST" if kind == SLACK else (_text(provider, "method") or "POST").upper(),
            content_field=_text(provider, "title") or "content", headers=_headers(provider),
        )


def is_sending_provider(provider: Mapping[str, Any]) -> bool:
    return provider.get("category") in SENDING_CATEGORIES


@dataclass(frozen=True)
class EmailForm:
    """Casdoor's EmailForm (controllers/service.go)."""

    title: str
    content: str
    sender: str
    receivers: tuple[str, ...]
    provider: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> EmailForm:
        receivers = _receivers(body, "receivers")
        invalid = [r for r in receivers if r != TEST_SMTP_SERVER and not EMAIL_PATTERN.match(r)]
        if invalid:
            raise BadRequest(f"invalid field receivers: not email addresses: {', '.join(invalid)}")
        return cls(title=_field(body, "title"), content=_field(body, "content"), sender=_field(body, "sender"),
                   receivers=receivers, provider=_field(body, "provider"))

    @property
    def tests_server_only(self) -> bool:
        """Casdoor's reserved receiver "TestSmtpServer": connect and sign in, send nothing."""
        return self.receivers == (TEST_SMTP_SERVER,)


TEST_SMTP_SERVER = "TestSmtpServer"
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()-]{2,30}$")


@dataclass(frozen=True)
class SmsForm:
    content: str
    receivers: tuple[str, ...]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> SmsForm:
        receivers = _receivers(body, "receivers")
        invalid = [r for r in receivers if not PHONE_PATTERN.match(r)]
        if invalid:
            raise BadRequest(f"invalid field receivers: not phone numbers: {', '.join(invalid)}")
        content = _field(body, "content")
        if not content:
            raise BadRequest("invalid field content: is required")
        return cls(content=content, receivers=receivers)


@dataclass(frozen=True)
class NotificationForm:
    content: str
    recipient: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> NotificationForm:
        content = _field(body, "content")
        if not content:
            raise BadRequest("invalid field content: is required")
        return cls(content=content, recipient=_field(body, "recipient"))


def _field(body: Mapping[str, Any], name: str, max_length: int = 100_000) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"invalid field {name}: must be a string")
    if len(value) > max_length:
        raise BadRequest(f"invalid field {name}: longer than {max_length} characters")
    return value


MAX_RECEIVERS = 50


def _receivers(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
    given = body.get(name)
    if not isinstance(given, list) or not given or not all(isinstance(r, str) and r for r in given):
        raise BadRequest(f"invalid field {name}: must be a non-empty list of strings")
    if len(given) > MAX_RECEIVERS:
        raise BadRequest(f"invalid field {name}: at most {MAX_RECEIVERS} receivers at once")
    return tuple(r.strip() for r in given)
