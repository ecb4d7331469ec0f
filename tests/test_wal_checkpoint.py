"""WAL checkpoints happen in the checkpointer's thread, not inside a commit in the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hookdoor.config import Settings
from hookdoor.db import checkpoint
from hookdoor.db.checkpoint import CHECKPOINT_EVERY_SECONDS, checkpointing
from hookdoor.db.engine import create_engine
from tests.support import eventually_in_loop

ROWS, ROW_BYTES = 1500, 4000  # ~6 MB: past SQLite's default automatic checkpoint (1,000 pages)


async def _fill(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (body BLOB)"))
    for _ in range(ROWS // 100):
        async with engine.begin() as connection:
            for _ in range(100):
                await connection.execute(text("INSERT INTO t VALUES (randomblob(:n))"), {"n": ROW_BYTES})


async def test_commits_leave_pages_in_the_log_until_the_checkpointer_copies_them(tmp_path: Path) -> None:
    database = tmp_path / "wal.db"
    url = f"sqlite:///{database}"
    engine = create_engine(Settings(database_url=url))
    try:
        await _fill(engine)
        assert database.stat().st_size < ROW_BYTES * 10  # no commit checkpointed: all of it is in the log

        async with checkpointing(url):
            await eventually_in_loop(lambda: database.stat().st_size > ROWS * ROW_BYTES, "the log's pages copied")
    finally:
        await engine.dispose()


async def test_a_log_past_its_limit_is_emptied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "wal.db"
    log_file = tmp_path / "wal.db-wal"
    url = f"sqlite:///{database}"
    engine = create_engine(Settings(database_url=url))
    try:
        await _fill(engine)
        async with checkpointing(url):
            await eventually_in_loop(lambda: database.stat().st_size > ROWS * ROW_BYTES, "the log's pages copied")
            await asyncio.sleep(CHECKPOINT_EVERY_SECONDS * 5)  # a few more checkpoints, which must not empty it
        assert log_file.stat().st_size > ROWS * ROW_BYTES  # passive checkpoints copy, but the file stays

        monkeypatch.setattr(checkpoint, "RESTART_LOG_BYTES", ROWS * ROW_BYTES // 2)
        async with checkpointing(url):
            await eventually_in_loop(lambda: log_file.stat().st_size == 0, "the log to be emptied")
    finally:
        await engine.dispose()
