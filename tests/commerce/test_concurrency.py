"""Concurrent pay-order calls on one order pay it once: one succeeds, the others get 409, and one
payment, one transaction and one unit of stock are taken (both databases; PostgreSQL is the one
where the calls truly overlap)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.commerce.conftest import PASSWORD, Shop
from tests.support import Api

CALLERS = 8


def _signed_in(shop: Shop) -> requests.Session:
    api = Api(shop.server.url)
    assert api.login(shop.buyer, PASSWORD, shop.org, shop.tenant.application)["status"] == "ok"
    return api.http


def test_concurrent_pay_order_pays_once(shop: Shop) -> None:
    shop.recharge(100)
    product = shop.product(price=10, quantity=50)
    order = shop.place(product)
    sessions = [_signed_in(shop) for _ in range(CALLERS)]
    url = f"{shop.server.url}/api/pay-order"
    params = {"id": f"{shop.org}/{order['name']}", "providerName": "balance"}
    with ThreadPoolExecutor(CALLERS) as pool:
        responses = list(pool.map(lambda http: http.post(url, params=params, timeout=30), sessions))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CALLERS - 1), [r.text for r in responses]
    payments = shop.buyer_api.get("get-user-payments", owner=shop.org, user=shop.buyer)["data"]
    assert len(payments) == 1
    assert shop.user()["balance"] == 90
    assert shop.get("product", product)["quantity"] == 49
    assert sorted(t["category"] for t in shop.transactions()) == ["Purchase", "Recharge"]
    assert shop.get("order", order["name"])["payment"] == payments[0]["name"]
