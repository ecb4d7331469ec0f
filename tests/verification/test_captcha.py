"""The built-in image captcha (Casdoor's "Default" type): get-captcha, verify-captcha, where an
application requires it, and get-captcha-status."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from PIL import Image

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.tables import captchas
from hookdoor.verification.schemas import CaptchaAnswer
from hookdoor.verification.service import Captcha
from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.messaging.peers import use_providers
from tests.support import Api, ServerProcess, unique


async def test_an_answer_is_right_once(tmp_path: Path) -> None:
    """In-process on a real SQLite database, with the answer chosen by the test (it is only in the image)."""
    engine = create_engine(Settings(database_url=f"sqlite:///{tmp_path / 'captcha.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(captchas.create, checkfirst=True)
    try:
        async with create_sessionmaker(engine)() as db:
            captcha = Captcha(SimpleNamespace(db=db), new_answer=lambda: "KXHRT")
            shown = await captcha.new({"owner": "admin", "name": "captcha"})
            assert Image.open(io.BytesIO(base64.b64decode(shown["captchaImage"]))).format == "PNG"
            assert "KXHRT" not in str((await db.execute(captchas.select())).all())  # only its hash is kept
            right = CaptchaAnswer("Default", "kxhrt", shown["captchaId"])
            assert await captcha.verify(right) is True
            assert await captcha.verify(right) is False  # spent
            other = await captcha.new({"owner": "admin", "name": "captcha"})
            assert await captcha.verify(CaptchaAnswer("Default", "WRONG", other["captchaId"])) is False
            assert await captcha.verify(CaptchaAnswer("Default", "KXHRT", other["captchaId"])) is False  # one guess
            with pytest.raises(Exception, match="only type 'Default'"):
                await captcha.verify(CaptchaAnswer("reCAPTCHA", "x", "y"))
    finally:
        await engine.dispose()


def _captcha_tenant(admin: Api, rule: str) -> Tenant:
    tenant = new_tenant(admin)
    name = unique("captcha")
    added = admin.post("add-provider", {"owner": tenant.organization, "name": name, "category": "Captcha",
                                        "type": "Default"})
    assert added["status"] == "ok", added
    use_providers(admin, tenant.application, {"name": name, "rule": rule})
    return tenant


def test_get_captcha_answers_none_or_an_image(server: ServerProcess, admin: Api) -> None:
    visitor = Api(server.url)
    plain = new_tenant(admin)
    assert visitor.get("get-captcha", applicationId=f"admin/{plain.application}")["data"] == {"type": "none"}
    tenant = _captcha_tenant(admin, "Always")
    shown = visitor.get("get-captcha", applicationId=f"admin/{tenant.application}")["data"]
    assert shown["type"] == "Default" and shown["captchaId"]
    assert base64.b64decode(shown["captchaImage"])[:8] == b"\x89PNG\r\n\x1a\n"
    answer = {"captchaType": "Default", "captchaToken": "NOPE9", "clientSecret": shown["captchaId"],
              "applicationId": f"admin/{tenant.application}"}
    checked = requests.post(f"{server.url}/api/verify-captcha", data=answer, timeout=30).json()
    assert checked["status"] == "ok" and checked["data"] is False
    recorded = events(server, action="verify-captcha")
    assert recorded and all(e["request"]["body"].get("captchaToken") == "***" for e in recorded)
    assert all(e["request"]["body"].get("clientSecret") == "***" for e in recorded)


def test_an_application_that_always_asks_refuses_without_an_answer(server: ServerProcess, admin: Api) -> None:
    tenant = _captcha_tenant(admin, "Always")
    form = {"dest": "someone@example.com", "type": "email", "applicationId": f"admin/{tenant.application}",
            "method": "signup", "captchaType": "none"}
    refused = requests.post(f"{server.url}/api/send-verification-code", data=form, timeout=30).json()
    assert refused["msg"] == "Turing test failed."
    name = unique("cap-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": "captcha-pass-123"})[
        "status"] == "ok"
    login = Api(server.url).login(name, "captcha-pass-123", tenant.organization, tenant.application)
    assert login["status"] == "error" and login["msg"] == "Turing test failed."
    status = Api(server.url).get("get-captcha-status", organization=tenant.organization, userId=name,
                                 application=tenant.application)
    assert status["status"] == "ok" and status["data"] is True


def test_a_dynamic_captcha_comes_after_a_failed_sign_in(server: ServerProcess, admin: Api) -> None:
    tenant = _captcha_tenant(admin, "Dynamic")
    name = unique("dyn-user")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name, "password": "captcha-pass-123"})[
        "status"] == "ok"
    query = {"organization": tenant.organization, "userId": name, "application": tenant.application}
    assert Api(server.url).get("get-captcha-status", **query)["data"] is False
    assert Api(server.url).login(name, "wrong-password-123", tenant.organization, tenant.application)[
        "msg"] == "password or username is incorrect"
    assert Api(server.url).get("get-captcha-status", **query)["data"] is True
    assert Api(server.url).login(name, "captcha-pass-123", tenant.organization, tenant.application)[
        "msg"] == "Turing test failed."


def test_the_sign_in_page_shows_the_captcha_an_application_requires(server: ServerProcess, admin: Api) -> None:
    from tests.console.browser import FORM_TOKEN, ConsoleClient
    tenant = _captcha_tenant(admin, "Always")
    console = ConsoleClient(server.url)
    page = console.get(f"/login?application={tenant.application}")
    assert 'src="data:image/png;base64,' in page.text and 'name="captchaToken"' in page.text
    captcha_id = page.text.split('name="clientSecret" value="')[1].split('"')[0]
    token = FORM_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    refused = console.post("/login", {"form_token": token, "username": "nobody", "password": "whatever-123",
                                      "organization": tenant.organization, "application": tenant.application,
                                      "captchaType": "Default", "clientSecret": captcha_id, "captchaToken": "WRONG"})
    assert refused.status_code == 400 and "Turing test failed." in refused.text
    assert captcha_id not in refused.text  # a new captcha: the one answered is spent
    plain = console.get("/login")
    assert 'name="captchaToken"' not in plain.text
