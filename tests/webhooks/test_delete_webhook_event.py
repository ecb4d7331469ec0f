"""delete-webhook-event removes one delivery and its attempts, for the webhook's administrators."""

from __future__ import annotations

from tests.delivery.test_webhook_delivery import add_webhook
from tests.receiver import Receiver
from tests.support import Api, eventually, unique


def test_a_delivered_webhook_event_is_deleted(admin: Api, receiver: Receiver) -> None:
    webhook = add_webhook(admin, receiver.url("/deleted-event"), ["add-group"])
    assert admin.post("add-group", {"owner": "built-in", "name": unique("g")})["status"] == "ok"
    hook_id = f"built-in/{webhook['name']}"

    def done() -> list:
        rows = admin.get("get-webhook-events", webhook=hook_id)["data"]
        return [r for r in rows if r["status"] == "succeeded"]

    [delivered] = eventually(done, "the delivery")
    deleted = admin.post("delete-webhook-event", {"owner": delivered["owner"], "name": delivered["name"]})
    assert deleted == {"status": "ok", "msg": "", "data": "Affected", "data2": None}
    assert admin.get("get-webhook-events", webhook=hook_id)["data"] == []
    gone = admin.get("get-webhook-event-detail", id=delivered["name"])
    assert gone["status"] == "error" and delivered["name"] in gone["msg"]
    bad = admin.post("delete-webhook-event", {"owner": "built-in"})
    assert bad["status"] == "error" and "name" in bad["msg"]
