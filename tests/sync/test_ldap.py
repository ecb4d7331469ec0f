"""LDAP servers against a real OpenLDAP slapd started here: Casdoor's id-keyed LDAP objects through the
unmodified casdoor SDK (add_ldap, get_ldap, update_ldap, delete_ldap, get_ldap_users, sync_ldap_users),
the new-user-ldap events of imported users, sign-in with the directory's password, and the refusals
(an internal host, a wrong bind password, a directory that is not there)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from casdoor import CasdoorSDK
from casdoor.ldap import Ldap

from tests.compat.sdk import Tenant
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, eventually, free_port, unique
from tests.sync.dropping_proxy import dropping_proxy
from tests.sync.slapd import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, PEOPLE, Directory, password_of, running_directory


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with running_directory(tmp_path_factory.mktemp("slapd")) as running:
        yield running


def _ldap(tenant: Tenant, directory: Directory, **fields: object) -> Ldap:
    ldap = Ldap()
    ldap.id, ldap.owner, ldap.serverName = unique("ldap"), tenant.organization, "Example directory"
    ldap.host, ldap.port, ldap.username, ldap.password = "127.0.0.1", directory.port, ADMIN_DN, ADMIN_PASSWORD
    ldap.baseDn, ldap.filter, ldap.filterFields = BASE_DN, "(objectClass=posixAccount)", ["uid"]
    for name, value in fields.items():
        setattr(ldap, name, value)
    return ldap


def test_the_sdk_manages_ldap_servers_and_imports_their_users(server: ServerProcess, sdk: CasdoorSDK,
                                                               tenant: Tenant, directory: Directory) -> None:
    ldap = _ldap(tenant, directory)
    assert sdk.add_ldap(ldap)["status"] == "ok"
    stored = sdk.get_ldap(ldap.id)
    assert (stored.id, stored.owner, stored.host) == (ldap.id, tenant.organization, "127.0.0.1")
    stored.password = "***"  # as Casdoor's web page sends it back
    assert not hasattr(stored, "name")  # Casdoor's LDAP objects have no name
    assert [item.id for item in sdk.get_ldaps()] == [ldap.id]
    stored.serverName = "Renamed directory"
    assert sdk.update_ldap(stored)["status"] == "ok"  # the masked password keeps the stored one
    assert sdk.get_ldap(ldap.id).serverName == "Renamed directory"

    listed = sdk.get_ldap_users(ldap.id)
    assert sorted(user["uid"] for user in listed["users"]) == [uid for uid, *_ in PEOPLE]
    assert listed["existUuids"] == []
    ada = next(user for user in listed["users"] if user["uid"] == "ada")
    assert (ada["displayName"], ada["email"], ada["uidNumber"]) == ("Ada Lovelace", "ada@example.org", "2001")

    first = sdk.sync_ldap_users(ldap.id, [u for u in listed["users"] if u["uid"] in ("ada", "grace")])
    assert first == {"exist": [], "failed": []}
    user = sdk.get_user("ada")
    assert (user.displayName, user.email, user.ldap) == ("Ada Lovelace", "ada@example.org", ada["uuid"])
    assert user.affiliation == "example.org"
    subject = f"{tenant.organization}/ada"
    assert [e["outcome"] for e in events(server, action="new-user-ldap", subject=subject)] == ["ok"]
    assert [e["outcome"] for e in events(server, action="add-user", subject=subject)] == ["ok"]
    assert len(sdk.get_ldap_users(ldap.id)["existUuids"]) == 2

    again = sdk.sync_ldap_users_from_server(ldap.id)
    assert sorted(u["uid"] for u in again["exist"]) == ["ada", "grace"] and again["failed"] == []
    assert sdk.get_user("linus").displayName == "Linus Torvalds"
    assert sdk.get_ldap(ldap.id).lastSync  # Casdoor's UpdateLdapSyncTime

    # An imported user signs in with the directory's password, checked by binding as them.
    signed_in = Api(server.url).login("ada", password_of("ada"), tenant.organization, tenant.application)
    assert signed_in["status"] == "ok", signed_in
    refused = Api(server.url).login("ada", password_of("grace"), tenant.organization, tenant.application)
    assert refused["status"] == "error", refused

    for action in ("add-ldap", "update-ldap", "get-ldap-users", "sync-ldap-users"):
        recorded = [e for e in events(server, action=action, organization=tenant.organization)]
        assert recorded and all(e["outcome"] == "ok" for e in recorded), action
        assert recorded[-1]["object"]["id"] == ldap.id and recorded[-1]["object"]["password"] == "***", action
    assert sdk.delete_ldap(sdk.get_ldap(ldap.id))["status"] == "ok"
    assert sdk.get_ldap(ldap.id) is None
    assert [e["object"]["id"] for e in events(server, action="delete-ldap", organization=tenant.organization)] == [
        ldap.id]


def test_directory_faults_are_clear_errors(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant,
                                           directory: Directory) -> None:
    with pytest.raises(Exception, match="invalid field host"):
        sdk.add_ldap(_ldap(tenant, directory, host="10.9.8.7"))
    wrong = _ldap(tenant, directory, password="not-the-password")
    sdk.add_ldap(wrong)
    with pytest.raises(Exception, match="refused the bind"):
        sdk.get_ldap_users(wrong.id)
    absent = _ldap(tenant, directory, port=free_port())
    sdk.add_ldap(absent)
    with pytest.raises(Exception, match="cannot reach the LDAP server"):
        sdk.get_ldap_users(absent.id)
    failures = events(server, action="get-ldap-users", organization=tenant.organization)
    assert [e["outcome"] for e in failures] == ["error", "error"]
    assert all("not-the-password" not in str(e) for e in failures)


def test_only_managers_use_a_directory(server: ServerProcess, admin: Api, sdk: CasdoorSDK, tenant: Tenant,
                                       directory: Directory) -> None:
    ldap = _ldap(tenant, directory)
    sdk.add_ldap(ldap)
    name = unique("member")
    assert admin.post("add-user", {"owner": tenant.organization, "name": name,
                                   "password": "member-password-1"})["status"] == "ok"
    member = Api(server.url)
    assert member.login(name, "member-password-1", tenant.organization, tenant.application)["status"] == "ok"
    ldap_id = f"{tenant.organization}/{ldap.id}"
    for answer in (member.get("get-ldap-users", id=ldap_id), member.post("sync-ldap-users", [], params={"id": ldap_id}),
                   Api(server.url).get("get-ldap-users", id=ldap_id)):
        assert answer["status"] == "error", answer
    assert member.get("get-ldap-users", id=ldap_id)["msg"].startswith("only administrators")


def test_a_directory_that_drops_the_connection_mid_search(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant,
                                                          directory: Directory) -> None:
    """The bind goes through, the search request is where the directory goes away: a clear error,
    and nothing imported."""
    with dropping_proxy(directory.port, drop_at=2) as port:
        flaky = _ldap(tenant, directory, port=port)
        sdk.add_ldap(flaky)
        with pytest.raises(Exception, match="failed during the search"):
            sdk.get_ldap_users(flaky.id)
    assert sdk.get_users() == [] or all(not getattr(u, "ldap", "") for u in sdk.get_users())


def test_auto_sync_imports_the_directory_on_its_own(server: ServerProcess, sdk: CasdoorSDK, tenant: Tenant,
                                                     directory: Directory) -> None:
    """autoSync (minutes): a server never synced is due at once, and the scheduler imports everyone."""
    ldap = _ldap(tenant, directory, autoSync=1)
    sdk.add_ldap(ldap)
    eventually(lambda: {u.name for u in sdk.get_users()} >= {uid for uid, *_ in PEOPLE}, "the automatic sync")
    recorded = events(server, action="new-user-ldap", subject=f"{tenant.organization}/linus")
    assert [(e["outcome"], e["actor"]) for e in recorded] == [("ok", "system")]
    assert recorded[0]["message"] == f"from LDAP server {tenant.organization}/{ldap.id}"
    ldap.autoSync = 0
    ldap.password = "***"
    sdk.update_ldap(ldap)


def test_tls_verifies_the_directory_unless_told_to_accept_a_self_signed_one(sdk: CasdoorSDK, tenant: Tenant,
                                                                             directory: Directory) -> None:
    trusting = _ldap(tenant, directory, port=directory.tls_port, enableSsl=True, allowSelfSignedCert=True)
    sdk.add_ldap(trusting)
    assert len(sdk.get_ldap_users(trusting.id)["users"]) == len(PEOPLE)  # over ldaps://
    strict = _ldap(tenant, directory, port=directory.tls_port, enableSsl=True, allowSelfSignedCert=False)
    sdk.add_ldap(strict)
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        sdk.get_ldap_users(strict.id)  # its certificate is signed by nobody this server trusts
