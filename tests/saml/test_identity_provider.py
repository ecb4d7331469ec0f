"""Hookdoor as a SAML identity provider, with pysaml2's service provider on 127.0.0.1 as the other
side: the metadata exchange (its signature checked by xmlsec1), the sign-in page, and the signed
Response that pysaml2 verifies against the metadata's certificate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.saml.peers import ServiceProvider, ensure_xmlsec1, follow, form_fields, serving, verify_metadata_signature
from tests.support import Api, ServerProcess, unique

PASSWORD = "saml-user-password-1234"


@pytest.fixture(scope="module", autouse=True)
def _xmlsec1() -> None:
    ensure_xmlsec1()


def _metadata(server: ServerProcess, tenant: Tenant, **params: str) -> requests.Response:
    return requests.get(f"{server.url}/api/saml/metadata", timeout=60,
                        params={"application": f"admin/{tenant.application}", **params})


@pytest.fixture
def tenant(admin: Api) -> Tenant:
    tenant = new_tenant(admin)
    added = admin.post("add-user", {"owner": tenant.organization, "name": "alice", "password": PASSWORD,
                                    "displayName": "Alice Example", "email": "alice@example.com"})
    assert added["status"] == "ok", added
    return tenant


@pytest.fixture
def sp(server: ServerProcess, admin: Api, tenant: Tenant) -> Iterator[ServiceProvider]:
    metadata = _metadata(server, tenant)
    assert metadata.status_code == 200 and metadata.headers["content-type"].startswith("application/xml")
    peer = ServiceProvider(metadata.text)
    running = serving(peer)
    peer.url = next(running)
    stored = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    changed = admin.post("update-application", {**stored, "redirectUris": [peer.entity_id, peer.acs]},
                         params={"id": f"admin/{tenant.application}"})
    assert changed["status"] == "ok", changed
    yield peer
    running.close()


def _sign_in_at_hookdoor(server: ServerProcess, http: requests.Session, sso_url: str) -> requests.Response:
    """The SSO endpoint sends a signed-out browser to the sign-in page, and back after."""
    started = http.get(sso_url, allow_redirects=False, timeout=60)
    assert started.status_code == 303 and started.headers["location"].startswith("/login?"), started.text[:300]
    page = http.get(f"{server.url}{started.headers['location']}", timeout=60)
    _, fields = form_fields(page.text)
    fields.update(username="alice", password=PASSWORD)
    signed_in = http.post(f"{server.url}/login", data=fields, allow_redirects=False, timeout=60)
    assert signed_in.status_code == 303, signed_in.text[:500]
    return follow(http, signed_in, "never")


def test_the_metadata_is_signed_with_the_applications_cert(server: ServerProcess, admin: Api,
                                                            tenant: Tenant) -> None:
    metadata = _metadata(server, tenant).text
    certificate = admin.get("get-cert", id="admin/cert-built-in")["data"]["certificate"]
    checked = verify_metadata_signature(metadata, certificate)
    assert checked.returncode == 0, checked.stderr
    tampered = verify_metadata_signature(metadata.replace(f"/login/saml/authorize/admin/{tenant.application}",
                                                          "/login/saml/authorize/admin/elsewhere"), certificate)
    assert tampered.returncode != 0  # the check can fail: a changed endpoint no longer verifies
    assert f'Location="{server.url}/login/saml/authorize/admin/{tenant.application}"' in metadata
    post = _metadata(server, tenant, enablePostBinding="true").text
    assert f'Location="{server.url}/api/saml/redirect/admin/{tenant.application}"' in post
    recorded = events(server, action="saml/metadata", organization=tenant.organization)
    assert [e["outcome"] for e in recorded] == ["ok", "ok"]
    assert "PRIVATE KEY" not in str(recorded)


def test_a_pysaml2_sp_signs_a_user_in_through_hookdoor(server: ServerProcess, tenant: Tenant,
                                                       sp: ServiceProvider) -> None:
    http = requests.Session()
    answer = _sign_in_at_hookdoor(server, http, sp.start("where-the-sp-was"))
    assert answer.status_code == 200, answer.text[:500]
    action, fields = form_fields(answer.text)
    assert action == sp.acs and fields["RelayState"] == "where-the-sp-was"
    at_sp = requests.post(action, data=fields, timeout=60)
    assert at_sp.status_code == 200, sp.refused
    assert at_sp.text == "signed in as alice; relay where-the-sp-was"
    assertion = sp.received[0].assertion
    attributes = {a.name: a.attribute_value[0].text for s in assertion.attribute_statement for a in s.attribute}
    assert attributes["Email"] == "alice@example.com" and attributes["DisplayName"] == "Alice Example"
    assert attributes["Name"] == "alice"
    logins = events(server, action="login", subject=f"{tenant.organization}/alice")
    assert [e["outcome"] for e in logins] == ["ok", "ok"]  # the sign-in page's, then the SSO's
    assert logins[-1]["object"]["serviceProvider"] == sp.entity_id

    # Signed in already: the next AuthnRequest is answered at once.
    again = http.get(sp.start(), allow_redirects=False, timeout=60)
    assert again.status_code == 200
    _, second = form_fields(again.text)
    assert requests.post(sp.acs, data=second, timeout=60).status_code == 200, sp.refused


def test_an_sp_the_application_does_not_name_gets_no_assertion(server: ServerProcess, tenant: Tenant,
                                                               sp: ServiceProvider) -> None:
    stranger = ServiceProvider(sp.metadata, url="http://127.0.0.1:9")  # not in the redirect URIs
    http = requests.Session()
    refused = _sign_in_at_hookdoor(server, http, stranger.start())
    assert refused.status_code == 400
    assert "doesn&#39;t exist in the allowed Redirect URI list" in refused.text or \
        "doesn't exist in the allowed Redirect URI list" in refused.text
    assert "SAMLResponse" not in refused.text
    failed = events(server, action="login", subject=f"{tenant.organization}/alice", outcome="error")
    assert failed and "Redirect URI" in failed[-1]["message"]


def test_bad_metadata_requests_are_clear_errors(server: ServerProcess, tenant: Tenant) -> None:
    missing = requests.get(f"{server.url}/api/saml/metadata", timeout=30).json()
    assert missing["status"] == "error" and "invalid parameter application" in missing["msg"]
    unknown = requests.get(f"{server.url}/api/saml/metadata", params={"application": f"admin/{unique('no')}"},
                           timeout=30)
    assert unknown.status_code == 404 and "not found" in unknown.json()["msg"]
    garbage = requests.get(f"{server.url}/login/saml/authorize/admin/{tenant.application}",
                           params={"SAMLRequest": "bm90IHhtbA=="}, allow_redirects=False, timeout=30)
    assert garbage.status_code == 303  # signed out: the sign-in page first, the request is read after
    assert urlsplit(garbage.headers["location"]).path == "/login"


def test_the_post_binding_passes_the_request_on(server: ServerProcess, tenant: Tenant) -> None:
    answer = requests.post(f"{server.url}/api/saml/redirect/admin/{tenant.application}", allow_redirects=False,
                           data={"SAMLRequest": "PHNhbWxwOkF1dGhuUmVxdWVzdC8+", "RelayState": "r"}, timeout=30)
    assert answer.status_code == 303
    assert re.match(rf"/login/saml/authorize/admin/{tenant.application}\?SAMLRequest=.+&RelayState=r$",
                    answer.headers["location"])
    empty = requests.post(f"{server.url}/api/saml/redirect/admin/{tenant.application}", data={"RelayState": "r"},
                          timeout=30).json()
    assert empty["status"] == "error" and "SAMLRequest" in empty["msg"]


def test_only_a_user_of_the_applications_organization_gets_an_assertion(server: ServerProcess, admin: Api,
                                                                        tenant: Tenant, sp: ServiceProvider) -> None:
    """The SSO endpoint's authorization: signed out, or signed in to another organization (the
    built-in one's administrator included), the browser goes to the sign-in page - no Response."""
    for http in (requests.Session(), admin.http):
        answer = http.get(sp.start(), allow_redirects=False, timeout=60)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?"), answer.text[:300]
        assert f"organization={tenant.organization}" in answer.headers["location"]
    assert not events(server, action="login", organization=tenant.organization)
    # The routes that start or finish a sign-in are open to anyone, as Casdoor's: they sign nobody in
    # without the sign-in's own proof (an SP's AuthnRequest, a provider's signed Response).
    assert requests.get(f"{server.url}/api/saml/metadata", params={"application": f"admin/{tenant.application}"},
                        timeout=60).status_code == 200
    nobody = requests.post(f"{server.url}/api/acs", data={"SAMLResponse": "x", "RelayState": "y",
                                                          "hookdoor_bounced": "1"}, timeout=60)
    assert nobody.status_code == 400 and "this sign-in is unknown" in nobody.text


def test_a_signed_in_user_with_a_broken_request_gets_a_clear_error(server: ServerProcess, tenant: Tenant,
                                                                   sp: ServiceProvider) -> None:
    http = requests.Session()
    assert _sign_in_at_hookdoor(server, http, sp.start()).status_code == 200
    for garbage in ("bm90IHhtbA==", "!!!", ""):
        answer = http.get(f"{server.url}/login/saml/authorize/admin/{tenant.application}",
                          params={"SAMLRequest": garbage}, allow_redirects=False, timeout=60)
        assert answer.status_code == 400 and "invalid parameter SAMLRequest" in answer.text, answer.text[:300]
