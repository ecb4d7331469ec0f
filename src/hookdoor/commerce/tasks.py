"""The background side of subscriptions: every HOOKDOOR_SUBSCRIPTION_POLL_SECONDS each ``hookdoor
serve`` moves subscriptions whose period ended to ``Expired`` (and ``Upcoming`` ones whose period
began to ``Active``), with the plan's role following and an ``update-subscription`` event.

Several processes may look at once (PostgreSQL): each move is a conditional UPDATE on the state it
read, so exactly one of them moves a subscription and records its event; the others find it moved.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI

from hookdoor.api.context import notify_workers
from hookdoor.commerce import subscriptions
from hookdoor.commerce.repository import CommerceRepository
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.events.recorder import Action, record
from hookdoor.identity.principal import SYSTEM
from hookdoor.identity.registry import kind
from hookdoor.runtime import periodically

log = logging.getLogger(__name__)
REQUEST = {"method": "", "uri": "/api/update-subscription", "clientIp": "", "userAgent": "hookdoor-subscriptions",
           "language": "en"}


async def move_due_subscriptions(state: Any) -> int:
    """One pass; returns how many subscriptions this process moved."""
    moved = 0
    async with state.sessionmaker() as db:
        repo = CommerceRepository(db)
        now = utcnow()
        for sub in await repo.due_subscriptions(rfc3339(now)):
            after = await subscriptions.move(subscriptions.db_context(db), repo, sub, subscriptions.state_at(sub, now))
            if after is None:
                continue
            shown = kind("subscription").mask(after, may_manage=False)
            action = Action(name="update-subscription", request=REQUEST, principal=SYSTEM,
                            organization=after["owner"], object=shown)
            await record(db, action, outcome="ok", status_code=200,
                         message=f"subscription {after['owner']}/{after['name']} is {after['state']}")
            moved += 1
        await notify_workers(db)
        await db.commit()
    if moved:
        state.wakeup.notify()
    return moved


def _running(app: FastAPI) -> Any:
    return periodically(lambda: app.state.settings.subscription_poll_seconds, lambda: move_due_subscriptions(app.state),
                        name="hookdoor-subscriptions", failing="move due subscriptions", log=log)


# Its lifespan runs inside the app's own, after the migrations.
lifecycle = APIRouter(lifespan=_running)
