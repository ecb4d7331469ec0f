"""Where a worker's CPU goes: py-spy samples of a running `hookdoor worker`, summed by library and function.

py-spy (a `bench` extra) attaches to the process by its pid and samples its Python stacks at a fixed rate
without changing its code; only stacks that are running (not idle) are kept, so the shares below are
shares of CPU time. The raw ("collapsed") output has one line per distinct stack: `frame;frame;... count`.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")

# Which part of the work a leaf frame's file belongs to, first match wins.
AREAS = [
    ("imports (start-up)", ("<frozen importlib",)),
    ("signing (hmac, hashlib, standardwebhooks, base64)", ("hmac.py", "hashlib", "standardwebhooks", "base64.py",
                                                         "webhooks/signing.py")),
    ("aiohttp: client request and response path", ("aiohttp/client", "aiohttp/connector", "aiohttp/http_writer",
                                                   "aiohttp/helpers", "aiohttp/streams", "aiohttp/tracing",
                                                   "aiohttp/cookiejar", "aiohttp/")),
    ("multidict / yarl (headers, URLs)", ("multidict", "yarl/")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("database driver (sqlite3/aiosqlite, asyncpg)", ("aiosqlite", "sqlite3", "asyncpg/")),
    ("JSON", ("json/",)),
    ("Hookdoor delivery code", ("hookdoor/delivery/",)),
    ("other Hookdoor code", ("hookdoor/",)),
    ("pydantic", ("pydantic",)),
    ("event loop, tasks, threads (asyncio, uvloop, concurrent)", ("asyncio/", "uvloop", "concurrent/",
                                                                   "threading.py", "selectors.py")),
    ("logging", ("logging/",)),
]


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _parse(frame: str) -> tuple[str, str]:
    found = FRAME.match(frame.strip())
    if not found:
        return frame.strip(), ""
    return found["function"], found["file"]


def _area(file: str) -> str:
    for name, needles in AREAS:
        if any(needle in file for needle in needles):
            return name
    return "other (standard library, interpreter)"


def _short(file: str) -> str:
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1].lstrip("/.0123456789")
    return file


def summarize(raw: Path, deliveries: int, cpu_s: float, top: int = 15) -> dict[str, Any]:
    """Shares of samples by area (leaf frame) and the functions most often on the stack (inclusive) and at
    its top (self), with µs per delivery from the process's measured CPU time."""
    by_area: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_parse(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        function, file = frames[-1]
        by_area[_area(file)] += count
        self_time[f"{function} ({_short(file)})"] += count
        # Hookdoor's own functions, less the entry points every sample passes through
        for name in {f"{fn} ({_short(fl)})" for fn, fl in frames
                     if "hookdoor/" in fl and "hookdoor/cli/" not in fl and "__main__" not in fl}:
            inclusive[name] += count
    per_sample_us = cpu_s * 1e6 / max(1, deliveries) / max(1, total)

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"name": name, "share": n / total, "us_per_delivery": n * per_sample_us}
                for name, n in counter.most_common(top)] if total else []

    return {"samples": total, "deliveries": deliveries, "cpu_s": cpu_s,
            "cpu_us_per_delivery": cpu_s * 1e6 / max(1, deliveries),
            "areas": rows(by_area), "self": rows(self_time), "hookdoor_inclusive": rows(inclusive)}
