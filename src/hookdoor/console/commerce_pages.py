"""The console's shop: a product's page with its buy button, the account's orders and payments, an
order's page with pay and cancel, a payment's invoice. Each form performs the API's action
(buy-product, pay-order, cancel-order) through commerce/'s service, in the API's unit of work,
its CSRF token checked first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.commerce.repository import CommerceRepository
from hookdoor.commerce.schemas import PAYMENT_CATEGORY
from hookdoor.commerce.service import Commerce
from hookdoor.console.web import ConsoleRoute, acting, read_form, redirect, render, viewing
from hookdoor.errors import BadRequest, Forbidden, NotFound

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
ORDERS = "/console/account/orders"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _order_page(owner: str, name: str) -> str:
    return f"{ORDERS}/{owner}/{name}"


async def _providers(repo: CommerceRepository, owner: str, names: list[str]) -> list[dict[str, Any]]:
    """The payment providers a product is sold through, as a buyer may see them (name and type)."""
    found = [await repo.get("provider", owner, name) for name in names]
    return [{"name": p["name"], "type": p.get("type") or "", "displayName": p.get("displayName") or p["name"]}
            for p in found if p and p.get("category") == PAYMENT_CATEGORY]


def _readable(context: Any, obj: dict[str, Any] | None, what: str, owner: str, name: str) -> dict[str, Any]:
    if obj is None:
        raise NotFound(f"the {what} {owner}/{name} does not exist")
    principal = context.principal
    if not (principal.is_user(obj["owner"], obj.get("user") or "") or principal.manages(obj["owner"])):
        raise Forbidden(f"{what} {owner}/{name} is another user's")
    return obj


@router.get("/console/shop/{owner}/{name}")
async def product_page(request: Request, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        principal = context.principal
        if not (principal.organization == owner or principal.manages(owner)):
            raise Forbidden(f"the products of {owner!r} are its members'")
        repo = CommerceRepository(context.db)
        product = await repo.get("product", owner, name)
        if product is None:
            raise NotFound(f"the product {owner}/{name} does not exist")
        providers = await _providers(repo, owner, list(product.get("providers") or []))
        return render(request, "commerce/product.html", active="orders", product=product, providers=providers,
                      can_buy=principal.kind == "user" and principal.organization == owner)


@router.post("/console/shop/{owner}/{name}/buy")
async def buy(request: Request, owner: str, name: str) -> Response:
    """Place an order of the product and pay it; the order's page then shows where it stands (and
    the provider's page to go on to, for a payment made elsewhere)."""
    form = await read_form(request)
    quantity = _text(form, "quantity") or "1"
    if not quantity.isdigit():
        raise BadRequest("invalid field quantity: a whole number")
    line: dict[str, Any] = {"name": name, "quantity": int(quantity)}
    if _text(form, "price"):
        line["price"] = _text(form, "price")
    async with acting(request, "place-order", form) as context:
        order = await Commerce(context).place_order(owner, "", {"productInfos": [line]})
    if provider := _text(form, "provider"):
        async with acting(request, "pay-order", form) as context:
            await Commerce(context).pay_order(f"{owner}/{order['name']}", provider)
    return redirect(_order_page(owner, order["name"]))


@router.get(ORDERS)
async def orders_page(request: Request) -> Response:
    """The account's orders and payments."""
    async with viewing(request) as context:
        principal = context.principal
        if principal.kind != "user":
            raise Forbidden("the orders page is a signed-in user's")
        commerce = Commerce(context)
        orders = await commerce.of_user("order", principal.organization, principal.name)
        payments = await commerce.of_user("payment", principal.organization, principal.name)
        user = principal.user or {}
        return render(request, "commerce/orders.html", active="orders", orders=orders, payments=payments,
                      balance=user.get("balance") or 0, currency=user.get("balanceCurrency") or "")


@router.get(ORDERS + "/{owner}/{name}")
async def order_page(request: Request, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        repo = CommerceRepository(context.db)
        order = _readable(context, await repo.get("order", owner, name), "order", owner, name)
        payment = await repo.get("payment", owner, order.get("payment") or "") if order.get("payment") else None
        products = [await repo.get("product", owner, p) for p in order.get("products") or []]
        names = set.intersection(*(set(p.get("providers") or []) for p in products if p)) if any(products) else set()
        providers = await _providers(repo, owner, sorted(names))
        return render(request, "commerce/order.html", active="orders", order=order, payment=payment,
                      providers=providers)


@router.post(ORDERS + "/{owner}/{name}/pay")
async def pay(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    async with acting(request, "pay-order", form) as context:
        await Commerce(context).pay_order(f"{owner}/{name}", _text(form, "provider"))
    return redirect(_order_page(owner, name))


@router.post(ORDERS + "/{owner}/{name}/cancel")
async def cancel(request: Request, owner: str, name: str) -> Response:
    form = await read_form(request)
    async with acting(request, "cancel-order", form) as context:
        await Commerce(context).cancel_order(f"{owner}/{name}")
    return redirect(_order_page(owner, name))


@router.get("/console/account/payments/{owner}/{name}/invoice")
async def invoice_page(request: Request, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        repo = CommerceRepository(context.db)
        payment = _readable(context, await repo.get("payment", owner, name), "payment", owner, name)
        if payment.get("state") != "Paid":
            raise NotFound(f"the payment {owner}/{name} has no invoice: it is not paid")
        organization = await repo.get("organization", "admin", owner) or {}
        return render(request, "commerce/invoice.html", active="orders", payment=payment,
                      seller=organization.get("displayName") or owner)
