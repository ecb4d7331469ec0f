"""Wakes the delivery worker the moment an event commits, instead of making it poll.

In one process a `Wakeup` is an asyncio event. Across processes: PostgreSQL has LISTEN/NOTIFY
(delivery/runner.py); SQLite, which lives on one machine, has a `Doorbell`: each worker of the
database binds a Unix datagram socket in a folder beside the database file, and every process that
commits an event sends one byte to each of them. A lost or refused byte costs nothing but a wait for
the poll (the safety net), so ringing never blocks and never fails a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from hookdoor.db.engine import sqlite_file

log = logging.getLogger(__name__)
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, fewer elsewhere
LISTING_SECONDS = 1.0  # how long a ringer trusts its listing of the folder


class Doorbell:
    """The Unix sockets of a SQLite database's workers, in ``<database>.wakeup/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sender: socket.socket | None = None
        self._listing: list[str] = []
        self._listed_at = float("-inf")

    @classmethod
    def for_database(cls, database_url: str) -> Doorbell | None:
        """The doorbell of a file database; None for other databases (or an in-memory one)."""
        database = sqlite_file(database_url)
        if database is None:
            return None
        folder = database.resolve().with_name(database.name + ".wakeup")
        if len(str(folder / "0000000000.sock")) > MAX_SOCKET_PATH:
            log.warning("the database path is too long for a wake-up socket; workers in other processes will poll")
            return None
        return cls(folder)

    # ---- ringing (any process that commits events) ----------------------------------------------

    def ring(self) -> None:
        for path in self._sockets():
            try:
                self._socket().sendto(b"!", path)
            except BlockingIOError:
                pass  # that worker has wake-ups queued already
            except (ConnectionRefusedError, FileNotFoundError):
                self._forget(path)  # its worker is gone
            except OSError as exc:
                log.debug("could not ring %s: %s", path, exc)

    def _sockets(self) -> list[str]:
        """The other processes' sockets: this process's own worker was woken in-process already."""
        now = time.monotonic()
        if now - self._listed_at >= LISTING_SECONDS:
            own = self._own_socket().name
            try:
                self._listing = [
                    entry.path for entry in os.scandir(self.folder)
                    if entry.name.endswith(".sock") and entry.name != own
                ]
            except FileNotFoundError:
                self._listing = []
            self._listed_at = now
        return self._listing

    def _own_socket(self) -> Path:
        return self.folder / f"{os.getpid()}.sock"

    def _socket(self) -> socket.socket:
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        return self._sender

    def _forget(self, path: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(ValueError):
            self._listing.remove(path)

    # ---- listening (a worker) --------------------------------------------------------------------

    @contextlib.contextmanager
    def listening(self, wakeup: Wakeup) -> Iterator[None]:
        """Bind this process's socket and wake ``wakeup`` on every ring, until the block ends."""
        self.folder.mkdir(mode=0o700, exist_ok=True)
        path = self._own_socket()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a process that had this pid and died
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.setblocking(False)
        receiver.bind(str(path))
        loop = asyncio.get_running_loop()
        loop.add_reader(receiver.fileno(), _drain, receiver, wakeup)
        try:
            yield
        finally:
            loop.remove_reader(receiver.fileno())
            receiver.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _drain(receiver: socket.socket, wakeup: Wakeup) -> None:
    while True:
        try:
            receiver.recv(64)
        except (BlockingIOError, InterruptedError):
            break
        except OSError as exc:
            if exc.errno != errno.EAGAIN:
                log.debug("wake-up socket: %s", exc)
            break
    wakeup.notify_local()


class Wakeup:
    """Wakes this process's worker; with a doorbell, the workers of other processes too."""

    def __init__(self, doorbell: Doorbell | None = None) -> None:
        self._event = asyncio.Event()
        self.doorbell = doorbell

    def notify(self) -> None:
        """Events committed: wake every worker of the database."""
        self._event.set()
        if self.doorbell is not None:
            self.doorbell.ring()

    def notify_local(self) -> None:
        """Wake this process's worker only (its own slots were freed, say)."""
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when woken, False when the timeout (the polling safety net) passed first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        woken = self._event.is_set()
        self._event.clear()
        return woken
