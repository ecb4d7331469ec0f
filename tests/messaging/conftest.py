from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.messaging.peers import SmtpSink


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
