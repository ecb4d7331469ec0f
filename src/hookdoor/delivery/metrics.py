"""Delivery metrics on /api/metrics: queue depth, outcomes, attempt latency, failure streaks.

A worker that `hookdoor serve` runs as its child process writes them to prometheus_client's
multiprocess files (delivery/process.py); `serve` reads them from there. The gauges then show the
value the worker set last ("mostrecent"), also across a restart of the worker."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

OUTCOMES = ("succeeded", "pending", "failed")  # a delivery's state after an attempt ("pending": to retry)


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.queue_depth = Gauge(
            "hookdoor_delivery_queue_depth", "Deliveries waiting to be sent (pending or in flight)",
            registry=registry, multiprocess_mode="mostrecent",
        )
        self.outcomes = Counter(
            "hookdoor_deliveries_total", "Delivery attempts by outcome", ["outcome"], registry=registry
        )
        for outcome in OUTCOMES:  # at 0 from the start (multiprocess files only hold series that exist)
            self.outcomes.labels(outcome)
        self.attempt_seconds = Histogram(
            "hookdoor_delivery_attempt_seconds", "Duration of one delivery attempt", registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.failure_streak = Gauge(
            "hookdoor_webhook_failure_streak", "Consecutive failed attempts per webhook", ["webhook"],
            registry=registry, multiprocess_mode="mostrecent",
        )
