import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from hookdoor.webhooks.target_guard import (
    GuardedResolver,
    TargetPolicy,
    TargetRefused,
    check_address,
    check_literal_host,
    check_url_at_save,
    guarded_connector,
    refusal_from,
)

DEFAULT = TargetPolicy()
LOOPBACK_ALLOWED = TargetPolicy.from_strings(["127.0.0.0/8"])


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("100.64.0.1", "not a publicly routable address"),
        ("::1", "a loopback address"),
        ("fe80::1", "a link-local address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("::ffff:100.100.100.200", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("fd12:3456::1", "a private address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("2002:7f00:1::", "a loopback address"),
        ("64:ff9b::7f00:1", "a loopback address"),
        ("::127.0.0.1", "a reserved address"),
    ],
)
def test_internal_addresses_are_refused(ip: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as info:
        check_address(ip, DEFAULT)
    assert info.value.reason == reason
    assert info.value.address == ip
    assert "HOOKDOOR_WEBHOOK_ALLOW_TARGETS" in str(info.value)


@pytest.mark.parametrize("ip", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(ip: str) -> None:
    check_address(ip, DEFAULT)


def test_refusal_message_names_address_and_remedy() -> None:
    with pytest.raises(TargetRefused) as info:
        check_address("127.0.0.1", DEFAULT)
    assert str(info.value) == ("127.0.0.1 is a loopback address; add it to HOOKDOOR_WEBHOOK_ALLOW_TARGETS to allow it")


def test_refusal_message_names_the_host_that_resolved() -> None:
    with pytest.raises(TargetRefused) as info:
        check_address("10.1.2.3", DEFAULT, host="hooks.example.com")
    assert str(info.value).startswith("hooks.example.com resolves to 10.1.2.3, which is a private address;")
    assert info.value.host == "hooks.example.com"


def test_allow_list_admits_networks_and_hosts() -> None:
    policy = TargetPolicy.from_strings(["127.0.0.0/8", " LocalHost. ", "10.1.2.3", ""])
    check_address("127.0.0.1", policy)
    check_address("127.9.9.9", policy)
    check_address("::ffff:127.0.0.1", policy)
    check_address("10.1.2.3", policy)
    check_address("::1", policy, host="localhost")
    check_address("192.168.1.1", policy, host="LOCALHOST")
    with pytest.raises(TargetRefused):
        check_address("::1", policy)
    with pytest.raises(TargetRefused):
        check_address("10.1.2.4", policy)
    assert policy.allow_hosts == frozenset({"localhost"})


@pytest.mark.parametrize("item", ["10.0.0.0/33", "not a host", "-bad.example"])
def test_allow_list_rejects_garbage(item: str) -> None:
    with pytest.raises(ValueError, match="neither an IP network nor a hostname"):
        TargetPolicy.from_strings([item])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x", "must use http or https, not 'ftp'"),
        ("hooks.example.com/x", "must start with http:// or https://"),
        ("http://", "has no host"),
        ("http://user:pw@example.com", "must not contain credentials"),
        ("http://token@example.com", "must not contain credentials"),
        ("http://localhost:99999", "is not valid"),
        ("http://example.com:0/", "between 1 and 65535"),
        ("http://example.com/a b", "spaces or control characters"),
        ("http://example.com/\r\nX: y", "spaces or control characters"),
    ],
)
def test_malformed_urls_are_rejected_at_save(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_url_at_save(url, DEFAULT)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/",
        "http://127.0.0.1:8080/hook",
        "http://[::ffff:127.0.0.1]/",
        "https://169.254.169.254/latest/meta-data/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost:3000/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
    ],
)
def test_internal_targets_are_refused_at_save(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url_at_save(url, DEFAULT)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/casdoor?x=1",
        "http://8.8.8.8:8080/",
        "http://[2001:4860:4860::8888]/",
        "https://internal.corp.example/",
        "http://deadbeef.example/",
    ],
)
def test_public_targets_pass_at_save_without_resolving(url: str) -> None:
    check_url_at_save(url, DEFAULT)


def test_allow_list_admits_targets_at_save() -> None:
    check_url_at_save("http://localhost:8000/", TargetPolicy.from_strings(["localhost"]))
    check_url_at_save("http://127.0.0.1:8000/", LOOPBACK_ALLOWED)


def test_check_literal_host() -> None:
    with pytest.raises(TargetRefused):
        check_literal_host("http://10.0.0.1/x", DEFAULT)
    check_literal_host("http://10.0.0.1/x", TargetPolicy.from_strings(["10.0.0.0/8"]))
    check_literal_host("http://localhost/x", DEFAULT)
    check_literal_host("http://8.8.8.8/x", DEFAULT)


class FakeResolver(AbstractResolver):
    """Answers from a table, as a rebinding DNS server would."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.answers[host]
        ]

    async def close(self) -> None:
        self.closed = True


async def test_resolver_refuses_a_host_when_any_address_is_internal() -> None:
    inner = FakeResolver({"rebind.example": ["8.8.8.8", "10.0.0.1"], "ok.example": ["8.8.8.8", "1.1.1.1"]})
    resolver = GuardedResolver(DEFAULT, inner)
    with pytest.raises(TargetRefused) as info:
        await resolver.resolve("rebind.example", 443)
    assert info.value.address == "10.0.0.1"
    assert [r["host"] for r in await resolver.resolve("ok.example", 443)] == ["8.8.8.8", "1.1.1.1"]
    await resolver.close()
    assert inner.closed


def test_refusal_from_walks_cause_context_and_os_error() -> None:
    refused = TargetRefused("x", address="10.0.0.1", reason="a private address")
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = ValueError("middle")
    wrapped.__cause__.__context__ = refused
    assert refusal_from(wrapped) is refused
    assert refusal_from(ValueError("nothing")) is None


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[int, list[bytes]]]:
    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, received
    finally:
        await runner.cleanup()


async def post(policy: TargetPolicy, url: str) -> int:
    connector = guarded_connector(policy, family=socket.AF_INET)
    async with aiohttp.ClientSession(connector=connector) as session, session.post(url, data=b"{}") as response:
        return response.status


async def test_real_send_to_localhost_is_refused_by_the_resolver(receiver: tuple[int, list[bytes]]) -> None:
    port, received = receiver
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await post(DEFAULT, f"http://localhost:{port}/hook")
    refusal = refusal_from(info.value)
    assert refusal is not None
    assert (refusal.host, refusal.address, refusal.reason) == ("localhost", "127.0.0.1", "a loopback address")
    assert received == []


async def test_real_send_to_literal_ip_is_refused(receiver: tuple[int, list[bytes]]) -> None:
    port, received = receiver
    url = f"http://127.0.0.1:{port}/hook"
    with pytest.raises(TargetRefused):
        check_literal_host(url, DEFAULT)
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        await post(DEFAULT, url)
    refusal = refusal_from(info.value)
    assert refusal is not None and refusal.address == "127.0.0.1"
    assert received == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_real_send_succeeds_when_allow_listed(receiver: tuple[int, list[bytes]], host: str) -> None:
    port, received = receiver
    assert await post(LOOPBACK_ALLOWED, f"http://{host}:{port}/hook") == 204
    assert received == [b"{}"]


async def test_real_send_succeeds_when_host_is_allow_listed(receiver: tuple[int, list[bytes]]) -> None:
    port, received = receiver
    assert await post(TargetPolicy.from_strings(["localhost"]), f"http://localhost:{port}/hook") == 204
    assert received == [b"{}"]
