"""Invitations against real peers: the mail (aiosmtpd) whose link completes a sign-up on the console,
the quota, constraints and expiry at sign-up, concurrent sign-ups for the last place, the unmodified
Casdoor SDK's get_invitation_info, and the events at a webhook receiver (no code in any of them)."""

from __future__ import annotations

import html
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import requests
from casdoor import CasdoorSDK

from tests.compat.sdk import tenant_sdk
from tests.console.browser import FORM_TOKEN
from tests.identity.test_events_recorded import events
from tests.invitations.peers import PASSWORD, add_invitation, arrived, hook_events, signup, signup_tenant
from tests.messaging.peers import SmtpSink, email_provider, use_providers
from tests.receiver import Receiver
from tests.support import Api, ServerProcess, unique

LINK = re.compile(r"(http://\S+/signup/\S+)")


def _no_code_in(found: list[dict], *codes: str) -> None:
    for item in found:
        text = json.dumps(item, default=str)
        for code in codes:
            assert code not in text, (item.get("action") or item.get("event"), code)


def test_an_invitation_mail_completes_a_signup_once(server: ServerProcess, admin: Api, smtp: SmtpSink,
                                                    receiver: Receiver) -> None:
    tenant = signup_tenant(admin)
    provider = email_provider(admin, tenant.organization, smtp)
    use_providers(admin, tenant.application, {"name": provider, "rule": "Invitation"})
    path = hook_events(admin, receiver, "send-invitation", "verify-invitation", "signup")
    invitation = add_invitation(admin, tenant)
    code, name = invitation["code"], f"{tenant.organization}/{invitation['name']}"

    verified = admin.get("verify-invitation", id=name)
    assert verified["status"] == "ok" and verified["data2"] == {"remaining": 1}, verified
    address = f"{unique('guest')}@example.com"
    sent = admin.post("send-invitation", [address], params={"id": name})
    assert sent["status"] == "ok", sent
    [mail] = smtp.wait_for(address)
    link = LINK.search(mail.text).group(1)  # type: ignore[union-attr]
    assert urlsplit(link).path == f"/signup/{tenant.application}"
    assert parse_qs(urlsplit(link).query)["invitationCode"] == [code]

    # The link's page is the sign-up form with the code filled in; submitting it signs up.
    browser = requests.Session()
    page = browser.get(link, timeout=30)
    assert page.status_code == 200
    prefilled = re.search(r'name="invitationCode" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
    assert html.unescape(prefilled) == code
    username = unique("invited")
    answer = browser.post(f"{server.url}/signup", allow_redirects=False, timeout=30, data={
        "form_token": FORM_TOKEN.search(page.text).group(1), "application": tenant.application,  # type: ignore[union-attr]
        "username": username, "email": address, "password": PASSWORD, "invitationCode": prefilled})
    assert answer.status_code == 303 and "signed-up" in answer.headers["location"], answer.text[:300]
    user = admin.get("get-user", id=f"{tenant.organization}/{username}")["data"]
    assert user["invitation"] == invitation["name"] and code not in json.dumps(user)
    assert admin.get("get-invitation", id=name)["data"]["usedCount"] == 1

    # Used up: the next sign-up with the code is refused, saying so.
    again = signup(Api(server.url), tenant, code)
    assert again.status_code == 409 and "used up" in again.json()["msg"], again.text
    refused = admin.http.get(f"{server.url}/api/verify-invitation", params={"id": name}, timeout=30)
    assert refused.status_code == 409 and "used up" in refused.json()["msg"]

    [sent_event] = [p for p in arrived(receiver, path, "send-invitation") if p["organization"] == tenant.organization]
    assert sent_event["object"]["invitation"] == name and sent_event["object"]["receivers"] == [address]
    assert sent_event["user"]["username"] == "admin"
    checks = [p for p in arrived(receiver, path, "verify-invitation", 2) if p["organization"] == tenant.organization]
    assert [p["outcome"] for p in checks] == ["ok", "error"] and checks[0]["object"]["name"] == invitation["name"]
    assert [p for p in arrived(receiver, path, "signup") if p["organization"] == tenant.organization]
    _no_code_in(arrived(receiver, path, "send-invitation") + arrived(receiver, path, "signup"), code)
    recorded = [e for action in ("add-invitation", "send-invitation", "verify-invitation", "signup",
                                 "get-invitation", "new-user") for e in events(server, action=action)]
    _no_code_in(recorded, code)
    assert code not in server.log_path.read_text()


def test_constraints_expiry_and_suspension_refuse_clearly(server: ServerProcess, admin: Api) -> None:
    tenant = signup_tenant(admin)
    anyone = Api(server.url)
    wrong = signup(anyone, tenant, "no-such-code")
    assert wrong.status_code == 400 and wrong.json()["msg"] == "invitation code is invalid"

    for_ann = add_invitation(admin, tenant, username="ann", email="ann@example.com", quota=5)
    other = signup(anyone, tenant, for_ann["code"], username="bob", email="ann@example.com")
    assert other.status_code == 400 and "username 'ann'" in other.json()["msg"], other.text
    other = signup(anyone, tenant, for_ann["code"], username="ann", email="bob@example.com")
    assert other.status_code == 400 and "email 'ann@example.com'" in other.json()["msg"], other.text
    assert signup(anyone, tenant, for_ann["code"], username="ann", email="ann@example.com").status_code == 200

    expired = add_invitation(admin, tenant, expireTime="2020-01-01T00:00:00Z")
    answer = signup(anyone, tenant, expired["code"])
    assert answer.status_code == 403 and "expired" in answer.json()["msg"], answer.text
    suspended = add_invitation(admin, tenant, state="Suspended")
    answer = signup(anyone, tenant, suspended["code"])
    assert answer.status_code == 403 and "suspended" in answer.json()["msg"], answer.text
    elsewhere = add_invitation(admin, tenant, application="some-other-app")
    assert signup(anyone, tenant, elsewhere["code"]).status_code == 400

    # An application whose sign-up asks for a code takes none without one.
    current = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    items = [{"name": "Invitation code", "visible": True, "required": True}]
    assert admin.post("update-application", {**current, "signupItems": items},
                      params={"id": f"admin/{tenant.application}"})["status"] == "ok"
    bare = anyone.http.post(f"{server.url}/api/signup", timeout=30, json={
        "application": tenant.application, "username": unique("x"), "password": PASSWORD})
    assert bare.status_code == 400 and "invitationCode" in bare.json()["msg"]


def test_a_pattern_admits_each_code_once(server: ServerProcess, admin: Api) -> None:
    tenant = signup_tenant(admin)
    invitation = add_invitation(admin, tenant, code="[A-Z]{3}-[0-9]{3}", defaultCode="ABC-123", quota=5)
    assert invitation["isRegexp"] is True and "usedCodeHashes" not in invitation
    anyone = Api(server.url)
    assert signup(anyone, tenant, "XYZ-999").status_code == 200
    again = signup(anyone, tenant, "XYZ-999")
    assert again.status_code == 409 and "already used" in again.json()["msg"]
    assert signup(anyone, tenant, "XYZ-9999").status_code == 400  # anchored: not a code of it
    assert signup(anyone, tenant, "ABC-123").status_code == 200
    made = unique("made")
    assert admin.post("add-invitation", {"owner": tenant.organization, "name": made, "quota": 1})["status"] == "ok"
    stored = admin.get("get-invitation", id=f"{tenant.organization}/{made}")["data"]
    assert re.fullmatch(r"[a-z0-9]{16}", stored["code"]) and stored["defaultCode"] == stored["code"]
    assert stored["state"] == "Active" and stored["application"] == "All"
    bad = admin.post("add-invitation", {"owner": tenant.organization, "name": unique("i"), "code": "([a-z]",
                                        "quota": 1})
    assert bad["status"] == "error" and "code" in bad["msg"]
    mismatched = admin.post("add-invitation", {"owner": tenant.organization, "name": unique("i"),
                                               "code": "[0-9]+", "defaultCode": "abc", "quota": 1})
    assert mismatched["status"] == "error" and "defaultCode" in mismatched["msg"]


def test_concurrent_signups_take_the_last_place_once(server: ServerProcess, admin: Api) -> None:
    tenant = signup_tenant(admin)
    invitation = add_invitation(admin, tenant, quota=1)
    start = threading.Barrier(8)

    def attempt(n: int) -> int:
        api = Api(server.url)
        start.wait()
        return signup(api, tenant, invitation["code"], username=f"racer-{n}-{unique('r')}").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [200] + [409] * 7, statuses
    stored = admin.get("get-invitation", id=f"{tenant.organization}/{invitation['name']}")["data"]
    assert stored["usedCount"] == 1
    users = admin.get("get-users", owner=tenant.organization)["data"]
    assert len([u for u in users if u.get("invitation") == invitation["name"]]) == 1


def test_the_sdk_reads_a_codes_invitation_masked(server: ServerProcess, admin: Api) -> None:
    tenant = signup_tenant(admin)
    invitation = add_invitation(admin, tenant, email="sdk@example.com", signupGroup="")
    sdk: CasdoorSDK = tenant_sdk(server.url, tenant)
    info = sdk.get_invitation_info(invitation["code"], tenant.application)
    assert info.name == invitation["name"] and info.email == "sdk@example.com"
    assert info.code == "***" and info.defaultCode == "***" and info.quota == -1 and info.usedCount == -1
    anonymous = requests.get(f"{server.url}/api/get-invitation-info", timeout=30,
                             params={"code": "wrong", "applicationId": f"admin/{tenant.application}"})
    assert anonymous.status_code == 400 and anonymous.json()["msg"] == "invitation code is invalid"
    recorded = events(server, action="get-invitation-info")
    assert recorded and all(invitation["code"] not in e["request"]["uri"] for e in recorded)


def test_the_count_and_reach_are_the_servers(server: ServerProcess, admin: Api) -> None:
    tenant, other = signup_tenant(admin), signup_tenant(admin)
    invitation = add_invitation(admin, tenant, quota=2)
    name = f"{tenant.organization}/{invitation['name']}"
    reset = admin.post("update-invitation", {**invitation, "usedCount": 5}, params={"id": name})
    assert reset["status"] == "ok" and admin.get("get-invitation", id=name)["data"]["usedCount"] == 0
    hidden = admin.post("update-invitation", {**invitation, "usedCodeHashes": ["x"]}, params={"id": name})
    assert hidden["status"] == "error" and "usedCodeHashes" in hidden["msg"]
    group = unique("group")
    assert admin.post("add-group", {"owner": other.organization, "name": group})["status"] == "ok"
    reach = admin.post("update-invitation", {**invitation, "signupGroup": f"{other.organization}/{group}"},
                       params={"id": name})
    assert reach["status"] == "error" and "signupGroup" in reach["msg"]
    # Raising the quota is how an administrator widens it; the sign-ups so far stay counted.
    assert signup(Api(server.url), tenant, invitation["code"]).status_code == 200
    # Sent back as read before that sign-up (usedCount 0), as the console and SDK clients do.
    raised = admin.post("update-invitation", {**invitation, "quota": 3}, params={"id": name})
    assert raised["status"] == "ok", raised
    assert admin.get("get-invitation", id=name)["data"]["usedCount"] == 1
    # Its own group: the user who signs up joins it.
    own = unique("group")
    assert admin.post("add-group", {"owner": tenant.organization, "name": own})["status"] == "ok"
    stored = admin.get("get-invitation", id=name)["data"]
    assert admin.post("update-invitation", {**stored, "signupGroup": f"{tenant.organization}/{own}"},
                      params={"id": name})["status"] == "ok"
    username = unique("grouped")
    assert signup(Api(server.url), tenant, invitation["code"], username=username).status_code == 200
    user = admin.get("get-user", id=f"{tenant.organization}/{username}")["data"]
    assert user["groups"] == [f"{tenant.organization}/{own}"]


def test_the_console_sends_and_offers_the_link(server: ServerProcess, admin: Api, smtp: SmtpSink) -> None:
    from tests.console.browser import ConsoleClient
    from tests.support import ADMIN_PASSWORD

    tenant = signup_tenant(admin)
    provider = email_provider(admin, tenant.organization, smtp)
    use_providers(admin, tenant.application, {"name": provider, "rule": "All"})
    invitation = add_invitation(admin, tenant)
    console = ConsoleClient(server.url)
    console.login("admin", ADMIN_PASSWORD)
    page = f"/console/invitations/{tenant.organization}/{invitation['name']}"
    shown = console.get(page)
    link = f"/signup/{tenant.application}?invitationCode={invitation['code']}"
    assert shown.status_code == 200 and html.escape(link) in shown.text and 'data-copy="signup-link"' in shown.text
    listed = console.get(f"/console/invitations?organization={tenant.organization}")
    assert listed.status_code == 200 and html.escape(link) in listed.text and "Copy link" in listed.text
    address = f"{unique('console-guest')}@example.com"
    answer = console.submit(f"{page}/send", {"receivers": address})
    assert answer.status_code == 303 and "invitation-sent" in answer.headers["location"], answer.headers
    [mail] = smtp.wait_for(address)
    assert link in mail.text
    refused = console.submit(f"{page}/send", {"receivers": "not-an-address"})
    assert "sendError" in refused.headers["location"]
    forged = console.post(f"{page}/send", {"receivers": f"x{address}"})
    assert forged.status_code in (303, 403) and not smtp.to(f"x{address}")
