"""The rules of buying: placing, paying and cancelling orders, payments and their notifications,
balances and their transactions, and subscriptions to plans (Casdoor's object/order_pay.go,
object/payment.go, object/transaction.go, object/subscription.go).

Nothing here commits: the request's unit of work does. Whatever a provider is asked (the HTTP
provider's checkout) is asked before the first write, so no transaction waits on the network with
a row locked (on SQLite: the write lock).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.commerce import subscriptions
from hookdoor.commerce.providers import (
    HttpPaymentProvider,
    PayRequest,
    check_payment_provider,
    provider_for,
)
from hookdoor.commerce.repository import CommerceRepository
from hookdoor.commerce.schemas import (
    BALANCE,
    CUSTOM_HTTP,
    ORDER_CANCELED,
    ORDER_CREATED,
    ORDER_PAID,
    ORDER_STATE_OF_PAYMENT,
    PAYMENT_CANCELED,
    PAYMENT_CATEGORY,
    PAYMENT_CREATED,
    PAYMENT_ERROR,
    PAYMENT_PAID,
    PURCHASE,
    RECHARGE,
    TERMINAL_PAYMENT_STATES,
    USER_TAG,
    ProductLine,
    as_number,
    currency_of,
    money,
    product_lines,
    refuse_transition,
    stored_money,
)
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden, HookdoorError, NotFound
from hookdoor.identity.registry import kind
from hookdoor.identity.service import parse_id
from hookdoor.oauth.service import issuer_of_request


class InsufficientBalance(HookdoorError):
    status_code = 402


def time_id(prefix: str) -> str:
    """Casdoor's ``order_<time id>``: sortable by time, unique by its random tail."""
    return f"{prefix}_{utcnow():%Y%m%d%H%M%S}_{secrets.token_hex(3)}"


def _now() -> str:
    return rfc3339(utcnow())


@dataclass(frozen=True)
class Priced:
    """A product line with the product it names and its price, as the order records it."""

    line: ProductLine
    product: dict[str, Any]
    price: Decimal

    def info(self, owner: str) -> dict[str, Any]:
        product = self.product
        info = {"owner": owner, "name": product["name"], "displayName": product.get("displayName") or "",
                "image": product.get("image") or "", "detail": product.get("detail") or "",
                "price": as_number(self.price), "currency": currency_of(product),
                "isRecharge": bool(product.get("isRecharge")), "quantity": self.line.quantity}
        info.update({k: v for k, v in (("pricingName", self.line.pricing_name),
                                       ("planName", self.line.plan_name)) if v})
        return info


class Commerce:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.repo = CommerceRepository(context.db)

    # ---- who may do what ------------------------------------------------------------------------

    async def buyer(self, owner: str, user_name: str) -> dict[str, Any]:
        """The user an order is for: the caller, or one an administrator of ``owner`` names."""
        principal = self.context.require_login()
        if not owner:
            raise BadRequest("invalid parameter owner: the organization of the products is required")
        if user_name and not (principal.is_user(owner, user_name) or principal.manages(owner)):
            raise Forbidden("only an administrator may place an order for another user")
        if not user_name:
            if principal.kind != "user":
                raise BadRequest("invalid parameter userName: name the user the order is for")
            if principal.organization != owner:
                raise Forbidden(f"you may buy only your own organization's products, not {owner!r}'s")
            user_name = principal.name
        user = await self.repo.get("user", owner, user_name)
        if user is None:
            raise NotFound(f"the user {owner}/{user_name} does not exist")
        return user

    def _require_own(self, obj: dict[str, Any], what: str) -> None:
        principal = self.context.require_login()
        if not (principal.is_user(obj["owner"], obj.get("user") or "") or principal.manages(obj["owner"])):
            raise Forbidden(f"{what} {obj['owner']}/{obj['name']} is another user's")

    async def _existing(self, singular: str, object_id: str) -> dict[str, Any]:
        owner, name = parse_id(object_id)
        obj = await self.repo.get(singular, owner, name)
        if obj is None:
            raise NotFound(f"the {singular} {owner}/{name} does not exist")
        return obj

    def _concerns(self, obj: dict[str, Any], singular: str, user: dict[str, Any] | None = None) -> None:
        subject = kind("user").mask(user, may_manage=False) if user else None
        self.context.action.concerns(obj=kind(singular).mask(obj, may_manage=False),
                                     organization=obj["owner"], subject=subject)

    # ---- placing an order -----------------------------------------------------------------------

    async def place_order(self, owner: str, user_name: str, body: Any) -> dict[str, Any]:
        lines = product_lines(body)
        user = await self.buyer(owner, user_name)
        priced = [await self._priced(owner, line, user["name"]) for line in lines]
        currency = currency_of(priced[0].product)
        if any(currency_of(p.product) != currency for p in priced):
            raise BadRequest(f"invalid field productInfos: the products of one order must share a currency "
                             f"({currency})")
        total = sum((p.price * p.line.quantity for p in priced), Decimal(0))
        name = time_id("order")
        now = _now()
        order = {"owner": owner, "name": name, "displayName": name, "createdTime": now, "updatedTime": now,
                 "updateTime": "", "products": [p.product["name"] for p in priced],
                 "productInfos": [p.info(owner) for p in priced], "user": user["name"], "payment": "",
                 "price": as_number(total), "currency": currency, "state": ORDER_CREATED, "message": "",
                 "couponName": "", "couponDiscount": 0}
        await self.repo.insert("order", order)
        self._concerns(order, "order", user)
        return order

    async def _priced(self, owner: str, line: ProductLine, user_name: str) -> Priced:
        product = await self.repo.get("product", owner, line.name)
        if product is None:
            raise NotFound(f"the product {owner}/{line.name} does not exist")
        if product.get("state") not in (None, "", "Published"):
            raise Conflict(f"the product {owner}/{line.name} is not for sale: its state is {product['state']}")
        currency = currency_of(product)
        if product.get("isRecharge"):
            return Priced(line, product, self._recharge_price(product, line, currency))
        stock = int(product.get("quantity") or 0)
        if stock < line.quantity:
            detail = "sold out" if stock <= 0 else f"only {stock} left"
            raise Conflict(f"the product {owner}/{line.name} is {detail}")
        await self._within_limit(product, user_name, line.quantity)
        if line.plan_name or line.pricing_name:
            await subscriptions.check_plan_line(self.repo, owner, line)
        return Priced(line, product, stored_money(product.get("price"), currency))

    async def _within_limit(self, product: dict[str, Any], user_name: str, quantity: int,
                            exclude_order: str = "") -> None:
        """Hookdoor's ``maxPerUser`` on a product: how many of it one user may buy (paid orders count)."""
        limit = int(product.get("maxPerUser") or 0)
        if not limit:
            return
        bought = sum(int(info.get("quantity") or 1)
                     for order in await self.repo.of_user("order", product["owner"], user_name)
                     if order.get("state") == ORDER_PAID and order["name"] != exclude_order
                     for info in order.get("productInfos") or [] if info.get("name") == product["name"])
        if bought + quantity > limit:
            raise Conflict(f"the product {product['owner']}/{product['name']} is limited to {limit} per user; "
                           f"{bought} bought already")

    @staticmethod
    def _recharge_price(product: dict[str, Any], line: ProductLine, currency: str) -> Decimal:
        price = money(line.price, currency, f"productInfos.{line.name}.price")
        if price <= 0:
            raise BadRequest(f"invalid field productInfos.{line.name}.price: the custom price should be greater "
                             "than zero")
        options = [stored_money(o, currency) for o in product.get("rechargeOptions") or []]
        if product.get("disableCustomRecharge") and price not in options:
            raise BadRequest(f"invalid field productInfos.{line.name}.price: choose one of the recharge options "
                             f"{[str(o) for o in options]}")
        return price

    # ---- paying ---------------------------------------------------------------------------------

    async def pay_order(self, order_id: str, provider_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        order = await self._existing("order", order_id)
        self._require_own(order, "order")
        if order.get("state") != ORDER_CREATED:
            raise refuse_transition("order", order, "pay")
        owner = order["owner"]
        products = [await self._product_of(owner, name) for name in order.get("products") or []]
        if not products:
            raise BadRequest(f"order {owner}/{order['name']} has no products")
        provider = await self._payment_provider(owner, provider_name, products)
        user = await self.repo.get("user", owner, order.get("user") or "")
        if user is None:
            raise NotFound(f"the user {owner}/{order.get('user')} does not exist")
        payment_name = time_id("payment")
        request = self._pay_request(order, products, user, payment_name)
        answer = await provider_for(provider, self.context.request.app.state.target_policy).pay(request)
        # Writes begin here: claim the order first, so that a second pay-order of it finds it taken.
        now = _now()
        claimed = {**order, "payment": payment_name, "updatedTime": now}
        if answer.paid:
            claimed.update(state=ORDER_PAID, message="Payment successful", updateTime=now)
        if not await self.repo.replace_if("order", order, claimed, "state", "payment"):
            raise Conflict(f"order {owner}/{order['name']} was paid or changed meanwhile")
        await self._supersede(order)
        payment = self._payment(order, products, provider, user, payment_name, request, answer, now)
        await subscriptions.start_for(self.repo, order, payment)
        await self.repo.insert("payment", payment)
        if answer.paid:
            await self._settle(order, payment, provider, charge_balance=provider.get("type") == BALANCE)
        self._concerns(payment, "payment", user)
        return payment, {}

    async def _product_of(self, owner: str, name: str) -> dict[str, Any]:
        product = await self.repo.get("product", owner, name)
        if product is None:
            raise NotFound(f"the product {owner}/{name} does not exist")
        return product

    async def _payment_provider(self, owner: str, name: str, products: list[dict[str, Any]]) -> dict[str, Any]:
        if not name:
            raise BadRequest("invalid parameter providerName: the payment provider is required")
        provider = await self.repo.get("provider", owner, name)
        if provider is None or provider.get("category") != PAYMENT_CATEGORY:
            raise NotFound(f"the payment provider {owner}/{name} does not exist")
        for product in products:
            if name not in (product.get("providers") or []):
                raise BadRequest(f"invalid parameter providerName: the product {owner}/{product['name']} "
                                 f"is not sold through {name}")
        return provider

    def _pay_request(self, order: dict[str, Any], products: list[dict[str, Any]], user: dict[str, Any],
                     payment_name: str) -> PayRequest:
        owner, origin = order["owner"], issuer_of_request(self.context.request)
        return_url = f"{origin}/console/account/orders/{owner}/{order['name']}"
        success_url = products[0].get("successUrl")
        if success_url:
            return_url = f"{success_url}?transactionOwner={owner}&transactionName={payment_name}"
        currency = currency_of(order)
        return PayRequest(
            payment_name=payment_name, price=stored_money(order.get("price"), currency), currency=currency,
            product_name=", ".join(p["name"] for p in products),
            product_display_name=", ".join(p.get("displayName") or p["name"] for p in products),
            payer=f"{owner}/{user['name']}", return_url=return_url,
            notify_url=f"{origin}/api/notify-payment/{owner}/{payment_name}")

    @staticmethod
    def _payment(order: dict[str, Any], products: list[dict[str, Any]], provider: dict[str, Any],
                 user: dict[str, Any], name: str, request: PayRequest, answer: Any, now: str) -> dict[str, Any]:
        return {
            "owner": order["owner"], "name": name, "displayName": name, "createdTime": now, "updatedTime": now,
            "provider": provider["name"], "type": provider.get("type") or "",
            "products": [p["name"] for p in products], "productsDisplayName": request.product_display_name,
            "productName": request.product_name, "productDisplayName": request.product_display_name,
            "detail": ", ".join(p.get("description") or "" for p in products),
            "currency": request.currency, "price": as_number(request.price), "user": user["name"],
            "personName": user.get("displayName") or user["name"], "personEmail": user.get("email") or "",
            "order": order["name"], "payUrl": answer.pay_url, "successUrl": request.return_url,
            "returnUrl": request.return_url, "outOrderId": answer.out_order_id,
            "state": PAYMENT_PAID if answer.paid else PAYMENT_CREATED,
            "message": "Payment successful" if answer.paid else "", "invoiceUrl": "",
        }

    async def _supersede(self, order: dict[str, Any]) -> None:
        """A new checkout of an order ends its earlier one: that payment can no longer pay it."""
        previous = order.get("payment")
        if not previous:
            return
        payment = await self.repo.get("payment", order["owner"], previous)
        if payment and payment.get("state") == PAYMENT_CREATED:
            ended = {**payment, "state": PAYMENT_CANCELED, "message": "Replaced by a new payment",
                     "updatedTime": _now()}
            await self.repo.replace_if("payment", payment, ended, "state")
            await subscriptions.end_pending(self.repo, payment)

    async def _settle(self, order: dict[str, Any], payment: dict[str, Any], provider: dict[str, Any], *,
                      charge_balance: bool) -> None:
        """What a paid payment implies: its transactions (and balance changes), stock, subscriptions."""
        currency = currency_of(order)
        price = stored_money(payment.get("price"), currency)
        ledger = Ledger(self.repo)
        await ledger.add(payment, provider, PURCHASE, -price, changes_balance=charge_balance)
        recharge = sum((stored_money(i.get("price"), currency) * int(i.get("quantity") or 1)
                        for i in order.get("productInfos") or [] if i.get("isRecharge")), Decimal(0))
        if recharge:
            await ledger.add(payment, provider, RECHARGE, recharge, changes_balance=True)
        await self._take_stock(order)
        await subscriptions.activate_for(self.context, self.repo, payment)

    async def _take_stock(self, order: dict[str, Any]) -> None:
        for info in order.get("productInfos") or []:
            product = await self.repo.locked("product", order["owner"], info["name"])
            if product is None:
                raise NotFound(f"the product {order['owner']}/{info['name']} does not exist")
            quantity = int(info.get("quantity") or 1)
            # Checked again under the product's lock: two orders placed at once both passed it.
            await self._within_limit(product, order["user"], quantity, exclude_order=order["name"])
            stock = int(product.get("quantity") or 0)
            if not product.get("isRecharge"):
                if stock < quantity:
                    raise Conflict(f"the product {order['owner']}/{info['name']} is sold out")
                product["quantity"] = stock - quantity
            product["sold"] = int(product.get("sold") or 0) + quantity
            await self.repo.replace("product", product)

    # ---- cancelling -----------------------------------------------------------------------------

    async def cancel_order(self, order_id: str) -> bool:
        order = await self._existing("order", order_id)
        self._require_own(order, "order")
        if order.get("state") != ORDER_CREATED:
            raise refuse_transition("order", order, "cancel")
        now = _now()
        cancelled = {**order, "state": ORDER_CANCELED, "message": "Canceled by user", "updateTime": now,
                     "updatedTime": now}
        if not await self.repo.replace_if("order", order, cancelled, "state", "payment"):
            raise Conflict(f"order {order['owner']}/{order['name']} was paid or changed meanwhile")
        await self._supersede(order)
        self._concerns(cancelled, "order", await self._user_of(order))
        return True

    # ---- reading --------------------------------------------------------------------------------

    async def of_user(self, singular: str, owner: str, user: str) -> list[dict[str, Any]]:
        principal = self.context.require_login()
        if not owner or not user:
            raise BadRequest("invalid parameters owner and user: both are required")
        if not (principal.is_user(owner, user) or principal.manages(owner)):
            raise Forbidden(f"you may read only your own {singular}s")
        listed = await self.repo.get("user", owner, user)
        subject = kind("user").mask(listed, may_manage=False) if listed else None
        self.context.action.concerns(organization=owner, subject=subject)
        return await self.repo.of_user(singular, owner, user)

    # ---- invoices and notifications -------------------------------------------------------------

    async def invoice_payment(self, payment_id: str, body: dict[str, Any]) -> str:
        payment = await self._existing("payment", payment_id)
        self._require_own(payment, "payment")
        if payment.get("state") != PAYMENT_PAID:
            raise refuse_transition("payment", payment, "invoice")
        invoiced = {**payment, **_invoice_fields(body), "updatedTime": _now()}
        invoiced["invoiceUrl"] = (f"{issuer_of_request(self.context.request)}/console/account/payments/"
                                  f"{payment['owner']}/{payment['name']}/invoice")
        await self.repo.replace("payment", invoiced)
        self._concerns(invoiced, "payment", await self._user_of(payment))
        return invoiced["invoiceUrl"]

    async def notify_payment(self, owner: str, name: str, body: bytes, signature: str | None) -> dict[str, Any]:
        payment = await self.repo.get("payment", owner, name)
        if payment is None:
            raise NotFound(f"the payment {owner}/{name} does not exist")
        provider = await self.repo.get("provider", owner, payment.get("provider") or "")
        if provider is None:
            raise NotFound(f"the payment provider {owner}/{payment.get('provider')} does not exist")
        state, message = self._reported(provider, payment, body, signature)
        if payment.get("state") in TERMINAL_PAYMENT_STATES:
            return await self._repeat(payment)
        now = _now()
        reported = {**payment, "state": state, "message": message, "updatedTime": now}
        if not await self.repo.replace_if("payment", payment, reported, "state"):
            return await self._repeat(payment)
        await self._follow(reported, provider)
        self._concerns({**reported, "repeat": False}, "payment", await self._user_of(payment))
        return reported

    def _reported(self, provider: dict[str, Any], payment: dict[str, Any], body: bytes,
                  signature: str | None) -> tuple[str, str]:
        """The state a notification reports, once it is known to come from the provider."""
        if provider.get("type") != CUSTOM_HTTP:
            # Dummy and Balance pay at once, so nothing is left to report; only the organization's
            # administrators (an application's SDK) may ask, and hear that it was a repeat.
            if not self.context.principal.manages(payment["owner"]):
                raise Forbidden("only the payment's provider or the organization's administrators may notify")
            return PAYMENT_PAID, ""
        report = HttpPaymentProvider(provider, self.context.request.app.state.target_policy).notification(
            body, signature)
        if report.order_id != payment.get("outOrderId"):
            raise BadRequest("invalid notification field orderId: it names another checkout of this provider")
        if report.state != PAYMENT_PAID:
            return report.state, report.message
        currency = currency_of(payment)
        if report.price != stored_money(payment.get("price"), currency) or report.currency != currency:
            return PAYMENT_ERROR, (f"the provider reported {report.price} {report.currency}, the payment is "
                                   f"{stored_money(payment.get('price'), currency)} {currency}")
        return PAYMENT_PAID, report.message or "Payment successful"

    async def _repeat(self, payment: dict[str, Any]) -> dict[str, Any]:
        """A notification of a payment already decided changes nothing; the event says it repeated."""
        self._concerns({**payment, "repeat": True}, "payment", await self._user_of(payment))
        return payment

    async def _user_of(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        return await self.repo.get("user", obj["owner"], obj.get("user") or "")

    async def _follow(self, payment: dict[str, Any], provider: dict[str, Any]) -> None:
        """The order follows its payment's outcome; a paid one is settled."""
        order = await self.repo.get("order", payment["owner"], payment.get("order") or "")
        if order is None:
            raise NotFound(f"the order {payment['owner']}/{payment.get('order')} does not exist")
        if order.get("state") != ORDER_CREATED or order.get("payment") != payment["name"]:
            raise refuse_transition("order", order, "settle")
        now = _now()
        state = ORDER_STATE_OF_PAYMENT[payment["state"]]
        message = "Payment successful" if state == ORDER_PAID else payment.get("message") or f"Payment {state}"
        followed = {**order, "state": state, "message": message, "updateTime": now, "updatedTime": now}
        if not await self.repo.replace_if("order", order, followed, "state", "payment"):
            raise Conflict(f"order {order['owner']}/{order['name']} changed meanwhile")
        if payment["state"] == PAYMENT_PAID:
            await self._settle(order, payment, provider, charge_balance=False)
        else:
            await subscriptions.end_pending(self.repo, payment)


INVOICE_FIELDS = ("personName", "personIdCard", "personEmail", "personPhone", "invoiceType", "invoiceTitle",
                  "invoiceTaxId", "invoiceRemark")


def _invoice_fields(body: dict[str, Any]) -> dict[str, str]:
    return {f: str(body[f])[:200] for f in INVOICE_FIELDS if isinstance(body.get(f), str) and body[f]}


class Ledger:
    """Transactions, and the balances they move: every balance change is one transaction."""

    def __init__(self, repo: CommerceRepository) -> None:
        self.repo = repo

    async def add(self, payment: dict[str, Any], provider: dict[str, Any], category: str, amount: Decimal, *,
                  changes_balance: bool) -> dict[str, Any]:
        name = uuid.uuid4().hex
        user = await self.repo.get("user", payment["owner"], payment["user"])
        transaction = {
            "owner": payment["owner"], "name": name, "displayName": name, "createdTime": _now(),
            "updatedTime": _now(), "application": (user or {}).get("signupApplication") or "", "domain": "",
            "category": category, "type": provider.get("category") or "", "subtype": provider.get("type") or "",
            "provider": provider["name"], "user": payment["user"], "tag": USER_TAG,
            "amount": as_number(amount), "currency": currency_of(payment), "payment": payment["name"],
            "state": PAYMENT_PAID,
        }
        if changes_balance:
            await self.change_balance(payment["owner"], payment["user"], amount, currency_of(payment))
        await self.repo.insert("transaction", transaction)
        return transaction

    async def change_balance(self, owner: str, user_name: str, amount: Decimal, currency: str) -> Decimal:
        user = await self.repo.locked("user", owner, user_name)
        if user is None:
            raise NotFound(f"the user {owner}/{user_name} does not exist")
        held_in = user.get("balanceCurrency") or currency
        if held_in != currency:
            raise BadRequest(f"the balance of {owner}/{user_name} is in {held_in}, not {currency}")
        balance = stored_money(user.get("balance"), currency) + amount
        credit = stored_money(user.get("balanceCredit"), currency)
        if amount < 0 and balance < credit:
            raise InsufficientBalance(f"insufficient balance: {owner}/{user_name} has "
                                      f"{balance - amount} {currency}, {-amount} {currency} is needed")
        user.update(balance=as_number(balance), balanceCurrency=currency, updatedTime=_now())
        await self.repo.replace("user", user)
        return balance


# ---- what saving a kind implies (identity/registry.py's hooks) ---------------------------------

async def check_new_provider(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """Payment providers (the other domains check theirs: the provider kind's hooks run in turn)."""
    check_payment_provider(context.request.app.state.target_policy, data)
    return {}


async def check_updated_provider(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_provider(context, data)


async def check_new_product(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    currency = currency_of(data)
    if money(data.get("price") or 0, currency, "price") < 0:
        raise BadRequest("invalid field price: must not be negative")
    for field in ("quantity", "sold", "maxPerUser"):
        value = data.get(field) or 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadRequest(f"invalid field {field}: a whole number, not negative")
    for field in ("providers", "rechargeOptions"):
        if not isinstance(data.get(field) or [], list):
            raise BadRequest(f"invalid field {field}: a list is expected")
    if not all(isinstance(name, str) for name in data.get("providers") or []):
        raise BadRequest("invalid field providers: a list of payment provider names is expected")
    for option in data.get("rechargeOptions") or []:
        money(option, currency, "rechargeOptions")
    return {}


async def check_updated_product(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_product(context, data)


async def check_new_plan(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    subscriptions.check_plan(data)
    return {}


async def check_updated_plan(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_plan(context, data)


async def check_new_subscription(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    subscriptions.check_subscription(data)
    return {}


async def check_updated_subscription(context: ApiContext, current: dict[str, Any],
                                     data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_subscription(context, data)


async def apply_new_transaction(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """An administrator's add-transaction moves the user's balance, as Casdoor's AddTransaction does
    (the balance itself is issued: nothing else writes it)."""
    currency = currency_of(data)
    amount = money(data.get("amount") or 0, currency, "amount")
    data["amount"] = as_number(amount)
    if data.get("tag") == USER_TAG and amount:
        if not data.get("user"):
            raise BadRequest("invalid field user: a transaction tagged User names its user")
        await Ledger(CommerceRepository(context.db)).change_balance(data["owner"], data["user"], amount, currency)
    return {}


TRANSACTION_HISTORY = ("owner", "user", "tag", "amount", "currency", "category", "payment")


async def check_updated_transaction(context: ApiContext, current: dict[str, Any],
                                    data: dict[str, Any]) -> dict[str, Any]:
    """A transaction is history: what it moved is not edited (a correction is a new transaction)."""
    for field in TRANSACTION_HISTORY:
        if current.get(field) != data.get(field):
            raise BadRequest(f"invalid field {field}: a transaction's {field} cannot change; add another "
                             "transaction to correct it")
    return {}
