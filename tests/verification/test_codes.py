"""Verification codes end to end: a real SMTP server (aiosmtpd) receives the code, and the code
completes sign-up, sign-in, a new email address and a forgotten password; an SMS code reaches a real
HTTP receiver. Wrong and expired codes fail with distinct messages; the try limit holds."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import requests

from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.messaging.peers import SmtpSink, email_provider, sms_provider, use_providers
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

PASSWORD = "code-test-password-1"


def _mail_tenant(admin: Api, smtp: SmtpSink, **application: Any) -> Tenant:
    tenant = new_tenant(admin, enable_sign_up=True)
    provider = email_provider(admin, tenant.organization, smtp)
    use_providers(admin, tenant.application, {"name": provider, "rule": "All"}, codeResendTimeout=1, **application)
    return tenant


def _send_code(api: Api, tenant: Tenant, dest: str, method: str, kind: str = "email") -> requests.Response:
    form = {"dest": dest, "type": kind, "applicationId": f"admin/{tenant.application}", "method": method,
            "captchaType": "none"}
    return api.http.post(f"{api.base_url}/api/send-verification-code", data=form, timeout=30)


def _add_user(admin: Api, tenant: Tenant, **fields: Any) -> str:
    name = unique("coder")
    added = admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD, **fields})
    assert added["status"] == "ok", added
    return name


def _no_code_in_events(server: ServerProcess, code: str, *actions: str) -> None:
    for action in actions:
        for event in events(server, action=action):
            assert code not in json.dumps(event, default=str), (action, event)


def test_sign_up_with_the_emailed_code(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp, signupItems=[{"name": "Email", "visible": True, "required": True,
                                                     "rule": "Normal"}])
    address = f"{unique('new')}@example.com"
    visitor = Api(server.url)
    sent = _send_code(visitor, tenant, address, "signup")
    assert sent.status_code == 200 and sent.json()["status"] == "ok", sent.text
    code = smtp.code_to(address)
    [mail] = smtp.to(address)
    assert mail.text.strip() == f"Hello Hi, your code is {code}."  # the reset link is only for the forget flow
    signup = {"application": tenant.application, "organization": tenant.organization, "username": unique("u"),
              "password": PASSWORD, "email": address}
    without = visitor.post("signup", signup)
    assert without["status"] == "error" and "a verified email is required" in without["msg"]
    wrong = visitor.post("signup", {**signup, "emailCode": "000000" if code != "000000" else "111111"})
    assert wrong["msg"] == "Wrong verification code!"
    assert visitor.post("signup", {**signup, "emailCode": code})["status"] == "ok"
    user = admin.get("get-user", id=f"{tenant.organization}/{signup['username']}")["data"]
    assert user["email"] == address and user["emailVerified"] is True
    again = visitor.post("signup", {**signup, "username": unique("u"), "emailCode": code})
    assert again["msg"] == "The verification code has already been used!"
    sends = [e for e in events(server, action="send-verification-code") if e["organization"] == tenant.organization]
    assert [e["outcome"] for e in sends] == ["ok"]
    assert sends[0]["object"]["receiver"] == address and sends[0]["object"]["method"] == "signup"
    _no_code_in_events(server, code, "send-verification-code", "signup", "new-user")


def test_sign_in_with_a_code_and_not_twice(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    address = f"{unique('in')}@example.com"
    name = _add_user(admin, tenant, email=address, displayName="Coder")
    visitor = Api(server.url)
    assert _send_code(visitor, tenant, f"{unique('nobody')}@example.com", "login").json()["msg"] == \
        "the user does not exist, please sign up first"
    assert _send_code(visitor, tenant, address, "login").json()["status"] == "ok"
    code = smtp.code_to(address)
    assert smtp.to(address)[-1].text.startswith("Hello Coder,")
    login = {"application": tenant.application, "organization": tenant.organization, "username": address,
             "code": code, "type": "login"}
    signed_in = visitor.post("login", login)
    assert signed_in["status"] == "ok", signed_in
    assert visitor.get("get-account")["data"]["name"] == name
    assert Api(server.url).post("login", login)["msg"] == "The verification code has already been used!"
    logins = [e for e in events(server, action="login", subject=f"{tenant.organization}/{name}")]
    assert [e["outcome"] for e in logins] == ["ok", "error"]
    _no_code_in_events(server, code, "login", "send-verification-code")


def test_wrong_tries_are_bounded(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    address = f"{unique('tries')}@example.com"
    _add_user(admin, tenant, email=address)
    visitor = Api(server.url)
    assert _send_code(visitor, tenant, address, "login").json()["status"] == "ok"
    code = smtp.code_to(address)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    body = {"organization": tenant.organization, "username": address}
    answers = [visitor.post("verify-code", {**body, "code": wrong})["msg"] for _ in range(5)]
    assert answers == ["Wrong verification code!"] * 5
    response = visitor.http.post(f"{server.url}/api/verify-code", json={**body, "code": code}, timeout=30)
    assert response.status_code == 429 and "too many times" in response.json()["msg"]
    verifies = [e for e in events(server, action="verify-code") if e["organization"] == tenant.organization]
    assert [e["outcome"] for e in verifies] == ["error"] * 6


def test_one_code_per_destination_per_resend_timeout(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    use_providers(admin, tenant.application, *admin.get("get-application", id=f"admin/{tenant.application}")[
        "data"]["providers"], codeResendTimeout=0)  # Casdoor's default then: 60 seconds
    address = f"{unique('resend')}@example.com"
    assert _send_code(Api(server.url), tenant, address, "signup").json()["status"] == "ok"
    again = _send_code(Api(server.url), tenant, address, "signup")
    assert again.status_code == 429 and again.json()["msg"] == "you can only send one code in 60s"
    assert int(again.headers["Retry-After"]) <= 60
    assert len(smtp.wait_for(address)) == 1


def test_an_expired_code_reads_differently_from_a_wrong_one(brief_codes_server: ServerProcess, smtp: SmtpSink) -> None:
    admin = Api(brief_codes_server.url)
    assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    tenant = _mail_tenant(admin, smtp)
    address = f"{unique('late')}@example.com"
    _add_user(admin, tenant, email=address)
    visitor = Api(brief_codes_server.url)
    assert _send_code(visitor, tenant, address, "login").json()["status"] == "ok"
    code = smtp.code_to(address)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    body = {"organization": tenant.organization, "username": address}
    assert visitor.post("verify-code", {**body, "code": wrong})["msg"] == "Wrong verification code!"
    time.sleep(2.2)
    assert visitor.post("verify-code", {**body, "code": code})["msg"] == "You should verify your code in 1 min!"


def test_a_new_email_address_with_a_code(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    name = _add_user(admin, tenant, email=f"{unique('old')}@example.com")
    user = Api(server.url)
    assert user.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    new_address = f"{unique('fresh')}@example.com"
    assert _send_code(user, tenant, new_address, "reset").json()["status"] == "ok"
    code = smtp.code_to(new_address)
    reset = {"type": "email", "dest": new_address}
    assert Api(server.url).http.post(f"{server.url}/api/reset-email-or-phone", data={**reset, "code": code},
                                     timeout=30).status_code == 401
    wrong = user.http.post(f"{server.url}/api/reset-email-or-phone",
                           data={**reset, "code": f"{(int(code) + 1) % 1_000_000:06d}"}, timeout=30).json()
    assert wrong["msg"] == "Wrong verification code!"
    done = user.http.post(f"{server.url}/api/reset-email-or-phone", data={**reset, "code": code}, timeout=30).json()
    assert done["status"] == "ok", done
    account = user.get("get-account")["data"]
    assert account["email"] == new_address and account["emailVerified"] is True
    resets = events(server, action="reset-email-or-phone", subject=f"{tenant.organization}/{name}")
    assert [e["outcome"] for e in resets] == ["error", "ok"]
    assert resets[-1]["user"]["email"] == new_address
    _no_code_in_events(server, code, "reset-email-or-phone")


def test_a_forgotten_password_reset_with_a_code(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    address = f"{unique('forgot')}@example.com"
    name = _add_user(admin, tenant, email=address)
    visitor = Api(server.url)
    found = visitor.get("get-email-and-phone", organization=tenant.organization, username=name)
    assert found["status"] == "ok" and found["data2"] == "username"
    assert found["data"]["name"] == name and found["data"]["email"] != address and "***" in found["data"]["email"]
    by_address = visitor.get("get-email-and-phone", organization=tenant.organization, username=address)
    assert by_address["data"]["email"] == address and by_address["data2"] == "email"
    assert _send_code(visitor, tenant, address, "forget").json()["status"] == "ok"
    code = smtp.code_to(address)
    assert f"/forget/{tenant.application}?code={code}&username={name}" in smtp.to(address)[-1].text
    form = {"userOwner": tenant.organization, "userName": name, "newPassword": "a-new-password-42", "code": code}
    early = visitor.http.post(f"{server.url}/api/set-password", data=form, timeout=30).json()
    assert early["status"] == "error" and "verify-code" in early["msg"]
    verified = visitor.post("verify-code", {"organization": tenant.organization, "username": address, "code": code})
    assert verified["status"] == "ok", verified
    changed = visitor.http.post(f"{server.url}/api/set-password", data=form, timeout=30).json()
    assert changed["status"] == "ok", changed
    assert Api(server.url).login(name, "a-new-password-42", tenant.organization, tenant.application)["status"] == "ok"
    replayed = visitor.http.post(f"{server.url}/api/set-password", data={**form, "newPassword": "another-pass-77"},
                                 timeout=30).json()
    assert replayed["status"] == "error"
    _no_code_in_events(server, code, "verify-code", "set-password", "send-verification-code")


def test_a_code_by_sms_reaches_the_http_provider(server: ServerProcess, admin: Api, receiver: Receiver) -> None:
    tenant = new_tenant(admin)
    path = f"/sms-code/{unique('p')}"
    provider = sms_provider(admin, tenant.organization, receiver.url(path))
    use_providers(admin, tenant.application, {"name": provider, "rule": "login"}, codeResendTimeout=1)
    phone = "+1555" + re.sub(r"\D", "", unique(""))[-7:].rjust(7, "3")
    _add_user(admin, tenant, phone=phone)
    assert _send_code(Api(server.url), tenant, phone, "login", "phone").json()["status"] == "ok"
    [arrival] = receiver.wait_for(lambda a: a.path == path)
    sent = json.loads(arrival.body)
    assert sent["to"] == phone and re.fullmatch(r"Your code is \d{6}", sent["text"])
    code = sent["text"][-6:]
    assert Api(server.url).post("verify-code", {"organization": tenant.organization, "username": phone,
                                                "code": code})["status"] == "ok"
    signup = _send_code(Api(server.url), tenant, "+15550007777", "signup", "phone").json()
    assert signup["status"] == "error" and "has no SMS provider" in signup["msg"]  # its rule is login only


def test_verification_records_are_for_administrators(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    address = f"{unique('rec')}@example.com"
    assert _send_code(Api(server.url), tenant, address, "signup").json()["status"] == "ok"
    code = smtp.code_to(address)
    records = admin.get("get-verifications", owner=tenant.organization)
    assert records["status"] == "ok"
    [record] = records["data"]
    assert record["receiver"] == address and record["type"] == "Email" and record["code"] == ""
    assert record["isUsed"] is False and code not in json.dumps(records)
    name = _add_user(admin, tenant)
    member = Api(server.url)
    assert member.login(name, PASSWORD, tenant.organization, tenant.application)["status"] == "ok"
    refused = member.http.get(f"{server.url}/api/get-verifications", timeout=30)
    assert refused.status_code == 403
    assert Api(server.url).http.get(f"{server.url}/api/get-verifications", timeout=30).status_code == 401


def test_sends_by_one_caller_are_limited(brief_codes_server: ServerProcess, receiver: Receiver) -> None:
    admin = Api(brief_codes_server.url)
    assert admin.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    tenant = new_tenant(admin)
    provider = sms_provider(admin, tenant.organization, receiver.url(f"/caller-limit/{unique('p')}"))
    use_providers(admin, tenant.application, {"name": provider})
    client = {"clientId": tenant.client_id, "clientSecret": tenant.client_secret}
    answers = [requests.post(f"{brief_codes_server.url}/api/send-sms", params=client, timeout=30,
                             json={"content": "hi", "receivers": [f"+1555000{n:04d}"]}) for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["msg"].startswith(f"too many messages sent by app/{tenant.application}")
