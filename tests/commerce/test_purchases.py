"""Full purchases through Dummy and Balance, their transactions and balances, and the state rules
(a paid order cannot be cancelled, a cancelled one cannot be paid: 409)."""

from __future__ import annotations

from tests.commerce.conftest import Shop


def test_a_dummy_purchase_pays_the_order_at_once(shop: Shop) -> None:
    product = shop.product(price=10.5, quantity=5)
    order = shop.place(product, quantity=2)
    assert (order["state"], order["price"], order["currency"], order["user"]) == ("Created", 21, "USD", shop.buyer)
    assert order["productInfos"][0]["price"] == 10.5 and order["productInfos"][0]["quantity"] == 2

    answer = shop.pay(order["name"], "dummy")
    assert answer["status"] == "ok", answer
    payment = answer["data"]
    assert (payment["state"], payment["price"], payment["order"], payment["type"]) == ("Paid", 21, order["name"],
                                                                                       "Dummy")
    stored = shop.get("order", order["name"])
    assert (stored["state"], stored["payment"], stored["message"]) == ("Paid", payment["name"], "Payment successful")
    assert shop.get("payment", payment["name"])["state"] == "Paid"
    stock = shop.get("product", product)
    assert (stock["quantity"], stock["sold"]) == (3, 2)
    purchase = [t for t in shop.transactions() if t["payment"] == payment["name"]]
    assert [(t["category"], t["amount"], t["user"], t["subtype"]) for t in purchase] == [
        ("Purchase", -21, shop.buyer, "Dummy")]
    assert not shop.user().get("balance")  # an outside payment leaves the balance alone, as in Casdoor


def test_a_balance_purchase_charges_the_balance_and_a_short_one_is_refused(shop: Shop) -> None:
    shop.recharge(30)
    assert shop.user()["balance"] == 30
    product = shop.product(price=12.25)
    first = shop.place(product)
    answer = shop.pay(first["name"], "balance")
    assert answer["status"] == "ok", answer
    assert shop.user()["balance"] == 17.75
    second = shop.place(product, quantity=2)
    refused = shop.buyer_api.http.post(f"{shop.server.url}/api/pay-order",
                                       params={"id": f"{shop.org}/{second['name']}", "providerName": "balance"})
    assert refused.status_code == 402, refused.text
    assert "insufficient balance" in refused.json()["msg"]
    assert shop.user()["balance"] == 17.75
    unpaid = shop.get("order", second["name"])
    assert (unpaid["state"], unpaid["payment"]) == ("Created", "")
    assert shop.get("product", product)["quantity"] == 4
    moves = sorted((t["category"], t["amount"]) for t in shop.transactions())
    assert moves == [("Purchase", -12.25), ("Recharge", 30)]


def test_a_recharge_product_raises_the_balance_by_the_price_paid(shop: Shop) -> None:
    product = shop.product(isRecharge=True, price=0, quantity=0)
    order = shop.place(product, price=25.5)
    assert order["price"] == 25.5
    assert shop.pay(order["name"], "dummy")["status"] == "ok"
    assert shop.user()["balance"] == 25.5
    assert sorted(t["category"] for t in shop.transactions()) == ["Purchase", "Recharge"]


def test_states_move_only_along_casdoors_transitions(shop: Shop) -> None:
    product = shop.product()
    paid = shop.place(product)
    assert shop.pay(paid["name"], "dummy")["status"] == "ok"
    for action in ("cancel-order", "pay-order"):
        response = shop.buyer_api.http.post(f"{shop.server.url}/api/{action}",
                                            params={"id": f"{shop.org}/{paid['name']}", "providerName": "dummy"})
        assert response.status_code == 409, response.text
        assert "its state is Paid" in response.json()["msg"]

    cancelled = shop.place(product)
    answer = shop.buyer_api.post("cancel-order", params={"id": f"{shop.org}/{cancelled['name']}"})
    assert answer == {**answer, "status": "ok", "data": "Affected"}
    assert shop.get("order", cancelled["name"])["state"] == "Canceled"
    response = shop.buyer_api.http.post(f"{shop.server.url}/api/pay-order",
                                        params={"id": f"{shop.org}/{cancelled['name']}", "providerName": "dummy"})
    assert response.status_code == 409 and "its state is Canceled" in response.json()["msg"]
    assert shop.get("product", product)["quantity"] == 4  # paid once, cancelled once


def test_products_sold_out_unpublished_or_in_two_currencies_are_refused(shop: Shop) -> None:
    scarce = shop.product(quantity=1)
    url = f"{shop.server.url}/api/place-order"

    def place(*lines: dict) -> tuple[int, str]:
        response = shop.buyer_api.http.post(url, params={"owner": shop.org}, json={"productInfos": list(lines)})
        return response.status_code, response.json()["msg"]

    assert place({"name": scarce, "quantity": 2}) == (409, f"the product {shop.org}/{scarce} is only 1 left")
    order = shop.place(scarce)
    assert shop.pay(order["name"], "dummy")["status"] == "ok"
    assert place({"name": scarce}) == (409, f"the product {shop.org}/{scarce} is sold out")
    draft = shop.product(state="Draft")
    assert place({"name": draft})[0] == 409
    euro = shop.product(currency="EUR")
    status, message = place({"name": shop.product()}, {"name": euro})
    assert status == 400 and "share a currency" in message
    assert place({"name": "no-such-product"})[0] == 404
    assert place()[0] == 400
    assert place({"name": scarce, "quantity": -1})[0] == 400
    assert place({"name": scarce, "quantity": 1.5})[0] == 400


def test_a_product_is_paid_only_through_its_own_providers(shop: Shop) -> None:
    product = shop.product(providers=["dummy"])
    order = shop.place(product)
    response = shop.buyer_api.http.post(f"{shop.server.url}/api/pay-order",
                                        params={"id": f"{shop.org}/{order['name']}", "providerName": "balance"})
    assert response.status_code == 400 and "is not sold through balance" in response.json()["msg"]
    response = shop.buyer_api.http.post(f"{shop.server.url}/api/pay-order",
                                        params={"id": f"{shop.org}/{order['name']}", "providerName": "nope"})
    assert response.status_code == 404


def test_nobody_edits_a_price_a_state_or_a_balance(shop: Shop) -> None:
    """Orders, payments and balances are the server's record: refused even to an administrator."""
    order = shop.place(shop.product())
    payment = shop.pay(order["name"], "dummy")["data"]
    for kind, obj, field, value in (("order", shop.get("order", order["name"]), "price", 0.01),
                                    ("order", shop.get("order", order["name"]), "state", "Created"),
                                    ("payment", shop.get("payment", payment["name"]), "state", "Created"),
                                    ("user", shop.user(), "balance", 1000)):
        answer = shop.admin.post(f"update-{kind}", {**obj, field: value}, params={"id": f"{shop.org}/{obj['name']}"})
        assert answer["status"] == "error" and field in answer["msg"], answer
    own = shop.user()
    answer = shop.buyer_api.post("update-user", {**own, "balance": 1000}, params={"id": f"{shop.org}/{shop.buyer}"})
    assert answer["status"] == "error" and "balance" in answer["msg"], answer
    assert shop.get("order", order["name"])["price"] == 10.5
    assert not shop.user().get("balance")


def test_a_transaction_is_history(shop: Shop) -> None:
    shop.recharge(5)
    transaction = shop.transactions()[0]
    answer = shop.admin.post("update-transaction", {**transaction, "amount": 500},
                             params={"id": f"{shop.org}/{transaction['name']}"})
    assert answer["status"] == "error" and "amount" in answer["msg"]
    assert shop.user()["balance"] == 5
    answer = shop.admin.post("add-transaction", {"owner": shop.org, "name": "too-fine", "tag": "User",
                                                 "user": shop.buyer, "amount": 0.001, "currency": "USD"})
    assert answer["status"] == "error" and "amount" in answer["msg"]


def test_user_orders_and_payments_are_listed(shop: Shop) -> None:
    order = shop.place(shop.product())
    payment = shop.pay(order["name"], "dummy")["data"]
    orders = shop.buyer_api.get("get-user-orders", owner=shop.org, user=shop.buyer)
    assert [o["name"] for o in orders["data"]] == [order["name"]]
    payments = shop.buyer_api.get("get-user-payments", owner=shop.org, user=shop.buyer)
    assert [p["name"] for p in payments["data"]] == [payment["name"]]
    invoice = shop.buyer_api.post("invoice-payment", {"invoiceTitle": "ACME"},
                                  params={"id": f"{shop.org}/{payment['name']}"})
    page = f"/console/account/payments/{shop.org}/{payment['name']}/invoice"
    assert invoice["status"] == "ok" and invoice["data"].endswith(page)
    stored = shop.get("payment", payment["name"])
    assert (stored["invoiceUrl"], stored["invoiceTitle"]) == (invoice["data"], "ACME")


def test_a_per_user_limit_counts_paid_orders(shop: Shop) -> None:
    product = shop.product(maxPerUser=2, quantity=10)
    first = shop.place(product, quantity=2)
    waiting = shop.place(product)  # placed while the first is unpaid: it passes, and is checked at payment
    assert shop.pay(first["name"], "dummy")["status"] == "ok"
    url = f"{shop.server.url}/api/place-order"
    refused = shop.buyer_api.http.post(url, params={"owner": shop.org}, json={"productInfos": [{"name": product}]})
    assert refused.status_code == 409 and "limited to 2 per user" in refused.json()["msg"]
    late = shop.buyer_api.http.post(f"{shop.server.url}/api/pay-order",
                                    params={"id": f"{shop.org}/{waiting['name']}", "providerName": "dummy"})
    assert late.status_code == 409 and "limited to 2 per user" in late.json()["msg"]
    assert shop.get("order", waiting["name"])["state"] == "Created"
    assert shop.get("product", product)["quantity"] == 8
