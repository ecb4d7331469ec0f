"""Access control in the console: a model editor that shows the check's message beside the model
text, adapters and enforcers, an enforcer's policies (add, edit, remove) and the enforce tester,
each form performing the Casdoor action of the same name."""

from __future__ import annotations

import html

from tests.authz.support import RBAC_MODEL, new_enforcer
from tests.console.browser import ConsoleClient, table_rows
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique


def _console(server: ServerProcess) -> ConsoleClient:
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    return console


def test_the_model_editor_refuses_a_bad_model_beside_its_text(server: ServerProcess) -> None:
    console = _console(server)
    name = unique("model")
    broken = RBAC_MODEL.replace("[policy_effect]", "[policy_effects]")
    refused = console.submit("/console/models/new", {"owner": "built-in", "name": name, "modelText": broken})
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "[policy_effects]" in text and 'data-error-for="modelText"' in text
    assert "policy_effects" in text.split('id="f-modelText"')[1].split("</textarea>")[0]  # kept as typed
    created = console.submit("/console/models/new", {"owner": "built-in", "name": name, "modelText": RBAC_MODEL})
    assert created.status_code == 303
    assert Api(server.url).get("get-model", id=f"built-in/{name}")["status"] == "error"  # signed out
    pages = console.get("/console/models")
    assert name in pages.text and "/console/enforcers" in pages.text


def test_policies_are_added_edited_removed_and_tested_from_the_console(server: ServerProcess) -> None:
    console = _console(server)
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    enforcer = new_enforcer(api, "built-in", RBAC_MODEL)
    path = f"/console/enforcers/{enforcer.owner}/{enforcer.name}/policies"
    assert console.get(f"/console/enforcers/{enforcer.owner}/{enforcer.name}").text.count(path) == 1

    rule = {"ptype": "p", "v0": "alice", "v1": "data1", "v2": "read"}
    assert console.submit(f"{path}/add", rule).status_code == 303
    assert console.submit(f"{path}/add", {"ptype": "g", "v0": "bob", "v1": "alice"}).status_code == 303
    wrong = console.submit(f"{path}/add", {"ptype": "p", "v0": "a", "v1": "b", "v2": "c", "v3": "d"})
    assert wrong.status_code == 400 and "p takes 3 values, got 4" in html.unescape(wrong.text)
    page = console.get(path).text
    assert 'value="alice"' in page and 'value="bob"' in page

    tested = console.submit(f"{path}/../enforce".replace("/policies/../", "/"), {"request": "bob\ndata1\nread"})
    assert tested.status_code == 200
    assert 'id="verdict">Allowed' in tested.text and "alice, data1, read" in tested.text
    denied = console.submit(f"{path}/../enforce".replace("/policies/../", "/"), {"request": "eve\ndata1\nread"})
    assert 'id="verdict">Denied' in denied.text and "No policy matched" in denied.text

    old = {f"old_{k}": v for k, v in rule.items()}
    assert console.submit(f"{path}/update", {**old, "ptype": "p", "v0": "alice", "v1": "data1",
                                             "v2": "write"}).status_code == 303
    assert console.submit(f"{path}/remove", {"ptype": "g", "v0": "bob", "v1": "alice"}).status_code == 303
    policies = api.get("get-policies", id=enforcer.id)["data"]
    assert [(p["Ptype"], p["V0"], p["V1"], p["V2"]) for p in policies] == [("p", "alice", "data1", "write")]

    actions = [e["action"] for e in table_rows(server, "events", organization="built-in")
               if enforcer.id in (e["object"] or "")]
    assert actions == ["add-policy", "add-policy", "add-policy", "enforce", "enforce", "update-policy",
                       "remove-policy"]
    outcomes = [e["outcome"] for e in table_rows(server, "events", organization="built-in", action="add-policy")
                if enforcer.id in (e["object"] or "")]
    assert outcomes == ["ok", "ok", "error"]  # the refused rule is recorded as refused


def test_permission_pickers_offer_the_organizations_users_groups_and_roles(server: ServerProcess) -> None:
    console = _console(server)
    api = Api(server.url)
    api.login("admin", ADMIN_PASSWORD)
    organization = unique("org")
    assert api.post("add-organization", {"owner": "admin", "name": organization})["status"] == "ok"
    for kind, name in (("user", "ann"), ("user", "ben"), ("group", "ops"), ("role", "auditor")):
        body = {"owner": organization, "name": name, **({"password": "pw-123456789"} if kind == "user" else {})}
        assert api.post(f"add-{kind}", body)["status"] == "ok"
    form = console.get(f"/console/permissions/new?organization={organization}").text
    users = form.split('id="f-users"')[1].split("</select>")[0]
    assert f'value="{organization}/ann"' in users and f'value="{organization}/ben"' in users
    assert f'value="{organization}/ops"' in form.split('id="f-groups"')[1].split("</select>")[0]
    assert f'value="{organization}/auditor"' in form.split('id="f-roles"')[1].split("</select>")[0]

    name = unique("perm")
    created = console.post("/console/permissions/new", [
        ("csrf_token", console.csrf()), ("owner", organization), ("name", name), ("users", f"{organization}/ann"),
        ("users", f"{organization}/ben"), ("roles", f"{organization}/auditor"), ("resources", "doc1"),
        ("actions", "read"), ("effect", "Allow"), ("isEnabled", "on")])
    assert created.status_code == 303, created.text[:300]
    stored = api.get("get-permission", id=f"{organization}/{name}")["data"]
    assert stored["users"] == [f"{organization}/ann", f"{organization}/ben"]
    assert stored["roles"] == [f"{organization}/auditor"]
    edit = console.get(f"/console/permissions/{organization}/{name}").text
    assert f'value="{organization}/ben" selected' in edit
    allowed = api.post("enforce", [f"{organization}/ben", "doc1", "read"], params={"permissionId": stored["owner"]
                                                                                   + "/" + name})
    assert allowed["data"] == [True]
