"""Money and periods, the pure parts: Decimal in the currency's unit, refused rather than rounded
away; Go's AddDate for a plan's period; Casdoor's UpdateState."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hookdoor.commerce.schemas import as_number, money, stored_money
from hookdoor.commerce.subscriptions import period_end, state_at
from hookdoor.errors import BadRequest


@pytest.mark.parametrize(("value", "currency", "expected"), [
    ("12.34", "USD", Decimal("12.34")), (0.1, "USD", Decimal("0.10")), (10, "USD", Decimal("10.00")),
    ("500", "JPY", Decimal("500")), (19.99, "EUR", Decimal("19.99")),
])
def test_money_is_decimal_in_the_minor_unit(value: object, currency: str, expected: Decimal) -> None:
    assert money(value, currency, "price") == expected


@pytest.mark.parametrize("value", ["1e300", 1e300, "0.001", "NaN", "Infinity", "abc", True, None, [1], "1.5e-9"])
def test_money_refuses_what_is_no_price(value: object) -> None:
    with pytest.raises(BadRequest, match="invalid field price"):
        money(value, "USD", "price")


def test_a_yen_has_no_cents() -> None:
    with pytest.raises(BadRequest, match="JPY has no amounts finer than 1"):
        money("10.5", "JPY", "price")


def test_stored_money_rounds_and_as_number_round_trips() -> None:
    assert stored_money("9.999", "USD") == Decimal("10.00")
    assert stored_money("garbage", "USD") == Decimal(0)
    for text in ("0.10", "19.99", "17.75", "1234567.89"):
        number = as_number(Decimal(text))
        assert Decimal(str(number)) == Decimal(text)
    assert as_number(Decimal("21.00")) == 21 and isinstance(as_number(Decimal("21.00")), int)


def test_periods_end_on_the_same_day_or_the_last_of_a_shorter_month() -> None:
    start = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert period_end(start, "Monthly") == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert period_end(datetime(2026, 12, 15, tzinfo=UTC), "Monthly") == datetime(2027, 1, 15, tzinfo=UTC)
    assert period_end(datetime(2028, 2, 29, tzinfo=UTC), "Yearly") == datetime(2029, 2, 28, tzinfo=UTC)
    with pytest.raises(BadRequest):
        period_end(start, "Weekly")


def test_state_at_follows_the_period() -> None:
    sub = {"startTime": "2026-01-01T00:00:00.000Z", "endTime": "2026-02-01T00:00:00.000Z", "state": "Active"}
    assert state_at(sub, datetime(2025, 12, 31, tzinfo=UTC)) == "Upcoming"
    assert state_at(sub, datetime(2026, 1, 15, tzinfo=UTC)) == "Active"
    assert state_at(sub, datetime(2026, 2, 1, tzinfo=UTC)) == "Expired"
    assert state_at({**sub, "endTime": "soon"}, datetime(2026, 1, 15, tzinfo=UTC)) == "Active"
