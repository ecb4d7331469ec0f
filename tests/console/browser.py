"""Helpers for the console's tests: Debian's Chromium driven by Playwright, a requests-based console
client (for status codes and CSRF), and screenshots at phone and desktop widths."""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support import ADMIN_PASSWORD, Api

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTHS = (1280, 390)


def ensure_chromium() -> None:
    """Debian's Chromium; Playwright's own browser download is not used."""
    if Path(CHROMIUM).exists():
        return
    if shutil.which("apt-get") is None:
        pytest.skip("no /usr/bin/chromium and no apt-get to install it")
    subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True, timeout=900,
                   env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


def launched_browser() -> Iterator[Browser]:
    ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shoot(page: Page, name: str, folder: str = "console") -> None:
    """Full-page screenshots at each width, then back to the desktop width."""
    target = ARTIFACTS / folder
    target.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide in a {width} px window"
        page.screenshot(path=str(target / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 800})


def signed_in_context(browser: Browser, base_url: str, username: str = "admin", password: str = ADMIN_PASSWORD,
                      organization: str = "built-in", application: str = "app-built-in") -> BrowserContext:
    """A browser context holding a session cookie from /api/login (the console's sign-in page has
    its own test)."""
    api = Api(base_url)
    answer = api.login(username, password, organization=organization, application=application)
    assert answer["status"] == "ok", answer
    context = browser.new_context(base_url=base_url, viewport={"width": WIDTHS[0], "height": 800})
    context.add_cookies([{"name": cookie.name, "value": cookie.value or "", "url": base_url}
                         for cookie in api.http.cookies])
    return context


CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]*)"')


class ConsoleClient:
    """The console over plain HTTP: what a browser sends, without a browser."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=30, allow_redirects=False, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.post(self.base_url + path, data=data, timeout=30, allow_redirects=False, **kwargs)

    def login(self, username: str, password: str, organization: str = "built-in",
              application: str = "app-built-in") -> requests.Response:
        token = FORM_TOKEN.search(self.get("/login").text).group(1)  # type: ignore[union-attr]
        answer = self.post("/login", {"form_token": token, "username": username, "password": password,
                                      "organization": organization, "application": application})
        assert answer.status_code == 303, answer.text[:500]
        return answer

    def csrf(self, path: str = "/login") -> str:
        """The session's CSRF token, from any page that shows the sign-out form."""
        found = CSRF.search(self.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def submit(self, path: str, data: dict[str, Any]) -> requests.Response:
        """POST a console form with the session's CSRF token, as the page would."""
        return self.post(path, {**data, "csrf_token": self.csrf()})


# ---- reading (and ageing) what the server stored ---------------------------------------------------

def table_rows(server: Any, table: str, **equals: Any) -> list[dict[str, Any]]:
    """Rows of ``table`` whose columns equal the given values, straight from the server's database."""
    columns, values = list(equals), list(equals.values())
    if server.database_url.startswith("sqlite:///"):
        where = " AND ".join(f'"{c}" = ?' for c in columns) or "1 = 1"
        with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(r) for r in connection.execute(f'SELECT * FROM "{table}" WHERE {where} ORDER BY 1', values)]
    where = " AND ".join(f'"{c}" = ${i}' for i, c in enumerate(columns, 1)) or "TRUE"
    return _run(_postgres(server.database_url, f'SELECT * FROM "{table}" WHERE {where} ORDER BY 1', values))


def expire_bin(server: Any, bin_id: str, days_ago: float = 0.001) -> None:
    """Move a bin's expiry into the past, as time would."""
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    if server.database_url.startswith("sqlite:///"):
        with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as connection:
            connection.execute("UPDATE inspector_bins SET expires_at = ? WHERE id = ?",
                               (moment.replace(tzinfo=None).isoformat(sep=" "), bin_id))
        return
    _run(_postgres(server.database_url, "UPDATE inspector_bins SET expires_at = $1 WHERE id = $2", [moment, bin_id]))


def _run(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: Playwright's sync API keeps an event loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _postgres(url: str, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(url)
    try:
        return [dict(row) for row in await connection.fetch(sql, *values)]
    finally:
        await connection.close()


class _FormReader(HTMLParser):
    """The fields a browser would post from a page's main form (the one with ``.card.form``)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and "form" in found.get("class", "").split():
            self._in_form = True
        if not self._in_form or "disabled" in found or not found.get("name"):
            return
        name = found["name"]
        if tag == "input" and (found.get("type") not in ("checkbox", "radio") or "checked" in found):
            self.fields.append((name, found.get("value", "on" if found.get("type") == "checkbox" else "")))
        elif tag == "textarea":
            self._textarea, self._text = name, ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in found:
            self.fields.append((self._select, found.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None


def posted_form(html: str, **changes: str) -> list[tuple[str, str]]:
    """What submitting the page's form sends, with ``changes`` typed in (select options need a value)."""
    reader = _FormReader()
    reader.feed(html)
    fields = [(k, v) for k, v in reader.fields if k not in changes and k != "csrf_token"]
    return fields + list(changes.items())
