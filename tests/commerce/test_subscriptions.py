"""Subscriptions: paying for a plan's product starts one (Active for the plan's period), buying
again extends it (the next one Upcoming from the current one's end), an exclusive plan is bought
once; the plan's role follows; a lapsed subscription becomes Expired on time by the background
task, which several processes may run at once (each subscription moved once)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from hookdoor.commerce.repository import CommerceRepository
from hookdoor.commerce.tasks import move_due_subscriptions
from hookdoor.config import Settings
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.migrate import upgrade
from hookdoor.db.types import parse_rfc3339, rfc3339, utcnow
from tests.commerce.conftest import Shop
from tests.identity.test_events_recorded import events
from tests.support import eventually, fresh_database, unique


def _plan(shop: Shop, **fields: object) -> tuple[str, str, str, str]:
    role = shop.add("role")["name"]
    product = shop.product(price=9, quantity=100)
    plan = shop.add("plan", price=9, currency="USD", period="Monthly", product=product, role=role,
                    isEnabled=True, **fields)["name"]
    pricing = shop.add("pricing", plans=[plan])["name"]
    return role, product, plan, pricing


def _subscribe(shop: Shop, product: str, plan: str, pricing: str) -> dict:
    order = shop.place(product, planName=plan, pricingName=pricing)
    answer = shop.pay(order["name"], "dummy")
    assert answer["status"] == "ok", answer
    return answer["data"]


def _subscriptions(shop: Shop) -> list[dict]:
    items = shop.admin.get("get-subscriptions", owner=shop.org)["data"]
    return sorted(items, key=lambda s: s["startTime"])


def test_a_plan_bought_twice_is_extended_and_expires_on_time(shop: Shop) -> None:
    role, product, plan, pricing = _plan(shop)
    payment = _subscribe(shop, product, plan, pricing)
    [sub] = _subscriptions(shop)
    assert (sub["state"], sub["user"], sub["plan"], sub["payment"], sub["period"]) == (
        "Active", shop.buyer, plan, payment["name"], "Monthly")
    start, end = parse_rfc3339(sub["startTime"]), parse_rfc3339(sub["endTime"])
    assert timedelta(days=28) <= end - start <= timedelta(days=31)
    assert shop.get("role", role)["users"] == [f"{shop.org}/{shop.buyer}"]

    _subscribe(shop, product, plan, pricing)
    first, second = _subscriptions(shop)
    assert (second["state"], second["startTime"]) == ("Upcoming", first["endTime"])

    lapsed = {**first, "startTime": rfc3339(utcnow() - timedelta(days=40)), "endTime": rfc3339(utcnow())}
    assert shop.admin.post("update-subscription", lapsed, params={"id": f"{shop.org}/{first['name']}"})["status"] \
        == "ok"
    eventually(lambda: shop.get("subscription", first["name"])["state"] == "Expired", "the subscription expired")
    assert shop.get("role", role)["users"] == []
    recorded = [e for e in events(shop.server, action="update-subscription") if e["object"]["name"] == first["name"]
                and e["actor"] != "built-in/admin"]
    assert [e["object"]["state"] for e in recorded] == ["Expired"]


def test_an_exclusive_plan_is_bought_once_and_a_cancelled_order_starts_nothing(shop: Shop) -> None:
    _, product, plan, pricing = _plan(shop, isExclusive=True)
    _subscribe(shop, product, plan, pricing)
    order = shop.place(product, planName=plan, pricingName=pricing)
    response = shop.buyer_api.http.post(f"{shop.server.url}/api/pay-order",
                                        params={"id": f"{shop.org}/{order['name']}", "providerName": "dummy"})
    assert response.status_code == 409 and "already has a subscription" in response.json()["msg"]
    assert shop.get("order", order["name"])["state"] == "Created"
    assert len(_subscriptions(shop)) == 1
    url = f"{shop.server.url}/api/place-order"
    for line, status in (({"name": product, "planName": "nope", "pricingName": pricing}, 404),
                         ({"name": product, "planName": plan}, 400)):
        answer = shop.buyer_api.http.post(url, params={"owner": shop.org}, json={"productInfos": [line]})
        assert answer.status_code == status, answer.text


def test_a_plan_with_an_unknown_period_is_refused(shop: Shop) -> None:
    answer = shop.admin.post("add-plan", {"owner": shop.org, "name": unique("plan"), "period": "Weekly"})
    assert answer["status"] == "error" and "period" in answer["msg"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    with fresh_database(request.param, tmp_path) as url:
        yield url


async def test_several_processes_move_each_lapsed_subscription_once(database_url: str) -> None:
    engines = [create_engine(Settings(database_url=database_url)) for _ in range(3)]
    try:
        await upgrade(engines[0])
        states = [SimpleNamespace(sessionmaker=create_sessionmaker(e), wakeup=SimpleNamespace(notify=lambda: None))
                  for e in engines]
        past, now = rfc3339(utcnow() - timedelta(days=31)), rfc3339(utcnow() - timedelta(seconds=1))
        async with states[0].sessionmaker() as db:
            repo = CommerceRepository(db)
            for index in range(20):
                await repo.insert("subscription", {"owner": "org", "name": f"sub-{index}", "user": "u", "plan": "p",
                                                   "startTime": past, "endTime": now, "state": "Active"})
            await db.commit()
        moved = await asyncio.gather(*(move_due_subscriptions(state) for state in states))
        assert sum(moved) == 20
        async with states[0].sessionmaker() as db:
            repo = CommerceRepository(db)
            subs = [await repo.get("subscription", "org", f"sub-{index}") for index in range(20)]
            assert {s["state"] for s in subs if s} == {"Expired"}
            assert await repo.due_subscriptions(rfc3339(utcnow())) == []
    finally:
        for engine in engines:
            await engine.dispose()


def test_saving_a_subscription_or_a_product_checks_its_fields(shop: Shop) -> None:
    for fields, word in (({"endTime": "tomorrow"}, "endTime"), ({"state": "Lapsed"}, "state"),
                         ({"period": "Weekly"}, "period")):
        answer = shop.admin.post("add-subscription", {"owner": shop.org, "name": unique("sub"), **fields})
        assert answer["status"] == "error" and word in answer["msg"], answer
    for fields, word in (({"providers": "dummy"}, "providers"), ({"price": -1}, "price"),
                         ({"quantity": -3}, "quantity"), ({"price": 1.234}, "price")):
        answer = shop.admin.post("add-product", {"owner": shop.org, "name": unique("product"), **fields})
        assert answer["status"] == "error" and word in answer["msg"], answer
