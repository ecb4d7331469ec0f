"""Two-step sign-in in Debian's Chromium: a user sets up an authenticator app on the account's
security page (the test reads the key shown and computes passcodes with pyotp, as the app would),
then signs in on the sign-in page with a passcode, a recovery code, and through an OAuth
authorization request that gets its code only after the second factor."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.console.browser import shoot
from tests.messaging.peers import SmtpSink, email_provider, use_providers
from tests.mfa.test_totp import fresh_code
from tests.oauth.test_authorize import CALLBACK, PASSWORD, Client, new_client
from tests.support import Api, ServerProcess


def _password_step(page: Page, username: str, organization: str, application: str) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#organization", organization)
    page.fill("#application", application)
    page.click("form[action='/login'] button[type=submit]")


def _new_page(browser: Browser, base_url: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _sign_in_with_password(page: Page, client: Client) -> None:
    organization, application = client.tenant.organization, client.tenant.application
    page.goto(f"/login?{urlencode({'organization': organization, 'application': application})}")
    _password_step(page, client.user, organization, application)


def test_set_up_totp_then_sign_in_with_it(browser: Browser, server: ServerProcess, admin: Api,
                                          screenshots: bool) -> None:
    client = new_client(server, admin, redirectUris=[CALLBACK])
    organization, application = client.tenant.organization, client.tenant.application
    context, page = _new_page(browser, server.url)
    try:
        _sign_in_with_password(page, client)
        expect(page).to_have_url(re.compile(r"/console"))
        page.goto("/console/account/security")
        expect(page.locator("#mfa-status")).to_contain_text("Off")
        page.click("text=Set up an authenticator app")
        expect(page.locator("#totp-qr")).to_be_visible()
        app = pyotp.TOTP(page.inner_text("#totp-secret").strip())
        recovery = page.inner_text("#recovery-code").strip()
        if screenshots:
            shoot(page, "mfa-setup")
        page.fill("#passcode", "000000" if app.now() != "000000" else "111111")
        page.click("text=Turn on two-step sign-in")
        expect(page.locator("#form-error")).to_contain_text("totp passcode error")
        used: set[str] = set()
        page.fill("#passcode", fresh_code(app, used))
        page.click("text=Turn on two-step sign-in")
        expect(page.locator("#mfa-status")).to_contain_text("On")
        page.click("text=Sign out")

        # The password alone no longer signs in: the second step asks for the passcode.
        _sign_in_with_password(page, client)
        expect(page.locator("#passcode")).to_be_visible()
        if screenshots:
            shoot(page, "mfa-sign-in")
        page.fill("#passcode", "123456" if app.now() != "123456" else "654321")
        page.click("form[action='/login/mfa'] >> text=Verify")
        expect(page.locator("#form-error")).to_contain_text("totp passcode error")
        page.fill("#passcode", fresh_code(app, used))
        page.click("form[action='/login/mfa'] >> text=Verify")
        expect(page).to_have_url(re.compile(r"/console"))
        assert Api(server.url).get("get-account")["status"] == "error"  # (another browser: nobody)
        page.click("text=Sign out")

        # An authorization request: the client is sent its code only after the second factor.
        page.route(f"{CALLBACK}**", lambda route: route.fulfill(status=200, body="client"))
        query = urlencode({"client_id": client.tenant.client_id, "redirect_uri": CALLBACK, "response_type": "code",
                           "scope": "openid", "state": "st"})
        page.goto(f"/login/oauth/authorize?{query}")
        _password_step(page, client.user, organization, application)
        expect(page.locator("#passcode")).to_be_visible()
        assert not page.url.startswith(CALLBACK)
        page.click("text=Lost your device? Use a recovery code")
        page.fill("#recoveryCode", recovery)
        page.click("text=Sign in with the recovery code")
        page.wait_for_url(f"{CALLBACK}**")
        answer = parse_qs(urlsplit(page.url).query)
        assert answer["state"] == ["st"] and answer["code"][0]
    finally:
        context.close()


def test_register_a_passkey_then_sign_in_with_it(browser: Browser, server: ServerProcess, admin: Api,
                                                 screenshots: bool) -> None:
    """Chromium's own WebAuthn machinery with a virtual authenticator (DevTools' WebAuthn domain) in
    place of a security key. On localhost: browsers take no IP address as a relying-party id."""
    client = new_client(server, admin, redirectUris=[CALLBACK])
    base = server.url.replace("127.0.0.1", "localhost")
    context, page = _new_page(browser, base)
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    try:
        _sign_in_with_password(page, client)
        expect(page).to_have_url(re.compile(r"/console"))
        page.goto("/console/account/security")
        page.click("text=Register a passkey")
        expect(page.locator("[role=status]")).to_contain_text("Passkey registered")
        expect(page.locator("table tbody tr")).to_have_count(1)
        if screenshots:
            shoot(page, "security-passkey")
        page.click("text=Sign out")

        page.goto(f"/login?{urlencode({'next': '/console/account/security'})}")
        page.click("text=Sign in with a passkey")
        expect(page).to_have_url(re.compile(r"/console/account/security$"))
        expect(page.locator("table tbody tr")).to_have_count(1)
        assert client.user in page.inner_text("header")
        page.click("text=Remove")
        expect(page.locator("[role=status]")).to_contain_text("Passkey removed")
        expect(page.locator("#no-passkeys")).to_be_visible()
    finally:
        context.close()


def test_set_up_email_codes_then_sign_in_with_one(browser: Browser, server: ServerProcess, admin: Api,
                                                  smtp: SmtpSink, screenshots: bool) -> None:
    """The code factor's pages: the security page sends a code to the account's own address (a real
    SMTP server receives it), the code turns the factor on; the sign-in's second step sends another."""
    client = new_client(server, admin, redirectUris=[CALLBACK])
    organization, application = client.tenant.organization, client.tenant.application
    address = f"{client.user}@example.com"
    user = admin.get("get-user", id=f"{organization}/{client.user}")["data"]
    assert admin.post("update-user", {**user, "email": address},
                      params={"id": f"{organization}/{client.user}"})["status"] == "ok"
    use_providers(admin, application, {"name": email_provider(admin, organization, smtp), "rule": "All"},
                  codeResendTimeout=1)
    context, page = _new_page(browser, server.url)
    try:
        _sign_in_with_password(page, client)
        expect(page).to_have_url(re.compile(r"/console"))
        page.goto("/console/account/security")
        page.click("[data-code-factor=email] button")
        expect(page.locator("#code-destination")).to_contain_text("@example.com")
        setup_code = smtp.code_to(address)
        page.fill("#passcode", "000000" if setup_code != "000000" else "111111")
        page.click("text=Turn on two-step sign-in")
        expect(page.locator("#form-error")).to_contain_text("Wrong verification code!")
        page.fill("#passcode", setup_code)
        page.click("text=Turn on two-step sign-in")
        expect(page.locator("#mfa-status")).to_contain_text("codes by email")
        if screenshots:
            shoot(page, "mfa-email-on")
        page.click("text=Sign out")

        _sign_in_with_password(page, client)
        expect(page.locator("#passcode-email")).to_be_visible()
        sent = len(smtp.to(address))
        time.sleep(1.1)  # the application's codeResendTimeout
        page.click("[data-send-code=email] button")
        expect(page.locator("#code-sent")).to_contain_text("@example.com")
        smtp.wait_for(address, sent + 1)
        page.fill("#passcode-email", smtp.code_to(address))
        page.click("form[data-factor=email] >> text=Verify")
        expect(page).to_have_url(re.compile(r"/console"))
        assert client.user in page.inner_text("header")
    finally:
        context.close()
