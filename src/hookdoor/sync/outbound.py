"""Where a syncer or an LDAP server may connect: its host resolved once, each address checked by the
SSRF guard, and the connection made to the checked address (so a second DNS answer cannot point it
elsewhere)."""

from __future__ import annotations

import ipaddress
import socket

from hookdoor.errors import BadRequest
from hookdoor.webhooks.target_guard import TargetPolicy, TargetRefused, check_address


class SourceUnavailable(BadRequest):
    """A database or directory that cannot be reached or refuses us: the caller's configuration."""


def checked_address(host: str, port: int, policy: TargetPolicy, what: str) -> str:
    """The address to connect to for ``host``, every address it resolves to admitted by the guard."""
    if not host:
        raise BadRequest(f"invalid field host: the {what} host is required")
    if not 0 < port < 65536:
        raise BadRequest(f"invalid field port: {port} is no port number")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceUnavailable(f"cannot resolve the {what} host {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    try:
        for address in addresses:
            check_address(address, policy, host)
    except TargetRefused as exc:
        raise BadRequest(f"invalid field host: {exc}") from None
    return addresses[0]


def check_host_at_save(host: str, policy: TargetPolicy) -> None:
    """A literal internal address is refused when the object is saved; names are checked at connect time."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    try:
        check_address(host, policy)
    except TargetRefused as exc:
        raise BadRequest(f"invalid field host: {exc}") from None
