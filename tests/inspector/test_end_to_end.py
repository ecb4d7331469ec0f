"""The webhooks overview's flow, end to end in a browser, on a server with the default target
policy: Settings > Webhooks > Add Webhook pointing at a new inspector bin, pick login and
update-user, add a custom header, save; a new user signs up and logs in elsewhere; the bin's page
shows the login payload live, with the custom header and a valid signature badge."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.console.browser import WIDTHS, shoot
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


def pick_event(page: Page, name: str) -> None:
    page.fill("[data-event-search]", name)
    page.check(f"input[name=events][value='{name}']")


def test_overview_flow_with_an_inspector_bin(inspector_server: ServerProcess, inspector_browser: Browser) -> None:
    base = inspector_server.url
    api = Api(base)
    api.login("admin", ADMIN_PASSWORD)
    organization, application, username = unique("shop"), unique("shop-app"), unique("newcomer")
    assert api.post("add-organization", {"owner": "admin", "name": organization})["status"] == "ok"
    assert api.post("add-application", {"owner": "admin", "name": application, "organization": organization,
                                        "enableSignUp": True})["status"] == "ok"

    admin = inspector_browser.new_context(base_url=base, viewport={"width": WIDTHS[0], "height": 800})
    visitor = inspector_browser.new_context(base_url=base, viewport={"width": WIDTHS[0], "height": 800})
    try:
        page = admin.new_page()
        page.set_default_timeout(10_000)
        page.goto("/login")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button:has-text('Sign in')")
        expect(page.locator("h1")).to_have_text("Dashboard")

        page.click("nav >> text=Webhooks")
        page.click("text=Add Webhook")
        page.fill("#f-name", "overview-hook")
        pick_event(page, "login")
        pick_event(page, "update-user")
        page.locator("input[name=header_name]").first.fill("X-Overview")
        page.locator("input[name=header_value]").first.fill("from-the-console")
        page.click("#new-bin")  # after typing: the form comes back with all of it and the bin's URL
        expect(page.locator("#bin-made")).to_contain_text("Inspector bin “for webhook overview-hook” made")
        expect(page.locator("#f-url")).to_have_value(re.compile(rf"^{re.escape(base)}/inspect/[\w-]{{32}}$"))
        expect(page.locator("#f-name")).to_have_value("overview-hook")
        expect(page.locator("input[name=events]:checked")).to_have_count(2)
        expect(page.locator("input[name=header_value]").first).to_have_value("from-the-console")
        shoot(page, "add-webhook-for-bin", "inspector")
        page.click("button:has-text('Save webhook')")
        expect(page.locator(".notice")).to_have_text("Created.")

        page.click("nav >> text=Inspector")
        shoot(page, "bins", "inspector")
        page.click("a:has-text('for webhook overview-hook')")
        expect(page.locator("#link-webhook")).to_have_value("built-in/overview-hook")  # linked on save
        page.evaluate("window.stillTheSamePage = true")

        newcomer = visitor.new_page()
        newcomer.set_default_timeout(10_000)
        newcomer.goto(f"/signup?application={application}")
        newcomer.fill("#username", username)
        newcomer.fill("#name", "New Comer")
        newcomer.fill("#email", f"{username}@example.com")
        newcomer.fill("#password", "newcomer-password-1")
        shoot(newcomer, "signup", "inspector")
        newcomer.click("button:has-text('Sign up')")
        expect(newcomer.locator(".notice")).to_contain_text("Account created")
        expect(newcomer.locator("#username")).to_have_value(username)
        newcomer.fill("#password", "newcomer-password-1")
        newcomer.click("button:has-text('Sign in')")
        expect(newcomer).to_have_url(f"{base}/console/users/{organization}/{username}")

        login = page.locator(".arrival", has_text='"event": "login"')
        expect(login).to_be_visible()  # pushed by Server-Sent Events, no reload
        expect(login.locator("[data-signature]")).to_have_attribute("data-signature", "valid")
        expect(login.locator("tr", has_text="X-Overview")).to_contain_text("from-the-console")
        expect(login.locator("pre.body")).to_contain_text(f'"username": "{username}"')
        expect(login.locator("pre.body")).to_contain_text(f'"organization": "{organization}"')

        newcomer.fill("#f-displayName", "Renamed Newcomer")
        newcomer.click("button:has-text('Save')")
        expect(newcomer.locator(".notice")).to_have_text("Saved.")
        update = page.locator(".arrival", has_text='"event": "update-user"')
        expect(update).to_be_visible()
        expect(update.locator("[data-signature]")).to_have_attribute("data-signature", "valid")
        expect(update.locator("pre.body")).to_contain_text("Renamed Newcomer")
        assert page.evaluate("window.stillTheSamePage") is True
        expect(page.locator(".arrival")).to_have_count(2)  # signup, new-user and logout were not picked
        shoot(page, "bin", "inspector")
        shoot(newcomer, "account", "inspector")
        page.click("nav >> text=Inspector")
        row = page.locator("#bins tbody tr", has_text="for webhook overview-hook")
        expect(row.locator(".requests")).to_have_text("2")
    finally:
        admin.close()
        visitor.close()
