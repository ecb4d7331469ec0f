"""Every console form carries the session's CSRF token; a POST without it, or with another
session's, is refused before it does anything."""

from __future__ import annotations

from tests.console.browser import ConsoleClient, table_rows
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

FORMS = ("/console/webhooks/new", "/console/users/new", "/console/organizations/new", "/console/inspector",
         "/logout", "/console/webhooks/built-in/none/test", "/console/account/security/code/email",
         "/console/account/security/preferred")


def test_post_without_token_is_refused(server: ServerProcess) -> None:
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    name = unique("csrf")
    for path in FORMS:
        answer = console.post(path, {"organization": "built-in", "owner": "built-in", "name": name,
                                     "url": "https://example.com/hook"})
        assert answer.status_code == 403, (path, answer.status_code)
        assert "CSRF" in answer.text
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    assert api.get("get-webhook", id=f"built-in/{name}")["data"] is None
    assert api.get("get-user", id=f"built-in/{name}")["data"] is None
    assert console.get("/console").status_code == 200  # the refused sign-out left the session alone
    # Refused inside the action's unit of work, so recorded as the API records a refused call.
    refused = table_rows(server, "events", action="add-webhook", outcome="error", status_code=403)
    assert any("CSRF" in e["message"] for e in refused)


def test_token_of_another_session_is_refused(server: ServerProcess) -> None:
    first, second = ConsoleClient(server.url), ConsoleClient(server.url)
    first.login("admin", ADMIN_PASSWORD)
    second.login("admin", ADMIN_PASSWORD)
    name = unique("csrf")
    body = {"organization": "built-in", "name": name, "url": "https://example.com/hook",
            "events": "login"}
    stolen = first.csrf()
    assert stolen != second.csrf()
    assert second.post("/console/webhooks/new", {**body, "csrf_token": stolen}).status_code == 403
    assert second.post("/console/webhooks/new", {**body, "csrf_token": second.csrf()}).status_code == 303


def test_signed_out_post_goes_to_sign_in(server: ServerProcess) -> None:
    answer = ConsoleClient(server.url).post("/console/webhooks/new", {"csrf_token": "x"})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
