"""The CLI against a running server: credentials, webhooks, events, deliveries, trigger."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from hookdoor.receiver import verify
from tests.cli.conftest import Run, run_program
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique


def as_json(outcome: Any) -> Any:
    assert outcome.exit_code == 0, outcome
    return json.loads(outcome.stdout)


def on_path(path: str):  # type: ignore[no-untyped-def]
    return lambda arrival: arrival.path == path


# ---- credentials ----------------------------------------------------------------------------------

def test_login_stores_token_privately_then_logout(run: Run, cli_env: dict[str, str]) -> None:
    outcome = run("login", "--username", "admin", "--password-stdin", input=ADMIN_PASSWORD + "\n")
    assert outcome.exit_code == 0 and "signed in to" in outcome.stdout
    config = Path(cli_env["HOOKDOOR_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["url"] == cli_env["HOOKDOOR_URL"] and saved["servers"][saved["url"]]["user"] == "built-in/admin"
    assert run("whoami").stdout.startswith("built-in/admin (administrator) at http://127.0.0.1:")
    # The stored server is the default once HOOKDOOR_URL is gone.
    assert run("whoami", env={"HOOKDOOR_URL": ""}).exit_code == 0
    assert "forgot the token" in run("logout").stdout
    refused = run("webhooks", "list")
    assert refused.exit_code == 4
    assert refused.stderr.strip().startswith("error: Please login first (run 'hookdoor login'")
    assert len(refused.stderr.strip().splitlines()) == 1


def test_wrong_password_is_one_line(run: Run) -> None:
    outcome = run("login", "--password-stdin", input="not-the-password\n")
    assert outcome.exit_code == 4
    assert outcome.stderr.strip() == "error: signing in as built-in/admin failed: password or username is incorrect"


def test_password_from_environment_and_no_terminal(run: Run) -> None:
    assert run("login", env={"HOOKDOOR_PASSWORD": ADMIN_PASSWORD}).exit_code == 0
    outcome = run("login")
    assert outcome.exit_code == 2 and "use --password-stdin or set HOOKDOOR_PASSWORD" in outcome.stderr


def test_credentials_from_environment(run: Run, admin: Api) -> None:
    by_login = run("whoami", env={"HOOKDOOR_USERNAME": "admin", "HOOKDOOR_PASSWORD": ADMIN_PASSWORD})
    assert by_login.stdout.startswith("built-in/admin")
    token = admin.post("login", {"type": "token", "username": "admin", "password": ADMIN_PASSWORD,
                                 "organization": "built-in", "application": "app-built-in"})["data"]
    assert run("whoami", env={"HOOKDOOR_TOKEN": token}).stdout.startswith("built-in/admin")
    app = admin.get("get-application", id="admin/app-built-in")["data"]
    client = {"HOOKDOOR_CLIENT_ID": app["clientId"], "HOOKDOOR_CLIENT_SECRET": app["clientSecret"]}
    assert run("webhooks", "list", "--json", env=client).exit_code == 0
    bad = run("webhooks", "list", env={"HOOKDOOR_CLIENT_ID": app["clientId"], "HOOKDOOR_CLIENT_SECRET": "nope"})
    assert bad.exit_code == 4 and "invalid clientId or clientSecret" in bad.stderr
    half = run("webhooks", "list", env={"HOOKDOOR_CLIENT_ID": app["clientId"]})
    assert half.exit_code == 2 and "HOOKDOOR_CLIENT_SECRET" in half.stderr


def test_the_program_reports_unreachable_server_in_one_line(tmp_path: Path) -> None:
    outcome = run_program("webhooks", "list", env={"HOOKDOOR_URL": "http://127.0.0.1:9", "HOOKDOOR_CONFIG":
                                                   str(tmp_path / "c.json")})
    assert outcome.exit_code == 3
    assert outcome.stderr.startswith("error: cannot reach Hookdoor at http://127.0.0.1:9 (")
    assert len(outcome.stderr.strip().splitlines()) == 1 and "Traceback" not in outcome.stderr
    usage = run_program("webhooks", "list", "--no-such-option", env={"HOOKDOOR_CONFIG": str(tmp_path / "c.json")})
    assert usage.exit_code == 2 and usage.stderr.startswith("error: No such option: --no-such-option")
    assert len(usage.stderr.strip().splitlines()) == 1


# ---- webhooks -------------------------------------------------------------------------------------

def test_webhook_lifecycle(logged_in: Run, receiver: Receiver) -> None:
    run = logged_in
    name, path = unique("cli"), f"/ok/{unique('cli')}"
    added = run("webhooks", "add", name, receiver.url(path), "-e", "login,signup", "--header", "X-Key: k-1",
                "--format", "casdoor")
    assert added.exit_code == 0, added
    assert f"added webhook built-in/{name} -> {receiver.url(path)} (events: login, signup)" in added.stdout
    secret = added.stdout.split("signing secret: ")[1].split()[0]
    assert secret.startswith("whsec_")

    listed = as_json(run("webhooks", "list", "--json"))
    assert any(w["name"] == name and w["payloadFormat"] == "casdoor" for w in listed)
    table = run("webhooks", "list").stdout
    assert f"built-in/{name}" in table and "login, signup" in table

    shown = run("webhooks", "show", name).stdout
    assert "X-Key: ***" in shown and secret not in shown and "casdoor, application/json" in shown
    assert secret in run("webhooks", "show", f"built-in/{name}", "--show-secrets").stdout

    assert run("webhooks", "disable", name).stdout.strip() == f"built-in/{name} disabled"
    assert as_json(run("webhooks", "show", name, "--json"))["webhook"]["isEnabled"] is False
    assert "was already disabled" in run("webhooks", "disable", name).stdout
    assert run("webhooks", "enable", name).exit_code == 0

    rotated = run("webhooks", "rotate-secret", name, "--json")
    new_secret = as_json(rotated)["signingSecret"]
    assert new_secret != secret and new_secret.startswith("whsec_")

    tested = run("webhooks", "test", name)
    assert tested.exit_code == 0 and "succeeded (HTTP 200)" in tested.stdout, tested
    [arrival] = receiver.wait_for(on_path(path))
    for one in (secret, new_secret):  # both sign during the grace period
        record = verify(arrival.headers, arrival.body, one)
        assert record.format == "casdoor" and record.event_type == "webhook-test"
    assert arrival.header("X-Key") == "k-1"


def test_webhook_test_failure_exits_1(logged_in: Run, receiver: Receiver) -> None:
    name = unique("cli-fail")
    assert logged_in("webhooks", "add", name, receiver.url(f"/status/500/{name}"), "-e", "login").exit_code == 0
    outcome = logged_in("webhooks", "test", name, "--timeout", "10")
    assert outcome.exit_code == 1 and "retrying (HTTP 500)" in outcome.stdout


def test_webhook_errors(logged_in: Run) -> None:
    unknown = logged_in("webhooks", "add", unique("bad"), "https://example.com/h", "-e", "no-such-event")
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == ("error: invalid field events: unknown event: no-such-event "
                                      "(see 'hookdoor events list' or GET /api/get-event-types)")
    assert logged_in("webhooks", "add", "x", "https://example.com/h", "--format", "xml").exit_code == 2
    quick = as_json(logged_in("webhooks", "add", unique("quick"), "https://example.com/h", "--timeout", "5", "--json"))
    assert quick["timeoutSeconds"] == 5
    assert logged_in("webhooks", "add", "x", "https://example.com/h", "--timeout", "600").exit_code == 2
    missing = logged_in("webhooks", "show", unique("missing"))
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    assert logged_in("webhooks", "show", "a/b/c").exit_code == 2


# ---- events -------------------------------------------------------------------------------------

def test_events_list(logged_in: Run) -> None:
    everything = as_json(logged_in("events", "list", "--json"))
    assert {"signup", "login", "add-user-keys", "mfa/setup/enable"} <= {e["name"] for e in everything}
    mfa = as_json(logged_in("events", "list", "--category", "mfa", "--json"))
    assert {e["category"] for e in mfa} == {"Multi-Factor Authentication"} and len(mfa) == 5
    assert {e["category"] for e in as_json(logged_in("events", "list", "-c", "auth", "--json"))} == {
        "Authentication & Session"}
    ambiguous = logged_in("events", "list", "-c", "o")
    assert ambiguous.exit_code == 2 and "matches several categories" in ambiguous.stderr
    assert "login" in logged_in("events", "list", "-c", "Authentication & Session").stdout


# ---- deliveries -----------------------------------------------------------------------------------

def test_deliveries_list_show_resend(logged_in: Run, receiver: Receiver, server: ServerProcess) -> None:
    run = logged_in
    name, path = unique("cli-log"), f"/ok/{unique('log')}"
    assert run("webhooks", "add", name, receiver.url(path), "-e", "signup").exit_code == 0
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    admin.post("update-application", {**admin.get("get-application", id="admin/app-built-in")["data"],
                                      "enableSignUp": True}, params={"id": "admin/app-built-in"})
    username = unique("u")
    assert admin.post("signup", {"application": "app-built-in", "username": username,
                                 "password": "a-long-password-1"})["status"] == "ok"
    [first] = receiver.wait_for(on_path(path))

    rows = as_json(run("deliveries", "list", "--webhook", name, "--json"))
    assert [r["eventType"] for r in rows] == ["signup"]
    delivery = rows[0]["name"]
    assert delivery == first.header("webhook-id")
    eventually(lambda: as_json(run("deliveries", "show", delivery, "--json"))["status"] == "succeeded",
               "the delivery to succeed", every=0.1)
    assert delivery in run("deliveries", "list", "--webhook", name, "--state", "succeeded", "--since", "1h").stdout
    assert as_json(run("deliveries", "list", "--webhook", name, "--state", "failed", "--json")) == []
    shown = run("deliveries", "show", delivery)
    assert shown.exit_code == 0 and f'"username": "{username}"' in shown.stdout and "attempts" in shown.stdout

    resent = run("deliveries", "resend", delivery)
    assert resent.exit_code == 0 and f"resent {delivery}: succeeded" in resent.stdout
    arrivals = receiver.wait_for(on_path(path), count=2)
    assert {a.header("webhook-id") for a in arrivals} == {delivery}
    assert as_json(run("deliveries", "show", delivery, "--json"))["attemptCount"] == 2

    assert run("deliveries", "list", "--state", "bogus").exit_code == 2
    assert run("deliveries", "list", "--since", "soon").exit_code == 2
    nope = run("deliveries", "show", "msg_nope")
    assert nope.exit_code == 1 and nope.stderr.startswith("error: delivery 'msg_nope' does not exist (see")


def test_recover_failed_deliveries_with_progress(logged_in: Run, receiver: Receiver, server: ServerProcess) -> None:
    run = logged_in
    name, path = unique("cli-recover"), f"/flaky/2/{unique('recover')}"
    added = run("webhooks", "add", name, receiver.url(path), "-e", "login", "--max-retries", "1",
                "--retry-interval", "1")
    assert added.exit_code == 0, added
    Api(server.url).login("admin", ADMIN_PASSWORD)
    receiver.wait_for(on_path(path), count=2)
    eventually(lambda: as_json(run("deliveries", "list", "-w", name, "--state", "failed", "--json")),
               "the delivery to fail", every=0.1)
    recovered = run("deliveries", "recover", name, "--since", "10m", "--json")
    assert as_json(recovered) == {"webhook": f"built-in/{name}", "requeued": 1, "succeeded": 1, "failed": 0,
                                  "heldByBreaker": 0, "waiting": 0}
    assert "no failed or retrying deliveries" in run("deliveries", "recover", name, "--since", "10m").stdout


# ---- trigger ----------------------------------------------------------------------------------------

def test_trigger_sends_a_test_event_to_each_subscribed_webhook(logged_in: Run, receiver: Receiver,
                                                                server: ServerProcess) -> None:
    run = logged_in
    organization = unique("org")
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    assert admin.post("add-organization", {"owner": "admin", "name": organization})["status"] == "ok"
    paths = {hook: f"/ok/{unique(hook)}" for hook in ("a", "b", "c")}
    run("webhooks", "add", f"{organization}/a", receiver.url(paths["a"]), "-e", "logout")
    run("webhooks", "add", f"{organization}/b", receiver.url(paths["b"]), "-e", "log*")
    run("webhooks", "add", f"{organization}/c", receiver.url(paths["c"]), "-e", "login")
    results = as_json(run("trigger", "logout", "--owner", organization, "--json"))
    assert sorted(r["webhook"] for r in results) == [f"{organization}/a", f"{organization}/b"]
    assert {r["outcome"] for r in results} == {"succeeded"}
    for hook in ("a", "b"):
        [arrival] = receiver.wait_for(on_path(paths[hook]))
        assert json.loads(arrival.body)["event"] == "webhook-test"
    assert not receiver.matching(on_path(paths["c"]))
    nothing = run("trigger", "signup", "--owner", organization)
    assert nothing.exit_code == 1 and "no enabled webhook is subscribed to signup" in nothing.stderr
    assert run("trigger", "no-such-event").exit_code == 2
