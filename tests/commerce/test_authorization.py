"""Who may call each order and payment route: a matrix of callers x routes. The buyer, an
administrator of the shop's organization and its application may; a signed-out caller (401),
another user of the organization, another organization's administrator and application (403) may
not, and a refused call changes nothing and is recorded as one error event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from tests.commerce.conftest import PASSWORD, Shop, new_buyer
from tests.compat.sdk import new_tenant
from tests.identity.test_events_recorded import events
from tests.support import Api

ALLOWED = ("buyer", "org-admin", "application")
REFUSED = {"anonymous": 401, "other-user": 403, "other-org-admin": 403, "other-application": 403}


@dataclass
class Caller:
    http: requests.Session
    params: dict[str, str]


def _callers(shop: Shop) -> dict[str, Caller]:
    other = new_tenant(shop.admin)
    _, other_user = new_buyer(shop.admin, shop.server, shop.tenant)
    admin_name, _ = new_buyer(shop.admin, shop.server, shop.tenant, isAdmin=True)
    org_admin = Api(shop.server.url)
    assert org_admin.login(admin_name, PASSWORD, shop.org, shop.tenant.application)["status"] == "ok"
    foreign_name, _ = new_buyer(shop.admin, shop.server, other, isAdmin=True)
    foreign = Api(shop.server.url)
    assert foreign.login(foreign_name, PASSWORD, other.organization, other.application)["status"] == "ok"
    return {
        "buyer": Caller(shop.buyer_api.http, {}),
        "org-admin": Caller(org_admin.http, {}),
        "application": Caller(requests.Session(), {"clientId": shop.tenant.client_id,
                                                   "clientSecret": shop.tenant.client_secret}),
        "anonymous": Caller(requests.Session(), {}),
        "other-user": Caller(other_user.http, {}),
        "other-org-admin": Caller(foreign.http, {}),
        "other-application": Caller(requests.Session(), {"clientId": other.client_id,
                                                         "clientSecret": other.client_secret}),
    }


# Each route: (method, path, params, json) built on a fresh order of the buyer, and what must hold
# after a refused call (the order untouched).
Route = Callable[[Shop, str], tuple[str, str, dict[str, str], dict | None]]


def _paid(shop: Shop, product: str) -> dict:
    order = shop.place(product)
    return shop.pay(order["name"], "dummy")["data"]


ROUTES: dict[str, Route] = {
    "place-order": lambda shop, product: ("POST", "place-order", {"owner": shop.org, "userName": shop.buyer},
                                          {"productInfos": [{"name": product}]}),
    "buy-product": lambda shop, product: ("POST", "buy-product", {"id": f"{shop.org}/{product}",
                                                                  "providerName": "dummy",
                                                                  "userName": shop.buyer}, None),
    "pay-order": lambda shop, product: ("POST", "pay-order", {"id": f"{shop.org}/{shop.place(product)['name']}",
                                                              "providerName": "dummy"}, None),
    "cancel-order": lambda shop, product: ("POST", "cancel-order",
                                           {"id": f"{shop.org}/{shop.place(product)['name']}"}, None),
    "get-user-orders": lambda shop, product: ("GET", "get-user-orders", {"owner": shop.org, "user": shop.buyer}, None),
    "get-user-payments": lambda shop, product: ("GET", "get-user-payments", {"owner": shop.org, "user": shop.buyer},
                                                None),
    "invoice-payment": lambda shop, product: ("POST", "invoice-payment",
                                              {"id": f"{shop.org}/{_paid(shop, product)['name']}"}, None),
    "notify-payment": lambda shop, product: ("POST", f"notify-payment/{shop.org}/{_paid(shop, product)['name']}",
                                             {}, None),
}
# A buyer's own notification of a Dummy payment is no provider's: only administrators may ask.
ALLOWED_FOR = {"notify-payment": ("org-admin", "application")}
# The provider's callback is anonymous by nature: an unsigned one is refused as not the provider's.
REFUSED_FOR = {"notify-payment": {**dict.fromkeys(REFUSED, 403), "buyer": 403}}


@pytest.mark.parametrize("route", list(ROUTES))
def test_the_matrix_of_callers(shop: Shop, route: str) -> None:
    callers = _callers(shop)
    product = shop.product(quantity=100)
    allowed = ALLOWED_FOR.get(route, ALLOWED)
    problems = []
    for name, caller in callers.items():
        method, path, params, body = ROUTES[route](shop, product)
        before = (shop.get("product", product), len(shop.transactions()),
                  len(shop.admin.get("get-orders", owner=shop.org)["data"]))
        marker = f"{route}.{name}"
        response = caller.http.request(method, f"{shop.server.url}/api/{path}",
                                       params={**params, **caller.params, "matrixCell": marker}, json=body, timeout=30)
        expected = 200 if name in allowed else REFUSED_FOR.get(route, REFUSED)[name]
        if response.status_code != expected:
            problems.append(f"{route} by {name}: {response.status_code} (expected {expected}) {response.text[:200]}")
        if expected != 200:
            after = (shop.get("product", product), len(shop.transactions()),
                     len(shop.admin.get("get-orders", owner=shop.org)["data"]))
            if after != before:
                problems.append(f"{route} by {name}: refused, yet {before} became {after}")
            recorded = [e for e in events(shop.server, action=route, outcome="error")
                        if f"matrixCell={marker}" in e["request"]["uri"]]
            if len(recorded) != 1:
                problems.append(f"{route} by {name}: refused, recorded as {len(recorded)} error events")
    assert not problems, "\n".join(problems)
