#!/usr/bin/env python3
"""Run every command the documentation shows, so that a command shown is a command that works.

Every fenced block whose info string starts with ``sh`` in the checked documents is run, in order, in
one bash session per document (``set -euo pipefail``; exported variables carry over from block to
block, as in the terminal of a reader who types them). There is no way to mark a ``sh`` block as
"not checked": text that is not a runnable command goes in a ``text`` block. Attributes after ``sh``:

- ``background`` - the block is a long-running program the reader starts in another terminal
  (``hookdoor serve``, ``hookdoor listen``); it runs in the background until the document is done.
  ``wait=PORT`` waits until it accepts connections on that port; without it, the checker waits a
  second and checks it is still running.

A document may declare, in an HTML comment, that it starts where the quickstart leaves off:
``<!-- check-docs: setup=server -->`` runs, before its first block, exactly these commands::

    export HOOKDOOR_ADMIN_PASSWORD=correct-horse-battery-staple
    export HOOKDOOR_WEBHOOK_ALLOW_TARGETS=127.0.0.1
    hookdoor serve                 (in the background, waiting for port 8000)
    echo "$HOOKDOOR_ADMIN_PASSWORD" | hookdoor login --password-stdin

What the checker changes, and only this: each document runs in an empty temporary directory which
is also ``$HOME`` (so the CLI's config file and ``hookdoor.db`` land there), with the project's
virtualenv first on ``PATH`` and no ``HOOKDOOR_*`` variable inherited. The ports written as
``127.0.0.1:N``, ``localhost:N``, ``--port N`` or ``PORT=N`` for N in 3000, 8000, 8001, 9000 and 9001
are replaced by free ports (so documents run side by side and beside a server you may have on 8000);
``HOOKDOOR_PORT`` and ``HOOKDOOR_URL`` point at the port that replaces 8000, which is what the
defaults mean. The PostgreSQL URL ``postgresql://postgres@127.0.0.1:5432/hookdoor`` is replaced by a
new database on ``HOOKDOOR_TEST_POSTGRES``'s server, dropped afterwards.

Python blocks are compiled (a syntax check); ``json payload=FORMAT`` blocks are compared with real
payloads by ``tests/docs``. Usage: ``python scripts/check_docs.py [--list] [DOC.md ...]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED_DOCS = ("quickstart.md", "webhooks.md", "receiving.md", "operations.md", "security.md",
                "casdoor-compatibility.md", "cli.md")
# Owned and checked elsewhere; they show no sh blocks (tests/docs makes sure of that).
UNCHECKED_DOCS = ("architecture.md", "benchmarks.md", "benchmarks-oauth.md", "benchmarks-authz.md", "profile-worker.md")
MAPPED_PORTS = (3000, 8000, 8001, 9000, 9001)
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/hookdoor"
POSTGRES_ADMIN = os.environ.get("HOOKDOOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
SETUP = (
    ("export HOOKDOOR_ADMIN_PASSWORD=correct-horse-battery-staple\n"
     "export HOOKDOOR_WEBHOOK_ALLOW_TARGETS=127.0.0.1", ""),
    ("hookdoor serve", "background wait=8000"),
    ('echo "$HOOKDOOR_ADMIN_PASSWORD" | hookdoor login --password-stdin', ""),
)
FENCE = re.compile(r"^```([A-Za-z0-9_-]*)([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    doc: Path
    line: int
    language: str
    attributes: dict[str, str]
    text: str

    @property
    def where(self) -> str:
        return f"{shown(self.doc)}:{self.line}"


@dataclass
class Result:
    doc: Path
    ok: bool
    ran: int
    seconds: float
    log: str = ""
    problems: list[str] = field(default_factory=list)


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def parse_attributes(info: str) -> dict[str, str]:
    attributes = {}
    for word in shlex.split(info):
        key, _, value = word.partition("=")
        attributes[key] = value
    return attributes


def blocks_of(doc: Path) -> list[Block]:
    text = doc.read_text()
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(doc, line, match.group(1), parse_attributes(match.group(2)), match.group(3)))
    return found


def needs_server(doc: Path) -> bool:
    return "<!-- check-docs: setup=server -->" in doc.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def substitute(text: str, ports: dict[int, int], database: str | None) -> str:
    for documented, actual in ports.items():
        text = re.sub(rf"(127\.0\.0\.1:|localhost:|--port |PORT=){documented}\b", rf"\g<1>{actual}", text)
    if database:
        text = text.replace(POSTGRES_URL, database)
    return text


def _psql(sql: str) -> None:
    subprocess.run(["psql", POSTGRES_ADMIN, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   capture_output=True, timeout=60)


WAIT_FOR_PORT = """
wait_for_port() {  # port, seconds, pid
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then echo "check-docs: the background block exited"; return 1; fi
    if ((SECONDS >= deadline)); then echo "check-docs: nothing listens on port $1"; return 1; fi
    sleep 0.1
  done
}
stop_background() {
  for pid in "${BACKGROUND[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${BACKGROUND[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
BACKGROUND=()
trap stop_background EXIT
"""


def script_for(blocks: list[Block], ports: dict[int, int], database: str | None, workdir: Path) -> str:
    lines = ["set -euo pipefail", WAIT_FOR_PORT]
    for number, block in enumerate(blocks, 1):
        text = substitute(block.text, ports, database)
        lines.append(f"echo \">>> block {number} ({block.where}) at $SECONDS s\"")
        if "background" in block.attributes:
            path = workdir / f".background-{number}.sh"
            path.write_text(text)
            log = workdir / f".background-{number}.log"
            lines.append(f"setsid bash {shlex.quote(str(path))} > {shlex.quote(str(log))} 2>&1 &")
            lines.append('BACKGROUND+=("$!")')
            port = block.attributes.get("wait", "")
            if port:
                actual = ports.get(int(port), int(port))
                lines.append(f'wait_for_port {actual} 60 "$!" || {{ cat {shlex.quote(str(log))}; exit 1; }}')
            else:
                lines.append(f'sleep 1; kill -0 "$!" || {{ cat {shlex.quote(str(log))}; exit 1; }}')
        else:
            lines.append(text.rstrip("\n"))
    lines.append("echo '>>> all blocks passed'")
    return "\n".join(lines) + "\n"


def run_doc(doc: Path, timeout: float) -> Result:
    started = time.monotonic()
    blocks = blocks_of(doc)
    problems = [f"{b.where}: python block does not compile: {e}" for b in blocks if b.language == "python"
                for e in _compile_errors(b)]
    shell = [b for b in blocks if b.language == "sh"]
    if needs_server(doc):
        shell = [Block(doc, 0, "sh", parse_attributes(attributes), text) for text, attributes in SETUP] + shell
    if not shell:
        return Result(doc, not problems, 0, time.monotonic() - started, problems=problems)
    ports = {port: free_port() for port in MAPPED_PORTS}
    database = None
    if any(POSTGRES_URL in b.text for b in shell):
        database = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/hookdoor_docs_{uuid.uuid4().hex[:10]}"
        _psql(f'CREATE DATABASE "{database.rsplit("/", 1)[1]}"')
    workdir = Path(tempfile.mkdtemp(prefix="check-docs-"))
    venv_bin = Path(sys.executable).parent
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOOKDOOR_")}
    env.update({
        "HOME": str(workdir), "PATH": f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}", "COLUMNS": "160",
        "HOOKDOOR_PORT": str(ports[8000]), "HOOKDOOR_URL": f"http://127.0.0.1:{ports[8000]}",
        # Cheaper password hashing: these runs sign in often and prove nothing about argon2's cost.
        "HOOKDOOR_PASSWORD_TIME_COST": "1", "HOOKDOOR_PASSWORD_MEMORY_KIB": "1024",
    })
    env.pop("XDG_CONFIG_HOME", None)
    script = workdir / ".check.sh"
    script.write_text(script_for(shell, ports, database, workdir))
    try:
        process = subprocess.run(["bash", str(script)], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=timeout, start_new_session=True)
        log, ok = process.stdout + process.stderr, process.returncode == 0
    except subprocess.TimeoutExpired as exc:
        partial = "".join(p.decode(errors="replace") if isinstance(p, bytes) else p or ""
                          for p in (exc.stdout, exc.stderr))
        log, ok = f"{partial}\ncheck-docs: timed out after {timeout:.0f} s", False
    finally:
        if database:
            _psql(f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)
    if not ok:
        problems.append(f"{shown(doc)}: a command failed:\n{log[-4000:]}")
    return Result(doc, ok and not problems, len([b for b in shell if b.line]), time.monotonic() - started,
                  log, problems)


def _compile_errors(block: Block) -> list[str]:
    try:
        compile(block.text, block.where, "exec")
    except SyntaxError as exc:
        return [f"line {exc.lineno}: {exc.msg}"]
    return []


def checked_docs() -> list[Path]:
    return [ROOT / "docs" / name for name in CHECKED_DOCS]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docs", nargs="*", type=Path, help="documents to check (default: all checked docs)")
    parser.add_argument("--list", action="store_true", help="list the blocks that would run, and stop")
    parser.add_argument("--timeout", type=float, default=240, help="seconds per document")
    parser.add_argument("--jobs", type=int, default=3, help="documents checked at once")
    options = parser.parse_args()
    docs = [d.resolve() for d in options.docs] or checked_docs()
    if options.list:
        for doc in docs:
            for block in blocks_of(doc):
                if block.language == "sh":
                    print(f"{block.where} [{' '.join(block.attributes) or 'run'}]: {block.text.splitlines()[0]}")
        return 0
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        results = list(pool.map(lambda doc: run_doc(doc, options.timeout), docs))
    for result in results:
        status = "ok" if result.ok else "FAILED"
        print(f"{status:6} {shown(result.doc)}: {result.ran} sh blocks in {result.seconds:.1f} s")
        for problem in result.problems:
            print("  " + problem.replace("\n", "\n  "))
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
