"""One run at a time across processes: the PostgreSQL advisory lock and the SQLite lease row, on real
databases. A second holder (here a second engine, as a second process would have) is refused while
the first holds the lock, and gets it once the first lets go."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine
from hookdoor.db.migrate import upgrade
from hookdoor.sync.repository import run_lock
from tests.support import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


async def test_a_second_process_waits_its_turn(database_url: str) -> None:
    first, second = (create_engine(Settings(database_url=database_url)) for _ in range(2))
    try:
        await upgrade(first)
        async with run_lock(first, "syncer:org/s") as held:
            assert held
            async with run_lock(second, "syncer:org/s") as other:
                assert not other  # the same source: refused while the first runs it
            async with run_lock(second, "syncer:org/another") as other:
                assert other  # another source is free
        async with run_lock(second, "syncer:org/s") as again:
            assert again  # released when the first run ended
    finally:
        await first.dispose()
        await second.dispose()
