"""The documentation tells the truth: its commands run, its payloads are real, its lists are complete."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from hookdoor.cli import cli
from hookdoor.config import Settings
from tests.receiver import Receiver
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "scripts"))
import check_docs  # noqa: E402


def test_documented_commands_run() -> None:
    """Every sh block of every checked document, run by scripts/check_docs.py."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_docs.py")], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert f"{len(check_docs.CHECKED_DOCS)} passed, 0 failed" in result.stdout


def test_every_document_is_checked() -> None:
    names = {path.name for path in DOCS.glob("*.md")}
    assert set(check_docs.CHECKED_DOCS) <= names
    assert names - set(check_docs.CHECKED_DOCS) <= set(check_docs.UNCHECKED_DOCS), (
        "a new document must be added to CHECKED_DOCS in scripts/check_docs.py")
    for name in check_docs.UNCHECKED_DOCS:
        if (DOCS / name).exists():
            assert not [b for b in check_docs.blocks_of(DOCS / name) if b.language == "sh"], name
    for name in check_docs.CHECKED_DOCS:
        blocks = check_docs.blocks_of(DOCS / name)
        assert all(b.language in ("sh", "text", "json", "python") for b in blocks), name


def test_the_checker_fails_on_a_failing_command(tmp_path: Path) -> None:
    doc = tmp_path / "broken.md"
    doc.write_text("# Broken\n\n```sh\necho first\n```\n\n```sh\nhookdoor webhooks list --local\n```\n\n"
                   "```sh\necho never\n```\n")
    result = check_docs.run_doc(doc, timeout=120)
    assert not result.ok
    assert "broken.md:7" in result.log and "error: no Hookdoor database" in result.log
    assert "never" not in result.log.replace("echo never", "")


def test_the_checker_runs_background_blocks_and_substitutes_ports(tmp_path: Path) -> None:
    doc = tmp_path / "server.md"
    doc.write_text("```sh background wait=9000\nhookdoor listen --port 9000\n```\n\n"
                   "```sh\ncurl -sf -X POST http://127.0.0.1:9000/hook -d '{}'\ntest \"$HOME\" = \"$PWD\"\n```\n")
    result = check_docs.run_doc(doc, timeout=90)
    assert result.ok, result.log
    assert result.ran == 2
    assert "127.0.0.1:9000" not in result.log  # the port was replaced by a free one


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    return type(value).__name__ if value is not None else None


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_payload_examples_are_real(server: ServerProcess, receiver: Receiver) -> None:
    """The JSON examples of the webhooks guide have exactly the fields and types of real payloads."""
    examples = {b.attributes["payload"]: json.loads(b.text) for b in check_docs.blocks_of(DOCS / "webhooks.md")
                if b.language == "json" and "payload" in b.attributes}
    assert set(examples) == {"hookdoor", "casdoor", "cloudevents"}
    admin = Api(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    paths = {}
    for fmt in examples:
        paths[fmt] = f"/ok/{unique('doc-' + fmt)}"
        body = {"owner": "built-in", "name": unique(fmt), "url": receiver.url(paths[fmt]), "events": ["login"],
                "payloadFormat": fmt}
        assert admin.post("add-webhook", body)["status"] == "ok"
    Api(server.url).login("admin", ADMIN_PASSWORD)
    for fmt, example in examples.items():
        [arrival] = receiver.wait_for(lambda a, p=paths[fmt]: a.path == p)
        real = json.loads(arrival.body)
        assert list(real) == list(example), fmt  # same fields, same order
        assert _shape(real) == _shape(example), fmt


def test_every_setting_is_documented() -> None:
    operations = (DOCS / "operations.md").read_text()
    missing = [f"HOOKDOOR_{name.upper()}" for name in Settings.model_fields
               if f"`HOOKDOOR_{name.upper()}`" not in operations]
    assert not missing, f"docs/operations.md does not describe {missing}"


def _commands(group: Any, prefix: str) -> list[str]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found += _commands(command, path) if hasattr(command, "commands") else [path]
    return found


def test_every_cli_command_is_documented() -> None:
    reference = (DOCS / "cli.md").read_text()
    commands = _commands(typer.main.get_command(cli), "hookdoor")
    assert len(commands) >= 20
    missing = [c for c in commands if f"`{c}" not in reference]
    assert not missing, f"docs/cli.md does not list {missing}"


def _slug(heading: str) -> str:
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_links_resolve() -> None:
    files = [*DOCS.glob("*.md"), ROOT / "README.md", ROOT / "examples" / "README.md"]
    broken = []
    for source in files:
        text = source.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            resolved = (source.parent / path).resolve() if path else source
            if not resolved.exists():
                broken.append(f"{source.relative_to(ROOT)} -> {target}")
            elif anchor and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(), re.M)
                if anchor not in {_slug(h) for h in headings}:
                    broken.append(f"{source.relative_to(ROOT)} -> {target} (no such heading)")
    assert not broken, broken


def test_readme_keeps_its_set_up_lines_and_links_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/hookdoor serve\n" in readme
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest\n" in readme
    for name in check_docs.CHECKED_DOCS:
        assert f"(docs/{name})" in readme, name
