"""``--local``: the same services on the server's own database, without signing in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, run_program
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, eventually, unique


@pytest.fixture
def local_env(server: ServerProcess) -> dict[str, str]:
    return {"HOOKDOOR_DATABASE_URL": server.database_url, "HOOKDOOR_PASSWORD_TIME_COST": "1",
            "HOOKDOOR_PASSWORD_MEMORY_KIB": "1024"}


def test_admin_create_and_reset_password_locally(run: Run, local_env: dict[str, str], server: ServerProcess,
                                                 receiver: Receiver) -> None:
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    path = f"/ok/{unique('local')}"
    hook = {"owner": "built-in", "name": unique("local"), "url": receiver.url(path),
            "events": ["add-user", "set-password"]}
    assert admin.post("add-webhook", hook)["status"] == "ok"

    name = unique("ops")
    created = run("admin", "create", name, "--local", env={**local_env, "HOOKDOOR_NEW_PASSWORD": "first-password-1"})
    assert created.exit_code == 0, created
    assert created.stdout.strip() == f"created built-in/{name} (global administrator)"
    assert Api(server.url).login(name, "first-password-1")["status"] == "ok"

    reset = run("admin", "reset-password", name, "--generate", "--local", env=local_env)
    assert reset.exit_code == 0, reset
    password = reset.stdout.split("password: ")[1].strip()
    assert Api(server.url).login(name, "first-password-1")["status"] == "error"
    assert Api(server.url).login(name, password)["status"] == "ok"

    # The local actions are events like any other, delivered by the running server's worker.
    arrivals = receiver.wait_for(lambda a: a.path == path, count=2)
    payloads = sorted((json.loads(a.body) for a in arrivals), key=lambda p: p["event"])
    assert [p["event"] for p in payloads] == ["add-user", "set-password"]
    assert {p["actor"] for p in payloads} == {"built-in/hookdoor cli"}
    assert payloads[0]["object"]["name"] == name and payloads[0]["object"]["isAdmin"] is True
    assert "first-password-1" not in arrivals[0].body.decode() + arrivals[1].body.decode()


def test_local_errors_are_one_line(run: Run, local_env: dict[str, str]) -> None:
    weak = run("admin", "create", unique("weak"), "--local", env={**local_env, "HOOKDOOR_NEW_PASSWORD": "x"})
    assert weak.exit_code == 1 and weak.stderr.startswith("error: invalid field password")
    missing = run("admin", "reset-password", unique("nobody"), "--generate", "--local", env=local_env)
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    no_password = run("admin", "create", unique("np"), "--local", env=local_env)
    assert no_password.exit_code == 2 and "HOOKDOOR_NEW_PASSWORD" in no_password.stderr


def test_local_read_only_listing(run: Run, local_env: dict[str, str], server: ServerProcess,
                                 receiver: Receiver) -> None:
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    name, path = unique("seen-locally"), f"/ok/{unique('seen')}"
    assert admin.post("add-webhook", {"owner": "built-in", "name": name, "url": receiver.url(path),
                                      "events": ["login"]})["status"] == "ok"
    Api(server.url).login("admin", ADMIN_PASSWORD)
    receiver.wait_for(lambda a: a.path == path)

    hooks = json.loads(run("webhooks", "list", "--local", "--json", env=local_env).stdout)
    assert any(h["name"] == name and h["signingSecret"].startswith("whsec_") for h in hooks)
    shown = run("webhooks", "show", name, "--local", env=local_env)
    assert shown.exit_code == 0 and receiver.url(path) in shown.stdout
    def succeeded() -> list[dict[str, Any]] | None:  # the receiver sees the request before the outcome is written
        rows = json.loads(run("deliveries", "list", "--local", "-w", name, "--json", env=local_env).stdout)
        return rows if not rows or rows[0]["status"] == "succeeded" else None

    rows = eventually(succeeded, "the delivery's outcome", every=0.2)
    assert [r["eventType"] for r in rows] == ["login"]
    detail = json.loads(run("deliveries", "show", rows[0]["name"], "--local", "--json", env=local_env).stdout)
    assert detail["attempts"][0]["statusCode"] == 200
    saml = json.loads(run("events", "list", "-c", "saml", "--local", "--json", env=local_env).stdout)
    assert {"acs", "saml/metadata"} <= {e["name"] for e in saml}
    assert "(administrator)" in run("whoami", "--local", env=local_env).stdout


def test_missing_local_database_and_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    missing = run_program("webhooks", "list", "--local", env={"HOOKDOOR_DATABASE_URL": url})
    assert missing.exit_code == 3
    assert missing.stderr.strip() == (f"error: no Hookdoor database at {tmp_path / 'fresh.db'} (set "
                                      "HOOKDOOR_DATABASE_URL, or create one with 'hookdoor migrate')")
    migrated = run_program("migrate", env={"HOOKDOOR_DATABASE_URL": url})
    assert migrated.exit_code == 0 and migrated.stdout.strip() == "database is up to date"
    unreachable = run_program("migrate", env={"HOOKDOOR_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:9/x"})
    assert unreachable.exit_code == 3 and unreachable.stderr.startswith("error: cannot migrate ")
    assert "secret" not in unreachable.stderr and "Traceback" not in unreachable.stderr
    bad_setting = run_program("migrate", env={"HOOKDOOR_DATABASE_URL": url, "HOOKDOOR_PORT": "http"})
    assert bad_setting.exit_code == 2 and bad_setting.stderr.startswith("error: invalid setting HOOKDOOR_PORT")
