"""Webhooks end to end: a real server, a real receiver on 127.0.0.1, real signatures."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from tests.receiver import Arrival, Receiver
from tests.support import ADMIN_PASSWORD, Api, eventually, unique


def add_webhook(admin: Api, url: str, events: list[str], **fields: Any) -> dict[str, Any]:
    name = unique("hook")
    body = {"owner": "built-in", "name": name, "url": url, "events": events, **fields}
    answer = admin.post("add-webhook", body)
    assert answer["status"] == "ok", answer
    return admin.get("get-webhook", id=f"built-in/{name}")["data"]


def everything_sent(arrival: Arrival) -> str:
    return arrival.body.decode() + json.dumps(arrival.headers)


def on_path(path: str):  # type: ignore[no-untyped-def]
    return lambda arrival: arrival.path == path


def verified(arrival: Arrival, secret: str) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in arrival.headers.items()}
    return Verifier(secret).verify(arrival.body, headers)


def settled(admin: Api, delivery_id: str, state: str = "Success") -> dict[str, Any]:
    def in_state() -> dict[str, Any] | None:
        detail = admin.get("get-webhook-event-detail", id=delivery_id)["data"]
        return detail if detail["state"] == state else None

    return eventually(in_state, f"delivery {delivery_id} to reach {state}")


def signed_by(arrival: Arrival, secret: str) -> bool:
    """For bodies that are not JSON (the library's verify() also parses JSON)."""
    moment = datetime.fromtimestamp(int(arrival.header("webhook-timestamp")), tz=UTC)
    expected = Verifier(secret).sign(arrival.header("webhook-id"), moment, arrival.body.decode())
    return expected in arrival.header("webhook-signature").split(" ")


def test_login_reaches_webhook_signed_with_custom_header(admin: Api, receiver: Receiver) -> None:
    path = f"/ok/{unique('login')}"
    webhook = add_webhook(admin, receiver.url(path), ["login"], headers=[{"name": "X-Api-Key", "value": "k-123"}])
    Api(admin.base_url).login("admin", ADMIN_PASSWORD)

    [arrival] = receiver.wait_for(on_path(path))
    payload = verified(arrival, webhook["signingSecret"])
    assert payload["event"] == "login"
    assert payload["user"]["username"] == "admin"
    assert isinstance(payload["timestamp"], int)
    assert payload["organization"] == "built-in"
    assert payload["outcome"] == "ok"
    assert arrival.header("X-Api-Key") == "k-123"
    assert arrival.header(
        "webhook-id",
    ).startswith("msg_")


def test_tampered_body_fails_verification(admin: Api, receiver: Receiver) -> None:
    path = f"/ok/{unique('tamper')}"
    webhook = add_webhook(admin, receiver.url(path), ["login"])
    Api(admin.base_url).login("admin", ADMIN_PASSWORD)
    [arrival] = receiver.wait_for(on_path(path))
    forged = Arrival(
        arrival.method,
        arrival.path,
        arrival.query,
        arrival.headers,
        arrival.body.replace(b"admin", b"mallory"),
        arrival.at,
    )
    with pytest.raises(WebhookVerificationError):
        verified(forged, webhook["signingSecret"])


def test_sdk_style_client_credentials_call_fires_webhook(admin: Api, receiver: Receiver) -> None:
    path = f"/ok/{unique('sdk')}"
    add_webhook(admin, receiver.url(path), ["add-user"])
    app = admin.get("get-application", id="admin/app-built-in")["data"]
    name = unique("u")
    credentials = {"clientId": app["clientId"], "clientSecret": app["clientSecret"]}
    answer = Api(admin.base_url).post("add-user", {"owner": "built-in", "name": name}, params=credentials)
    assert answer["status"] == "ok"
    [arrival] = receiver.wait_for(on_path(path))
    payload = json.loads(arrival.body)
    assert payload["object"]["name"] == name
    assert payload["actor"] == "app/app-built-in"
    assert "clientSecret" not in payload["request"]["uri"]  # the secret was in the query: left out
    assert f"clientId={app['clientId']}" in payload["request"]["uri"]
    assert app["clientSecret"] not in everything_sent(arrival)


def test_patterns_and_failures_opt_in(admin: Api, receiver: Receiver) -> None:
    ok_path, fail_path = f"/ok/{unique('pattern')}", f"/ok/{unique('failures')}"
    add_webhook(admin, receiver.url(ok_path), ["log*"])
    add_webhook(admin, receiver.url(fail_path), ["login"], includeFailures=True)
    Api(admin.base_url).login("admin", "not-the-password")
    [failure] = receiver.wait_for(on_path(fail_path))
    assert json.loads(failure.body)["outcome"] == "error"
    Api(admin.base_url).login("admin", ADMIN_PASSWORD)
    arrivals = receiver.wait_for(on_path(ok_path))
    assert [json.loads(a.body)["outcome"] for a in arrivals] == ["ok"]


def test_casdoor_and_cloudevents_and_form_formats(admin: Api, receiver: Receiver) -> None:
    casdoor_path, cloud_path, form_path = (f"/ok/{unique(p)}" for p in ("casdoor", "cloud", "form"))
    add_webhook(admin, receiver.url(casdoor_path), ["update-user"], payloadFormat="casdoor")
    add_webhook(admin, receiver.url(cloud_path), ["update-user"], payloadFormat="cloudevents")
    form_hook = add_webhook(
        admin, receiver.url(form_path), ["update-user"], contentType="application/x-www-form-urlencoded"
    )
    user = admin.get("get-user", id="built-in/admin")["data"]
    assert (
        admin.post("update-user", {**user, "displayName": "Admin X"}, params={"id": "built-in/admin"})["status"] == "ok"
    )

    casdoor = json.loads(receiver.wait_for(on_path(casdoor_path))[0].body)
    assert list(casdoor)[:4] == ["id", "owner", "name", "createdTime"]
    assert casdoor["action"] == "update-user" and isinstance(casdoor["object"], str)
    assert json.loads(casdoor["object"])["displayName"] == "Admin X"

    cloud = receiver.wait_for(on_path(cloud_path))[0]
    assert cloud.header("Content-Type") == "application/cloudevents+json"
    envelope = json.loads(cloud.body)
    assert envelope["specversion"] == "1.0" and envelope["type"] == "io.hookdoor.update-user"
    assert envelope["data"]["event"] == "update-user"

    form = receiver.wait_for(on_path(form_path))[0]
    assert form.header("Content-Type") == "application/x-www-form-urlencoded"
    fields = dict(parse_qsl(form.body.decode()))
    assert fields["event"] == "update-user"
    assert signed_by(form, form_hook["signingSecret"])


def test_retries_until_success_with_same_webhook_id(admin: Api, receiver: Receiver) -> None:
    path = f"/flaky/2/{unique('flaky')}"
    name = add_webhook(admin, receiver.url(path), ["login"], maxRetries=3, retryInterval=1)["name"]
    Api(admin.base_url).login("admin", ADMIN_PASSWORD)
    arrivals = receiver.wait_for(on_path(path), count=3)
    assert len({a.header("webhook-id") for a in arrivals}) == 1

    def succeeded() -> dict[str, Any] | None:
        [event] = admin.get("get-webhook-events", webhook=f"built-in/{name}")["data"] or [None]
        return event if event and event["state"] == "Success" else None

    event = eventually(succeeded, "the delivery to succeed", every=0.1)
    assert event["attemptCount"] == 3
    detail = admin.get("get-webhook-event-detail", id=event["name"])["data"]
    assert [a["statusCode"] for a in detail["attempts"]] == [503, 503, 200]


def test_410_disables_webhook_and_emits_webhook_disabled(admin: Api, receiver: Receiver) -> None:
    gone_path, watcher_path = f"/status/410/{unique('gone')}", f"/ok/{unique('watch')}"
    gone = add_webhook(admin, receiver.url(gone_path), ["login"])
    add_webhook(admin, receiver.url(watcher_path), ["webhook-disabled"])
    Api(admin.base_url).login("admin", ADMIN_PASSWORD)
    receiver.wait_for(on_path(gone_path))
    [notice] = receiver.wait_for(on_path(watcher_path))
    payload = json.loads(notice.body)
    assert payload["event"] == "webhook-disabled" and payload["object"]["name"] == gone["name"]
    assert payload["object"]["signingSecret"] == "***"
    state = admin.get("get-webhook", id=f"built-in/{gone['name']}")["data"]
    assert state["isEnabled"] is False and "410" in state["disabledReason"]


def test_hanging_endpoint_does_not_slow_others(admin: Api, receiver: Receiver) -> None:
    hang_path, fast_path = f"/hang/{unique('hang')}", f"/ok/{unique('fast')}"
    # The hanging sends time out after 15 s: the fast webhook's deliveries must all arrive well
    # before, with room to spare for a loaded machine.
    add_webhook(admin, receiver.url(hang_path), ["get-organizations"], timeoutSeconds=15, maxConcurrency=2)
    add_webhook(admin, receiver.url(fast_path), ["get-organizations"])
    started = time.monotonic()
    for _ in range(20):
        admin.get("get-organizations", owner="admin")
    arrivals = receiver.wait_for(on_path(fast_path), count=20)
    assert max(a.at for a in arrivals) - started < 10.0


def test_test_event_replay_and_rotation(admin: Api, receiver: Receiver) -> None:
    path = f"/ok/{unique('control')}"
    webhook = add_webhook(admin, receiver.url(path), ["login"])
    webhook_id = f"built-in/{webhook['name']}"
    delivery_id = admin.post("test-webhook", params={"id": webhook_id})["data"]
    [test] = receiver.wait_for(on_path(path))
    assert json.loads(test.body)["event"] == "webhook-test" and test.header("webhook-id") == delivery_id
    settled(admin, delivery_id)
    assert admin.post("replay-webhook-event", params={"id": delivery_id})["status"] == "ok"
    again = receiver.wait_for(on_path(path), count=2)
    assert again[1].header("webhook-id") == delivery_id

    new_secret = admin.post("rotate-webhook-secret", params={"id": webhook_id})["data"]
    assert new_secret.startswith("whsec_") and new_secret != webhook["signingSecret"]
    admin.post("test-webhook", params={"id": webhook_id})
    rotated = receiver.wait_for(on_path(path), count=3)[2]
    assert len(rotated.header("webhook-signature").split(" ")) == 2
    verified(rotated, new_secret)
    verified(rotated, webhook["signingSecret"])  # the old secret still signs during the grace period


def test_recover_requeues_failed_deliveries(admin: Api, receiver: Receiver) -> None:
    path = f"/status/500/{unique('recover')}"
    webhook = add_webhook(admin, receiver.url(path), ["login"], maxRetries=1, retryInterval=1)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    Api(admin.base_url).login("admin", ADMIN_PASSWORD)
    receiver.wait_for(on_path(path), count=2)
    webhook_id = f"built-in/{webhook['name']}"
    eventually(lambda: admin.get("get-webhook-events", webhook=webhook_id, state="failed")["data"],
               "the delivery to fail", every=0.1)
    answer = admin.post("recover-webhook-deliveries", params={"id": webhook_id, "since": since})
    assert answer["data"] == 1
    receiver.wait_for(on_path(path), count=3)


def test_webhook_validation_errors_name_the_problem(admin: Api) -> None:
    def add(**fields: Any) -> str:
        body = {"owner": "built-in", "name": unique("bad"), "url": "https://example.com/h", "events": ["login"]}
        answer = admin.post("add-webhook", {**body, **fields})
        assert answer["status"] == "error"
        return answer["msg"]

    assert add(events=["login", "no-such-event"]) == ("invalid field events: unknown event: no-such-event "
                                                      "(see 'hookdoor events list' or GET /api/get-event-types)")
    assert add(events=[]).startswith("invalid field events: select at least one event or pattern")
    assert "url" in add(url="ftp://example.com/x")
    assert "169.254.169.254" in add(url="http://169.254.169.254/latest/meta-data")
    assert "10.0.0.5" in add(url="http://10.0.0.5/hook")
    assert add(headers=[{"name": "X-A", "value": "a\r\nInjected: yes"}]) == (
        "invalid field headers: header 1, value: the value must be one line (no CR, LF or NUL)")
    assert add(headers=[{"name": "X-A", "value": ""}, {"name": "Bad Header", "value": "x"}]) == (
        "invalid field headers: header 2, name: the name 'Bad Header' must be a token (letters, digits, - and _; "
        "no spaces or colons)")
    assert add(method="TRACE") == "invalid field method: must be one of POST, GET, PUT, PATCH or DELETE"
    assert add(maxConcurrency="lots") == "invalid field maxConcurrency: must be a whole number"
    assert add(timeoutSeconds=600) == "invalid field timeoutSeconds: must be at most 60"
    assert "signingSecret" in add(signingSecret="not-a-secret")


def _update_admin(admin: Api, display_names: list[str]) -> None:
    user = admin.get("get-user", id="built-in/admin")["data"]
    for display_name in display_names:
        answer = admin.post("update-user", {**user, "displayName": display_name}, params={"id": "built-in/admin"})
        assert answer["status"] == "ok"


def test_ordered_webhook_delivers_one_at_a_time_in_order(admin: Api, receiver: Receiver) -> None:
    path = f"/flaky/1/{unique('ordered')}"
    add_webhook(admin, receiver.url(path), ["update-user"], ordered=True, maxRetries=3, retryInterval=1)
    _update_admin(admin, ["first", "second", "third"])
    arrivals = receiver.wait_for(on_path(path), count=6, timeout=30)
    names = [json.loads(a.body)["object"]["displayName"] for a in arrivals]
    assert names == ["first", "first", "second", "second", "third", "third"]  # each retried before the next


def test_rate_limit_spaces_deliveries(admin: Api, receiver: Receiver) -> None:
    path = f"/ok/{unique('rate')}"
    add_webhook(admin, receiver.url(path), ["update-user"], rateLimit=4)
    _update_admin(admin, [f"r{n}" for n in range(12)])
    arrivals = receiver.wait_for(on_path(path), count=12, timeout=20)
    assert arrivals[-1].at - arrivals[0].at >= 1.5  # 4 at once, then 4 per second


def test_event_catalog_and_metrics(admin: Api, anonymous: Api) -> None:
    catalog = admin.get("get-event-types")
    names = {t["name"] for t in catalog["data"]}
    assert {"signup", "login", "add-user", "mfa/setup/enable", "webhook-disabled"} <= names
    assert "Authentication & Session" in catalog["data2"]
    assert admin.get("get-event-types", category="nope")["status"] == "error"
    metrics = admin.http.get(f"{admin.base_url}/api/metrics", timeout=10)
    assert metrics.status_code == 200
    assert "hookdoor_deliveries_total" in metrics.text and "hookdoor_delivery_queue_depth" in metrics.text
    assert anonymous.get("metrics")["msg"] == "Please login first"
