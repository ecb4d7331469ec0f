"""Fixtures of the console's browser tests (the server is the suite's own ``server`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.console.browser import launched_browser, signed_in_context
from tests.messaging.conftest import smtp  # noqa: F401 (the SMTP server, for the code factor's pages)
from tests.support import ServerProcess


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module, not per session: Playwright's sync API keeps an event loop running in this thread
    while it lives, which the suite's asyncio tests in other modules must not find there."""
    yield from launched_browser()


@pytest.fixture(scope="module")
def admin_context(browser: Browser, server: ServerProcess) -> Iterator[BrowserContext]:
    """One signed-in context per module and server: a fresh context's first page costs a second."""
    context = signed_in_context(browser, server.url)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def admin_page(admin_context: BrowserContext) -> Page:
    page = admin_context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def page(admin_page: Page) -> Page:
    admin_page.set_viewport_size({"width": 1280, "height": 800})
    return admin_page


@pytest.fixture
def screenshots(server: ServerProcess) -> bool:
    """Screenshots are taken on one database only: the pages are the same on both."""
    return server.database_url.startswith("sqlite")
