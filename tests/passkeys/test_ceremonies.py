"""WebAuthn over HTTP with a software authenticator: a signed-in user registers a passkey, then signs
in with it (named, and discoverable); a replayed assertion, a challenge answered twice, another
origin, a cloned authenticator's stale counter and a stranger's begin are refused; events carry no
credential data."""

from __future__ import annotations

import copy
import json

import pytest

from tests.compat.sdk import new_tenant
from tests.identity.test_events_recorded import events
from tests.mfa.test_totp import PASSWORD, Person, new_person
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import Api, ServerProcess


def register(person: Person, authenticator: SoftAuthenticator) -> dict:
    options = person.api.get("webauthn/signup/begin")
    assert options["publicKey"]["attestation"] == "none", options
    assert options["publicKey"]["rp"]["id"] == "127.0.0.1"
    answer = person.api.post("webauthn/signup/finish", authenticator.create(options))
    assert answer["status"] == "ok", answer
    return options


def sign_in(server: ServerProcess, authenticator: SoftAuthenticator, **query: str) -> tuple[Api, dict, dict]:
    browser = Api(server.url)
    options = browser.get("webauthn/signin/begin", **query)
    assertion = authenticator.get(options)
    answer = browser.post("webauthn/signin/finish", assertion)
    return browser, assertion, answer


@pytest.fixture
def person(server: ServerProcess, admin: Api) -> Person:
    return new_person(server, admin)


def test_register_then_sign_in_with_the_passkey(server: ServerProcess, person: Person) -> None:
    authenticator = SoftAuthenticator(server.url)
    register(person, authenticator)
    browser, _, answer = sign_in(server, authenticator, owner=person.tenant.organization, name=person.name)
    assert answer["status"] == "ok" and answer["data"] == person.id, answer
    assert browser.get("get-account")["data"]["name"] == person.name

    _, _, discoverable = sign_in(server, authenticator)  # nobody named: the credential says who
    assert discoverable["data"] == person.id, discoverable
    again = person.api.get("webauthn/signup/begin")
    assert len(again["publicKey"]["excludeCredentials"]) == 1, "the registered passkey is excluded"


def test_a_replayed_assertion_is_refused(server: ServerProcess, person: Person) -> None:
    authenticator = SoftAuthenticator(server.url)
    register(person, authenticator)
    browser, assertion, answer = sign_in(server, authenticator)
    assert answer["status"] == "ok"
    replayed = browser.http.post(f"{server.url}/api/webauthn/signin/finish", json=assertion, timeout=30)
    assert replayed.status_code == 400 and replayed.json()["msg"] == "Please call WebAuthnSigninBegin first"

    # Replayed against a fresh challenge: the signature covers the old one.
    fresh = Api(server.url)
    fresh.get("webauthn/signin/begin")
    refused = fresh.http.post(f"{server.url}/api/webauthn/signin/finish", json=assertion, timeout=30)
    assert refused.status_code == 401 and "refused" in refused.json()["msg"], refused.json()
    assert fresh.get("get-account")["status"] == "error"


def test_a_wrong_answer_spends_the_challenge(server: ServerProcess, person: Person) -> None:
    authenticator = SoftAuthenticator(server.url)
    register(person, authenticator)
    browser = Api(server.url)
    options = browser.get("webauthn/signin/begin")
    good = authenticator.get(options)
    forged = copy.deepcopy(good)
    forged["response"]["signature"] = good["response"]["signature"][:-4] + "AAAA"
    assert browser.http.post(f"{server.url}/api/webauthn/signin/finish", json=forged, timeout=30).status_code == 401
    late = browser.http.post(f"{server.url}/api/webauthn/signin/finish", json=good, timeout=30)
    assert late.status_code == 400, "the challenge was spent by the wrong answer"


def test_another_origin_and_a_cloned_counter_are_refused(server: ServerProcess, person: Person) -> None:
    authenticator = SoftAuthenticator(server.url)
    register(person, authenticator)
    phishing = SoftAuthenticator("https://hookdoor.example.evil", keys=authenticator.keys)
    _, _, answer = sign_in(server, phishing)
    assert answer["status"] == "error" and "origin" in answer["msg"].lower(), answer

    clone = SoftAuthenticator(server.url, keys={k: copy.copy(v) for k, v in authenticator.keys.items()})
    assert sign_in(server, authenticator)[2]["status"] == "ok"
    assert sign_in(server, authenticator)[2]["status"] == "ok"  # the original is at counter 3 now
    _, _, stale = sign_in(server, clone)  # the clone answers with 2
    assert stale["status"] == "error", stale


def test_who_may_begin_what(server: ServerProcess, admin: Api, person: Person) -> None:
    anonymous = Api(server.url)
    assert anonymous.http.get(f"{server.url}/api/webauthn/signup/begin", timeout=30).status_code == 401
    authenticator = SoftAuthenticator(server.url)
    options = person.api.get("webauthn/signup/begin")
    stolen = anonymous.http.post(f"{server.url}/api/webauthn/signup/finish", json=authenticator.create(options),
                                 timeout=30)
    assert stolen.status_code == 401, "registration is the signed-in user's"
    nobody = anonymous.http.get(f"{server.url}/api/webauthn/signin/begin",
                                params={"owner": person.tenant.organization, "name": "no-such-user"}, timeout=30)
    without = anonymous.http.get(f"{server.url}/api/webauthn/signin/begin",
                                 params={"owner": person.tenant.organization, "name": person.name}, timeout=30)
    assert nobody.json()["msg"] == without.json()["msg"] == "Found no credentials for this user"
    # Another user's passkey does not sign in as this user when this user is named.
    other = new_person(server, admin)
    theirs = SoftAuthenticator(server.url)
    register(other, theirs)
    register(person, SoftAuthenticator(server.url))
    browser = Api(server.url)
    named = browser.get("webauthn/signin/begin", owner=person.tenant.organization, name=person.name)
    named["publicKey"]["allowCredentials"] = []
    refused = browser.http.post(f"{server.url}/api/webauthn/signin/finish", json=theirs.get(named), timeout=30)
    assert refused.status_code == 401


def test_code_sign_in_and_events(server: ServerProcess, admin: Api) -> None:
    tenant = new_tenant(admin)
    application = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    assert admin.post("update-application", {**application, "redirectUris": ["http://127.0.0.1:9/cb"]},
                      params={"id": f"admin/{tenant.application}"})["status"] == "ok"
    person = new_person(server, admin, tenant)
    authenticator = SoftAuthenticator(server.url)
    register(person, authenticator)
    browser = Api(server.url)
    options = browser.get("webauthn/signin/begin")
    assertion = authenticator.get(options)
    answer = browser.http.post(f"{server.url}/api/webauthn/signin/finish", json=assertion, timeout=30, params={
        "responseType": "code", "clientId": tenant.client_id, "redirectUri": "http://127.0.0.1:9/cb",
        "scope": "openid", "state": "s"}).json()
    assert answer["status"] == "ok" and len(answer["data"]) > 20, answer
    for action in ("webauthn/signup/begin", "webauthn/signup/finish", "webauthn/signin/finish"):
        recorded = [e for e in events(server, action=action) if (e["subject"] or "") == person.id]
        assert recorded, action
    assert events(server, action="webauthn/signin/begin"), "a discoverable sign-in names nobody when it begins"
    finished = [e for e in events(server, action="webauthn/signin/finish") if e["subject"] == person.id]
    text = json.dumps(finished, default=str)
    assert assertion["response"]["signature"] not in text and assertion["response"]["authenticatorData"] not in text
    assert PASSWORD not in text


def test_faceid_signin_begin(server: ServerProcess, person: Person) -> None:
    for name in (person.name, "no-such-user"):
        answer = Api(server.url).http.get(f"{server.url}/api/faceid-signin-begin", timeout=30,
                                          params={"owner": person.tenant.organization, "name": name})
        assert answer.status_code == 400 and answer.json()["msg"] == "Face data does not exist, cannot log in"
    assert events(server, action="faceid-signin-begin")
