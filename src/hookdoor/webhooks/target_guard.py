"""SSRF guard: webhook URLs are user input, so Hookdoor refuses to send to internal addresses.

Two checks, as Svix and Zitadel do:

* at save time, ``check_url_at_save`` rejects malformed URLs, literal internal IPs and ``localhost``
  (hostnames are not resolved then: DNS may change before the first send anyway);
* at connect time, ``guarded_connector`` gives aiohttp a ``GuardedResolver`` that checks every address
  a hostname resolves to, refusing the host if *any* of them is internal (a host that answers both a
  public and a private address is a DNS-rebinding attempt, not a host to filter).

aiohttp's ``TCPConnector._resolve_host`` skips the resolver for IP literals (aiohttp 3.13), so a URL
such as ``http://127.0.0.1/`` would never reach the resolver. The connector returned by
``guarded_connector`` therefore checks literals itself before resolving (a test guards that this still
happens after an aiohttp upgrade), and ``check_literal_host`` offers the same check to callers who
want the clear error before opening a connection. Sessions using the connector must not use a proxy
(``trust_env`` must stay False): through a proxy, the proxy resolves the target, not us.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "HOOKDOOR_WEBHOOK_ALLOW_TARGETS"

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
"""Cloud instance-metadata services (AWS/GCP/Azure, AWS IPv6, Alibaba): where credentials leak from."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_LEGACY_IPV4 = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)


@dataclass(frozen=True)
class TargetPolicy:
    """The operator's exceptions to the guard: networks and hostnames webhooks may reach anyway."""

    allow: tuple[IPNetwork, ...] = ()
    allow_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_strings(cls, items: Iterable[str]) -> TargetPolicy:
        """Parse ``HOOKDOOR_WEBHOOK_ALLOW_TARGETS`` entries: CIDRs, single IPs or hostnames."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in items:
            item = raw.strip()
            if not item:
                continue
            network = _as_network(item)
            if network is not None:
                networks.append(network)
            else:
                hosts.add(_as_hostname(item))
        return cls(allow=tuple(networks), allow_hosts=frozenset(hosts))

    def admits_host(self, host: str | None) -> bool:
        return host is not None and _normal_host(host) in self.allow_hosts

    def admits_ip(self, ip: IPAddress) -> bool:
        return any(ip in network for network in self.allow)


def _as_network(item: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(item, strict=False)
    except ValueError:
        return None


def _as_hostname(item: str) -> str:
    host = _normal_host(item)
    if not _HOSTNAME.match(host):
        raise ValueError(f"{ALLOW_SETTING}: {item!r} is neither an IP network nor a hostname")
    return host


def _normal_host(host: str) -> str:
    return host.lower().rstrip(".")


class TargetRefused(OSError):
    """A webhook target is an internal address.

    An ``OSError`` so that aiohttp wraps it like any connection failure
    (``ClientConnectorDNSError``): a worker catching ``aiohttp.ClientError`` records a failed attempt
    instead of crashing. Use ``refusal_from`` to recover it from aiohttp's exception.
    """

    def __init__(self, message: str, *, address: str, reason: str, host: str | None = None) -> None:
        super().__init__(message)
        self.address = address
        self.reason = reason
        self.host = host

    def __str__(self) -> str:
        return str(self.args[0])


def check_address(ip: str, policy: TargetPolicy, host: str | None = None) -> None:
    """Raise ``TargetRefused`` unless ``ip`` is public, allow-listed, or ``host`` is allow-listed.

    IPv4-mapped (``::ffff:a.b.c.d``), 6to4 and NAT64 addresses are judged by the IPv4 address they
    carry, since that is where the packets end up.
    """
    address = ipaddress.ip_address(ip)
    inner = _embedded_ipv4(address)
    if policy.admits_host(host) or policy.admits_ip(address) or policy.admits_ip(inner):
        return
    reason = _refusal_reason(inner)
    if reason is not None:
        raise TargetRefused(_refusal_message(ip, inner, reason, host), address=ip, reason=reason, host=host)


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour or address


def _refusal_reason(address: IPAddress) -> str | None:
    """The first kind of internal address that ``address`` is, as a phrase, or None if it is public."""
    checks = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a publicly routable address"),
    )
    return next((phrase for matched, phrase in checks if matched), None)


def _refusal_message(ip: str, inner: IPAddress, reason: str, host: str | None) -> str:
    shown = ip if str(inner) == ip else f"{ip} ({inner})"
    if host is not None and _normal_host(host) != ip.lower():
        return f"{host} resolves to {shown}, which is {reason}; add {host} or {ip} to {ALLOW_SETTING} to allow it"
    return f"{shown} is {reason}; add it to {ALLOW_SETTING} to allow it"


def check_url_at_save(url: str, policy: TargetPolicy) -> None:
    """Validate a webhook URL when it is saved, without resolving its hostname.

    ``ValueError`` names what is malformed; ``TargetRefused`` says why the target is not allowed.
    """
    host = _parse_url(url)
    legacy = _legacy_ipv4(host)
    if _literal_ip(host) is not None:
        check_address(host, policy)
    elif legacy is not None:
        check_address(str(legacy), policy, host=host)
    elif _is_localhost(host) and not policy.admits_host(host):
        raise TargetRefused(
            f"{host} is a loopback name; add it to {ALLOW_SETTING} to allow it",
            address=host,
            reason="a loopback name",
            host=host,
        )


def _parse_url(url: str) -> str:
    """The URL's host, after checking everything about the URL that does not depend on the host."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("webhook URL must not contain spaces or control characters")
    try:
        parsed = URL(url)
        port = parsed.explicit_port
    except ValueError as exc:
        raise ValueError(f"webhook URL {url!r} is not valid: {exc}") from exc
    if not parsed.scheme:
        raise ValueError("webhook URL must start with http:// or https://")
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"webhook URL must use http or https, not {parsed.scheme!r}")
    host = parsed.raw_host
    if not host:
        raise ValueError("webhook URL has no host")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise ValueError("webhook URL must not contain credentials (user:password@); use a custom header")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"webhook URL port must be between 1 and 65535, not {port}")
    return host


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``127.1``, ``0x7f.0.0.1`` and ``2130706433`` all reach 127.0.0.1 through getaddrinfo."""
    if not _LEGACY_IPV4.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _is_localhost(host: str) -> bool:
    name = _normal_host(host)
    return name == "localhost" or name.endswith(".localhost")


def check_literal_host(url: str | URL, policy: TargetPolicy) -> None:
    """Refuse a URL whose host is a literal internal IP: aiohttp never resolves those.

    Hostnames pass here; the resolver of ``guarded_connector`` checks them at connect time.
    """
    host = URL(url).raw_host if isinstance(url, str) else url.raw_host
    if host is not None and _literal_ip(host) is not None:
        check_address(host, policy)


class GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` (aiohttp's ``ThreadedResolver`` by default), then checks every answer."""

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            check_address(result["host"], self._policy, host=host)
        return results

    async def close(self) -> None:
        await self._inner.close()


class _GuardedTCPConnector(aiohttp.TCPConnector):
    """Checks IP-literal hosts, which ``TCPConnector`` hands to no resolver."""

    def __init__(self, policy: TargetPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target_policy = policy

    async def _resolve_host(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[ResolveResult]:
        if _literal_ip(host) is not None:
            check_address(host, self._target_policy)
        return await super()._resolve_host(host, port, *args, **kwargs)


def guarded_connector(policy: TargetPolicy, **kwargs: Any) -> aiohttp.TCPConnector:
    """A ``TCPConnector`` that refuses internal targets; ``resolver=`` (if given) is wrapped, not replaced."""
    resolver = GuardedResolver(policy, kwargs.pop("resolver", None))
    return _GuardedTCPConnector(policy, resolver=resolver, **kwargs)


def refusal_from(exc: BaseException) -> TargetRefused | None:
    """The ``TargetRefused`` behind an aiohttp error, if there is one, so callers can log the reason."""
    return next((e for e in _exception_chain(exc) if isinstance(e, TargetRefused)), None)


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend((current.__cause__, current.__context__, getattr(current, "os_error", None)))
        pending.extend(getattr(current, "exceptions", ()))
