"""Where a worker's CPU went: py-spy's collapsed stacks (``bench/delivery.py --profile-worker PATH``)
summed into the parts of a delivery, in samples, per cent and µs per delivery.

    .venv/bin/python bench/profile_breakdown.py PATH --deliveries 20000 [--cpu-seconds 4.6]

Each sample goes to the first part, in the order of `PARTS`, one of whose markers (substrings of a
frame: function name and file) is in its stack; so signing counts as signing, not as header building
or the attempt around it. Start-up and shutdown are left out of the per-delivery figures. With
``--cpu-seconds`` (the worker's measured CPU, start-up excluded) the samples are scaled to it; without,
each sample counts as 1/rate seconds.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Start-up (imports, migrations check) and shutdown (the engine closing its connections: SQLite's last
# close checkpoints the whole log) are not per delivery, and the benchmark's CPU figure leaves them out.
STARTUP = ("importlib", "hookdoor/db/migrate.py", "alembic/", "tune_garbage_collector", "load_settings",
           "create_engine (", "Engine.dispose", "Worker._drain")
# (part, markers), most specific first.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("delivery ids (ULID: random bits, base32)", ("hookdoor/events/ids.py", "new_message_id")),
    ("signing (Standard Webhooks HMAC)", ("hookdoor/webhooks/signing.py", "standardwebhooks/")),
    ("request headers and body (excluding signing)", ("request_headers", "redacted (", "Sender.request_parts",
                                                      "RequestParts", "delivery/headers.py")),
    ("response description (status, headers, excerpt)", ("_described (",)),
    ("next state of the delivery (retry schedule)", ("_next_state (",)),
    ("health tracking (endpoint_health, breaker)", ("_track_health", "_track_failure", "record_successes",
                                                    "CircuitBreaker", "breaker.record")),
    ("WAL checkpoint thread", ("hookdoor/db/checkpoint.py",)),
    ("commits", ("do_commit", "Session.commit", "AsyncSession.commit", "connection.commit")),
    ("outcome rows (attempt insert, delivery update)", ("Worker._store", "store_outcomes", "OutcomeBatch",
                                                        "Worker._flush")),
    ("payload rendering and delivery planning", ("hookdoor/delivery/payloads.py", "hookdoor/delivery/dispatcher.py",
                                                 "_plan_within_room")),
    ("claims, dispatch and leases (SQL)", ("Worker.cycle", "Worker._cycle", "_claim", "insert_deliveries",
                                           "mark_dispatched", "sqlite_snapshot", "WebhookDocuments",
                                           "_lease_at_insert", "release_expired_leases")),
    ("aiohttp request path (send, connection pool, response parsing)", ("aiohttp/", "yarl/", "multidict/")),
    ("per-delivery task and bookkeeping", ("Worker._deliver", "Worker._attempt", "Worker._start",
                                           "Worker._finished", "Sender.attempt", "Sender._send", "DeliveryTask",
                                           "Worker._settle")),
    ("SQLAlchemy / database (other)", ("sqlalchemy/", "hookdoor/db/")),
    ("event loop and asyncio", ("asyncio/", "uvloop/", "Runner.run")),
]


def part_of(stack: str) -> str:
    if any(marker in stack for marker in STARTUP):
        return "start-up and shutdown"
    for name, markers in PARTS:
        if any(marker in stack for marker in markers):
            return name
    return "other"


def breakdown(path: Path) -> Counter[str]:
    parts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            parts[part_of(stack)] += int(count)
    return parts


def table(parts: Counter[str], deliveries: int, rate: float, cpu_seconds: float | None) -> str:
    running = sum(n for name, n in parts.items() if name != "start-up and shutdown")
    per_sample = (cpu_seconds / running) if cpu_seconds else 1 / rate
    lines = ["| part | samples | share | µs per delivery |", "| --- | --- | --- | --- |"]
    for name, n in parts.most_common():
        if name == "start-up and shutdown":
            continue
        lines.append(f"| {name} | {n:,} | {n / running:.1%} | {n * per_sample / deliveries * 1e6:.1f} |")
    lines.append(f"| **all but start-up** | {running:,} | 100% | {running * per_sample / deliveries * 1e6:.1f} |")
    lines.append(f"| (start-up and shutdown, left out) | {parts.get('start-up and shutdown', 0):,} | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--deliveries", type=int, required=True)
    parser.add_argument("--rate", type=float, default=100.0, help="py-spy's samples per second")
    parser.add_argument("--cpu-seconds", type=float, help="the worker's CPU without start-up, to scale to")
    args = parser.parse_args()
    print(table(breakdown(args.path), args.deliveries, args.rate, args.cpu_seconds))


if __name__ == "__main__":
    main()
