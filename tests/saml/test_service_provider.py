"""Hookdoor as a SAML service provider, with pysaml2's identity provider on 127.0.0.1 as the upstream:
the sign-in page's button, the IdP's signed Response posted to /api/acs, the user created, linked
and found again; replayed, unsigned, wrongly signed and wrongly addressed responses refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from hookdoor.oauth import keys
from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.saml.peers import IdentityProvider, ensure_xmlsec1, form_fields, serving
from tests.support import Api, ServerProcess, unique


@pytest.fixture(scope="module", autouse=True)
def _xmlsec1() -> None:
    ensure_xmlsec1()


@dataclass
class Setting:
    server: ServerProcess
    idp: IdentityProvider
    tenant: Tenant
    provider: str

    def start(self, http: requests.Session) -> requests.Response:
        """From the sign-in page's button to the IdP, which answers with its auto-posting form."""
        started = http.get(f"{self.server.url}/login/provider/{self.provider}", allow_redirects=False, timeout=60,
                           params={"application": self.tenant.application, "next": "/console/webhooks"})
        assert started.status_code == 303 and started.headers["location"].startswith(f"{self.idp.url}/sso?"), \
            started.text[:300]
        return http.get(started.headers["location"], timeout=60)

    def sign_in(self, http: requests.Session) -> tuple[requests.Response, dict[str, str]]:
        action, fields = form_fields(self.start(http).text)
        assert action == f"{self.server.url}/api/acs"
        return http.post(action, data=fields, allow_redirects=False, timeout=60), fields


def _pair(name: str) -> keys.KeyPair:
    return keys.generate({"name": name, "owner": "tests", "bitSize": 2048})


@pytest.fixture
def setting(server: ServerProcess, admin: Api) -> Iterator[Setting]:
    pair = _pair("idp")
    idp = IdentityProvider(pair.certificate, pair.private_key, user=unique("person"))
    running = serving(idp)
    idp.url = next(running)
    tenant = new_tenant(admin, enable_sign_up=True)
    provider = unique("saml-idp")
    added = admin.post("add-provider", {
        "owner": tenant.organization, "name": provider, "displayName": "Test IdP", "category": "SAML",
        "type": "Custom", "idP": pair.certificate, "issuerUrl": idp.entity_id, "endpoint": f"{idp.url}/sso",
        "userMapping": {"username": "uid", "displayName": "displayName", "email": "mail"}})
    assert added["status"] == "ok", added
    stored = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    entry = {"name": provider, "canSignIn": True, "canSignUp": True}
    changed = admin.post("update-application", {**stored, "providers": [entry]},
                         params={"id": f"admin/{tenant.application}"})
    assert changed["status"] == "ok", changed
    yield Setting(server, idp, tenant, provider)
    running.close()


def _account(setting: Setting, http: requests.Session) -> dict[str, Any]:
    return http.get(f"{setting.server.url}/api/get-account", timeout=30).json()


def test_a_pysaml2_idp_signs_a_user_into_hookdoor(setting: Setting) -> None:
    http = requests.Session()
    landed, fields = setting.sign_in(http)
    assert landed.status_code == 303 and landed.headers["location"] == "/console/webhooks", landed.text[:800]
    user = _account(setting, http)["data"]
    assert user["owner"] == setting.tenant.organization and user["name"] == setting.idp.user
    assert user["email"] == f"{setting.idp.user}@idp.example" and user["displayName"] == "IdP Person"
    subject = f"{user['owner']}/{user['name']}"
    assert [e["outcome"] for e in events(setting.server, action="acs", subject=subject)] == ["ok"]
    assert [e["outcome"] for e in events(setting.server, action="new-user", subject=subject)] == ["ok"]
    assert [e["outcome"] for e in events(setting.server, action="login", subject=subject)] == ["ok"]
    recorded = events(setting.server, action="acs", subject=subject)[0]
    assert recorded["request"]["body"]["SAMLResponse"] == "***"  # the assertion is a credential
    assert fields["SAMLResponse"][:40] not in str(recorded)

    # Replayed (as posted again from Hookdoor's page: the finished sign-in's cookie is gone): refused.
    replayed = http.post(f"{setting.server.url}/api/acs", data={**fields, "hookdoor_bounced": "1"},
                         allow_redirects=False, timeout=60)
    assert replayed.status_code == 400 and "already finished" in replayed.text
    assert [e["outcome"] for e in events(setting.server, action="acs", subject=subject)] == ["ok"]
    assert any("already finished" in (e["message"] or "")  # recorded, as a failure
               for e in events(setting.server, action="acs", outcome="error"))

    # A second sign-in finds the same user, by the link.
    other = requests.Session()
    assert setting.sign_in(other)[0].status_code == 303
    assert _account(setting, other)["data"]["id"] == user["id"]
    assert len(events(setting.server, action="new-user", subject=subject)) == 1


def test_a_response_answering_another_sign_in_is_refused(setting: Setting) -> None:
    first, second = requests.Session(), requests.Session()
    _, old = form_fields(setting.start(first).text)
    _, new = form_fields(setting.start(second).text)
    # The first sign-in's Response, under the second's RelayState: not the answer to its AuthnRequest.
    mixed = second.post(f"{setting.server.url}/api/acs", data={**old, "RelayState": new["RelayState"]},
                        allow_redirects=False, timeout=60)
    assert mixed.status_code == 400 and "answers no sign-in started here" in mixed.text
    assert _account(setting, second)["status"] == "error"


@pytest.mark.parametrize("fault, refusal", [
    ("unsigned", "Neither the response nor the assertions are signed"),
    ("wrong key", "its signature does not verify with the provider"),
    ("wrong audience", "it is meant for another service provider"),
    ("expired", "it has expired, is not valid yet"),
])
def test_a_response_hookdoor_must_not_trust_is_refused(setting: Setting, fault: str, refusal: str) -> None:
    if fault == "unsigned":
        setting.idp.sign = False
    elif fault == "wrong key":
        setting.idp.private_key = _pair("impostor").private_key
    elif fault == "expired":
        setting.idp.lifetime_minutes = -10
    else:
        setting.idp.audience = "http://127.0.0.1:9/another-sp"
    http = requests.Session()
    refused, _ = setting.sign_in(http)
    assert refused.status_code == 400, refused.text[:500]
    assert refusal in refused.text and 'name="password"' in refused.text, re.findall(r"refused: [^<]*", refused.text)
    assert _account(setting, http)["status"] == "error"
    assert not events(setting.server, action="new-user", organization=setting.tenant.organization)
    assert any(refusal in (e["message"] or "") for e in events(setting.server, action="acs", outcome="error"))


def test_a_cross_site_post_is_posted_again_from_hookdoors_page(setting: Setting) -> None:
    http = requests.Session()
    _, fields = form_fields(setting.start(http).text)
    cookieless = requests.post(f"{setting.server.url}/api/acs", data=fields, allow_redirects=False, timeout=60)
    assert cookieless.status_code == 200 and "data-auto-submit" in cookieless.text
    action, again = form_fields(cookieless.text)
    assert action == "/api/acs" and again["hookdoor_bounced"] == "1" and again["RelayState"] == fields["RelayState"]
    # Posted again by the browser that started the sign-in (its cookie now sent): signed in.
    finished = http.post(f"{setting.server.url}{action}", data=again, allow_redirects=False, timeout=60)
    assert finished.status_code == 303, finished.text[:500]


def test_get_saml_login_gives_the_idps_url(setting: Setting) -> None:
    http = requests.Session()
    answer = http.get(f"{setting.server.url}/api/get-saml-login", timeout=30, params={
        "id": f"{setting.tenant.organization}/{setting.provider}", "application": setting.tenant.application}).json()
    assert answer["status"] == "ok" and answer["data2"] == "GET", answer
    assert answer["data"].startswith(f"{setting.idp.url}/sso?SAMLRequest=") and "RelayState=" in answer["data"]
    at_idp = http.get(answer["data"], timeout=60)
    action, fields = form_fields(at_idp.text)
    assert http.post(action, data=fields, allow_redirects=False, timeout=60).status_code == 303
    unknown = http.get(f"{setting.server.url}/api/get-saml-login", params={"id": "nobody"}, timeout=30).json()
    assert unknown["status"] == "error" and "invalid parameter id" in unknown["msg"]


def test_a_saml_provider_without_its_idp_is_refused_at_save(admin: Api) -> None:
    tenant = new_tenant(admin)
    answer = admin.post("add-provider", {"owner": tenant.organization, "name": unique("half"), "category": "SAML",
                                         "type": "Custom", "endpoint": "http://127.0.0.1:9/sso"})
    assert answer["status"] == "error" and "needs its IdP's metadata" in answer["msg"], answer
    answer = admin.post("add-provider", {"owner": tenant.organization, "name": unique("bad"), "category": "SAML",
                                         "type": "Custom", "idP": "not a certificate", "issuerUrl": "http://x/idp",
                                         "endpoint": "http://127.0.0.1:9/sso"})
    assert answer["status"] == "error" and answer["msg"].startswith("invalid field idP"), answer


def test_a_response_that_is_no_saml_is_a_clear_error(setting: Setting) -> None:
    http = requests.Session()
    _, fields = form_fields(setting.start(http).text)
    for garbage in ("!!!", "PGE+"):  # not base64 XML; "<a>"
        _, again = form_fields(setting.start(http).text)
        answer = http.post(f"{setting.server.url}/api/acs", data={**again, "SAMLResponse": garbage},
                           allow_redirects=False, timeout=60)
        assert answer.status_code == 400 and "not a well-formed SAML Response" in answer.text, answer.text[:500]
    missing = http.post(f"{setting.server.url}/api/acs", data={"RelayState": fields["RelayState"]},
                        allow_redirects=False, timeout=60)
    assert missing.status_code == 400 and "invalid field SAMLResponse" in missing.text


def test_the_sign_in_page_offers_the_saml_provider(setting: Setting) -> None:
    page = requests.get(f"{setting.server.url}/login", params={"application": setting.tenant.application},
                        timeout=30)
    assert page.status_code == 200
    assert "Sign in with Test IdP" in page.text and f"/login/provider/{setting.provider}?" in page.text


def test_a_signed_in_user_links_the_saml_provider_and_signs_in_with_it(setting: Setting, admin: Api) -> None:
    organization, application = setting.tenant.organization, setting.tenant.application
    local = unique("local")
    assert admin.post("add-user", {"owner": organization, "name": local, "password": "local-password-1234",
                                   "signupApplication": application})["status"] == "ok"
    api = Api(setting.server.url)
    assert api.login(local, "local-password-1234", organization, application)["status"] == "ok"
    started = api.http.get(f"{setting.server.url}/login/provider/{setting.provider}", allow_redirects=False,
                           params={"application": application, "method": "link", "next": "/console"}, timeout=60)
    action, fields = form_fields(api.http.get(started.headers["location"], timeout=60).text)
    linked = api.http.post(action, data=fields, allow_redirects=False, timeout=60)
    assert linked.status_code == 303, linked.text[:500]
    recorded = events(setting.server, action="acs", subject=f"{organization}/{local}")
    assert recorded and recorded[-1]["object"]["method"] == "link"
    other = requests.Session()
    assert setting.sign_in(other)[0].status_code == 303
    assert _account(setting, other)["data"]["name"] == local  # the IdP's account signs in as the linked user
