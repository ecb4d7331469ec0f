"""Sign-in through another provider asks for the second factor too (as Casdoor's does): the provider's
answer alone opens no session for a user with MFA on."""

from __future__ import annotations

import re
import time

import pyotp

from tests.federation.peers import new_federation
from tests.support import Api, ServerProcess


def test_provider_sign_in_then_the_passcode(server: ServerProcess, upstream: ServerProcess, admin: Api) -> None:
    federation = new_federation(server, upstream, admin)
    first = federation.browser()
    assert first.sign_in().headers.get("location") == "/console/webhooks"
    organization, name = federation.downstream.organization, federation.upstream_user
    started = first.http.post(f"{server.url}/api/mfa/setup/initiate", timeout=30,
                              data={"owner": organization, "name": name, "mfaType": "app"}).json()["data"]
    app = pyotp.TOTP(started["secret"])
    for action, fields in (("mfa/setup/verify", {"mfaType": "app", "passcode": app.now(), "secret": app.secret}),
                           ("mfa/setup/enable", {"owner": organization, "name": name, "mfaType": "app",
                                                 "secret": app.secret, "recoveryCodes": started["recoveryCodes"][0]})):
        assert first.http.post(f"{server.url}/api/{action}", data=fields, timeout=30).json()["status"] == "ok"

    browser = federation.browser()
    page = browser.sign_in()
    assert page.status_code == 200 and "Two-step sign-in" in page.text, page.text[:300]
    assert browser.account()["status"] == "error", "the provider alone signed nobody in"
    token = re.search(r'name="form_token" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
    answer = browser.http.post(f"{server.url}/login/mfa", allow_redirects=False, timeout=30, data={
        "form_token": token, "next": "/console/webhooks", "passcode": app.at(time.time() + 30)})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/webhooks", answer.text[:300]
    assert browser.account()["data"]["name"] == name
