"""Talking to the servers that deliver: SMTP with aiosmtplib, HTTP with aiohttp.

Every connection goes through the SSRF guard, as webhooks do: a provider's host is what an
administrator typed. SMTP connects to an address the guard vetted (the TLS name is still the
provider's host); HTTP uses the guard's connector. A failure is a :class:`SendFailed` naming the
provider and what went wrong, never the password, the headers or the body.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import aiosmtplib

from hookdoor.messaging.schemas import SLACK, HttpNotificationProvider, HttpSmsProvider, SendFailed, SmtpProvider
from hookdoor.webhooks.target_guard import (
    TargetPolicy,
    TargetRefused,
    check_address,
    check_literal_host,
    guarded_connector,
    refusal_from,
)

TIMEOUT_SECONDS = 15
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
IMPLICIT_TLS_PORT = 465


# ---- email -------------------------------------------------------------------------------------------

def email_message(provider: SmtpProvider, sender_name: str, receiver: str, title: str, content: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((provider.from_name or sender_name, provider.from_address))
    message["To"] = receiver
    message["Subject"] = title
    message.set_content(content, subtype="html" if content.lstrip().startswith("<") else "plain")
    return message


async def send_emails(provider: SmtpProvider, policy: TargetPolicy, messages: list[EmailMessage]) -> None:
    """One SMTP session for all the messages (none when the list is empty: the server test)."""
    try:
        client = await _smtp_session(provider, policy)
        try:
            for message in messages:
                await client.send_message(message)
        finally:
            await _quit(client)
    except (TargetRefused, aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
        raise SendFailed(f"email provider {provider.id} could not send: {_smtp_reason(exc)}") from None


async def _smtp_session(provider: SmtpProvider, policy: TargetPolicy) -> aiosmtplib.SMTP:
    if not provider.host or not provider.port:
        raise SendFailed(f"email provider {provider.id} has no host or port")
    sock = await _vetted_socket(provider.host, provider.port, policy)
    implicit_tls = provider.ssl_mode == "Enable" or (provider.ssl_mode == "Auto" and provider.port == IMPLICIT_TLS_PORT)
    start_tls: bool | None = {"Disable": False, "StartTLS": True}.get(provider.ssl_mode)
    client = aiosmtplib.SMTP(hostname=provider.host, sock=sock, use_tls=implicit_tls,
                             start_tls=False if implicit_tls else start_tls, timeout=TIMEOUT_SECONDS)
    await client.connect()
    if provider.user:
        await client.login(provider.user, provider.password)
    return client


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


async def _vetted_socket(host: str, port: int, policy: TargetPolicy) -> socket.socket:
    """A connected socket to ``host``, whose every address the guard admitted (as the webhook resolver
    checks them), so that a name resolving to an internal address reaches nothing."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"{host} does not resolve")
    for info in infos:
        check_address(str(info[4][0]), policy, host=host)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, address), TIMEOUT_SECONDS)
    except BaseException:
        sock.close()
        raise
    return sock


def _smtp_reason(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return f"the server refused the sign-in ({exc.code})"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"the server answered {exc.code} {exc.message}"[:300]
    refused = refusal_from(exc) or (exc if isinstance(exc, TargetRefused) else None)
    if refused is not None:
        return str(refused)
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    return f"{type(exc).__name__}: {exc}"[:300]


# ---- HTTP: SMS and notifications --------------------------------------------------------------------

def sms_request(provider: HttpSmsProvider, phone: str, text: str) -> tuple[str, str, dict[str, str], bytes | None]:
    """Casdoor's Custom HTTP SMS request: method, URL, headers and body, for one phone number."""
    content = provider.template.replace("%s", text, 1)
    # Quoted as they go into the URL: a "+" left as it is would arrive as a space.
    url = provider.endpoint.replace("{mobile}", quote(phone, safe="")).replace("{code}", quote(text, safe=""))
    fields = {provider.phone_field: phone, provider.content_field: content}
    headers = dict(provider.headers)
    if provider.method == "GET":
        if url == provider.endpoint:  # the fields go in the query unless the URL already carries them
            url += ("&" if "?" in url else "?") + urlencode(fields)
        return "GET", url, headers, None
    headers["Content-Type"] = provider.content_type
    body = json.dumps(fields) if provider.content_type == "application/json" else urlencode(fields)
    return provider.method, url, headers, body.encode()


def notification_request(provider: HttpNotificationProvider, content: str,
                         recipient: str) -> tuple[str, str, dict[str, str], bytes | None]:
    headers = dict(provider.headers)
    if provider.type == SLACK:
        headers["Content-Type"] = "application/json"
        return "POST", provider.endpoint, headers, json.dumps({"text": content}).encode()
    fields = {provider.content_field: content, **({"recipient": recipient} if recipient else {})}
    if provider.method == "GET":
        separator = "&" if "?" in provider.endpoint else "?"
        return "GET", f"{provider.endpoint}{separator}{urlencode(fields)}", headers, None
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return provider.method, provider.endpoint, headers, urlencode(fields).encode()


async def send_http(what: str, provider_id: str, policy: TargetPolicy,
                    request: tuple[str, str, dict[str, str], bytes | None]) -> None:
    """One request; anything but a 2xx answer is the provider's failure."""
    method, url, headers, body = request
    try:
        check_literal_host(url, policy)
        async with (
            aiohttp.ClientSession(connector=guarded_connector(policy), timeout=HTTP_TIMEOUT, trust_env=False) as http,
            http.request(method, url, headers=headers, data=body, allow_redirects=False) as response,
        ):
            status = response.status
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        refused = refusal_from(exc)
        reason = str(refused) if refused else type(exc).__name__
        raise SendFailed(f"{what} provider {provider_id} could not be reached: {reason}") from None
    if not 200 <= status < 300:
        raise SendFailed(f"{what} provider {provider_id} refused the message: HTTP {status}")


MAX_ANSWER = 1 << 16


class Unreachable(Exception):
    """An HTTP provider could not be reached; the message says why (the SSRF guard's refusal, or the
    error's kind), never what was sent."""


async def post_for_json(policy: TargetPolicy, url: str, body: bytes, headers: dict[str, str], *,
                        auth: tuple[str, str] | None = None,
                        timeout: aiohttp.ClientTimeout = HTTP_TIMEOUT) -> tuple[int, dict[str, Any]]:
    """POST ``body`` through the SSRF guard (no redirect followed) and read a JSON object back: the
    status, and the object (empty when the answer is none, or too long to be one)."""
    try:
        check_literal_host(url, policy)
        basic = aiohttp.BasicAuth(*auth) if auth else None
        async with (
            aiohttp.ClientSession(connector=guarded_connector(policy), timeout=timeout, trust_env=False) as http,
            http.post(url, data=body, headers=headers, auth=basic, allow_redirects=False) as response,
        ):
            status, raw = response.status, await response.content.read(MAX_ANSWER + 1)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        refused = refusal_from(exc)
        raise Unreachable(refused if refused else type(exc).__name__) from None
    try:
        answer = json.loads(raw[:MAX_ANSWER])
    except ValueError:
        answer = None
    return status, answer if isinstance(answer, dict) else {}


async def ask_http(what: str, provider_id: str, policy: TargetPolicy, url: str, body: dict[str, str],
                   auth: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
    """POST ``body`` as JSON and read a JSON object back (an ID-verification provider's verdict)."""
    try:
        return await post_for_json(policy, url, json.dumps(body).encode(), {"Content-Type": "application/json"},
                                   auth=auth)
    except Unreachable as exc:
        raise SendFailed(f"{what} provider {provider_id} could not be reached: {exc}") from None
