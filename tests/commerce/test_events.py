"""Every order and payment action arrives at a real webhook receiver, naming the buyer and the
organization; no provider key or signature is in any payload."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.commerce.conftest import Shop
from tests.commerce.payment_server import PaymentServer, sign
from tests.receiver import Receiver
from tests.support import unique

SECRET = "events-signing-key-0123456789"
EVENTS = ["place-order", "pay-order", "cancel-order", "buy-product", "invoice-payment", "notify-payment",
          "get-user-orders", "get-user-payments"]


@pytest.fixture
def provider(shop: Shop) -> Iterator[PaymentServer]:
    server = PaymentServer(SECRET).start()
    assert shop.admin.post("add-provider", {"owner": shop.org, "name": "checkout", "category": "Payment",
                                            "type": "Custom HTTP", "endpoint": server.endpoint,
                                            "clientSecret": SECRET})["status"] == "ok"
    try:
        yield server
    finally:
        server.stop()


def test_every_commerce_event_arrives_at_the_webhook(shop: Shop, provider: PaymentServer, receiver: Receiver) -> None:
    path = f"/ok/{unique('commerce-events')}"
    hook = {"owner": shop.org, "name": unique("hook"), "url": receiver.url(path), "events": EVENTS}
    assert shop.admin.post("add-webhook", hook)["status"] == "ok"
    product = shop.product(providers=["dummy", "checkout"])
    paid = shop.place(product)
    payment = shop.pay(paid["name"], "dummy")["data"]
    assert shop.buyer_api.post("invoice-payment", params={"id": f"{shop.org}/{payment['name']}"})["status"] == "ok"
    cancelled = shop.place(product)
    assert shop.buyer_api.post("cancel-order", params={"id": f"{shop.org}/{cancelled['name']}"})["status"] == "ok"
    bought = shop.buyer_api.post("buy-product", params={"id": f"{shop.org}/{product}", "providerName": "checkout"})
    assert bought["status"] == "ok", bought
    page = requests.get(bought["data"]["payUrl"], allow_redirects=False, timeout=30)
    assert page.status_code == 302 and provider.notified[-1].status == 200
    for route in ("get-user-orders", "get-user-payments"):
        assert shop.buyer_api.get(route, owner=shop.org, user=shop.buyer)["status"] == "ok"

    # place-order x3 (two orders and buy-product's), pay-order x2, and one each of the rest.
    arrivals = receiver.wait_for(lambda a: a.path == path, count=len(EVENTS) + 3)
    payloads = [json.loads(a.body) for a in arrivals]
    assert set(EVENTS) == {p["event"] for p in payloads}
    for payload in payloads:
        assert payload["organization"] == shop.org, payload
        assert payload["user"]["username"] == shop.buyer, payload
    notify = next(p for p in payloads if p["event"] == "notify-payment")
    assert (notify["object"]["state"], notify["object"]["repeat"]) == ("Paid", False)
    body = provider.notified[-1].body
    for a in arrivals:
        assert SECRET not in a.body.decode() and sign(SECRET, body) not in a.body.decode()
