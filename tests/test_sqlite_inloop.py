"""The in-loop SQLite driver: one writer at a time without ever blocking the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import text

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine


class Ticker:
    """Counts how often the loop got to run it: a blocked loop stops the count."""

    def __init__(self) -> None:
        self.ticks = 0
        self.longest_gap = 0.0

    async def run(self, seconds: float) -> None:
        last = time.monotonic()
        end = last + seconds
        while time.monotonic() < end:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            self.longest_gap = max(self.longest_gap, now - last)
            self.ticks += 1
            last = now


async def test_transactions_of_one_process_queue_without_blocking_the_loop(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite:///{tmp_path / 'lock.db'}"))
    order: list[str] = []
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x TEXT)"))

        async def writer(name: str, hold: float) -> None:
            async with engine.begin() as connection:
                order.append(f"{name} begins")
                await connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": name})
                await asyncio.sleep(hold)  # awaiting something else inside the transaction
                order.append(f"{name} commits")

        ticker = Ticker()
        ticking = asyncio.create_task(ticker.run(0.5))
        await asyncio.sleep(0.02)  # the ticker is running
        await asyncio.gather(writer("first", 0.3), writer("second", 0))
        await ticking
        assert order == ["first begins", "first commits", "second begins", "second commits"]
        assert ticker.longest_gap < 0.1  # the second writer waited without blocking the loop
        async with engine.connect() as connection:  # AsyncConnection works too, not only AsyncSession
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 2
    finally:
        await engine.dispose()


async def test_a_writer_in_another_process_is_waited_for_asynchronously(tmp_path: Path) -> None:
    database = tmp_path / "busy.db"
    engine = create_engine(Settings(database_url=f"sqlite:///{database}"))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x TEXT)"))
        holding, release = threading.Event(), threading.Event()

        def other_process() -> None:  # another connection, as another process would hold the lock
            db = sqlite3.connect(database, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t VALUES ('other')")
            holding.set()
            release.wait(5)
            db.execute("COMMIT")
            db.close()

        thread = threading.Thread(target=other_process)
        thread.start()
        await asyncio.to_thread(holding.wait, 5)
        asyncio.get_running_loop().call_later(0.3, release.set)
        ticker = Ticker()
        started = time.monotonic()

        async def write() -> None:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES ('ours')"))

        ticking = asyncio.create_task(ticker.run(0.5))
        await asyncio.sleep(0.02)  # the ticker is running
        await write()
        await ticking
        thread.join(5)
        # It did wait for the other writer, and not for the 30 s a refused BEGIN may be retried.
        assert 0.3 <= time.monotonic() - started < 10
        assert ticker.longest_gap < 0.1  # in the loop, without blocking it
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT x FROM t ORDER BY rowid"))).scalars().all()
        assert rows == ["other", "ours"]
    finally:
        await engine.dispose()
