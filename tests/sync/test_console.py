"""The console's synchronization pages over plain HTTP: a syncer's "Test connection" and "Sync now"
with its last run, and an LDAP server's directory users with "Sync selected", each performing the API's
action (and event) after its CSRF token is checked."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from tests.compat.sdk import Tenant, new_tenant
from tests.console.browser import ConsoleClient
from tests.identity.test_events_recorded import events
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique
from tests.sync.slapd import ADMIN_DN, BASE_DN, Directory, running_directory
from tests.sync.slapd import ADMIN_PASSWORD as DIRECTORY_PASSWORD
from tests.sync.sources import SOURCES


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with running_directory(tmp_path_factory.mktemp("slapd-console")) as running:
        yield running


@pytest.fixture
def console(server: ServerProcess) -> ConsoleClient:
    client = ConsoleClient(server.url)
    client.login("admin", ADMIN_PASSWORD)
    return client


def test_a_syncer_page_tests_syncs_and_shows_the_last_run(server: ServerProcess, admin: Api, tenant: Tenant,
                                                           console: ConsoleClient) -> None:
    with SOURCES["sqlite"]() as source:
        source.execute("INSERT INTO people (uid, login, mail, dept) VALUES (:u, 'fern', 'fern@example.com', 0)",
                       u=f"u{random.randint(10**6, 10**9)}")
        syncer = source.syncer(tenant.organization, tenant.organization, unique("syncer"))
        assert admin.post("add-syncer", syncer)["status"] == "ok"
        path = f"/console/sync/syncers/{syncer['owner']}/{syncer['name']}"
        assert "Never run." in console.get(path).text
        assert syncer["name"] in console.get("/console/sync").text

        tested = console.submit(path + "/test", {})
        assert tested.status_code == 200 and "Connected: table people" in tested.text, tested.text[:500]
        refused = console.post(path + "/run", {"csrf_token": "stolen"})
        assert "CSRF" in refused.text
        assert "fern" not in {u["name"] for u in admin.get("get-users", owner=tenant.organization)["data"]}
        ran = console.submit(path + "/run", {})
        assert "Synced: 1 created" in ran.text, ran.text[:500]
        assert re.search(r'id="last-run"><span class="badge">ok</span>', console.get(path).text)
        assert "fern" in {u["name"] for u in admin.get("get-users", owner=tenant.organization)["data"]}
        outcomes = [e["outcome"] for e in events(server, action="run-syncer") if path in e["request"]["uri"]]
        assert outcomes == ["error", "ok"]  # the refused form, then the run
        assert [e["outcome"] for e in events(server, action="test-syncer-db", organization=tenant.organization)] \
            == ["ok"]


def test_an_ldap_page_lists_the_directory_and_syncs_the_selected(server: ServerProcess, admin: Api, tenant: Tenant,
                                                                  console: ConsoleClient,
                                                                  directory: Directory) -> None:
    ldap_id = unique("ldap")
    assert admin.post("add-ldap", {"id": ldap_id, "owner": tenant.organization, "serverName": "Console directory",
                                   "host": "127.0.0.1", "port": directory.port, "username": ADMIN_DN,
                                   "password": DIRECTORY_PASSWORD, "baseDn": BASE_DN,
                                   "filter": "(objectClass=posixAccount)"})["status"] == "ok"
    path = f"/console/sync/ldaps/{tenant.organization}/{ldap_id}"
    assert "Console directory" in console.get(path).text
    listed = console.submit(path + "/users", {})
    assert "Grace Hopper" in listed.text, listed.text[:500]
    grace = re.search(r'name="uuid" value="([^"]+)" aria-label="sync grace"', listed.text)
    assert grace, listed.text[:1000]
    synced = console.submit(path + "/sync", {"uuid": grace.group(1)})
    assert "Synced: 1 created" in synced.text, synced.text[:500]
    names = {u["name"] for u in admin.get("get-users", owner=tenant.organization)["data"]}
    assert "grace" in names and "ada" not in names
    again = console.submit(path + "/users", {})
    assert re.search(r'value="[^"]+" aria-label="sync grace" disabled', again.text)
    assert [e["outcome"] for e in events(server, action="new-user-ldap", subject=f"{tenant.organization}/grace")] \
        == ["ok"]


def test_a_failed_run_is_kept_as_failed_with_its_error(server: ServerProcess, admin: Api, tenant: Tenant,
                                                       console: ConsoleClient) -> None:
    with SOURCES["sqlite"]() as source:
        syncer = source.syncer(tenant.organization, tenant.organization, unique("syncer"))
        assert admin.post("add-syncer", syncer)["status"] == "ok"
        source.execute("DROP TABLE people")
        answer = admin.get("run-syncer", id=f"{syncer['owner']}/{syncer['name']}")
        assert answer["status"] == "error" and "table 'people' does not exist" in answer["msg"], answer
        page = console.get(f"/console/sync/syncers/{syncer['owner']}/{syncer['name']}").text
        assert 'id="last-run"><span class="badge">failed</span>' in page
        assert "table &#39;people&#39; does not exist" in page or "table 'people' does not exist" in page


def test_another_organizations_admin_cannot_open_or_run_a_syncer(server: ServerProcess, admin: Api,
                                                                 tenant: Tenant) -> None:
    other_tenant = new_tenant(admin)
    other = other_tenant.organization
    intruder = unique("admin")
    assert admin.post("add-user", {"owner": other, "name": intruder, "password": "intruder-password-1",
                                   "isAdmin": True})["status"] == "ok"
    with SOURCES["sqlite"]() as source:
        syncer = source.syncer(tenant.organization, tenant.organization, unique("syncer"))
        assert admin.post("add-syncer", syncer)["status"] == "ok"
        client = ConsoleClient(server.url)
        client.login(intruder, "intruder-password-1", other, other_tenant.application)
        path = f"/console/sync/syncers/{syncer['owner']}/{syncer['name']}"
        assert client.get(path).status_code == 403
        ran = client.post(path + "/run", {"csrf_token": client.csrf("/console/sync")})
        assert ran.status_code == 403
        refused = [e for e in events(server, action="run-syncer") if path in e["request"]["uri"]]
        assert [(e["outcome"], e["message"][:19]) for e in refused] == [("error", "only administrators")]
        assert syncer["name"] not in client.get("/console/sync").text
