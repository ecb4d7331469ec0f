"""Where the CLI finds the server and its credentials.

Server URL: ``--url``, else ``HOOKDOOR_URL``, else the server of the last ``hookdoor login``, else
http://127.0.0.1:8000. Credentials, first found wins:

1. ``HOOKDOOR_TOKEN``: an access token (``Authorization: Bearer``);
2. ``HOOKDOOR_CLIENT_ID`` + ``HOOKDOOR_CLIENT_SECRET``: an application's credentials (HTTP Basic),
   acting as that application, as Casdoor's SDKs do;
3. ``HOOKDOOR_USERNAME`` + ``HOOKDOOR_PASSWORD`` (``HOOKDOOR_ORGANIZATION``, default built-in):
   a sign-in for this one command, nothing stored;
4. the token ``hookdoor login`` stored for that server in the config file (``HOOKDOOR_CONFIG``, default
   ``~/.config/hookdoor/cli.json``), which is written with mode 0600.

Secrets are never taken as command-line options: those end up in shell history and ``ps``.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hookdoor.cli.errors import CliError
from hookdoor.cli.output import note

DEFAULT_URL = "http://127.0.0.1:8000"
BUILT_IN_ORG = "built-in"
BUILT_IN_APP = "app-built-in"


def config_path() -> Path:
    if explicit := os.environ.get("HOOKDOOR_CONFIG"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hookdoor" / "cli.json"


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CliError(f"cannot read the config file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        note(f"warning: {path} is readable by other users; it holds access tokens (chmod 600 {path})")
    try:
        data = json.loads(text)
    except ValueError:
        raise CliError(f"the config file {path} is not valid JSON; fix or delete it") from None
    return data if isinstance(data, dict) else {}


def save_config(data: dict[str, Any]) -> Path:
    """Written atomically, readable by its owner only (the file holds access tokens)."""
    path = config_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".cli-", suffix=".json")  # mode 0600
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as exc:
        raise CliError(f"cannot write the config file {path}: {exc.strerror}") from None
    return path


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CliError(f"the server URL must start with http:// or https://, got {url!r}", 2)
    return url


def server_url(option: str | None) -> str:
    """``option`` already includes ``HOOKDOOR_URL`` (Typer reads the variable)."""
    if option:
        return normalize_url(option)
    return normalize_url(load_config().get("url") or DEFAULT_URL)


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    client: tuple[str, str] | None = None
    login: tuple[str, str, str] | None = None  # organization, username, password
    source: str = "none"


def credentials_for(url: str) -> Credentials:
    env = os.environ
    if token := env.get("HOOKDOOR_TOKEN"):
        return Credentials(token=token, source="HOOKDOOR_TOKEN")
    client_id, client_secret = env.get("HOOKDOOR_CLIENT_ID"), env.get("HOOKDOOR_CLIENT_SECRET")
    if client_id or client_secret:
        if not (client_id and client_secret):
            raise CliError("set both HOOKDOOR_CLIENT_ID and HOOKDOOR_CLIENT_SECRET, or neither", 2)
        return Credentials(client=(client_id, client_secret), source="HOOKDOOR_CLIENT_ID")
    username, password = env.get("HOOKDOOR_USERNAME"), env.get("HOOKDOOR_PASSWORD")
    if username and password:
        organization = env.get("HOOKDOOR_ORGANIZATION") or BUILT_IN_ORG
        return Credentials(login=(organization, username, password), source="HOOKDOOR_USERNAME")
    stored = (load_config().get("servers") or {}).get(url) or {}
    if stored.get("token"):
        return Credentials(token=stored["token"], source=f"hookdoor login ({stored.get('user', '?')})")
    return Credentials()


def remember_login(url: str, token: str, user: str) -> Path:
    data = load_config()
    servers = data.setdefault("servers", {})
    servers[url] = {"token": token, "user": user, "savedTime": datetime.now(UTC).isoformat(timespec="seconds")}
    data["url"] = url
    return save_config(data)


def forget_login(url: str) -> bool:
    data = load_config()
    servers = data.get("servers") or {}
    if url not in servers:
        return False
    del servers[url]
    if data.get("url") == url:
        data.pop("url")
    save_config(data)
    return True
