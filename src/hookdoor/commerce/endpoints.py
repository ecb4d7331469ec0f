"""Casdoor's order and payment routes (controllers/order_pay.go, order.go, payment.go, product.go):
place-order, pay-order, cancel-order, buy-product, get-user-orders, get-user-payments,
invoice-payment and notify-payment/<owner>/<payment>, the payment provider's callback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from hookdoor.api.context import ApiContext, context_of
from hookdoor.api.envelope import affected, json_object, ok
from hookdoor.commerce.providers import SIGNATURE_HEADER
from hookdoor.commerce.service import Commerce
from hookdoor.events.recorder import record
from hookdoor.identity.service import parse_id

router = APIRouter(prefix="/api", tags=["orders and payments"])
Id = Query("", max_length=300, description="The object's id, owner/name")
Owner = Query("", max_length=100, description="The organization")
UserName = Query("", max_length=100, description="The user the order is for (administrators only)")
ProviderName = Query("", max_length=100, description="The payment provider")


def _context(name: str) -> Any:
    return Depends(context_of(name), scope="function")


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema}}}}


PRODUCT_INFOS = {"type": "object", "required": ["productInfos"], "properties": {
    "productInfos": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "quantity": {"type": "integer"}, "price": {"type": "number"},
        "pricingName": {"type": "string"}, "planName": {"type": "string"}}}},
    "couponCode": {"type": "string"}}}
PAYMENT = {"type": "object", "additionalProperties": True}


@router.post("/place-order", openapi_extra=_json_body(PRODUCT_INFOS))
async def place_order(owner: str = Owner, userName: str = UserName,  # noqa: N803 - Casdoor's parameter
                      context: ApiContext = _context("place-order")) -> dict[str, Any]:
    body = await json_object(context.request)
    return ok(await Commerce(context).place_order(owner, userName, body))


@router.post("/pay-order")
async def pay_order(id: str = Id, providerName: str = ProviderName,  # noqa: A002, N803 - Casdoor's names
                    context: ApiContext = _context("pay-order")) -> dict[str, Any]:
    payment, attach_info = await Commerce(context).pay_order(id, providerName)
    return ok(payment, attach_info)


@router.post("/cancel-order")
async def cancel_order(id: str = Id, context: ApiContext = _context("cancel-order")) -> dict[str, Any]:  # noqa: A002
    return affected(await Commerce(context).cancel_order(id))


@router.post("/buy-product")
async def buy_product(
    id: str = Id, providerName: str = ProviderName, userName: str = UserName,  # noqa: A002, N803
    pricingName: str = Query("", max_length=100), planName: str = Query("", max_length=100),  # noqa: N803
    customPrice: str = Query("", max_length=30),  # noqa: N803
    context: ApiContext = _context("buy-product"),
) -> dict[str, Any]:
    """Casdoor's BuyProduct: place-order of one of the product, then pay-order; each step also
    recorded as its own event, so that a webhook for pay-order hears of this purchase too."""
    owner, name = parse_id(id)
    line: dict[str, Any] = {"name": name, "quantity": 1, "pricingName": pricingName, "planName": planName}
    if customPrice:
        line["price"] = customPrice
    commerce = Commerce(context)
    order = await commerce.place_order(owner, userName, {"productInfos": [line]})
    await record(context.db, context.action.derived("place-order"), outcome="ok", status_code=200)
    payment, attach_info = await commerce.pay_order(f"{owner}/{order['name']}", providerName)
    await record(context.db, context.action.derived("pay-order"), outcome="ok", status_code=200)
    return ok(payment, attach_info)


@router.get("/get-user-orders")
async def get_user_orders(owner: str = Owner, user: str = Query("", max_length=100),
                          context: ApiContext = _context("get-user-orders")) -> dict[str, Any]:
    return ok(await Commerce(context).of_user("order", owner, user))


@router.get("/get-user-payments")
async def get_user_payments(owner: str = Owner, user: str = Query("", max_length=100),
                            context: ApiContext = _context("get-user-payments")) -> dict[str, Any]:
    return ok(await Commerce(context).of_user("payment", owner, user))


@router.post("/invoice-payment", openapi_extra=_json_body(PAYMENT))
async def invoice_payment(id: str = Id, context: ApiContext = _context("invoice-payment")) -> dict[str, Any]:  # noqa: A002
    raw = await context.request.body()
    body = await json_object(context.request) if raw.strip() else {}
    return ok(await Commerce(context).invoice_payment(id, body))


async def _notify(context: ApiContext, owner: str, name: str) -> dict[str, Any]:
    body = await context.request.body()
    signature = context.request.headers.get(SIGNATURE_HEADER)
    return ok(await Commerce(context).notify_payment(owner, name, body, signature))


@router.post("/notify-payment/{owner}/{payment}", openapi_extra=_json_body(PAYMENT))
async def notify_payment(owner: str, payment: str, context: ApiContext = _context("notify-payment")) -> dict[str, Any]:
    """The provider's report of a payment's outcome, signed with its key (providers.py)."""
    return await _notify(context, owner, payment)


@router.post("/notify-payment", openapi_extra=_json_body(PAYMENT))
async def notify_payment_by_id(id: str = Id, context: ApiContext = _context("notify-payment")) -> dict[str, Any]:  # noqa: A002
    """The SDK's notify_payment names the payment in ``id`` rather than in the path."""
    return await _notify(context, *parse_id(id))
