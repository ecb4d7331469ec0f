"""What orders, payments and subscriptions are: Casdoor's states, its request shapes, and money.

Money is Decimal throughout, rounded to the currency's minor unit. Casdoor's documents carry prices
as JSON numbers, so a price is turned into a number only when it is written into a document (a
number of at most the currency's decimals, which reads back to the same Decimal).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from hookdoor.errors import BadRequest, Conflict

# Casdoor's order states (object/order_pay.go, object/payment.go's NotifyPayment).
ORDER_CREATED, ORDER_PAID, ORDER_CANCELED, ORDER_FAILED, ORDER_TIMEOUT = (
    "Created", "Paid", "Canceled", "Failed", "Timeout")
# pp/provider.go's PaymentState; every state but Created is terminal.
PAYMENT_CREATED, PAYMENT_PAID, PAYMENT_CANCELED, PAYMENT_TIMEOUT, PAYMENT_ERROR = (
    "Created", "Paid", "Canceled", "Timeout", "Error")
TERMINAL_PAYMENT_STATES = frozenset({PAYMENT_PAID, PAYMENT_CANCELED, PAYMENT_TIMEOUT, PAYMENT_ERROR})
# The order state that follows a payment's terminal state.
ORDER_STATE_OF_PAYMENT = {PAYMENT_PAID: ORDER_PAID, PAYMENT_ERROR: ORDER_FAILED,
                          PAYMENT_CANCELED: ORDER_CANCELED, PAYMENT_TIMEOUT: ORDER_TIMEOUT}
# object/subscription.go's SubscriptionState.
SUB_PENDING, SUB_ERROR, SUB_SUSPENDED, SUB_ACTIVE, SUB_UPCOMING, SUB_EXPIRED = (
    "Pending", "Error", "Suspended", "Active", "Upcoming", "Expired")
PERIODS = ("Monthly", "Yearly")

PAYMENT_CATEGORY = "Payment"
DUMMY, BALANCE, CUSTOM_HTTP = "Dummy", "Balance", "Custom HTTP"
PAYMENT_TYPES = (DUMMY, BALANCE, CUSTOM_HTTP)
# Transaction categories and tags (object/transaction.go).
PURCHASE, RECHARGE = "Purchase", "Recharge"
USER_TAG = "User"
DEFAULT_CURRENCY = "USD"
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF"})
MAX_QUANTITY = 10_000
# Amounts beyond this are no prices (and Decimal's default context could not round them to a cent).
MAX_AMOUNT = Decimal(10) ** 15


def minor_unit(currency: str) -> Decimal:
    return Decimal(1) if currency.upper() in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")


def money(value: Any, currency: str, field: str) -> Decimal:
    """A price or amount as Decimal in the currency's minor unit; refused if not a finite number or
    finer than that unit (a price of 0.001 USD would be rounded away silently otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise BadRequest(f"invalid field {field}: a number is expected")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise BadRequest(f"invalid field {field}: {value!r} is not a number") from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise BadRequest(f"invalid field {field}: must be a finite number below {MAX_AMOUNT:,}")
    rounded = amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
    if rounded != amount:
        raise BadRequest(f"invalid field {field}: {currency} has no amounts finer than {minor_unit(currency)}")
    return rounded


def stored_money(value: Any, currency: str) -> Decimal:
    """A price already in a document (written by a caller who may have sent 9.999): rounded."""
    try:
        amount = Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        return Decimal(0)
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def as_number(amount: Decimal) -> int | float:
    """The JSON number of a Decimal of at most two decimals (exact: its shortest repr is the Decimal)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def currency_of(obj: dict[str, Any]) -> str:
    return str(obj.get("currency") or DEFAULT_CURRENCY)


@dataclass(frozen=True)
class ProductLine:
    """One item of place-order's ``productInfos`` as the caller sent it."""

    name: str
    quantity: int
    price: Any = None  # only a recharge product takes the caller's price
    pricing_name: str = ""
    plan_name: str = ""

    @classmethod
    def parse(cls, item: Any, index: int) -> ProductLine:
        if not isinstance(item, dict):
            raise BadRequest(f"invalid field productInfos[{index}]: an object is expected")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest(f"invalid field productInfos[{index}].name: product name cannot be empty")
        quantity = item.get("quantity", 1)
        if quantity in (None, 0):
            quantity = 1  # Casdoor's omitempty: an absent quantity is one
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise BadRequest(f"invalid field productInfos[{index}].quantity: a whole number from 1 to {MAX_QUANTITY}")
        return cls(name, quantity, item.get("price"), _text(item, "pricingName", index), _text(item, "planName", index))


def _text(item: dict[str, Any], field: str, index: int) -> str:
    value = item.get(field) or ""
    if not isinstance(value, str):
        raise BadRequest(f"invalid field productInfos[{index}].{field}: a string is expected")
    return value


def product_lines(body: Any) -> list[ProductLine]:
    infos = body.get("productInfos") if isinstance(body, dict) else None
    if not isinstance(infos, list) or not infos:
        raise BadRequest("invalid field productInfos: product list cannot be empty")
    lines = [ProductLine.parse(item, index) for index, item in enumerate(infos)]
    if len({line.name for line in lines}) != len(lines):
        raise BadRequest("invalid field productInfos: a product is listed twice; give its quantity instead")
    return lines


def refuse_transition(what: str, obj: dict[str, Any], verb: str) -> Conflict:
    return Conflict(f"cannot {verb} {what} {obj['owner']}/{obj['name']}: its state is {obj.get('state') or 'empty'}")
