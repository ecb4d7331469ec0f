"""Payment providers (Casdoor's pp/): Dummy, Balance and a configurable HTTP payment provider.

- ``Dummy`` pays at once (nothing leaves the server).
- ``Balance`` pays at once from the user's balance; the service charges it, refusing when short.
- ``Custom HTTP`` is an external payment page. pay-order asks the provider's ``endpoint`` (through
  the SSRF guard) for a checkout: a signed JSON POST answered with ``{"payUrl", "orderId"}``. The
  browser goes to ``payUrl``; the provider sends it back to the return URL and reports the outcome by
  POSTing to ``/api/notify-payment/<owner>/<payment>``, signed the same way.

A signature is ``Payment-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body under the
provider's ``clientSecret`` (the key the administrator shares with the provider).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from hookdoor.commerce.schemas import (
    BALANCE,
    CUSTOM_HTTP,
    DUMMY,
    PAYMENT_CATEGORY,
    PAYMENT_TYPES,
    TERMINAL_PAYMENT_STATES,
    money,
)
from hookdoor.errors import BadRequest, Forbidden, HookdoorError
from hookdoor.messaging.transport import Unreachable, post_for_json
from hookdoor.webhooks.target_guard import (
    TargetPolicy,
    TargetRefused,
    check_url_at_save,
)

SIGNATURE_HEADER = "Payment-Signature"
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
MIN_SECRET_LENGTH = 16


class ProviderFailed(HookdoorError):
    status_code = 502


@dataclass(frozen=True)
class PayRequest:
    payment_name: str
    price: Decimal
    currency: str
    product_name: str
    product_display_name: str
    payer: str
    return_url: str
    notify_url: str


@dataclass(frozen=True)
class PayAnswer:
    pay_url: str
    out_order_id: str
    paid: bool  # paid at once (Dummy, Balance), or waiting for the provider's notification


@dataclass(frozen=True)
class Notification:
    state: str
    price: Decimal
    currency: str
    order_id: str
    message: str


class PaymentProvider(Protocol):
    async def pay(self, request: PayRequest) -> PayAnswer: ...


class InstantProvider:
    """Dummy and Balance: nothing to ask anyone; the payment is made as it is created."""

    async def pay(self, request: PayRequest) -> PayAnswer:
        return PayAnswer(pay_url=request.return_url, out_order_id="", paid=True)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, given: str | None) -> bool:
    return bool(secret) and bool(given) and hmac.compare_digest(sign(secret, body), given or "")


@dataclass(frozen=True)
class HttpPaymentProvider:
    provider: dict[str, Any]
    policy: TargetPolicy

    @property
    def name(self) -> str:
        return f"{self.provider['owner']}/{self.provider['name']}"

    async def pay(self, request: PayRequest) -> PayAnswer:
        body = json.dumps({
            "merchant": self.provider.get("clientId") or "", "paymentName": request.payment_name,
            "price": str(request.price), "currency": request.currency, "productName": request.product_name,
            "productDisplayName": request.product_display_name, "payer": request.payer,
            "returnUrl": request.return_url, "notifyUrl": request.notify_url,
        }).encode()
        status, answer = await self._post(body)
        if not 200 <= status < 300:
            raise ProviderFailed(f"payment provider {self.name} refused the checkout: HTTP {status}")
        pay_url, order_id = answer.get("payUrl"), answer.get("orderId")
        if not isinstance(pay_url, str) or urlsplit(pay_url).scheme not in ("http", "https"):
            raise ProviderFailed(f"payment provider {self.name} answered no http(s) payUrl")
        if not isinstance(order_id, str) or not order_id:
            raise ProviderFailed(f"payment provider {self.name} answered no orderId")
        return PayAnswer(pay_url=pay_url, out_order_id=order_id, paid=False)

    async def _post(self, body: bytes) -> tuple[int, dict[str, Any]]:
        url = str(self.provider.get("endpoint") or "")
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(str(self.provider.get("clientSecret") or ""), body)}
        try:
            return await post_for_json(self.policy, url, body, headers, timeout=HTTP_TIMEOUT)
        except Unreachable as exc:
            raise ProviderFailed(f"payment provider {self.name} could not be reached: {exc}") from None

    def notification(self, body: bytes, signature: str | None) -> Notification:
        """The provider's report, once its signature is checked; a forged one is refused."""
        if not signature_matches(str(self.provider.get("clientSecret") or ""), body, signature):
            raise Forbidden(f"the notification is not signed by payment provider {self.name}")
        try:
            report = json.loads(body)
        except ValueError:
            report = None
        if not isinstance(report, dict):
            raise BadRequest("invalid notification: a JSON object is expected")
        state = report.get("state")
        if state not in TERMINAL_PAYMENT_STATES:
            raise BadRequest(f"invalid notification field state: one of {sorted(TERMINAL_PAYMENT_STATES)}")
        currency = str(report.get("currency") or "")
        return Notification(state=state, price=money(report.get("price"), currency or "USD", "price"),
                            currency=currency, order_id=str(report.get("orderId") or ""),
                            message=str(report.get("message") or "")[:500])


def provider_for(provider: dict[str, Any], policy: TargetPolicy) -> PaymentProvider:
    kind_ = provider.get("type")
    if kind_ in (DUMMY, BALANCE):
        return InstantProvider()
    if kind_ == CUSTOM_HTTP:
        return HttpPaymentProvider(provider, policy)
    raise BadRequest(f"payment provider type {kind_!r} is not supported here; use one of {list(PAYMENT_TYPES)}")


def check_payment_provider(policy: TargetPolicy, data: dict[str, Any]) -> None:
    """What saving a provider of category Payment implies: a known type; the HTTP one's endpoint
    admitted by the SSRF guard and a signing key long enough to be one."""
    if data.get("category") != PAYMENT_CATEGORY:
        return
    if data.get("type") not in PAYMENT_TYPES:
        raise BadRequest(f"invalid field type: a payment provider's type is one of {list(PAYMENT_TYPES)}")
    if data.get("type") != CUSTOM_HTTP:
        return
    try:
        check_url_at_save(str(data.get("endpoint") or ""), policy)
    except (TargetRefused, ValueError) as exc:
        raise BadRequest(f"invalid field endpoint: {exc}") from None
    if len(str(data.get("clientSecret") or "")) < MIN_SECRET_LENGTH:
        raise BadRequest(f"invalid field clientSecret: the signing key must have at least {MIN_SECRET_LENGTH} "
                         "characters")
