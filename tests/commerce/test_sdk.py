"""The unmodified ``casdoor`` SDK (PyPI) buys as the organization's application: place_order,
buy_product, pay_order, cancel_order, get_user_orders, get_user_payments, invoice_payment and
notify_payment."""

from __future__ import annotations

import pytest
from casdoor import CasdoorSDK
from casdoor.payment import Payment

from tests.commerce.conftest import Shop


def test_the_sdk_places_pays_and_lists_orders(shop: Shop, sdk: CasdoorSDK) -> None:
    product = shop.product(price=7.5)
    order = sdk.place_order([{"name": product, "quantity": 2}], shop.buyer)
    assert (order.state, order.price, order.user) == ("Created", 15, shop.buyer)
    payment = sdk.pay_order(order.name, "dummy")
    assert (payment["state"], payment["order"], payment["price"]) == ("Paid", order.name, 15)
    assert [o.name for o in sdk.get_user_orders(shop.buyer)] == [order.name]
    assert [o.state for o in sdk.get_user_orders(shop.buyer)] == ["Paid"]
    payments = sdk.get_user_payments(shop.buyer)
    assert [(p.name, p.state) for p in payments] == [(payment["name"], "Paid")]

    invoice = sdk.invoice_payment(payments[0])
    assert invoice["status"] == "ok" and invoice["data"].endswith("/invoice")
    notified = sdk.notify_payment(payments[0])
    assert notified["status"] == "ok" and notified["data"]["state"] == "Paid"  # a repeat: nothing changes
    assert len(shop.transactions()) == 1


def test_the_sdk_buys_a_product_and_cancels_an_order(shop: Shop, sdk: CasdoorSDK) -> None:
    product = shop.product(price=3)
    bought = sdk.buy_product(product, "dummy", shop.buyer)
    assert (bought.state, bought.products) == ("Created", [product])
    assert sdk.cancel_order(bought.name)["data"] == "Affected"
    assert shop.get("order", bought.name)["state"] == "Canceled"
    with pytest.raises(Exception, match="its state is Canceled"):
        sdk.pay_order(bought.name, "dummy")
    with pytest.raises(Exception, match="its state is Canceled"):
        sdk.cancel_order(bought.name)


def test_the_sdk_cannot_invoice_an_unpaid_payment(shop: Shop, sdk: CasdoorSDK) -> None:
    payment = Payment.new(shop.org, "no-such-payment", "", "", "")
    assert sdk.invoice_payment(payment)["status"] == "error"
