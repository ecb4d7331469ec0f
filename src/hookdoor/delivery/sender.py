"""One HTTP attempt of one delivery: sign, send, time, and describe what happened."""

from __future__ import annotations

import functools
import itertools
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from yarl import URL

from hookdoor.db.types import parse_rfc3339, utcnow
from hookdoor.delivery.retry import AttemptResult, RetryPolicy, next_delay, parse_retry_after
from hookdoor.webhooks.signing import standard_headers
from hookdoor.webhooks.target_guard import refusal_from

USER_AGENT = "Hookdoor-Webhooks/0.1"
RESPONSE_EXCERPT_BYTES = 4096
MAX_STORED_HEADERS = 50
REDACTED = "***"
# Every attempt row has the same keys, so one batch insert can mix answered and unanswered attempts.
NO_RESPONSE: dict[str, Any] = {"response_status": None, "response_headers": None, "response_body": None}
SIGNED_HEADERS = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature"})
ATTEMPT_TRIGGERS = {"event": "scheduled", "manual": "manual", "forced": "manual", "test": "test"}


def retry_policy(webhook: Mapping[str, Any]) -> RetryPolicy:
    """Casdoor's maxRetries/retryInterval/useExponentialBackoff when set, else the default schedule."""
    if webhook.get("maxRetries"):
        return RetryPolicy.casdoor(
            int(webhook["maxRetries"]), float(webhook.get("retryInterval") or 60),
            bool(webhook.get("useExponentialBackoff")),
        )
    return RetryPolicy()


def signing_secrets(webhook: Mapping[str, Any], now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    previous = webhook.get("previousSigningSecret")
    if not previous:
        return [webhook["signingSecret"]]
    expires = parse_rfc3339(webhook.get("previousSecretExpiresAt") or "")
    return [webhook["signingSecret"], previous] if expires and expires > now else [webhook["signingSecret"]]


def content_type(webhook: Mapping[str, Any]) -> str:
    declared = webhook.get("contentType") or "application/json"
    if declared == "application/json" and webhook.get("payloadFormat") == "cloudevents":
        return "application/cloudevents+json"
    return declared


def redacted(headers: dict[str, str], webhook: Mapping[str, Any]) -> dict[str, str]:
    """Custom header values are credentials as often as not (API keys): never stored in clear."""
    custom = {h["name"].lower() for h in webhook.get("headers") or []}
    if not custom:
        return headers
    return {name: REDACTED if name.lower() in custom else value for name, value in headers.items()}


@dataclass(frozen=True)
class Outcome:
    delivery_id: str
    webhook_key: tuple[str, str]
    result: AttemptResult
    attempt: dict[str, Any]
    update: dict[str, Any]

    @property
    def state(self) -> str:
        return self.update["state"]


class LocalAnswer(Protocol):
    status: int
    headers: Mapping[str, str]
    body: bytes


class LocalTargets(Protocol):
    """Targets answered in-process, with no connection: this server's own inspector bins."""

    def handles(self, url: str) -> bool: ...

    async def answer(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> LocalAnswer | None: ...


@dataclass(frozen=True)
class Target:
    """What every attempt to one version of a webhook shares, worked out once (not per delivery): its
    URL parsed, its timeout, its retry policy, the headers that do not change between deliveries (and
    their redacted copy for the attempt row). Only the three Standard Webhooks headers are per attempt."""

    document: Mapping[str, Any]
    url: URL
    method: str
    seconds: float
    timeout: aiohttp.ClientTimeout
    retry: RetryPolicy
    headers: dict[str, str]
    stored_headers: dict[str, str]
    custom_header_signed_over: bool  # a custom header has a Standard Webhooks header's name
    local: bool

    def stored(self, signed: dict[str, str]) -> dict[str, str]:
        """The headers of an attempt as its row keeps them: custom values redacted, also where a custom
        header has a Standard Webhooks header's name (rare: then redacted as a whole, as it was sent)."""
        if not self.custom_header_signed_over:
            return self.stored_headers | signed
        return redacted(self.headers | signed, self.document)

    @classmethod
    def of(cls, webhook: Mapping[str, Any], local: LocalTargets | None) -> Target:
        headers = {h["name"]: h["value"] for h in webhook.get("headers") or []}
        headers.update({"Content-Type": content_type(webhook), "User-Agent": USER_AGENT})
        seconds = float(webhook.get("timeoutSeconds") or 15)
        return cls(
            document=webhook, url=URL(webhook["url"]), method=webhook.get("method") or "POST", seconds=seconds,
            timeout=_timeout(seconds), retry=retry_policy(webhook), headers=headers,
            stored_headers=redacted(headers, webhook),
            custom_header_signed_over=any(h["name"].lower() in SIGNED_HEADERS for h in webhook.get("headers") or []),
            local=local is not None and local.handles(webhook["url"]),
        )


class Sender:
    def __init__(
        self, session: aiohttp.ClientSession, rng: random.Random | None = None, local: LocalTargets | None = None
    ) -> None:
        self.session = session
        self.rng = rng or random.Random()
        self.local = local
        self._targets: dict[tuple[str, str], Target] = {}

    def target(self, webhook: Mapping[str, Any]) -> Target:
        """The prepared target of this webhook document; made again when the document is another one
        (the worker's documents are re-parsed, so replaced, exactly when their stored JSON changes)."""
        key = (webhook["owner"], webhook["name"])
        target = self._targets.get(key)
        if target is None or target.document is not webhook:
            target = self._targets[key] = Target.of(webhook, self.local)
        return target

    async def attempt(self, delivery: Mapping[str, Any], webhook: Mapping[str, Any], worker: str) -> Outcome:
        target = self.target(webhook)
        started_at = utcnow()
        body = delivery["payload"].encode()
        signed = standard_headers(delivery["id"], started_at, body, signing_secrets(webhook, started_at))
        headers = target.headers | signed
        started = time.perf_counter()
        result, response = await self._send(target, body, headers, started_at)
        duration_ms = (time.perf_counter() - started) * 1000
        attempt = {
            "delivery_id": delivery["id"], "number": delivery["attempts"] + 1,
            "trigger": ATTEMPT_TRIGGERS.get(delivery["trigger"], "scheduled"),
            "started_at": started_at, "duration_ms": round(duration_ms, 3), "request_url": webhook["url"],
            "request_headers": target.stored(signed), "error": result.error, **response,
        }
        return Outcome(
            delivery_id=delivery["id"], webhook_key=(webhook["owner"], webhook["name"]), result=result,
            attempt=attempt, update=self._next_state(delivery, target, result, worker),
        )

    async def _send(
        self, target: Target, body: bytes, headers: dict[str, str], now: datetime
    ) -> tuple[AttemptResult, dict[str, Any]]:
        if target.local:
            assert self.local is not None
            url = target.document["url"]
            answer = await self.local.answer(target.method, url, headers, body)
            if answer is not None:
                return _described(answer.status, answer.headers, answer.body[:RESPONSE_EXCERPT_BYTES], now)
        try:
            async with self.session.request(
                target.method, target.url, data=body, headers=headers, allow_redirects=False, timeout=target.timeout,
            ) as response:
                excerpt = await response.content.read(RESPONSE_EXCERPT_BYTES)
                return _described(response.status, response.headers, excerpt, now)
        except TimeoutError:
            timed_out = AttemptResult(status=None, timed_out=True, error=f"timed out after {target.seconds:g} s")
            return timed_out, NO_RESPONSE
        except (aiohttp.ClientError, OSError) as exc:
            refused = refusal_from(exc)
            reason = f"target refused: {refused}" if refused else connection_problem(exc)
            return AttemptResult(status=None, error=reason), NO_RESPONSE

    def _next_state(
        self, delivery: Mapping[str, Any], target: Target, result: AttemptResult, worker: str
    ) -> dict[str, Any]:
        now = utcnow()
        attempts = delivery["attempts"] + 1
        if result.succeeded:
            state, next_at = "succeeded", now
        else:
            delay = next_delay(target.retry, attempts, result, self.rng)
            state, next_at = ("failed", now) if delay is None else ("pending", now + timedelta(seconds=delay))
        return {
            "delivery_id": delivery["id"], "worker": worker, "state": state, "attempts": attempts,
            "next_attempt_at": next_at, "last_status": result.status, "last_error": result.error,
            "updated_at": now,
        }


def lean_session(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    """The worker's HTTP client: aiohttp with what a webhook sender never needs left out. No cookie
    jar (a receiver's Set-Cookie must not follow into the next delivery anyway), no decompression (only
    an excerpt of the answer is kept, as it came), no Accept/Accept-Encoding headers added to each
    request (so no receiver compresses for us), no proxy from the environment (the SSRF guard resolves
    the target itself), no tracing."""
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
        skip_auto_headers=("Accept", "Accept-Encoding"), trust_env=False,
    )


@functools.lru_cache(maxsize=64)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds, connect=min(seconds, 10.0))


def _described(
    status: int, headers: Mapping[str, str], excerpt: bytes, now: datetime
) -> tuple[AttemptResult, dict[str, Any]]:
    stored = {
        "response_status": status,
        "response_headers": dict(itertools.islice(headers.items(), MAX_STORED_HEADERS)),
        "response_body": excerpt.decode("utf-8", "replace"),
    }
    retry_after = parse_retry_after(headers.get("Retry-After"), now)
    error = None if 200 <= status < 300 else f"HTTP {status}"
    return AttemptResult(status=status, error=error, retry_after=retry_after), stored


def connection_problem(exc: BaseException) -> str:
    """What went wrong before any answer, in words (not the exception's class name): it is shown as the
    delivery's last error in the console and the CLI."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"could not resolve {exc.host}: no such host name"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {exc.host} was not accepted: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError):
        return f"the TLS handshake with {getattr(exc, 'host', 'the endpoint')} failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        cause = os.strerror(error.errno) if error and error.errno else str(error or "no connection")
        return f"could not connect to {exc.host}:{exc.port}: {cause.lower()}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the endpoint closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the endpoint's answer was cut off"
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        return f"connection failed: {getattr(exc, 'strerror', None) or exc}"
    return f"connection failed: {exc}"
