"""TOTP multi-factor authentication over HTTP, with pyotp as the user's authenticator app: setup
(initiate, verify, enable), sign-in's second step (passcode, recovery code), removal, the preferred
factor, an organization's Required rule, who may do what, and what the events carry."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
import requests

from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.receiver import Receiver
from tests.support import Api, ServerProcess, unique

PASSWORD = "mfa-password-1234"


@dataclass
class Person:
    tenant: Tenant
    name: str
    api: Api

    @property
    def id(self) -> str:
        return f"{self.tenant.organization}/{self.name}"

    def login(self, http: Api | None = None, **extra: Any) -> requests.Response:
        api = http or Api(self.api.base_url)
        body = {"type": "login", "organization": self.tenant.organization, "application": self.tenant.application,
                "username": self.name, "password": PASSWORD, **extra}
        return api.http.post(f"{api.base_url}/api/login", json=body, timeout=30)


def new_person(server: ServerProcess, admin: Api, tenant: Tenant | None = None) -> Person:
    tenant = tenant or new_tenant(admin)
    name = unique("mfa-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD})["status"] == "ok"
    person = Person(tenant, name, Api(server.url))
    assert person.login(person.api).json()["status"] == "ok"
    return person


def form(api: Api, action: str, **fields: str) -> requests.Response:
    """As Casdoor's page posts these routes: form fields."""
    return api.http.post(f"{api.base_url}/api/{action}", data=fields, timeout=30)


def set_up_totp(person: Person) -> tuple[pyotp.TOTP, str]:
    """The authenticator app gets the secret from the otpauth URL; returns it and the recovery code."""
    started = form(person.api, "mfa/setup/initiate", owner=person.tenant.organization, name=person.name,
                   mfaType="app").json()
    assert started["status"] == "ok", started
    props = started["data"]
    app = pyotp.parse_uri(props["url"])
    assert app.secret == props["secret"] and props["qrCode"].startswith("data:image/png;base64,")
    assert props["mfaType"] == "app" and len(props["recoveryCodes"]) == 1
    verified = form(person.api, "mfa/setup/verify", mfaType="app", passcode=app.now(), secret=props["secret"]).json()
    assert verified["status"] == "ok" and verified["data"] == "OK", verified
    enabled = form(person.api, "mfa/setup/enable", owner=person.tenant.organization, name=person.name, mfaType="app",
                   secret=props["secret"], recoveryCodes=props["recoveryCodes"][0]).json()
    assert enabled["status"] == "ok", enabled
    return app, props["recoveryCodes"][0]


def second_step(api: Api, person: Person, **fields: str) -> requests.Response:
    body = {"type": "login", "organization": person.tenant.organization, "application": person.tenant.application,
            "username": person.name, "password": PASSWORD, **fields}
    return api.http.post(f"{api.base_url}/api/login", json=body, timeout=30)


def fresh_code(app: pyotp.TOTP, used: set[str]) -> str:
    """A passcode of the current step or the next one (both good) not used yet: each is good once."""
    for offset in (0, 30):
        code = app.at(time.time() + offset)
        if code not in used:
            used.add(code)
            return code
    time.sleep(30)
    return fresh_code(app, used)


@pytest.fixture
def person(server: ServerProcess, admin: Api) -> Person:
    return new_person(server, admin)


def test_sign_in_asks_for_the_passcode_and_a_wrong_one_fails(person: Person) -> None:
    app, _ = set_up_totp(person)
    browser = Api(person.api.base_url)
    first = person.login(browser).json()
    assert first["status"] == "ok" and first["data"] == "NextMfa", first
    assert first["data2"] == [{"enabled": True, "isPreferred": True, "mfaType": "app", "mfaRememberInHours": 0}]
    assert browser.get("get-account")["status"] == "error", "nobody is signed in before the second factor"

    wrong = str((int(app.now()) + 1) % 1_000_000).zfill(6)
    refused = second_step(browser, person, passcode=wrong, mfaType="app")
    assert refused.status_code == 401 and refused.json()["msg"] == "totp passcode error"
    used: set[str] = set()
    code = fresh_code(app, used)
    answer = second_step(browser, person, passcode=code, mfaType="app").json()
    assert answer == {**answer, "status": "ok", "data": person.id}, answer
    account = browser.get("get-account")["data"]
    assert account["name"] == person.name
    assert [f for f in account["multiFactorAuths"] if f["enabled"]] == [
        {"enabled": True, "isPreferred": True, "mfaType": "app", "mfaRememberInHours": 0}]

    again = Api(person.api.base_url)
    assert person.login(again).json()["data"] == "NextMfa"
    replayed = second_step(again, person, passcode=code, mfaType="app")
    assert replayed.status_code == 401, "a passcode signs in once"
    assert second_step(again, person, passcode=fresh_code(app, used), mfaType="app").json()["status"] == "ok"


def test_the_passcode_step_needs_the_browser_that_gave_the_password(person: Person) -> None:
    app, _ = set_up_totp(person)
    assert person.login(Api(person.api.base_url)).json()["data"] == "NextMfa"
    elsewhere = second_step(Api(person.api.base_url), person, passcode=app.now(), mfaType="app")
    assert elsewhere.status_code == 401 and "sign in with your password first" in elsewhere.json()["msg"]


def test_a_recovery_code_works_once(person: Person) -> None:
    _, recovery = set_up_totp(person)
    browser = Api(person.api.base_url)
    assert person.login(browser).json()["data"] == "NextMfa"
    assert second_step(browser, person, recoveryCode=recovery).json()["status"] == "ok"

    again = Api(person.api.base_url)
    assert person.login(again).json()["data"] == "NextMfa"
    refused = second_step(again, person, recoveryCode=recovery)
    assert refused.status_code == 401 and refused.json()["msg"] == "recovery code not found"


def test_wrong_passcodes_end_the_challenge(person: Person) -> None:
    app, _ = set_up_totp(person)
    browser = Api(person.api.base_url)
    assert person.login(browser).json()["data"] == "NextMfa"
    for _ in range(5):
        assert second_step(browser, person, passcode="000000", mfaType="app").status_code == 401
    ended = second_step(browser, person, passcode=app.now(), mfaType="app")
    assert ended.status_code == 401 and "sign in again" in ended.json()["msg"]


def test_code_login_gives_the_code_only_after_the_second_factor(person: Person) -> None:
    app, _ = set_up_totp(person)
    browser = Api(person.api.base_url)
    first = person.login(browser, type="code").json()
    assert first["data"] == "NextMfa"
    answer = second_step(browser, person, type="code", passcode=app.now(), mfaType="app").json()
    assert answer["status"] == "ok" and isinstance(answer["data"], str) and len(answer["data"]) > 20, answer
    token = second_step(Api(person.api.base_url), person, type="token").json()
    assert token["data"] == "NextMfa", "a token login is asked for the second factor too"


def test_the_password_grant_refuses_a_user_with_mfa(server: ServerProcess, person: Person) -> None:
    set_up_totp(person)
    answer = requests.post(f"{server.url}/api/login/oauth/access_token", timeout=30, data={
        "grant_type": "password", "client_id": person.tenant.client_id, "client_secret": person.tenant.client_secret,
        "username": person.name, "password": PASSWORD})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert "second factor" in answer.json()["error_description"]


def test_setup_refuses_what_initiate_did_not_give(person: Person) -> None:
    org = person.tenant.organization
    props = form(person.api, "mfa/setup/initiate", owner=org, name=person.name, mfaType="app").json()["data"]
    app = pyotp.TOTP(props["secret"])
    own_secret = pyotp.random_base32()
    foreign = form(person.api, "mfa/setup/verify", mfaType="app", passcode=pyotp.TOTP(own_secret).now(),
                   secret=own_secret)
    assert foreign.status_code == 400 and "not the secret" in foreign.json()["msg"]
    early = form(person.api, "mfa/setup/enable", owner=org, name=person.name, mfaType="app", secret=props["secret"],
                 recoveryCodes=props["recoveryCodes"][0])
    assert early.status_code == 400 and "mfa/setup/verify first" in early.json()["msg"]
    wrong = form(person.api, "mfa/setup/verify", mfaType="app", passcode="123456", secret=props["secret"])
    assert app.now() == "123456" or (wrong.status_code == 400 and wrong.json()["msg"] == "totp passcode error")
    assert form(person.api, "mfa/setup/verify", mfaType="app", passcode=app.now(),
                secret=props["secret"]).json()["status"] == "ok"
    bad_code = form(person.api, "mfa/setup/enable", owner=org, name=person.name, mfaType="app",
                    secret=props["secret"], recoveryCodes="not-the-code")
    assert bad_code.status_code == 400 and "recoveryCodes" in bad_code.json()["msg"]
    for mfa_type, problem in (("radius", "not available"), ("carrier-pigeon", "not one of"), ("", "is required")):
        refused = form(person.api, "mfa/setup/initiate", owner=org, name=person.name, mfaType=mfa_type)
        assert refused.status_code == 400 and problem in refused.json()["msg"], refused.json()
    assert person.login().json()["data"] == person.id, "nothing was enabled"


def test_delete_and_preferred(admin: Api, person: Person) -> None:
    set_up_totp(person)
    org = person.tenant.organization
    chosen = form(person.api, "set-preferred-mfa", owner=org, name=person.name, mfaType="app").json()
    assert [p["mfaType"] for p in chosen["data"]] == ["sms", "email", "app", "radius", "push"]
    assert [p for p in chosen["data"] if p["enabled"]] == [
        {"enabled": True, "isPreferred": True, "mfaType": "app", "mfaRememberInHours": 0}]
    refused = form(person.api, "set-preferred-mfa", owner=org, name=person.name, mfaType="sms")
    assert refused.status_code == 400 and "not enabled" in refused.json()["msg"]
    stored = admin.get("get-user", id=person.id)["data"]
    assert stored["preferredMfaType"] == "app" and not stored.get("totpSecret") and not stored.get("recoveryCodes")

    deleted = form(person.api, "delete-mfa", owner=org, name=person.name).json()
    assert deleted["status"] == "ok" and not any(p["enabled"] for p in deleted["data"])
    assert person.login().json()["data"] == person.id, "MFA off: the password alone signs in"
    assert admin.get("get-user", id=person.id)["data"]["preferredMfaType"] == ""


def test_who_may_do_what(server: ServerProcess, admin: Api, person: Person) -> None:
    org = person.tenant.organization
    set_up_totp(person)
    neighbour = new_person(server, admin, person.tenant)
    stranger = new_person(server, admin)
    anonymous = Api(server.url)
    target = {"owner": org, "name": person.name}
    for caller, status in ((anonymous, 401), (neighbour.api, 403), (stranger.api, 403)):
        for action, extra in (("mfa/setup/initiate", {"mfaType": "app"}), ("mfa/setup/enable", {"mfaType": "app"}),
                              ("delete-mfa", {}), ("set-preferred-mfa", {"mfaType": "app"})):
            answer = form(caller, action, **target, **extra)
            assert answer.status_code == status, (action, answer.json())
    assert form(anonymous, "mfa/setup/verify", mfaType="app", passcode="123456", secret="X").status_code == 401
    assert person.login().json()["data"] == "NextMfa", "nobody else removed the factor"
    # Setting a factor up is the user's own business; removing one (a lost phone) is their admin's too.
    assert form(admin, "mfa/setup/initiate", **target, mfaType="app").status_code == 403
    assert form(admin, "delete-mfa", **target).json()["status"] == "ok"
    assert person.login().json()["data"] == person.id
    own = person.api.get("get-user", id=person.id)["data"]
    widened = person.api.post("update-user", {**own, "preferredMfaType": "app"}, params={"id": person.id})
    assert widened["status"] == "error" and "preferredMfaType" in widened["msg"]


def test_a_required_rule_gets_a_session_to_set_up_and_no_code(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    organization = admin.get("get-organization", id=f"admin/{tenant.organization}")["data"]
    bad = admin.post("update-organization", {**organization, "mfaItems": [{"name": "radius", "rule": "Required"}]},
                     params={"id": f"admin/{tenant.organization}"})
    assert bad["status"] == "error" and "mfaItems" in bad["msg"]
    application = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    assert admin.post("update-application", {**application, "redirectUris": ["http://127.0.0.1:9/cb"]},
                      params={"id": f"admin/{tenant.application}"})["status"] == "ok"
    required = {**organization, "mfaItems": [{"name": "app", "rule": "Required"}]}
    assert admin.post("update-organization", required, params={"id": f"admin/{tenant.organization}"})["status"] == "ok"
    name = unique("mfa-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": PASSWORD})["status"] == "ok"
    person = Person(tenant, name, Api(server.url))
    answer = person.login(person.api, type="code").json()
    assert answer["status"] == "ok" and answer["data"] == "RequiredMfa", answer
    code_grant = person.api.post("grant-consent", {
        "application": f"admin/{tenant.application}", "grantedScopes": ["openid"], "clientId": tenant.client_id,
        "responseType": "code", "redirectUri": "http://127.0.0.1:9/cb", "scope": "openid"})
    assert code_grant["status"] == "error" and "requires multi-factor" in code_grant["msg"]
    authorize = person.api.http.get(f"{server.url}/login/oauth/authorize", allow_redirects=False, timeout=30, params={
        "client_id": tenant.client_id, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
        "scope": "openid", "state": "st"})
    assert authorize.status_code == 303 and "error=interaction_required" in authorize.headers["location"]
    assert "code=" not in authorize.headers["location"]
    password_grant = requests.post(f"{server.url}/api/login/oauth/access_token", timeout=30, data={
        "grant_type": "password", "client_id": tenant.client_id, "client_secret": tenant.client_secret,
        "username": name, "password": PASSWORD}).json()
    assert password_grant["error"] == "invalid_grant" and "requires multi-factor" in password_grant["error_description"]
    set_up_totp(person)
    assert person.login().json()["data"] == "NextMfa", "set up: the rule is met, the factor asked"


def test_every_route_records_its_event_without_secrets(server: ServerProcess, admin: Api, receiver: Receiver,
                                                       person: Person) -> None:
    path = f"/ok/{unique('mfa-events')}"
    routes = ["mfa/setup/initiate", "mfa/setup/verify", "mfa/setup/enable", "set-preferred-mfa", "delete-mfa", "login"]
    hook = {"owner": person.tenant.organization, "name": unique("hook"), "url": receiver.url(path), "events": routes}
    assert admin.post("add-webhook", hook)["status"] == "ok"
    app, recovery = set_up_totp(person)
    browser = Api(server.url)
    assert person.login(browser).json()["data"] == "NextMfa"
    passcode = app.at(time.time() + 30)
    assert second_step(browser, person, passcode=passcode, mfaType="app").json()["status"] == "ok"
    org = person.tenant.organization
    assert form(person.api, "set-preferred-mfa", owner=org, name=person.name, mfaType="app").json()["status"] == "ok"
    assert form(person.api, "delete-mfa", owner=org, name=person.name).json()["status"] == "ok"

    arrivals = receiver.wait_for(lambda a: a.path == path, count=7)
    seen = {json.loads(a.body)["event"] for a in arrivals}
    assert set(routes) <= seen, seen
    for a in arrivals:
        text = a.body.decode()
        assert app.secret not in text and recovery not in text and passcode not in text, text
        assert json.loads(a.body)["user"]["username"] == person.name, a.body
    for action in routes[:5]:
        recorded = events(server, action=action, subject=person.id)
        assert recorded and all(app.secret not in json.dumps(e, default=str) for e in recorded), action


def test_a_recovery_code_used_twice_at_once_signs_in_once(server: ServerProcess, person: Person) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _, recovery = set_up_totp(person)
    browsers = [Api(server.url) for _ in range(4)]
    for browser in browsers:
        assert person.login(browser).json()["data"] == "NextMfa"
    with ThreadPoolExecutor(len(browsers)) as pool:
        answers = list(pool.map(lambda b: second_step(b, person, recoveryCode=recovery).status_code, browsers))
    assert sorted(answers) == [200, 401, 401, 401], answers
