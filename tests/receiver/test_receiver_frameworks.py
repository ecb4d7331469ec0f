"""The FastAPI dependency, the Flask decorator and the Django view decorator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hookdoor.receiver import HookdoorEvent, Idempotency, signed_headers
from hookdoor.webhooks.signing import generate_secret

SECRET = generate_secret()


def login_body(event_id: str = "evt-1") -> bytes:
    return json.dumps({"id": event_id, "event": "login", "timestamp": int(datetime.now(UTC).timestamp()),
                       "organization": "built-in", "user": {"username": "alice"}}).encode()


def good(msg_id: str = "msg_1") -> tuple[bytes, dict[str, str]]:
    body = login_body()
    return body, signed_headers(body, SECRET, msg_id=msg_id)


def forged() -> tuple[bytes, dict[str, str]]:
    body = login_body()
    return body, signed_headers(body, generate_secret(), msg_id="msg_f")


# ---- FastAPI ------------------------------------------------------------------------------------

@pytest.fixture
def fastapi_app() -> tuple[Any, list[Any], Idempotency]:
    from fastapi import Depends, FastAPI

    from hookdoor.receiver.fastapi import webhook_event

    app, seen, idempotency = FastAPI(), [], Idempotency()

    @app.post("/webhook")
    def receive(event: HookdoorEvent = Depends(webhook_event(SECRET, idempotency=idempotency))) -> dict[str, Any]:
        seen.append(event)
        if event.raw.get("id") == "boom" and len(seen) == 1:
            raise RuntimeError("handler failed")
        return {"duplicate": event.duplicate}

    return app, seen, idempotency


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_fastapi_dependency(fastapi_app: tuple[Any, list[Any], Idempotency]) -> None:
    from fastapi.testclient import TestClient

    app, seen, _ = fastapi_app
    client = TestClient(app, raise_server_exceptions=False)
    body, headers = good()
    assert client.post("/webhook", content=body, headers=headers).json() == {"duplicate": False}
    assert client.post("/webhook", content=body, headers=headers).json() == {"duplicate": True}
    assert seen[0].username == "alice" and seen[0].webhook_id == "msg_1"
    body, headers = forged()
    answer = client.post("/webhook", content=body, headers=headers)
    assert answer.status_code == 401 and answer.json()["detail"]["error"] == "SignatureError"
    answer = client.post("/webhook", content=b"[]", headers=signed_headers(b"[]", SECRET, msg_id="msg_p"))
    assert answer.status_code == 400 and answer.json()["detail"]["error"] == "PayloadError"


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_fastapi_failure_releases_claim(fastapi_app: tuple[Any, list[Any], Idempotency]) -> None:
    from fastapi.testclient import TestClient

    app, seen, idempotency = fastapi_app
    client = TestClient(app, raise_server_exceptions=False)
    body = json.dumps({"id": "boom", "event": "login", "timestamp": int(datetime.now(UTC).timestamp())}).encode()
    headers = signed_headers(body, SECRET, msg_id="msg_boom")
    assert client.post("/webhook", content=body, headers=headers).status_code == 500
    assert client.post("/webhook", content=body, headers=headers).json() == {"duplicate": False}


# ---- Flask --------------------------------------------------------------------------------------

def test_flask_decorator() -> None:
    from flask import Flask

    from hookdoor.receiver.flask import verify_webhook

    app, seen, idempotency = Flask("t"), [], Idempotency()

    @app.post("/webhook/<tenant>")
    @verify_webhook(SECRET, idempotency=idempotency)
    def receive(event: HookdoorEvent, tenant: str) -> dict[str, Any]:
        seen.append((tenant, event))
        if tenant == "fail":
            raise RuntimeError("handler failed")
        return {"event": event.event, "duplicate": event.duplicate}

    client = app.test_client()
    body, headers = good()
    assert client.post("/webhook/acme", data=body, headers=headers).get_json() == {"event": "login",
                                                                                    "duplicate": False}
    assert client.post("/webhook/acme", data=body, headers=headers).get_json()["duplicate"] is True
    assert seen[0][0] == "acme" and seen[0][1].webhook_id == "msg_1"
    body, headers = forged()
    answer = client.post("/webhook/acme", data=body, headers=headers)
    assert answer.status_code == 401 and answer.get_json()["error"] == "SignatureError"
    stale = signed_headers(login_body(), SECRET, msg_id="msg_s", timestamp=datetime(2020, 1, 1, tzinfo=UTC))
    answer = client.post("/webhook/acme", data=login_body(), headers=stale)
    assert answer.status_code == 401 and answer.get_json()["error"] == "TimestampError"
    body, headers = good("msg_fail")
    app.testing = False
    assert client.post("/webhook/fail", data=body, headers=headers).status_code == 500
    assert idempotency.first_time("msg_fail")  # released after the failure


# ---- Django -------------------------------------------------------------------------------------

def test_django_view_decorator() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="test",
                           MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"])
    import django

    django.setup()
    from django.http import JsonResponse
    from django.test import Client
    from django.urls import path

    from hookdoor.receiver.django import webhook_view

    seen: list[Any] = []

    @webhook_view([generate_secret(), SECRET], idempotency=Idempotency())
    def receive(request: Any, event: HookdoorEvent) -> JsonResponse:
        seen.append(event)
        return JsonResponse({"event": event.event_type, "duplicate": event.duplicate})

    global urlpatterns
    urlpatterns = [path("webhook", receive)]
    client = Client(enforce_csrf_checks=True)
    body, headers = good()
    answer = client.post("/webhook", data=body, content_type="application/json", headers=headers)
    assert answer.status_code == 200 and answer.json() == {"event": "login", "duplicate": False}
    answer = client.post("/webhook", data=body, content_type="application/json", headers=headers)
    assert answer.json()["duplicate"] is True
    body, headers = forged()
    answer = client.post("/webhook", data=body, content_type="application/json", headers=headers)
    assert answer.status_code == 401 and answer.json()["error"] == "SignatureError"


urlpatterns: list[Any] = []
