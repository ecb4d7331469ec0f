"""Oversized request bodies get a 413 in Casdoor's envelope that the client actually receives: the
server reads the body to its end before it answers, instead of resetting a client still sending."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests

from tests.support import ServerProcess

TEN_MB = 10 * 1024 * 1024
LIMIT_MESSAGE = "request body is larger than 1000000 bytes"


def multipart(size: int) -> dict[str, tuple[None, str]]:
    return {"userOwner": (None, "built-in"), "userName": (None, "admin"), "newPassword": (None, "x" * size)}


def urlencoded(size: int) -> dict[str, str]:
    return {"userOwner": "built-in", "userName": "admin", "newPassword": "x" * size}


def assert_refused_as_too_large(answer: requests.Response) -> None:
    assert answer.status_code == 413, answer.text[:300]
    assert answer.json() == {"status": "error", "msg": LIMIT_MESSAGE, "data": None, "data2": None}


@pytest.mark.parametrize("path", ["/api/set-password", "/api/login", "/api/login/oauth/access_token", "/login",
                                  "/console/webhooks/new"])
@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_an_oversized_form_is_answered_413_and_the_client_reads_it(server: ServerProcess, path: str,
                                                                    encoding: str) -> None:
    form = {"files": multipart(TEN_MB)} if encoding == "multipart" else {"data": urlencoded(TEN_MB)}
    assert_refused_as_too_large(requests.post(f"{server.url}{path}", timeout=60, **form))


def test_an_oversized_json_body_is_answered_413(server: ServerProcess) -> None:
    body = json.dumps({"owner": "built-in", "name": "big", "displayName": "x" * TEN_MB})
    assert_refused_as_too_large(requests.post(f"{server.url}/api/add-user", data=body, timeout=60))


def test_a_body_just_under_the_limit_is_read(server: ServerProcess) -> None:
    answer = requests.post(f"{server.url}/api/set-password", data=urlencoded(900_000), timeout=60)
    assert answer.status_code == 401 and answer.json()["status"] == "error"  # signed out: read, then refused


# ---- a raw client: sends its whole body, then reads -------------------------------------------------

def raw_exchange(server: ServerProcess, head: str, body: Iterator[bytes]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.sendall(head.encode())
    for chunk in body:
        sock.sendall(chunk)  # a reset while sending raises ConnectionResetError here
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length, read from ``sock``."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536) or b"<closed>"
        assert not received.endswith(b"<closed>"), received
    head, body = received.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in header_lines)}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def pieces(size: int, start: bytes = b"", piece: int = 64 * 1024) -> Iterator[bytes]:
    """``size`` bytes: ``start``, then one long value."""
    yield start
    for offset in range(len(start), size, piece):
        yield b"x" * min(piece, size - offset)


def chunked(size: int, start: bytes = b"") -> Iterator[bytes]:
    for piece in pieces(size, start):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


# Where each kind of body starts its one long field: the parsers find nothing wrong before the limit.
STARTS = {
    "multipart/form-data; boundary=xyz": b'--xyz\r\nContent-Disposition: form-data; name="newPassword"\r\n\r\n',
    "application/x-www-form-urlencoded": b"userOwner=built-in&newPassword=",
    "application/json": b'{"userOwner": "built-in", "newPassword": "',
}


def health_on(sock: socket.socket) -> int:
    """The connection still works after the refused body: it was read to its end."""
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n\r\n")
    return read_response(sock)[0]


@pytest.mark.parametrize("content_type", list(STARTS))
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_raw_client_sending_the_whole_body_gets_413(server: ServerProcess, content_type: str,
                                                      framing: str) -> None:
    head = f"POST /api/set-password HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
    if framing == "chunked":
        sock = raw_exchange(server, head + "Transfer-Encoding: chunked\r\n\r\n", chunked(TEN_MB, STARTS[content_type]))
    else:
        sock = raw_exchange(server, head + f"Content-Length: {TEN_MB}\r\n\r\n", pieces(TEN_MB, STARTS[content_type]))
    with sock:
        status, _, body = read_response(sock)
        assert status == 413 and json.loads(body) == {"status": "error", "msg": LIMIT_MESSAGE, "data": None,
                                                      "data2": None}
        assert health_on(sock) == 200


@pytest.mark.parametrize(("request_line", "status"), [
    ("GET /api/get-account", 401),  # a route that never reads a body
    ("POST /api/no-such-route", 404),
])
def test_an_answer_given_without_reading_the_body_still_reaches_the_client(server: ServerProcess,
                                                                           request_line: str, status: int) -> None:
    head = f"{request_line} HTTP/1.1\r\nHost: test\r\nContent-Length: {TEN_MB}\r\n\r\n"
    with raw_exchange(server, head, pieces(TEN_MB)) as sock:
        assert read_response(sock)[0] == status
        assert health_on(sock) == 200


def test_an_early_answer_on_a_connection_to_close_still_reaches_the_client(server: ServerProcess) -> None:
    """The server closes this connection after its answer: with the body still unread, that close
    would be a reset."""
    head = f"GET /api/get-account HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {TEN_MB}\r\n\r\n"
    with raw_exchange(server, head, pieces(TEN_MB)) as sock:
        assert read_response(sock)[0] == 401
