"""A console form is the body its action records, as an API call's body is: credentials masked, the
console's own CSRF token left out."""

from __future__ import annotations

import json

from tests.console.browser import ConsoleClient, table_rows
from tests.support import ADMIN_PASSWORD, ServerProcess, unique


def test_a_console_form_is_recorded_as_the_actions_body(server: ServerProcess) -> None:
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    name = unique("form")
    token = console.csrf()
    fields = {"owner": "built-in", "name": name, "email": f"{name}@example.com", "password": "a-long-password-1"}
    assert console.post("/console/users/new", {**fields, "csrf_token": token}).status_code == 303

    [event] = [e for e in table_rows(server, "events", action="add-user", outcome="ok")
               if name in (e["object"] or "")]
    request = json.loads(event["request"]) if isinstance(event["request"], str) else event["request"]
    assert request["bodyEncoding"] == "form"
    assert request["body"] == {**fields, "password": "***"}
    assert token not in json.dumps(request) and "a-long-password-1" not in json.dumps(request)
