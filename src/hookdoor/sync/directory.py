"""An LDAP directory, through ldap3: bind, the paged search of its users, a user's own bind.

Blocking, so it runs in a thread, outside Hookdoor's transactions. The host goes through the SSRF
guard and the connection is made to the checked address; TLS (``enableSsl``) verifies the
directory's certificate against the host's name unless ``allowSelfSignedCert`` is set.
"""

from __future__ import annotations

import ssl
from typing import Any

from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPBindError, LDAPException, LDAPInvalidCredentialsResult, LDAPSocketOpenError
from ldap3.utils.conv import escape_filter_chars

from hookdoor.sync.outbound import SourceUnavailable, checked_address
from hookdoor.sync.schemas import LdapServer, LdapUser
from hookdoor.webhooks.target_guard import TargetPolicy

TIMEOUT_SECONDS = 5
PAGE_SIZE = 100
# Casdoor's GetLdapUsers attributes (object/ldap_conn.go).
USER_ATTRIBUTES = ["uidNumber", "uid", "cn", "sn", "gidNumber", "entryUUID", "displayName", "mail", "email",
                   "emailAddress", "telephoneNumber", "mobile", "mobileTelephoneNumber", "registeredAddress",
                   "postalAddress", "c", "co", "memberOf"]


class Directory:
    def __init__(self, server: LdapServer, policy: TargetPolicy) -> None:
        self.config = server
        port = server.port_number
        address = checked_address(server.host, port, policy, "LDAP")
        tls = None
        if server.enableSsl:
            validate = ssl.CERT_NONE if server.allowSelfSignedCert else ssl.CERT_REQUIRED
            tls = Tls(validate=validate, valid_names=[server.host])
        self.server = Server(address, port=port, use_ssl=server.enableSsl, tls=tls, get_info=NONE,
                             connect_timeout=TIMEOUT_SECONDS)

    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port_number}"

    def bind(self, user: str, password: str) -> Connection:
        connection = Connection(self.server, user=user, password=password, receive_timeout=TIMEOUT_SECONDS,
                                raise_exceptions=True)
        try:
            connection.bind()
        except (LDAPInvalidCredentialsResult, LDAPBindError):
            raise SourceUnavailable(f"the LDAP server {self._where()} refused the bind of {user!r}: wrong user or "
                                    "password") from None
        except LDAPSocketOpenError as exc:
            raise SourceUnavailable(f"cannot reach the LDAP server {self._where()}: {_first_line(exc)}") from None
        except LDAPException as exc:
            raise SourceUnavailable(f"the LDAP server {self._where()} failed: {_first_line(exc)}") from None
        return connection

    def users(self) -> list[LdapUser]:
        """Every entry the filter matches under the base DN, page by page (Casdoor: pages of 100)."""
        connection = self.bind(self.config.username, self.config.password)
        try:
            entries = connection.extend.standard.paged_search(
                self.config.baseDn, _listing_filter(self.config.filter), search_scope=SUBTREE,
                attributes=USER_ATTRIBUTES, paged_size=PAGE_SIZE, generator=False)
            return [_ldap_user(entry) for entry in entries if entry.get("type") == "searchResEntry"]
        except LDAPException as exc:
            raise SourceUnavailable(f"the LDAP server {self._where()} failed during the search: "
                                    f"{_first_line(exc)}") from None
        finally:
            connection.unbind()

    def password_matches(self, user: dict[str, Any], password: str) -> bool:
        """Casdoor's checkLdapUserPassword: find the user's entry, then bind as it with the password."""
        connection = self.bind(self.config.username, self.config.password)
        try:
            connection.search(self.config.baseDn, _auth_filter(self.config, user), search_scope=SUBTREE,
                              attributes=[], size_limit=2)
            found = [e for e in connection.response or [] if e.get("type") == "searchResEntry"]
        except LDAPException as exc:
            raise SourceUnavailable(f"the LDAP server {self._where()} failed during the search: "
                                    f"{_first_line(exc)}") from None
        finally:
            connection.unbind()
        if len(found) != 1 or not password:
            return False  # none, or several accounts with this uid: nobody is signed in
        try:
            self.bind(found[0]["dn"], password).unbind()
        except SourceUnavailable as exc:
            if "refused the bind" in exc.message:
                return False
            raise
        return True


def _listing_filter(configured: str) -> str:
    """Casdoor's: none is every entry; "{}" placeholders match anything when listing."""
    text = configured.strip()
    return "(objectClass=*)" if not text else text.replace("{}", "*")


def _auth_filter(config: LdapServer, user: dict[str, Any]) -> str:
    """Casdoor's buildAuthFilterString: the base filter and the user's uid, or any filter field."""
    base = _listing_filter(config.filter)
    values = {"uid": user.get("name"), "sAMAccountName": user.get("name"), "mail": user.get("email"),
              "mobile": user.get("phone")}
    if not config.filterFields:
        return f"(&{base}(uid={escape_filter_chars(str(user.get('name') or ''))}))"
    parts = "".join(f"({field}={escape_filter_chars(str(values.get(field) or ''))})" for field in config.filterFields)
    return f"(&{base}(|{parts}))"


def _first(attributes: dict[str, Any], name: str) -> str:
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value)


def _ldap_user(entry: dict[str, Any]) -> LdapUser:
    """Casdoor's AutoAdjustLdapUser: one email, one phone, one address, the uuid."""
    a = entry.get("attributes") or {}
    uid, cn = _first(a, "uid"), _first(a, "cn")
    member_of = a.get("memberOf") or []
    return LdapUser(
        uidNumber=_first(a, "uidNumber"), uid=uid, cn=cn, groupId=_first(a, "gidNumber"),
        uuid=_first(a, "entryUUID") or uid or cn, displayName=_first(a, "displayName"),
        email=_first(a, "email") or _first(a, "emailAddress") or _first(a, "mail"),
        mobile=_first(a, "mobile") or _first(a, "mobileTelephoneNumber") or _first(a, "telephoneNumber"),
        address=_first(a, "postalAddress") or _first(a, "registeredAddress"),
        country=_first(a, "c") or _first(a, "co"), countryName=_first(a, "co"),
        memberOf=[str(m) for m in member_of] if isinstance(member_of, list) else [str(member_of)],
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
