"""A TCP proxy in front of a real server that drops the connection once the client has sent a given
number of messages: a directory that goes away in the middle of a search."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


def _serve(listener: socket.socket, target_port: int, drop_at: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_relay, args=(client, target_port, drop_at), daemon=True).start()


def _relay(client: socket.socket, target_port: int, drop_at: int) -> None:
    upstream = socket.create_connection(("127.0.0.1", target_port))
    sent = 0

    def back() -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)

    threading.Thread(target=back, daemon=True).start()
    with contextlib.suppress(OSError):
        while data := client.recv(65536):
            sent += 1
            if sent >= drop_at:  # this message (the search) never arrives: the connection is gone
                break
            upstream.sendall(data)
    for sock in (client, upstream):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@contextlib.contextmanager
def dropping_proxy(target_port: int, drop_at: int) -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, target_port, drop_at, stop), daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
