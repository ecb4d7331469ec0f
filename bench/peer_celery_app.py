"""The Celery peer: what a Python team would otherwise build to send webhooks.

Celery 5 with the Redis broker, one task per delivery, each task signing its payload with the Standard
Webhooks HMAC scheme (the `standardwebhooks` library) and posting it with `requests` on a kept-alive
session. It runs inside the benchmark's own virtual environment (.bench-venv/celery, made by
bench/peer_celery.py), never in the project's, and imports nothing of Hookdoor.

    celery -A peer_celery_app worker -P prefork -c 2     # the worker (bench/peer_celery.py starts it)
    python peer_celery_app.py enqueue COUNT URL BODY_FILE SECRET PREFIX   # publish COUNT tasks
    python peer_celery_app.py paced RATE SECONDS URL BODY_FILE SECRET PREFIX  # publish at RATE/s, open loop
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from celery import Celery
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook

QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "hookdoor-bench")
app = Celery("hookdoor_bench_peer", broker=os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/15"))
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,  # a webhook sender has no result to keep
    task_acks_late=True,  # a delivery is acknowledged once sent, as a team wanting at-least-once would set it
    task_serializer="json",
    accept_content=["json"],
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
    # kombu's Redis channel pools 10 connections by default: 64 gevent tasks acknowledging at once then fail
    # with MaxConnectionsError ("Couldn't ack"), and the unacknowledged tasks run again. Room for every greenlet.
    broker_transport_options={"max_connections": 256},
)

_session: requests.Session | None = None


def session() -> requests.Session:
    """One kept-alive session per worker process; its pool as large as the gevent pool."""
    global _session
    if _session is None:
        _session = requests.Session()
        _session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=128))
    return _session


@app.task(name="deliver", max_retries=0)
def deliver(url: str, msg_id: str, payload: str, secret: str) -> int:
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, payload)
    headers = {"content-type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    response = session().post(url, data=payload.encode(), headers=headers, timeout=15)
    response.raise_for_status()
    return response.status_code


def enqueue(count: int, url: str, body_file: str, secret: str, prefix: str) -> None:
    """Publish `count` tasks on one producer connection; prints the seconds it took."""
    payload = Path(body_file).read_text()
    started = time.monotonic()
    with app.producer_or_acquire() as producer:
        for i in range(count):
            deliver.apply_async((url, f"msg_{prefix}_{i}", payload, secret), producer=producer)
    print(f"{time.monotonic() - started:.3f}", flush=True)


def paced(rate: float, seconds: float, url: str, body_file: str, secret: str, prefix: str) -> None:
    """Publish task i at t0 + i / rate (open loop); prints {message id: publish time} as JSON."""
    payload = Path(body_file).read_text()
    published = {}
    count = max(2, int(rate * seconds))
    t0 = time.monotonic() + 0.05
    with app.producer_or_acquire() as producer:
        for i in range(count):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            msg_id = f"msg_{prefix}_{i}"
            published[msg_id] = time.time()
            deliver.apply_async((url, msg_id, payload, secret), producer=producer)
    print(json.dumps(published), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "enqueue":
        enqueue(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
    elif len(sys.argv) == 8 and sys.argv[1] == "paced":
        paced(float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7])
    else:
        sys.exit(__doc__)
