"""Signing in and out of the console: the API's login and logout actions behind forms."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.console.browser import ConsoleClient, shoot
from tests.support import ADMIN_PASSWORD, Api, ServerProcess


def test_sign_in_and_out(browser: Browser, server: ServerProcess, screenshots: bool) -> None:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto("/console/webhooks")
        expect(page).to_have_url(f"{server.url}/login?next=%2Fconsole%2Fwebhooks")
        if screenshots:
            shoot(page, "login")

        page.fill("#username", "admin")
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        expect(page.locator("#form-error")).to_have_text("password or username is incorrect")
        expect(page.locator("#username")).to_have_value("admin")

        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{server.url}/console/webhooks")  # back where the visit began
        expect(page.locator(".who-name")).to_contain_text("admin")

        page.click("text=Sign out")
        expect(page).to_have_url(f"{server.url}/login?notice=signed-out")
        expect(page.locator(".notice")).to_have_text("You are signed out.")
        page.goto("/console")
        expect(page).to_have_url(f"{server.url}/login?next=%2Fconsole")
    finally:
        context.close()


def test_console_login_records_the_login_event_and_its_session_serves_the_api(server: ServerProcess) -> None:
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    api = Api(server.url)
    api.http.cookies.update(console.http.cookies)
    account = api.get("get-account")
    assert account["status"] == "ok" and account["data"]["name"] == "admin"


def test_sign_in_form_without_its_token_is_refused(server: ServerProcess) -> None:
    console = ConsoleClient(server.url)
    answer = console.post("/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert answer.status_code == 403
    assert "casdoor_session_id" not in answer.cookies
    assert "token" in answer.text


def test_unsafe_next_is_ignored(server: ServerProcess) -> None:
    console = ConsoleClient(server.url)
    token = console.get("/login").text.split('name="form_token" value="')[1].split('"')[0]
    answer = console.post("/login", {"form_token": token, "username": "admin", "password": ADMIN_PASSWORD,
                                     "next": "//evil.example/steal"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console"


def test_sign_up_offers_the_applications_that_take_sign_ups(server: ServerProcess) -> None:
    from tests.console.browser import ConsoleClient
    from tests.support import ADMIN_PASSWORD, Api, unique

    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    open_app, closed_app = unique("open"), unique("closed")
    for name, allowed in ((open_app, True), (closed_app, False)):
        body = {"owner": "admin", "name": name, "organization": "built-in", "enableSignUp": allowed}
        assert api.post("add-application", body)["status"] == "ok"
    page = ConsoleClient(server.url).get(f"/signup?application={open_app}").text
    assert '<select id="application" name="application">' in page
    assert f"<option selected>{open_app}</option>" in page
    assert closed_app not in page
