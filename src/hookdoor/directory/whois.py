"""A WHOIS client (RFC 3912) for a domain's registration expiry, as Casdoor's
update-cert-domain-expire looks it up: one query to the registry's WHOIS server for the domain's
TLD (Casdoor's table), through the SSRF guard like every outbound connection.
"""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import UTC, datetime

from hookdoor.db.types import rfc3339
from hookdoor.errors import BadRequest, HookdoorError
from hookdoor.webhooks.target_guard import TargetPolicy, TargetRefused, check_address

WHOIS_PORT = 43
TIMEOUT_SECONDS = 10
MAX_ANSWER_BYTES = 64 * 1024
# Casdoor's choice of server by the domain's suffix; other domains go to its fallback.
SERVERS = {".com": "whois.verisign-grs.com", ".net": "whois.verisign-grs.com", ".org": "whois.pir.org",
           ".io": "whois.nic.io", ".co": "whois.nic.co", ".cn": "whois.cnnic.cn", ".run": "whois.nic.run"}
FALLBACK_SERVER = "grs-whois.hichina.com"
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EXPIRY = re.compile(r"^\s*(?:registry expiry date|registrar registration expiration date|expiration date|"
                    r"expiry date|expiration time|expires on|expires|paid-till)\s*:\s*(.+?)\s*$",
                    re.IGNORECASE | re.MULTILINE)
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d-%b-%Y", "%Y.%m.%d", "%Y/%m/%d")


class WhoisFailed(HookdoorError):
    status_code = 502


def base_domain(name: str) -> str:
    """The registered domain of a cert's name: "www.example.com" -> "example.com" (the last two
    labels; Casdoor asks the public-suffix list, which differs for suffixes such as co.uk)."""
    domain = name.strip().lower().removeprefix("*.").rstrip(".")
    if not DOMAIN.match(domain):
        raise BadRequest(f"cert name {name!r} is not a domain name, so it has no domain expiry time")
    return ".".join(domain.split(".")[-2:])


def server_for(domain: str, configured: str) -> tuple[str, int]:
    if configured:
        host, _, port = configured.rpartition(":") if ":" in configured else (configured, "", "")
        return host, int(port) if port else WHOIS_PORT
    suffix = "." + domain.rsplit(".", 1)[-1]
    return SERVERS.get(suffix, FALLBACK_SERVER), WHOIS_PORT


def expiry_in(answer: str, domain: str) -> str:
    """The expiry time a WHOIS answer gives, as RFC 3339 in UTC."""
    match = EXPIRY.search(answer)
    if match is None:
        raise WhoisFailed(f"the WHOIS answer for {domain} gives no expiration date; set domainExpireTime by hand")
    text = match.group(1)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = _parsed(text, domain)
    return rfc3339(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _parsed(text: str, domain: str) -> datetime:
    for layout in DATE_FORMATS:
        try:
            return datetime.strptime(text.split(" (")[0].strip(), layout)
        except ValueError:
            continue
    raise WhoisFailed(f"the WHOIS answer for {domain} gives an expiration date {text[:40]!r} that is not a date")


async def _admitted_address(host: str, port: int, policy: TargetPolicy) -> str:
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WhoisFailed(f"WHOIS server {host} cannot be resolved: {exc}") from None
    refusal: TargetRefused | None = None
    for _family, _type, _proto, _name, address in found:
        try:
            check_address(address[0], policy, host)
            return str(address[0])
        except TargetRefused as refused:
            refusal = refused
    raise WhoisFailed(f"WHOIS server {host} is refused: {refusal}") from None


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    """The server's answer: it closes the connection when done (at most MAX_ANSWER_BYTES read)."""
    answer = b""
    while len(answer) < MAX_ANSWER_BYTES:
        chunk = await reader.read(MAX_ANSWER_BYTES - len(answer))
        if not chunk:
            break
        answer += chunk
    return answer


async def domain_expiry(domain: str, configured_server: str, policy: TargetPolicy) -> str:
    host, port = server_for(domain, configured_server)
    address = await _admitted_address(host, port, policy)
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            reader, writer = await asyncio.open_connection(address, port)
            writer.write(f"{domain}\r\n".encode("ascii"))
            await writer.drain()
            answer = await _read_to_end(reader)
            writer.close()
    except (OSError, TimeoutError) as exc:
        raise WhoisFailed(f"WHOIS server {host}:{port} did not answer: {exc or type(exc).__name__}") from None
    return expiry_in(answer.decode("utf-8", "replace"), domain)
