"""SQLite's WAL checkpoints, run in a thread instead of inside some unlucky commit.

By default SQLite checkpoints automatically: the commit that takes the write-ahead log past 1,000
pages also copies those pages back into the database file before it returns. Here that commit runs
in the event loop's thread (db/sqlite_inloop.py), so the whole process stood still for it (a
checkpoint of 3,009 pages took 18 ms on this machine), every few dozen API calls, more often the
more webhooks write deliveries and attempts. Connections therefore run with
``wal_autocheckpoint=0`` (see db/engine.py), and every long-running process (`hookdoor serve`,
`hookdoor worker`) runs `checkpointing`: a passive checkpoint every 100 ms, on a connection of its
own, in a thread (sqlite3 releases the GIL while SQLite works). A passive checkpoint never waits for
readers or writers; two processes checkpointing at once simply take turns.

A passive checkpoint does not make the log start over, though: only a writer does, and only when it
begins right after a checkpoint that copied everything, with no reader left in the log. Under steady
traffic some write always lands during the checkpoint, so the log grew without end (220 MB within
14 s of back-to-back update-user calls with 10 webhooks). So once the log file passes
`RESTART_LOG_BYTES`, a truncating checkpoint follows: it waits (in the thread, at most
`RESTART_WAIT_SECONDS`) for the writer and the readers of older snapshots to finish, holds new
writers off meanwhile, copies what little the passive ones left, and empties the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from hookdoor.db.engine import sqlite_file
from hookdoor.runtime import in_background

log = logging.getLogger(__name__)
CHECKPOINT_EVERY_SECONDS = 0.1
RESTART_LOG_BYTES = 32 * 1024 * 1024
RESTART_WAIT_SECONDS = 0.05


@contextlib.asynccontextmanager
async def checkpointing(database_url: str) -> AsyncIterator[None]:
    path = sqlite_file(database_url)
    if path is None:
        yield
        return
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=RESTART_WAIT_SECONDS)
    log_file = path.with_name(path.name + "-wal")
    in_use = threading.Lock()
    try:
        async with in_background(_checkpoint_loop(connection, log_file, in_use), "hookdoor-wal-checkpoint"):
            yield
    finally:
        # Cancelling the loop does not stop a checkpoint already running in its thread; closing the
        # connection under it crashed the process (a segmentation fault in SQLite). Wait for it.
        with in_use:
            connection.close()


async def _checkpoint_loop(connection: sqlite3.Connection, log_file: Path, in_use: threading.Lock) -> None:
    while True:
        await asyncio.sleep(CHECKPOINT_EVERY_SECONDS)
        try:
            await asyncio.to_thread(_checkpoint, connection, log_file, in_use)
        except sqlite3.Error as error:  # e.g. the file went away; the next turn tries again
            log.warning("WAL checkpoint failed: %s", error)


def _checkpoint(connection: sqlite3.Connection, log_file: Path, in_use: threading.Lock) -> None:
    with in_use:
        _checkpoint_now(connection, log_file)


def _checkpoint_now(connection: sqlite3.Connection, log_file: Path) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    with contextlib.suppress(FileNotFoundError):
        if log_file.stat().st_size > RESTART_LOG_BYTES:
            # Busy (someone did not finish within the wait) is no error: the next turn tries again.
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
