"""send-email, send-sms and send-notification against real peers: an SMTP server (aiosmtpd) and HTTP
receivers on 127.0.0.1, called by the unmodified Casdoor SDK and by administrators."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests
from casdoor import CasdoorSDK

from tests.compat.sdk import Tenant, new_tenant, tenant_sdk
from tests.identity.test_events_recorded import events
from tests.messaging.peers import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpSink,
    email_provider,
    notification_provider,
    sms_provider,
    use_providers,
)
from tests.receiver import Receiver
from tests.support import Api, ServerProcess, unique


def _as_application(admin: Api, tenant: Tenant, action: str, body: dict, **params: str) -> requests.Response:
    credentials = {"clientId": tenant.client_id, "clientSecret": tenant.client_secret, **params}
    return requests.post(f"{admin.base_url}/api/{action}", params=credentials, json=body, timeout=30)


def _sent_without_secrets(server: ServerProcess, action: str, *secrets: str) -> list[dict]:
    found = events(server, action=action)
    assert found, f"no {action} event"
    for event in found:
        for secret in secrets:
            assert secret not in json.dumps(event, default=str), (action, secret)
    return found


def test_the_sdk_sends_an_email_through_the_applications_smtp_provider(
        server: ServerProcess, admin: Api, tenant: Tenant, sdk: CasdoorSDK, smtp: SmtpSink) -> None:
    provider = email_provider(admin, tenant.organization, smtp)
    use_providers(admin, tenant.application, {"name": provider, "rule": "All"})
    receiver = f"{unique('to')}@example.com"
    answer = sdk.send_email("Welcome", "Hello from the SDK", "Tests", receiver)
    assert answer["status"] == "ok", answer
    [mail] = smtp.wait_for(receiver)
    assert mail.message["Subject"] == "Welcome" and "Hello from the SDK" in mail.text
    assert mail.message["From"] == "Hookdoor Tests <noreply@example.com>" and mail.sender == "noreply@example.com"
    assert SMTP_USER in smtp.logins  # it signed in with the provider's account
    sent = _sent_without_secrets(server, "send-email", SMTP_PASSWORD)
    mine = [e for e in sent if e["organization"] == tenant.organization]
    assert [e["outcome"] for e in mine] == ["ok"]
    assert mine[0]["object"]["provider"] == f"{tenant.organization}/{provider}"
    assert SMTP_PASSWORD not in server.log_path.read_text()


def test_test_smtp_server_signs_in_and_sends_nothing(admin: Api, tenant: Tenant, smtp: SmtpSink) -> None:
    provider = email_provider(admin, tenant.organization, smtp)
    before = len(smtp.received)
    answer = admin.post("send-email", {"receivers": ["TestSmtpServer"], "provider": provider})
    # The built-in admin names a provider of another organization: not found in its own, not shared.
    assert answer["status"] == "error" and "does not exist" in answer["msg"], answer
    sdk = tenant_sdk(admin.base_url, tenant)
    answer = sdk.send_email_by_provider("", "", "", provider, "TestSmtpServer")
    assert answer["status"] == "ok", answer
    assert len(smtp.received) == before


def test_a_refused_sign_in_is_an_error_naming_the_provider_never_a_500(
        server: ServerProcess, admin: Api, tenant: Tenant, smtp: SmtpSink) -> None:
    provider = email_provider(admin, tenant.organization, smtp, clientSecret="the-wrong-password-123")
    use_providers(admin, tenant.application, {"name": provider, "rule": ""})
    response = Api(server.url).http.post(
        f"{server.url}/api/send-email", params={"clientId": tenant.client_id, "clientSecret": tenant.client_secret},
        json={"title": "t", "content": "c", "sender": "s", "receivers": ["someone@example.com"]}, timeout=30)
    assert response.status_code == 502, response.text
    message = response.json()["msg"]
    assert f"email provider {tenant.organization}/{provider}" in message and "refused the sign-in" in message
    assert "the-wrong-password-123" not in response.text
    failed = [e for e in _sent_without_secrets(server, "send-email", "the-wrong-password-123")
              if e["organization"] == tenant.organization]
    assert [e["outcome"] for e in failed] == ["error"]
    assert "the-wrong-password-123" not in server.log_path.read_text()


def test_the_sdk_sends_an_sms_as_the_custom_http_provider_describes(
        server: ServerProcess, admin: Api, tenant: Tenant, sdk: CasdoorSDK, receiver: Receiver) -> None:
    path = f"/sms/{unique('p')}"
    provider = sms_provider(admin, tenant.organization, receiver.url(path))
    use_providers(admin, tenant.application, {"name": provider, "rule": "All"})
    answer = sdk.send_sms("Hello by SMS", "+15550001111", "+15550002222")
    assert answer["status"] == "ok", answer
    arrivals = receiver.wait_for(lambda a: a.path == path, count=2)
    assert [a.method for a in arrivals] == ["POST", "POST"]
    assert [json.loads(a.body) for a in arrivals] == [
        {"to": "+15550001111", "text": "Your code is Hello by SMS"},
        {"to": "+15550002222", "text": "Your code is Hello by SMS"},
    ]
    assert arrivals[0].header("Content-Type") == "application/json"
    assert arrivals[0].header("X-Api-Key") == "sms-key-never-logged"
    _sent_without_secrets(server, "send-sms", "sms-key-never-logged")
    stored = admin.get("get-provider", id=f"{tenant.organization}/{provider}")["data"]
    assert stored["httpHeaders"] == {"X-Api-Key": "sms-key-never-logged"}  # shown to its administrator
    assert Api(server.url).get("get-provider", id=f"{tenant.organization}/{provider}")["status"] == "error"


def test_a_get_sms_provider_fills_in_the_url(admin: Api, tenant: Tenant, receiver: Receiver) -> None:
    path = f"/sms-get/{unique('p')}"
    provider = sms_provider(admin, tenant.organization, receiver.url(path) + "?to={mobile}&msg={code}",
                            method="GET", httpHeaders={})
    sdk = tenant_sdk(admin.base_url, tenant)
    assert sdk.send_sms_by_provider("4321", provider, "+15550003333")["status"] == "ok"
    [arrival] = receiver.wait_for(lambda a: a.path == path)
    assert arrival.method == "GET" and parse_qs(arrival.query) == {"to": ["+15550003333"], "msg": ["4321"]}


def test_notifications_custom_http_and_slack_webhook(admin: Api, tenant: Tenant, sdk: CasdoorSDK,
                                                     receiver: Receiver) -> None:
    form_path, slack_path = f"/notify/{unique('p')}", f"/slack/{unique('p')}"
    custom = notification_provider(admin, tenant.organization, receiver.url(form_path))
    slack = notification_provider(admin, tenant.organization, receiver.url(slack_path), type="Slack")
    use_providers(admin, tenant.application, {"name": custom, "rule": ""})
    assert sdk.send_notification("Deploy finished", "ops")["status"] == "ok"
    [arrival] = receiver.wait_for(lambda a: a.path == form_path)
    assert arrival.method == "POST" and parse_qs(arrival.body.decode()) == {"message": ["Deploy finished"],
                                                                             "recipient": ["ops"]}
    answer = admin.post("send-notification", {"content": "From Slack's side", "recipient": ""},
                        params={"provider": slack})
    assert "does not exist" in answer["msg"]  # the built-in admin: not its organization's provider
    use_providers(admin, tenant.application, {"name": slack})
    assert sdk.send_notification("From Slack's side", "")["status"] == "ok"
    [arrival] = receiver.wait_for(lambda a: a.path == slack_path)
    assert json.loads(arrival.body) == {"text": "From Slack's side"}
    assert arrival.header("Content-Type") == "application/json"


def test_a_failing_http_provider_is_named_in_the_error(admin: Api, tenant: Tenant, sdk: CasdoorSDK,
                                                      receiver: Receiver) -> None:
    provider = sms_provider(admin, tenant.organization, receiver.url("/status/500"))
    use_providers(admin, tenant.application, {"name": provider})
    with pytest.raises(Exception) as refused:
        sdk.send_sms("x", "+15550004444")
    assert str(refused.value) == f"SMS provider {tenant.organization}/{provider} refused the message: HTTP 500"
    response = _as_application(admin, tenant, "send-sms", {"content": "x", "receivers": ["+15550004444"]})
    assert response.status_code == 502


def test_internal_addresses_are_refused_at_save(admin: Api, tenant: Tenant) -> None:
    for category, kind, field in (("SMS", "Custom HTTP SMS", "endpoint"), ("Notification", "Custom HTTP", "receiver")):
        answer = admin.post("add-provider", {"owner": tenant.organization, "name": unique("bad"), "category": category,
                                             "type": kind, field: "http://10.1.2.3/send"})
        assert answer["status"] == "error" and f"invalid field {field}" in answer["msg"], answer
    answer = admin.post("add-provider", {"owner": tenant.organization, "name": unique("bad"), "category": "Email",
                                         "type": "Default", "host": "127.0.0.1", "port": 0})
    assert answer["status"] == "error" and "invalid field port" in answer["msg"], answer


def test_sends_to_one_destination_are_limited(admin: Api, sdk: CasdoorSDK, tenant: Tenant,
                                              receiver: Receiver) -> None:
    provider = sms_provider(admin, tenant.organization, receiver.url(f"/limit/{unique('p')}"))
    use_providers(admin, tenant.application, {"name": provider})
    number = f"+1555{unique('')[-7:].replace('-', '0')}"
    number = "+1555" + "".join(c for c in number if c.isdigit())[-7:]
    answers = [_as_application(admin, tenant, "send-sms", {"content": "hi", "receivers": [number]})
               for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429 and "too many messages sent to" in answers[10].json()["msg"]
    assert sdk.send_sms("hi", "+15550009999")["status"] == "ok"  # another destination is not held up


def test_who_may_send(server: ServerProcess, admin: Api, tenant: Tenant, smtp: SmtpSink) -> None:
    body = {"title": "t", "content": "c", "sender": "s", "receivers": ["x@example.com"]}
    anonymous = Api(server.url)
    response = anonymous.http.post(f"{server.url}/api/send-email", json=body, timeout=30)
    assert response.status_code == 401
    user = unique("plain")
    assert admin.post("add-user", {"owner": tenant.organization, "name": user, "password": "plain-password-123"})[
        "status"] == "ok"
    member = Api(server.url)
    assert member.login(user, "plain-password-123", tenant.organization, tenant.application)["status"] == "ok"
    for action in ("send-email", "send-sms", "send-notification"):
        response = member.http.post(f"{server.url}/api/{action}", json=body, timeout=30)
        assert response.status_code == 403, (action, response.text)
    other = new_tenant(admin)
    foreign = email_provider(admin, other.organization, smtp)
    answer = _as_application(admin, tenant, "send-email", body, provider=foreign)
    assert answer.status_code == 404 and "does not exist" in answer.json()["msg"]
    refused = [e for e in events(server, action="send-email") if e["outcome"] == "error"]
    assert refused
