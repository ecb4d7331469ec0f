"""Email and SMS second factors over HTTP, with real peers: the codes reach a real SMTP server
(aiosmtpd) and a real HTTP receiver playing the SMS provider. Setting one up (initiate, a code sent
for mfaSetup, verify, enable), signing in with one (a code sent for mfaAuth to the sign-in named by
the browser's cookie), and what is refused: another address, a code of another purpose, a replayed
code, a browser without the sign-in, a user editing the mirrored flags."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import requests

from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.messaging.peers import SmtpSink, email_provider, sms_provider, use_providers
from tests.mfa.test_totp import PASSWORD, Person, form, second_step, set_up_totp
from tests.receiver import Receiver
from tests.support import Api, ServerProcess, unique


def _person(server: ServerProcess, admin: Api, tenant: Tenant, **fields: Any) -> Person:
    name = unique("code-mfa")
    added = admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD, **fields})
    assert added["status"] == "ok", added
    person = Person(tenant, name, Api(server.url))
    assert person.login(person.api).json()["data"] == person.id
    return person


def _send(api: Api, tenant: Tenant, dest: str, method: str, kind: str = "email") -> requests.Response:
    fields = {"dest": dest, "type": kind, "applicationId": f"admin/{tenant.application}", "method": method}
    return api.http.post(f"{api.base_url}/api/send-verification-code", data=fields, timeout=30)


def _other(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _mail_tenant(admin: Api, smtp: SmtpSink) -> Tenant:
    tenant = new_tenant(admin)
    use_providers(admin, tenant.application, {"name": email_provider(admin, tenant.organization, smtp), "rule": "All"},
                  codeResendTimeout=1)
    return tenant


def _no_secret_in_events(server: ServerProcess, organization: str, *secrets: str) -> None:
    for event in events(server, organization=organization):
        text = json.dumps(event, default=str)
        for secret in secrets:
            assert secret not in text, (event["action"], secret)


def test_an_email_factor_set_up_and_signed_in_with(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    address = f"{unique('mfa')}@example.com"
    person = _person(server, admin, tenant, email=address)
    org = person.tenant.organization

    started = form(person.api, "mfa/setup/initiate", owner=org, name=person.name, mfaType="email").json()
    assert started["status"] == "ok", started
    assert set(started["data"]) == {"enabled", "isPreferred", "mfaType", "recoveryCodes", "mfaRememberInHours"}
    recovery_code = started["data"]["recoveryCodes"][0]
    early = form(person.api, "mfa/setup/enable", owner=org, name=person.name, mfaType="email",
                 recoveryCodes=recovery_code).json()
    assert early["status"] == "error" and "not verified yet" in early["msg"], early

    # A code sent to an address the account does not have, and one sent for another purpose, do not count.
    stranger = f"{unique('other')}@example.com"
    assert _send(person.api, tenant, stranger, "mfaSetup").json()["status"] == "ok"
    elsewhere = form(person.api, "mfa/setup/verify", mfaType="email", passcode=smtp.code_to(stranger), dest=stranger)
    assert elsewhere.status_code == 400 and "change your email first" in elsewhere.json()["msg"]
    assert _send(Api(server.url), tenant, address, "login").json()["status"] == "ok"
    login_code = smtp.code_to(address)
    other_purpose = form(person.api, "mfa/setup/verify", mfaType="email", passcode=login_code, dest=address)
    assert other_purpose.json()["msg"] == "The verification code has not been sent yet!"

    time.sleep(1.1)  # the application's codeResendTimeout: one code per second to an address
    resent = _send(person.api, tenant, address, "mfaSetup").json()
    assert resent["status"] == "ok", resent
    setup_code = smtp.code_to(address)
    wrong = form(person.api, "mfa/setup/verify", mfaType="email", passcode=_other(setup_code), dest=address)
    assert wrong.status_code == 400 and wrong.json()["msg"] == "Wrong verification code!"
    verified = form(person.api, "mfa/setup/verify", mfaType="email", passcode=setup_code, dest=address).json()
    assert verified == {**verified, "status": "ok", "data": "OK"}, verified
    assert form(person.api, "mfa/setup/enable", owner=org, name=person.name, mfaType="email",
                recoveryCodes=recovery_code).json()["status"] == "ok"
    stored = admin.get("get-user", id=person.id)["data"]
    assert stored["mfaEmailEnabled"] is True and stored["mfaPhoneEnabled"] is False
    assert stored["preferredMfaType"] == "email" and stored["emailVerified"] is True

    browser = Api(server.url)
    first = person.login(browser).json()
    assert first["data"] == "NextMfa", first
    [props] = first["data2"]
    assert props == {"enabled": True, "isPreferred": True, "mfaType": "email", "secret": props["secret"],
                     "mfaRememberInHours": 0}
    assert props["secret"] != address and props["secret"].endswith("@example.com"), "shown masked"
    unsent = second_step(browser, person, passcode="123456", mfaType="email")
    assert unsent.status_code == 401 and unsent.json()["msg"] == "The verification code has not been sent yet!"

    nobody = _send(Api(server.url), tenant, props["secret"], "mfaAuth")
    assert nobody.status_code == 401, "a code for a sign-in goes only to the browser that began it"
    misdirected = _send(browser, tenant, stranger, "mfaAuth")
    assert misdirected.status_code == 400 and "own email" in misdirected.json()["msg"]
    before = len(smtp.to(address))
    time.sleep(1.1)  # codeResendTimeout
    assert _send(browser, tenant, props["secret"], "mfaAuth").json()["status"] == "ok"
    smtp.wait_for(address, before + 1)
    sign_in_code = smtp.code_to(address)
    refused = second_step(browser, person, passcode=_other(sign_in_code), mfaType="email")
    assert refused.status_code == 401 and refused.json()["msg"] == "Wrong verification code!"
    assert browser.get("get-account")["status"] == "error", "nobody is signed in before the second factor"
    answer = second_step(browser, person, passcode=sign_in_code, mfaType="email").json()
    assert answer == {**answer, "status": "ok", "data": person.id}, answer
    assert browser.get("get-account")["data"]["name"] == person.name

    again = Api(server.url)
    assert person.login(again).json()["data"] == "NextMfa"
    replayed = second_step(again, person, passcode=sign_in_code, mfaType="email")
    assert replayed.status_code == 401, "a code signs in once"
    assert second_step(again, person, recoveryCode=recovery_code).json()["data"] == person.id

    own = person.api.get("get-user", id=person.id)["data"]
    for flag in ("mfaEmailEnabled", "mfaPhoneEnabled"):
        widened = person.api.post("update-user", {**own, flag: not own[flag]}, params={"id": person.id})
        assert widened["status"] == "error" and flag in widened["msg"], widened
    for action in ("mfa/setup/initiate", "mfa/setup/verify", "mfa/setup/enable", "send-verification-code"):
        assert [e["outcome"] for e in events(server, organization=org, action=action) if e["outcome"] == "ok"], action
    _no_secret_in_events(server, org, setup_code, sign_in_code, login_code, recovery_code)


def test_an_sms_factor_for_an_account_without_a_phone(server: ServerProcess, admin: Api, receiver: Receiver) -> None:
    tenant = new_tenant(admin)
    path = f"/mfa-sms/{unique('p')}"
    provider = sms_provider(admin, tenant.organization, receiver.url(path))
    use_providers(admin, tenant.application, {"name": provider, "rule": "All"}, codeResendTimeout=1)
    person = _person(server, admin, tenant)
    org = person.tenant.organization
    phone = "+1555" + re.sub(r"\D", "", unique(""))[-7:].rjust(7, "4")

    def newest_code() -> str:
        arrivals = receiver.wait_for(lambda a: a.path == path and json.loads(a.body)["to"] == phone)
        return json.loads(arrivals[-1].body)["text"][-6:]

    started = form(person.api, "mfa/setup/initiate", owner=org, name=person.name, mfaType="sms").json()
    recovery_code = started["data"]["recoveryCodes"][0]
    missing = form(person.api, "mfa/setup/verify", mfaType="sms", passcode="123456")
    assert missing.status_code == 400 and "destination is missing" in missing.json()["msg"]
    assert _send(person.api, tenant, phone, "mfaSetup", "phone").json()["status"] == "ok"
    setup_code = newest_code()
    assert form(person.api, "mfa/setup/verify", mfaType="sms", passcode=setup_code, dest=phone).json()["data"] == "OK"
    moved = form(person.api, "mfa/setup/enable", owner=org, name=person.name, mfaType="sms",
                 recoveryCodes=recovery_code, dest="+15550000000")
    assert moved.status_code == 400 and "not where mfa/setup/verify checked" in moved.json()["msg"]
    assert form(person.api, "mfa/setup/enable", owner=org, name=person.name, mfaType="sms",
                recoveryCodes=recovery_code, dest=phone).json()["status"] == "ok"
    stored = admin.get("get-user", id=person.id)["data"]
    assert stored["phone"] == phone and stored["mfaPhoneEnabled"] is True and stored["preferredMfaType"] == "sms"

    browser = Api(server.url)
    first = person.login(browser).json()
    [props] = first["data2"]
    assert props["mfaType"] == "sms" and props["secret"] != phone and props["secret"].endswith(phone[-4:])
    time.sleep(1.1)  # codeResendTimeout
    sent = _send(browser, tenant, props["secret"], "mfaAuth", "phone").json()
    assert sent["status"] == "ok", sent
    sign_in_code = newest_code()
    assert second_step(browser, person, passcode=sign_in_code, mfaType="sms").json()["data"] == person.id

    email_instead = _send(Api(server.url), tenant, "x@example.com", "mfaAuth")
    assert email_instead.status_code == 401
    deleted = form(person.api, "delete-mfa", owner=org, name=person.name).json()
    assert deleted["status"] == "ok" and not any(p["enabled"] for p in deleted["data"])
    after = admin.get("get-user", id=person.id)["data"]
    assert after["mfaPhoneEnabled"] is False and after["preferredMfaType"] == "" and after["phone"] == phone
    assert person.login().json()["data"] == person.id
    _no_secret_in_events(server, org, setup_code, sign_in_code, recovery_code)


def test_a_required_email_factor_is_satisfied_by_setting_it_up(server: ServerProcess, admin: Api,
                                                                smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    organization = admin.get("get-organization", id=f"admin/{tenant.organization}")["data"]
    required = {**organization, "mfaItems": [{"name": "email", "rule": "Required"}]}
    assert admin.post("update-organization", required, params={"id": f"admin/{tenant.organization}"})["status"] == "ok"
    address = f"{unique('req')}@example.com"
    name = unique("req-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD,
                                   "email": address})["status"] == "ok"
    person = Person(tenant, name, Api(server.url))
    assert person.login(person.api).json()["data"] == "RequiredMfa"
    org = tenant.organization
    recovery_code = form(person.api, "mfa/setup/initiate", owner=org, name=name,
                         mfaType="email").json()["data"]["recoveryCodes"][0]
    assert _send(person.api, tenant, address, "mfaSetup").json()["status"] == "ok"
    assert form(person.api, "mfa/setup/verify", mfaType="email", passcode=smtp.code_to(address)).json()["data"] == "OK"
    assert form(person.api, "mfa/setup/enable", owner=org, name=name, mfaType="email",
                recoveryCodes=recovery_code).json()["status"] == "ok"
    assert person.login().json()["data"] == "NextMfa", "set up: the sign-in now asks for it"


def test_a_totp_user_gets_no_email_code(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    tenant = _mail_tenant(admin, smtp)
    address = f"{unique('totp')}@example.com"
    person = _person(server, admin, tenant, email=address)
    set_up_totp(person)
    browser = Api(server.url)
    assert person.login(browser).json()["data"] == "NextMfa"
    refused = _send(browser, tenant, address, "mfaAuth")
    assert refused.status_code == 400 and "has no email second factor" in refused.json()["msg"]
    assert smtp.to(address) == []
