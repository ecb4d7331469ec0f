"""A shop for each test: an organization with its application, a buyer who signs in, Dummy and
Balance payment providers, and a product sold through both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.compat.sdk import Tenant
from tests.support import Api, ServerProcess, unique

PASSWORD = "shop-password-1234"


@dataclass
class Shop:
    server: ServerProcess
    admin: Api
    tenant: Tenant
    buyer: str
    buyer_api: Api

    @property
    def org(self) -> str:
        return self.tenant.organization

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        body = {"owner": self.org, "name": unique(kind), **fields}
        answer = self.admin.post(f"add-{kind}", body)
        assert answer["status"] == "ok", answer
        return body

    def product(self, **fields: Any) -> str:
        defaults = {"displayName": "A thing", "price": 10.5, "currency": "USD", "quantity": 5,
                    "providers": ["dummy", "balance"], "state": "Published"}
        return self.add("product", **{**defaults, **fields})["name"]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        answer = self.admin.get(f"get-{kind}", id=f"{self.org}/{name}")
        assert answer["status"] == "ok", answer
        return answer["data"]

    def user(self, name: str | None = None) -> dict[str, Any]:
        return self.get("user", name or self.buyer)

    def place(self, product: str, quantity: int = 1, api: Api | None = None, **line: Any) -> dict[str, Any]:
        answer = (api or self.buyer_api).post("place-order", {"productInfos": [
            {"name": product, "quantity": quantity, **line}]}, params={"owner": self.org})
        assert answer["status"] == "ok", answer
        return answer["data"]

    def pay(self, order: str, provider: str, api: Api | None = None) -> dict[str, Any]:
        return (api or self.buyer_api).post("pay-order", params={"id": f"{self.org}/{order}",
                                                                 "providerName": provider})

    def transactions(self) -> list[dict[str, Any]]:
        answer = self.admin.get("get-transactions", owner=self.org)
        assert answer["status"] == "ok", answer
        return answer["data"]

    def recharge(self, amount: float, user: str | None = None) -> None:
        """An administrator's add-transaction, which moves the user's balance as in Casdoor."""
        self.add("transaction", user=user or self.buyer, tag="User", category="Recharge", amount=amount,
                 currency="USD")


def new_buyer(admin: Api, server: ServerProcess, tenant: Tenant, **fields: Any) -> tuple[str, Api]:
    name = unique("buyer")
    answer = admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD,
                                     "email": f"{name}@example.com", **fields})
    assert answer["status"] == "ok", answer
    api = Api(server.url)
    assert api.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    return name, api


@pytest.fixture
def shop(server: ServerProcess, admin: Api, tenant: Tenant) -> Shop:
    buyer, api = new_buyer(admin, server, tenant)
    for name, kind_ in (("dummy", "Dummy"), ("balance", "Balance")):
        answer = admin.post("add-provider", {"owner": tenant.organization, "name": name, "category": "Payment",
                                             "type": kind_})
        assert answer["status"] == "ok", answer
    return Shop(server, admin, tenant, buyer, api)
