"""The sign-in pages in Debian's Chromium: sign-in through the upstream Hookdoor provider, the OAuth
consent page, and the device approval page - each as a person goes through it, screenshots at both
widths."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Browser, Page, expect

from tests.console.browser import shoot
from tests.federation.peers import UPSTREAM_PASSWORD, new_federation, provider_url
from tests.oauth.test_authorize import PASSWORD, new_client
from tests.oauth.test_consent import SCOPES
from tests.oauth.test_device import DEVICE_GRANT
from tests.receiver import Receiver
from tests.support import Api, ServerProcess


def _sign_in(page: Page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_sign_in_with_the_upstream_provider(browser: Browser, server: ServerProcess, upstream: ServerProcess,
                                            admin: Api, screenshots: bool) -> None:
    federation = new_federation(server, upstream, admin)
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"/login?application={federation.downstream.application}&next=/api/get-account")
        if screenshots:
            shoot(page, "login-with-provider")
        page.click("text=Sign in with Upstream Hookdoor")
        expect(page).to_have_url(re.compile(rf"^{re.escape(provider_url(upstream))}/login\?"))
        _sign_in(page, federation.upstream_user, UPSTREAM_PASSWORD)
        expect(page).to_have_url(f"{server.url}/api/get-account")
        assert f'"name":"{federation.upstream_user}"' in page.inner_text("body").replace(" ", "")
    finally:
        context.close()


def test_consent_page_allow(browser: Browser, server: ServerProcess, admin: Api, receiver: Receiver,
                            screenshots: bool) -> None:
    callback = receiver.url("/oauth-callback")
    client = new_client(server, admin, redirectUris=[re.escape(callback)], customScopes=SCOPES)
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"/login/oauth/authorize?client_id={client.tenant.client_id}&response_type=code"
                  f"&redirect_uri={callback}&scope=openid%20contacts.read&state=s-1")
        expect(page).to_have_url(re.compile(rf"^{re.escape(server.url)}/login\?"))
        _sign_in(page, client.user, PASSWORD)
        expect(page.locator("h1")).to_contain_text("wants to access your account")
        expect(page.locator(".scopes")).to_contain_text("Read your contacts")
        if screenshots:
            shoot(page, "consent")
        page.click("button[value=allow]")
        expect(page).to_have_url(re.compile(rf"^{re.escape(callback)}\?code=[^&]+&state=s-1$"))
        assert page.inner_text("body") == "received"  # the client's own server got the code
    finally:
        context.close()


def test_device_approval_page(browser: Browser, server: ServerProcess, admin: Api, screenshots: bool) -> None:
    client = new_client(server, admin, grantTypes=["authorization_code", DEVICE_GRANT])
    started = requests.post(f"{server.url}/api/device-auth", timeout=30,
                            data={"client_id": client.tenant.client_id, "scope": "openid"}).json()
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(started["verification_uri"])
        expect(page).to_have_url(re.compile(rf"^{re.escape(server.url)}/login\?"))
        page.click("summary")  # the organization and application fields
        page.fill("#organization", client.tenant.organization)
        page.fill("#application", client.tenant.application)
        _sign_in(page, client.user, PASSWORD)
        page.fill("#user_code", started["user_code"])
        page.click("text=Continue")
        expect(page.locator("main")).to_contain_text(started["user_code"])
        if screenshots:
            shoot(page, "device-approval")
        page.click("button[value=approve]")
        expect(page.locator("main")).to_contain_text("The device is signed in")
        token = requests.post(client.config["token_endpoint"], timeout=30, data={
            "grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": client.tenant.client_id})
        assert token.status_code == 200 and token.json()["access_token"], token.text
    finally:
        context.close()
