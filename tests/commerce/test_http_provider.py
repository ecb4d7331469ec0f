"""The Custom HTTP payment provider against a local provider: the checkout is opened through the
SSRF guard, the browser pays on the provider's page and comes back, the provider's signed
notify-payment completes the purchase; a duplicated notification changes nothing and is recorded as
a repeat; a forged one is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.commerce.conftest import Shop
from tests.commerce.payment_server import PaymentServer, sign
from tests.identity.test_events_recorded import events

SECRET = "provider-signing-key-0123456789"


@pytest.fixture
def provider(shop: Shop) -> Iterator[PaymentServer]:
    server = PaymentServer(SECRET).start()
    answer = shop.admin.post("add-provider", {"owner": shop.org, "name": "checkout", "category": "Payment",
                                              "type": "Custom HTTP", "endpoint": server.endpoint,
                                              "clientId": "merchant-1", "clientSecret": SECRET})
    assert answer["status"] == "ok", answer
    try:
        yield server
    finally:
        server.stop()


def _checkout(shop: Shop, price: float = 19.99) -> tuple[dict, dict]:
    order = shop.place(shop.product(price=price, providers=["checkout"]))
    answer = shop.pay(order["name"], "checkout")
    assert answer["status"] == "ok", answer
    return order, answer["data"]


def test_the_provider_page_pays_and_sends_the_browser_back(shop: Shop, provider: PaymentServer) -> None:
    order, payment = _checkout(shop)
    assert payment["state"] == "Created" and payment["payUrl"].startswith(f"http://127.0.0.1:{provider.port}/pay/")
    checkout = provider.checkouts[payment["outOrderId"]]
    assert (checkout["price"], checkout["currency"], checkout["merchant"]) == ("19.99", "USD", "merchant-1")
    assert shop.get("order", order["name"])["state"] == "Created"

    page = requests.get(payment["payUrl"], allow_redirects=False, timeout=30)
    assert page.status_code == 302
    assert urlsplit(page.headers["Location"]).path == f"/console/account/orders/{shop.org}/{order['name']}"
    assert [n.status for n in provider.notified] == [200]
    assert shop.get("payment", payment["name"])["state"] == "Paid"
    assert shop.get("order", order["name"])["state"] == "Paid"
    assert [(t["category"], t["amount"]) for t in shop.transactions()] == [("Purchase", -19.99)]

    again = provider.notify_now(checkout["notifyUrl"], provider.notified[0].body,
                                sign(SECRET, provider.notified[0].body))
    assert again.status == 200 and again.answer["data"]["state"] == "Paid"
    assert len(shop.transactions()) == 1
    recorded = [e for e in events(shop.server, action="notify-payment") if e["organization"] == shop.org]
    assert sorted(e["object"]["repeat"] for e in recorded) == [False, True]


def test_a_forged_notification_is_refused_and_changes_nothing(shop: Shop, provider: PaymentServer) -> None:
    order, payment = _checkout(shop)
    notify_url = provider.checkouts[payment["outOrderId"]]["notifyUrl"]
    body = provider.report(payment["outOrderId"])
    for signature in (sign("another-key-0123456789abc", body), "", "sha256=" + "0" * 64):
        forged = provider.notify_now(notify_url, body, signature)
        assert forged.status == 403 and "not signed by payment provider" in forged.answer["msg"]
    unsigned = requests.post(notify_url, data=body, timeout=30)
    assert unsigned.status_code == 403
    assert shop.get("payment", payment["name"])["state"] == "Created"
    assert shop.get("order", order["name"])["state"] == "Created"
    assert shop.transactions() == []
    recorded = [e for e in events(shop.server, action="notify-payment") if e["request"]["uri"].endswith(
        payment["name"])]
    assert {e["outcome"] for e in recorded} == {"error"}


def test_a_wrong_price_fails_the_payment_and_a_cancelled_payment_cancels_the_order(
        shop: Shop, provider: PaymentServer) -> None:
    order, payment = _checkout(shop)
    provider.price_override = "0.01"
    assert requests.get(payment["payUrl"], allow_redirects=False, timeout=30).status_code == 302
    failed = shop.get("payment", payment["name"])
    assert failed["state"] == "Error" and "0.01" in failed["message"]
    assert shop.get("order", order["name"])["state"] == "Failed"

    provider.price_override, provider.outcome = None, "Canceled"
    order, payment = _checkout(shop)
    assert requests.get(payment["payUrl"], allow_redirects=False, timeout=30).status_code == 302
    assert shop.get("order", order["name"])["state"] == "Canceled"
    assert shop.transactions() == []


def test_a_cancelled_order_is_not_paid_by_a_late_notification(shop: Shop, provider: PaymentServer) -> None:
    order, payment = _checkout(shop)
    assert shop.buyer_api.post("cancel-order", params={"id": f"{shop.org}/{order['name']}"})["status"] == "ok"
    assert shop.get("payment", payment["name"])["state"] == "Canceled"
    assert requests.get(payment["payUrl"], allow_redirects=False, timeout=30).status_code == 302
    assert provider.notified[-1].status == 200  # a repeat: the payment was decided already
    assert shop.get("order", order["name"])["state"] == "Canceled"
    assert shop.transactions() == []


def test_a_second_checkout_ends_the_first(shop: Shop, provider: PaymentServer) -> None:
    order, first = _checkout(shop)
    second = shop.pay(order["name"], "checkout")["data"]
    assert shop.get("payment", first["name"])["state"] == "Canceled"
    assert requests.get(first["payUrl"], allow_redirects=False, timeout=30).status_code == 302
    assert shop.get("order", order["name"])["state"] == "Created"
    assert requests.get(second["payUrl"], allow_redirects=False, timeout=30).status_code == 302
    assert shop.get("order", order["name"])["state"] == "Paid"
    assert len(shop.transactions()) == 1


def test_saving_the_provider_checks_its_endpoint_and_key(shop: Shop) -> None:
    base = {"owner": shop.org, "category": "Payment", "type": "Custom HTTP", "clientSecret": SECRET}
    for fields, word in (({"endpoint": "http://169.254.169.254/x"}, "endpoint"),
                         ({"endpoint": "ftp://127.0.0.1/x"}, "endpoint"),
                         ({"endpoint": "http://127.0.0.1:9/x", "clientSecret": "short"}, "clientSecret"),
                         ({"endpoint": "http://127.0.0.1:9/x", "type": "Stripe"}, "type")):
        answer = shop.admin.post("add-provider", {**base, "name": "bad", **fields})
        assert answer["status"] == "error" and word in answer["msg"], answer
    shown = shop.buyer_api.get("get-provider", id=f"{shop.org}/dummy")
    assert shown["status"] == "error"  # providers are for administrators; secrets never reach a buyer


def test_a_provider_that_refuses_the_checkout_is_a_502_and_nothing_is_written(shop: Shop,
                                                                               provider: PaymentServer) -> None:
    answer = shop.admin.post("add-provider", {"owner": shop.org, "name": "mismatched", "category": "Payment",
                                              "type": "Custom HTTP", "endpoint": provider.endpoint,
                                              "clientSecret": "not-the-providers-key-0123"})
    assert answer["status"] == "ok", answer
    order = shop.place(shop.product(providers=["mismatched"]))
    response = shop.buyer_api.http.post(f"{shop.server.url}/api/pay-order",
                                        params={"id": f"{shop.org}/{order['name']}", "providerName": "mismatched"})
    assert response.status_code == 502 and "refused the checkout: HTTP 401" in response.json()["msg"]
    assert provider.refused_checkouts == 1
    assert shop.get("order", order["name"])["payment"] == ""
    assert shop.buyer_api.get("get-user-payments", owner=shop.org, user=shop.buyer)["data"] == []
    assert "not-the-providers-key" not in response.text
