"""Subscriptions to plans (Casdoor's object/subscription.go and object/plan.go).

Paying for an order line that names a pricing and a plan starts a subscription: ``Pending`` while
its payment is open, then ``Active`` for the plan's period (Monthly, Yearly) from now, or
``Upcoming`` from the end of the user's current subscription to that plan (buying again extends
it); a payment that fails or is cancelled makes it ``Error``. Once its end passes it is ``Expired``
(tasks.py moves it on time). While a subscription is Active its user is a member of the plan's
``role`` (Casdoor shows that role's permissions as the plan's options).
"""

from __future__ import annotations

import calendar
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from hookdoor.commerce.repository import CommerceRepository
from hookdoor.commerce.schemas import (
    PERIODS,
    SUB_ACTIVE,
    SUB_ERROR,
    SUB_EXPIRED,
    SUB_PENDING,
    SUB_SUSPENDED,
    SUB_UPCOMING,
    ProductLine,
    currency_of,
    money,
)
from hookdoor.db.types import parse_rfc3339, rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, NotFound
from hookdoor.identity.registry import kind

CURRENT_STATES = (SUB_ACTIVE, SUB_UPCOMING)
STATES = (SUB_PENDING, SUB_ERROR, SUB_SUSPENDED, SUB_ACTIVE, SUB_UPCOMING, SUB_EXPIRED)


def check_plan(data: dict[str, Any]) -> None:
    """What saving a plan implies: a period Casdoor knows and a price in the currency's unit."""
    if data.get("period") not in (None, "", *PERIODS):
        raise BadRequest(f"invalid field period: one of {list(PERIODS)}")
    money(data.get("price") or 0, currency_of(data), "price")


def check_subscription(data: dict[str, Any]) -> None:
    """What saving a subscription implies: times the background task can compare (RFC 3339), a
    period and a state Casdoor knows."""
    for field in ("startTime", "endTime"):
        if data.get(field) and parse_rfc3339(str(data[field])) is None:
            raise BadRequest(f"invalid field {field}: an RFC 3339 time is expected")
        if data.get(field):
            data[field] = rfc3339(parse_rfc3339(str(data[field])))  # one form, so that times sort as text
    if data.get("period") not in (None, "", *PERIODS):
        raise BadRequest(f"invalid field period: one of {list(PERIODS)}")
    if data.get("state") not in (None, "", *STATES):
        raise BadRequest(f"invalid field state: one of {list(STATES)}")


def period_end(start: datetime, period: str) -> datetime:
    """The same day a month or a year on (Go's AddDate), the last day of a shorter month."""
    months = {"Monthly": 1, "Yearly": 12}.get(period)
    if months is None:
        raise BadRequest(f"invalid period {period!r}: one of {list(PERIODS)}")
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


def state_at(sub: dict[str, Any], now: datetime) -> str:
    """Casdoor's UpdateState for a paid subscription: where ``now`` falls in its period."""
    start, end = parse_rfc3339(sub.get("startTime") or ""), parse_rfc3339(sub.get("endTime") or "")
    if start is None or end is None:
        return sub.get("state") or SUB_ERROR
    if end <= now:
        return SUB_EXPIRED
    return SUB_UPCOMING if start > now else SUB_ACTIVE


async def _plan(repo: CommerceRepository, owner: str, name: str) -> dict[str, Any]:
    plan = await repo.get("plan", owner, name)
    if plan is None:
        raise NotFound(f"the plan {owner}/{name} does not exist")
    return plan


async def check_plan_line(repo: CommerceRepository, owner: str, line: ProductLine) -> None:
    if not line.plan_name or not line.pricing_name:
        raise BadRequest(f"invalid field productInfos.{line.name}: a subscription names both its pricingName "
                         "and its planName")
    plan = await _plan(repo, owner, line.plan_name)
    if plan.get("isEnabled") is False:
        raise Conflict(f"the plan {owner}/{line.plan_name} is not enabled")
    if await repo.get("pricing", owner, line.pricing_name) is None:
        raise NotFound(f"the pricing {owner}/{line.pricing_name} does not exist")


async def _current_of(repo: CommerceRepository, owner: str, user: str, plan: str) -> list[dict[str, Any]]:
    return [s for s in await repo.of_user("subscription", owner, user)
            if s.get("plan") == plan and s.get("state") in CURRENT_STATES]


async def start_for(repo: CommerceRepository, order: dict[str, Any], payment: dict[str, Any]) -> None:
    """A Pending subscription for each of the order's plan lines, waiting for ``payment``."""
    owner, user = order["owner"], order["user"]
    for info in order.get("productInfos") or []:
        if not info.get("planName") or not info.get("pricingName"):
            continue
        plan = await _plan(repo, owner, info["planName"])
        current = await _current_of(repo, owner, user, plan["name"])
        if current and plan.get("isExclusive"):
            raise Conflict(f"user {owner}/{user} already has a subscription of plan {plan['name']}")
        now = utcnow()
        start = max([now, *(parse_rfc3339(s.get("endTime") or "") or now for s in current)])
        period = plan.get("period") or "Monthly"
        name = f"sub_{payment['name'].removeprefix('payment_')}_{plan['name']}"[:100]
        await repo.insert("subscription", {
            "owner": owner, "name": name, "displayName": f"{plan.get('displayName') or plan['name']} for {user}",
            "createdTime": rfc3339(now), "updatedTime": rfc3339(now), "description": "", "user": user,
            "pricing": info["pricingName"], "plan": plan["name"], "payment": payment["name"],
            "startTime": rfc3339(start), "endTime": rfc3339(period_end(start, period)), "period": period,
            "state": SUB_PENDING,
        })


async def _of_payment(repo: CommerceRepository, payment: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in await repo.of_user("subscription", payment["owner"], payment["user"])
            if s.get("payment") == payment["name"] and s.get("state") == SUB_PENDING]


async def activate_for(context: Any, repo: CommerceRepository, payment: dict[str, Any]) -> None:
    """The payment is paid: its subscriptions begin (now, or when the current one ends)."""
    for sub in await _of_payment(repo, payment):
        await move(context, repo, sub, state_at(sub, utcnow()))


async def end_pending(repo: CommerceRepository, payment: dict[str, Any]) -> None:
    for sub in await _of_payment(repo, payment):
        ended = {**sub, "state": SUB_ERROR, "updatedTime": rfc3339(utcnow()),
                 "description": f"payment: {payment['name']} state is {payment.get('state')}"}
        await repo.replace_if("subscription", sub, ended, "state")


async def move(context: Any, repo: CommerceRepository, sub: dict[str, Any], state: str) -> dict[str, Any] | None:
    """Move ``sub`` to ``state`` if it is still in the state it was read in (several processes may
    try at once: one of them does it); the plan's role follows. None if another process moved it."""
    if state == sub.get("state"):
        return None
    moved = {**sub, "state": state, "updatedTime": rfc3339(utcnow())}
    if not await repo.replace_if("subscription", sub, moved, "state"):
        return None
    await _follow_role(context, repo, moved)
    return moved


async def _follow_role(context: Any, repo: CommerceRepository, sub: dict[str, Any]) -> None:
    plan = await repo.get("plan", sub["owner"], sub.get("plan") or "")
    role_name = (plan or {}).get("role") or ""
    if not role_name:
        return
    role = await repo.locked("role", sub["owner"], role_name.rpartition("/")[2])
    if role is None:
        return
    member = f"{sub['owner']}/{sub['user']}"
    users = list(role.get("users") or [])
    keep = sub["state"] == SUB_ACTIVE or await _still_entitled(repo, sub, role_name)
    changed = [*users, member] if keep and member not in users else users
    if not keep:
        changed = [u for u in users if u != member]
    if changed == users:
        return
    after = {**role, "users": changed, "updatedTime": rfc3339(utcnow())}
    await repo.replace("role", after)
    await kind("role").changed(context, role, after)


async def _still_entitled(repo: CommerceRepository, sub: dict[str, Any], role_name: str) -> bool:
    """Another Active subscription of the user to a plan with the same role keeps them in it."""
    for other in await repo.of_user("subscription", sub["owner"], sub["user"]):
        if other["name"] == sub["name"] or other.get("state") != SUB_ACTIVE:
            continue
        plan = await repo.get("plan", sub["owner"], other.get("plan") or "")
        if (plan or {}).get("role") == role_name:
            return True
    return False


def db_context(db: Any) -> Any:
    """What the role kind's change hook reads (its ``db``), for the background task's own transaction."""
    return SimpleNamespace(db=db)
