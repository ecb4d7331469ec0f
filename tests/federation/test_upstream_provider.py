"""Sign-in through another provider, against a second Hookdoor server started here as the upstream
OpenID Connect provider: the sign-in page's button, the provider's own sign-in page, the way back,
the user found, linked or created, and unlink."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.compat.sdk import new_tenant
from tests.federation.peers import Federation, new_federation, provider_object
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, unique


def _alert(response: requests.Response) -> str:
    """The error a page shows, for an assertion's message."""
    found = re.search(r'role="alert"[^>]*>([^<]*)<', response.text)
    return f"{response.status_code}: {found.group(1) if found else response.text[:300]}"


@pytest.fixture
def federation(server: ServerProcess, upstream: ServerProcess, admin: Api) -> Federation:
    return new_federation(server, upstream, admin)


def test_the_sign_in_page_offers_the_provider(federation: Federation) -> None:
    page = federation.browser().sign_in_page()
    assert "Sign in with Upstream Hookdoor" in page
    assert f"/login/provider/{federation.provider}?" in page


def test_a_first_sign_in_creates_and_links_the_user_and_a_second_finds_them(federation: Federation) -> None:
    browser = federation.browser()
    landed = browser.sign_in()
    assert landed.headers.get("location") == "/console/webhooks", _alert(landed)
    account = browser.account()
    assert account["status"] == "ok", account
    user = account["data"]
    assert user["owner"] == federation.downstream.organization and user["name"] == federation.upstream_user
    assert user["displayName"] == "Upstream Person" and user["email"] == f"{federation.upstream_user}@example.com"
    subject = f"{user['owner']}/{user['name']}"
    assert [e["outcome"] for e in events(federation.server, action="new-user", subject=subject)] == ["ok"]
    assert [e["outcome"] for e in events(federation.server, action="login", subject=subject)] == ["ok"]
    callbacks = events(federation.server, action="callback", subject=subject)
    assert [e["outcome"] for e in callbacks] == ["ok"]
    assert callbacks[0]["object"]["provider"] == f"{federation.downstream.organization}/{federation.provider}"

    again = federation.browser()
    assert again.sign_in().headers["location"] == "/console/webhooks"
    assert again.account()["data"]["id"] == user["id"]  # the same user, found by the link
    assert len(events(federation.server, action="new-user", subject=subject)) == 1
    assert len(events(federation.server, action="callback", subject=subject)) == 2
    for event in events(federation.server, action="callback"):
        assert "code=" not in event["request"]["uri"]  # the state is recorded, and spent by then


def test_the_state_is_good_once_and_only_for_the_browser_that_started(federation: Federation) -> None:
    browser = federation.browser()
    started = browser.start()
    state = dict(p.split("=", 1) for p in urlsplit(started.headers["location"]).query.split("&"))["state"]
    stranger = requests.get(f"{federation.server.url}/api/callback", params={"state": state, "code": "x"}, timeout=30)
    assert stranger.status_code == 400 and "started in another browser" in stranger.text
    # The stranger's try spent the state: the browser that started it must start again.
    replay = browser.http.get(f"{federation.server.url}/api/callback", params={"state": state, "code": "x"}, timeout=30)
    assert replay.status_code == 400 and "invalid parameter state" in replay.text
    failures = events(federation.server, action="callback", outcome="error")
    assert failures and all(e["request"].get("code") != "x" for e in failures)


def test_the_providers_refusal_is_shown_on_the_sign_in_page(federation: Federation) -> None:
    browser = federation.browser()
    started = browser.start()
    state = dict(p.split("=", 1) for p in urlsplit(started.headers["location"]).query.split("&"))["state"]
    refused = browser.http.get(f"{federation.server.url}/api/callback", timeout=30,
                               params={"state": state, "error": "access_denied", "error_description": "no thanks"})
    assert refused.status_code == 400
    assert "did not sign you in (access_denied: no thanks)" in refused.text
    assert 'name="password"' in refused.text  # the sign-in page, to try again


def test_a_code_the_provider_does_not_know_is_refused(federation: Federation) -> None:
    browser = federation.browser()
    started = browser.start()
    state = dict(p.split("=", 1) for p in urlsplit(started.headers["location"]).query.split("&"))["state"]
    answer = browser.http.get(f"{federation.server.url}/api/callback", params={"state": state, "code": "forged"},
                              timeout=30)
    assert answer.status_code == 400 and "did not exchange the code" in answer.text
    assert browser.account()["status"] == "error"  # nobody signed in


def test_without_sign_up_an_unknown_account_is_refused(server: ServerProcess, upstream: ServerProcess,
                                                       admin: Api) -> None:
    federation = new_federation(server, upstream, admin, sign_up=False)
    answer = federation.browser().sign_in()
    assert answer.status_code == 403 and "does not let this provider sign users up" in answer.text
    assert not events(server, action="new-user", organization=federation.downstream.organization)


def test_a_binding_rule_takes_over_an_existing_user_only_when_asked(server: ServerProcess, upstream: ServerProcess,
                                                                    admin: Api) -> None:
    federation = new_federation(server, upstream, admin, bindingRule=["Name"])
    added = admin.post("add-user", {"owner": federation.downstream.organization, "name": federation.upstream_user,
                                    "password": "existing-password-1234"})
    assert added["status"] == "ok", added
    browser = federation.browser()
    assert browser.sign_in().status_code == 303
    assert browser.account()["data"]["name"] == federation.upstream_user
    assert not events(server, action="new-user", organization=federation.downstream.organization)


def test_without_a_binding_rule_a_same_named_user_is_not_taken_over(federation: Federation) -> None:
    admin, organization = federation.admin, federation.downstream.organization
    added = admin.post("add-user", {"owner": organization, "name": federation.upstream_user,
                                    "password": "existing-password-1234"})
    assert added["status"] == "ok", added
    browser = federation.browser()
    assert browser.sign_in().status_code == 303
    created = browser.account()["data"]
    assert created["name"].startswith(federation.upstream_user + "_") and created["name"] != federation.upstream_user


def test_unlink_removes_the_link(federation: Federation) -> None:
    browser = federation.browser()
    browser.sign_in()
    user = browser.account()["data"]
    answer = browser.http.post(f"{federation.server.url}/api/unlink", timeout=30, json={
        "providerType": "Custom", "providerName": federation.provider,
        "user": {"owner": user["owner"], "name": user["name"]}})
    assert answer.json()["status"] == "ok", answer.json()
    again = browser.http.post(f"{federation.server.url}/api/unlink", timeout=30,
                              json={"providerName": federation.provider}).json()
    assert again["status"] == "error" and "is not linked" in again["msg"]
    unlinked = events(federation.server, action="unlink", subject=f"{user['owner']}/{user['name']}")
    assert [e["outcome"] for e in unlinked] == ["ok", "error"]
    # The upstream account is nobody's now: signing in through it makes a new user.
    fresh = federation.browser()
    fresh.sign_in()
    assert fresh.account()["data"]["id"] != user["id"]


def test_a_signed_in_user_links_a_provider_and_signs_in_with_it(federation: Federation) -> None:
    admin, organization = federation.admin, federation.downstream.organization
    local = unique("local")
    assert admin.post("add-user", {"owner": organization, "name": local, "password": "local-password-1234",
                                   "signupApplication": federation.downstream.application})["status"] == "ok"
    browser = federation.browser()
    signed_in = Api(federation.server.url)
    signed_in.http = browser.http
    signed = signed_in.login(local, "local-password-1234", organization, federation.downstream.application)
    assert signed["status"] == "ok", signed
    linking = browser.sign_in("link")
    assert linking.headers.get("location") == "/console/webhooks", _alert(linking)
    linked = events(federation.server, action="callback", subject=f"{organization}/{local}")
    assert linked and linked[-1]["object"]["method"] == "link"

    other = federation.browser()
    other.sign_in()
    assert other.account()["data"]["name"] == local  # the provider's account signs in as the linked user


def test_a_user_may_not_unlink_another(federation: Federation) -> None:
    browser = federation.browser()
    browser.sign_in()
    user = browser.account()["data"]
    organization = federation.downstream.organization
    stranger = unique("stranger")
    assert federation.admin.post("add-user", {"owner": organization, "name": stranger,
                                              "password": "stranger-password-1234"})["status"] == "ok"
    api = Api(federation.server.url)
    signed = api.login(stranger, "stranger-password-1234", organization, federation.downstream.application)
    assert signed["status"] == "ok", signed
    target = {"owner": organization, "name": user["name"]}
    refused = api.post("unlink", {"providerName": federation.provider, "user": target})
    assert refused["status"] == "error" and "only an administrator" in refused["msg"]
    anonymous = Api(federation.server.url).post("unlink", {"providerName": federation.provider, "user": target})
    assert anonymous["status"] == "error" and anonymous["msg"] == "Please login first"
    # An administrator of the organization may.
    done = federation.admin.post("unlink", {"providerName": federation.provider, "user": target})
    assert done["status"] == "ok", done


def test_a_provider_pointing_inside_is_refused_at_save(admin: Api, upstream: ServerProcess) -> None:
    tenant = new_tenant(admin)
    inside = provider_object(upstream, tenant.organization, unique("inside"), tenant,
                             customTokenUrl="http://169.254.169.254/latest/meta-data/")
    answer = admin.post("add-provider", inside)
    assert answer["status"] == "error" and answer["msg"].startswith("invalid field customTokenUrl:"), answer
    missing = provider_object(upstream, tenant.organization, unique("missing"), tenant, customUserInfoUrl="")
    answer = admin.post("add-provider", missing)
    assert answer["status"] == "error" and "customUserInfoUrl" in answer["msg"], answer
