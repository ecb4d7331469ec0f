"""Delivery health: one count of a webhook's deliveries, read by every surface that shows it (the
dashboard, the webhook pages, ``/api/get-webhook-health`` and so the CLI), so they cannot disagree.

A delivery that failed and waits for its next try is *retrying*, not pending and not a success: a
failing endpoint's deliveries spend days in that state, so it is counted beside the final failures
and weighs on the success rate (a failing webhook never reads 100 %).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.types import rfc3339, utcnow
from hookdoor.webhooks.repository import DeliveryRepository, WebhookKey

HEALTH_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DeliveryCounts:
    """Deliveries that ended in the window (succeeded, failed) and those not done yet, whatever their
    age (retrying, pending, delivering: in flight)."""

    succeeded: int = 0
    failed: int = 0
    retrying: int = 0
    pending: int = 0
    delivering: int = 0
    next_retry_at: datetime | None = None

    @property
    def success_rate(self) -> float | None:
        """Succeeded among those that were tried and are not in flight; None before any outcome."""
        tried = self.succeeded + self.failed + self.retrying
        return self.succeeded / tried if tried else None

    def __add__(self, other: DeliveryCounts) -> DeliveryCounts:
        retries = [t for t in (self.next_retry_at, other.next_retry_at) if t is not None]
        return DeliveryCounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "next_retry_at"),
            next_retry_at=min(retries, default=None),
        )

    def view(self, window: timedelta) -> dict[str, Any]:
        """The API's shape (``deliveries`` of get-webhook-health)."""
        rate = self.success_rate
        return {
            "windowHours": window / timedelta(hours=1), "succeeded": self.succeeded, "failed": self.failed,
            "retrying": self.retrying, "pending": self.pending, "delivering": self.delivering,
            "nextRetryTime": rfc3339(self.next_retry_at) if self.next_retry_at else "",
            "successRate": None if rate is None else round(rate, 4),
        }


def total(counts: Iterable[DeliveryCounts]) -> DeliveryCounts:
    return sum(counts, DeliveryCounts())


async def delivery_counts(db: AsyncSession, webhooks: Iterable[WebhookKey],
                          window: timedelta = HEALTH_WINDOW) -> dict[WebhookKey, DeliveryCounts]:
    """Each webhook's counts (every one given is in the answer, with zeros when it has none)."""
    keys = list(webhooks)
    found = await DeliveryRepository(db).counts_by_state(keys, utcnow() - window)
    return {key: DeliveryCounts(**found.get(key, {})) for key in keys}
