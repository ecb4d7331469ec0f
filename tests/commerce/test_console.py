"""The console's shop: a product page with its buy button, the order's page with pay and cancel,
the account's orders and payments, an invoice; every form needs the session's CSRF token."""

from __future__ import annotations

from tests.commerce.conftest import PASSWORD, Shop, new_buyer
from tests.console.browser import ConsoleClient


def _console(shop: Shop) -> ConsoleClient:
    console = ConsoleClient(shop.server.url)
    console.login(shop.buyer, PASSWORD, shop.org, shop.tenant.application)
    return console


def test_buy_on_the_product_page_then_see_the_order_and_its_invoice(shop: Shop) -> None:
    console = _console(shop)
    product = shop.product(displayName="Blue mug", price=4.5, quantity=3)
    page = console.get(f"/console/shop/{shop.org}/{product}")
    assert page.status_code == 200 and "Blue mug" in page.text and 'id="buy"' in page.text
    bought = console.submit(f"/console/shop/{shop.org}/{product}/buy", {"quantity": "2", "provider": "dummy"})
    assert bought.status_code == 303, bought.text[:300]
    order_page = bought.headers["location"]
    shown = console.get(order_page)
    assert 'id="state">Paid<' in shown.text and "Invoice" in shown.text
    assert shop.get("product", product)["quantity"] == 1

    listed = console.get("/console/account/orders")
    [order] = shop.buyer_api.get("get-user-orders", owner=shop.org, user=shop.buyer)["data"]
    assert order["name"] in listed.text and order["payment"] in listed.text
    invoice = console.get(f"/console/account/payments/{shop.org}/{order['payment']}/invoice")
    assert invoice.status_code == 200 and "9 USD" in invoice.text


def test_pay_and_cancel_on_the_order_page(shop: Shop) -> None:
    console = _console(shop)
    product = shop.product()
    first, second = shop.place(product), shop.place(product)
    page = console.get(f"/console/account/orders/{shop.org}/{first['name']}")
    assert 'id="pay"' in page.text and 'id="cancel"' in page.text
    paid = console.submit(f"/console/account/orders/{shop.org}/{first['name']}/pay", {"provider": "dummy"})
    assert paid.status_code == 303
    assert shop.get("order", first["name"])["state"] == "Paid"
    cancelled = console.submit(f"/console/account/orders/{shop.org}/{second['name']}/cancel", {})
    assert cancelled.status_code == 303
    assert shop.get("order", second["name"])["state"] == "Canceled"
    again = console.submit(f"/console/account/orders/{shop.org}/{second['name']}/pay", {"provider": "dummy"})
    assert again.status_code == 409


def test_forms_without_the_csrf_token_and_other_users_orders_are_refused(shop: Shop) -> None:
    console = _console(shop)
    order = shop.place(shop.product())
    refused = console.post(f"/console/account/orders/{shop.org}/{order['name']}/cancel", {})
    assert refused.status_code == 403
    assert shop.get("order", order["name"])["state"] == "Created"
    mine = shop.place(shop.product())
    other = ConsoleClient(shop.server.url)
    name, _ = new_buyer(shop.admin, shop.server, shop.tenant)
    other.login(name, PASSWORD, shop.org, shop.tenant.application)
    assert other.get(f"/console/account/orders/{shop.org}/{mine['name']}").status_code == 403
    assert other.submit(f"/console/account/orders/{shop.org}/{mine['name']}/cancel", {}).status_code == 403
    assert shop.get("order", mine["name"])["state"] == "Created"
