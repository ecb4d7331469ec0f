"""One attempt against real endpoints on 127.0.0.1; the rows a batch stores must line up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.migrate import upgrade
from hookdoor.db.types import utcnow
from hookdoor.delivery.dispatcher import delivery_row
from hookdoor.delivery.queue import OutcomeBatch, claim_due, insert_deliveries, store_outcomes
from hookdoor.delivery.sender import Sender
from hookdoor.webhooks.signing import generate_secret
from hookdoor.webhooks.target_guard import TargetPolicy, guarded_connector
from tests.receiver import Receiver
from tests.support import free_port

EVENT = {"id": "01M8J5KG74CH5K94184K0EAW1C", "action": "login", "organization": "o"}


def _webhook(url: str, name: str) -> dict:
    return {"owner": "o", "name": name, "url": url, "signingSecret": generate_secret(), "timeoutSeconds": 2}


async def test_answered_and_unanswered_attempts_store_in_one_batch(tmp_path: Path, receiver: Receiver) -> None:
    engine = create_engine(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}"))
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    good = _webhook(receiver.url("/ok/sender"), "good")
    refused = _webhook(f"http://127.0.0.1:{free_port()}/nobody-listens", "refused")
    now = utcnow()
    rows = [delivery_row(EVENT, hook, b'{"event":"login"}', now) for hook in (good, refused)]
    async with sessionmaker() as db:
        await insert_deliveries(db, rows)
        leased = await claim_due(db, worker="w", now=now, limit=10, lease=timedelta(seconds=30))
        claimed = {d["webhook_name"]: d for d in leased}
        await db.commit()

    connector = guarded_connector(TargetPolicy.from_strings(["127.0.0.1"]))
    async with aiohttp.ClientSession(connector=connector) as session:
        sender = Sender(session)
        answered = await sender.attempt(claimed["good"], good, "w")
        unanswered = await sender.attempt(claimed["refused"], refused, "w")

    assert answered.attempt["response_status"] == 200 and unanswered.attempt["response_status"] is None
    assert set(answered.attempt) == set(unanswered.attempt)
    async with sessionmaker() as db:
        attempts, updates = [answered.attempt, unanswered.attempt], [answered.update, unanswered.update]
        await store_outcomes(db, OutcomeBatch.of(attempts, updates, sqlite=True))
        await db.commit()
    await engine.dispose()


def test_prepared_target_redacts_custom_headers_in_the_attempt_row() -> None:
    from hookdoor.delivery.sender import Target

    signed = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000", "webhook-signature": "v1,abc"}
    plain = Target.of({**_webhook("http://127.0.0.1:1/x", "h"), "headers": [{"name": "X-Key", "value": "k"}]}, None)
    assert plain.headers | signed == {"X-Key": "k", "Content-Type": "application/json",
                                      "User-Agent": "Hookdoor-Webhooks/0.1", **signed}
    assert plain.stored(signed) == {**plain.headers, "X-Key": "***", **signed}
    # A custom header named like a signed one (in any case) is stored redacted, as it was before.
    clash = Target.of({**_webhook("http://127.0.0.1:1/x", "c"), "headers": [{"name": "Webhook-Id", "value": "v"}]},
                      None)
    assert clash.stored(signed)["Webhook-Id"] == "***"
