"""The inspector's pieces in-process: capture, expiry and purge, bin URLs, signature badges, the
live signal and the in-process hand-over from the delivery worker."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hookdoor.config import Settings
from hookdoor.console.inspector_pages import arrival_view, sse
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.migrate import upgrade
from hookdoor.inspector.capture import CAPTURED_BODY_BYTES, Arrival, capture
from hookdoor.inspector.live import ArrivalSignal
from hookdoor.inspector.repository import BinRepository
from hookdoor.inspector.service import EXPIRED_BIN_KEPT, new_bin_token, purge
from hookdoor.inspector.signatures import badge
from hookdoor.inspector.targets import InspectorTargets, bin_token, bin_url
from hookdoor.webhooks.signing import generate_secret, standard_headers

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """One migrated database for the module; every test makes bins of its own."""
    path = tmp_path_factory.mktemp("inspector") / "inspector.db"
    engine = create_engine(Settings(database_url=f"sqlite:///{path}"))
    await upgrade(engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def add_bin(sessions: async_sessionmaker[AsyncSession], expires: datetime = NOW + timedelta(hours=24)) -> dict:
    row = {"id": new_bin_token()[:26], "token": new_bin_token(), "organization": "built-in", "created_by": "test",
           "label": "", "webhook_owner": None, "webhook_name": None, "created_at": NOW - timedelta(hours=1),
           "expires_at": expires}
    async with sessions() as db:
        await BinRepository(db).insert_bin(row)
        await db.commit()
    return row


def arrival(body: bytes = b'{"event": "login"}', **overrides: object) -> Arrival:
    fields = {"method": "POST", "path": "/inspect/x/deep/path", "query": "a=1&b=two",
              "headers": [("Content-Type", "application/json"), ("X-Custom", "yes"), ("X-Custom", "twice")],
              "body": body, "client_ip": "203.0.113.9"}
    return Arrival(**{**fields, **overrides})  # type: ignore[arg-type]


async def captured(sessions: async_sessionmaker[AsyncSession], found: dict, given: Arrival,
                   now: datetime = NOW) -> tuple[int, list[dict]]:
    async with sessions() as db:
        result = await capture(db, found["token"], given, now)
        await db.commit()
        rows = await BinRepository(db).latest_requests(found["id"], 500)
    return result.status, rows


async def test_capture_keeps_method_path_query_headers_and_body(sessions: async_sessionmaker[AsyncSession]) -> None:
    found = await add_bin(sessions)
    status, [row] = await captured(sessions, found, arrival())
    assert status == 200
    assert (row["method"], row["path"], row["query"]) == ("POST", "/inspect/x/deep/path", "a=1&b=two")
    assert row["headers"] == [["Content-Type", "application/json"], ["X-Custom", "yes"], ["X-Custom", "twice"]]
    assert (row["body"], row["body_base64"], row["body_size"]) == ('{"event": "login"}', False, 18)
    assert row["client_ip"] == "203.0.113.9" and row["source"] == "http"
    view = arrival_view(row, [])
    assert view["body_kind"] == "json" and view["shown_body"] == '{\n  "event": "login"\n}'


async def test_binary_and_nul_bodies_are_kept_as_base64(sessions: async_sessionmaker[AsyncSession]) -> None:
    found = await add_bin(sessions)
    for body in (b"\xff\xfe\x00binary", b"text with \x00 NUL"):
        _, rows = await captured(sessions, found, arrival(body))
        assert rows[0]["body_base64"] is True
        assert base64.b64decode(rows[0]["body"]) == body


async def test_a_large_body_is_cut_and_its_size_recorded(sessions: async_sessionmaker[AsyncSession]) -> None:
    found = await add_bin(sessions)
    body, secret = b"x" * (CAPTURED_BODY_BYTES + 10), generate_secret()
    signed = list(standard_headers("msg_big", NOW, body, [secret]).items())
    _, [row] = await captured(sessions, found, arrival(body, headers=signed))
    assert len(row["body"]) == CAPTURED_BODY_BYTES and row["body_size"] == CAPTURED_BODY_BYTES + 10
    assert badge(row, [secret]).state == "unverifiable"  # not "invalid": we no longer hold what was signed


async def test_only_the_newest_requests_are_kept(sessions: async_sessionmaker[AsyncSession],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hookdoor.inspector.capture.KEEP_REQUESTS", 3)
    found = await add_bin(sessions)
    for number in range(5):
        _, rows = await captured(sessions, found, arrival(path=f"/inspect/x/{number}"))
    assert [r["path"] for r in rows] == ["/inspect/x/4", "/inspect/x/3", "/inspect/x/2"]


async def test_expired_bins_answer_410_and_unknown_ones_404(sessions: async_sessionmaker[AsyncSession]) -> None:
    found = await add_bin(sessions, expires=NOW + timedelta(minutes=1))
    assert (await captured(sessions, found, arrival()))[0] == 200
    assert (await captured(sessions, found, arrival(), now=NOW + timedelta(minutes=2)))[0] == 410
    assert (await captured(sessions, {**found, "token": new_bin_token()}, arrival()))[0] == 404


async def test_purge_drops_captures_at_expiry_and_forgets_the_bin_later(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    then = NOW - timedelta(days=60)  # a time of its own: purge acts on every bin of the database
    found = await add_bin(sessions, expires=then + timedelta(minutes=1))
    later = await add_bin(sessions, expires=then + timedelta(days=1))
    await captured(sessions, found, arrival(), now=then)
    await captured(sessions, later, arrival(), now=then)
    async with sessions() as db:
        assert await purge(db, then + timedelta(minutes=2)) == 0
        await db.commit()
        bins = BinRepository(db)
        assert await bins.count_requests(found["id"]) == 0  # its data is gone at once
        assert await bins.get(found["id"]) is not None  # it still answers 410 for a while
        assert await bins.count_requests(later["id"]) == 1
        assert await purge(db, then + timedelta(minutes=2) + EXPIRED_BIN_KEPT) == 1
        await db.commit()
        assert await bins.get(found["id"]) is None
        assert await bins.get(later["id"]) is not None  # expired too by then, but within its week of 410s
        assert await bins.count_requests(later["id"]) == 0


SETTINGS = Settings(host="127.0.0.1", port=8000)


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8000/inspect/{token}", True),
    ("http://127.0.0.1:8000/inspect/{token}/sub/path?x=1", True),
    ("http://127.0.0.1:8000/inspect/{token}?x=1", True),
    ("http://127.0.0.1:8001/inspect/{token}", False),  # another port: another server
    ("https://127.0.0.1:8000/inspect/{token}", False),
    ("http://localhost:8000/inspect/{token}", False),
    ("http://user:pw@127.0.0.1:8000/inspect/{token}", False),
    ("http://127.0.0.1:8000/api/inspect/{token}", False),
    ("http://127.0.0.1:8000/inspect/short", False),
    ("http://127.0.0.1:8000/inspect/{token}%2F..%2F..%2Fapi", False),
    ("http://127.0.0.1:8000/inspect/", False),
    ("not a url", False),
])
def test_only_this_servers_own_bin_urls_are_its_bins(url: str, expected: bool) -> None:
    token = new_bin_token()
    assert (bin_token(url.format(token=token), SETTINGS) == token) is expected


def test_bin_urls_use_the_public_url_when_set() -> None:
    settings = Settings(public_url="https://hooks.example.com/base/", host="0.0.0.0")
    url = bin_url(settings, "t" * 32)
    assert url == "https://hooks.example.com/base/inspect/" + "t" * 32
    assert bin_token(url, settings) == "t" * 32
    assert bin_url(Settings(host="0.0.0.0", port=9000), "t" * 32).startswith("http://127.0.0.1:9000/")


def signed_row(body: bytes, secrets: list[str], received: bytes | None = None) -> dict:
    headers = standard_headers("msg_test", NOW, body, secrets)
    received = body if received is None else received
    return {"headers": [[k, v] for k, v in headers.items()], "body": received.decode(), "body_base64": False,
            "body_size": len(received)}


def test_signature_badges() -> None:
    current, previous, stranger = generate_secret(), generate_secret(), generate_secret()
    body = b'{"event":"login"}'
    assert badge(signed_row(body, [current]), [current]).state == "valid"
    assert badge(signed_row(body, [previous]), [current, previous]).state == "valid"  # during a rotation
    assert badge(signed_row(body, [stranger]), [current]).state == "invalid"
    assert badge(signed_row(body, [current], received=b'{"event":"logout"}'), [current]).state == "invalid"
    assert badge({"headers": [], "body": "{}", "body_base64": False, "body_size": 2}, [current]).state == "unsigned"


def test_server_sent_events_frame_every_line() -> None:
    assert sse("arrival", "<p>\n  hi\n</p>", 7) == "event: arrival\nid: 7\ndata: <p>\ndata:   hi\ndata: </p>\n\n"
    assert sse("expired", "") == "event: expired\ndata: \n\n"


async def test_arrival_signal_wakes_only_that_bins_listeners() -> None:
    signal = ArrivalSignal()
    with signal.listening("a") as a, signal.listening("b") as b:
        signal.notify("a")
        await asyncio.wait_for(a.wait(), 1)
        assert not b.is_set()
    signal.notify("a")  # nobody listens any more: nothing to do, nothing kept
    assert not signal._listeners


async def test_worker_hand_over_is_a_capture_not_a_connection(sessions: async_sessionmaker[AsyncSession]) -> None:
    found = await add_bin(sessions, expires=datetime.now(UTC) + timedelta(hours=1))
    targets = InspectorTargets(sessions, SETTINGS)
    url = bin_url(SETTINGS, found["token"]) + "/sub?q=1"
    answer = await targets.answer("PUT", url, {"X-Api-Key": "k", "webhook-id": "msg_1"}, b'{"a": 1}')
    assert answer is not None and answer.status == 200
    async with sessions() as db:
        [row] = await BinRepository(db).latest_requests(found["id"], 5)
    assert (row["method"], row["path"], row["query"], row["source"]) == (
        "PUT", f"/inspect/{found['token']}/sub", "q=1", "delivery")
    assert ["X-Api-Key", "k"] in row["headers"] and ["Host", "127.0.0.1:8000"] in row["headers"]
    assert await targets.answer("POST", "http://127.0.0.1:8000/api/health", {}, b"") is None
    gone = await targets.answer("POST", bin_url(SETTINGS, new_bin_token()), {}, b"")
    assert gone is not None and gone.status == 404
