"""Talking to a Hookdoor server over its Casdoor-style HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

from hookdoor.cli.config import BUILT_IN_APP, Credentials
from hookdoor.cli.errors import FAILED, UNAUTHORIZED, UNREACHABLE, CliError

USER_AGENT = "hookdoor-cli/0.1.0"
LOGIN_HINT = " (run 'hookdoor login', or set HOOKDOOR_TOKEN; see 'hookdoor login --help')"


class RemoteBackend:
    local = False

    def __init__(self, url: str, credentials: Credentials, timeout: float = 30) -> None:
        self.url = url
        self.credentials = credentials
        auth = httpx.BasicAuth(*credentials.client) if credentials.client else None
        headers = {"User-Agent": USER_AGENT}
        if credentials.token:
            headers["Authorization"] = f"Bearer {credentials.token}"
        self.http = httpx.Client(base_url=url, headers=headers, auth=auth, timeout=timeout, follow_redirects=False)
        self._signed_in = credentials.login is None

    def __enter__(self) -> RemoteBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    @property
    def where(self) -> str:
        return self.url

    def _send(self, method: str, action: str, params: dict[str, Any] | None, json: Any, form: Any,
              hint: str = LOGIN_HINT) -> dict[str, Any]:
        query = {key: value for key, value in (params or {}).items() if value not in (None, "")}
        try:
            response = self.http.request(method, f"/api/{action}", params=query, json=json, data=form)
        except httpx.ConnectError as exc:
            raise CliError(f"cannot reach Hookdoor at {self.url} ({_reason(exc)}); is 'hookdoor serve' running? "
                           "Set --url or HOOKDOOR_URL", UNREACHABLE) from None
        except httpx.TimeoutException:
            raise CliError(f"Hookdoor at {self.url} did not answer {action} in time", UNREACHABLE) from None
        except httpx.HTTPError as exc:
            raise CliError(f"talking to {self.url} failed: {_reason(exc)}", UNREACHABLE) from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "status" not in payload:
            raise CliError(f"{self.url}/api/{action} answered HTTP {response.status_code} without Casdoor's "
                           "envelope: is this a Hookdoor server?", UNREACHABLE)
        if payload["status"] != "ok":
            message = str(payload.get("msg") or "the server refused without a reason")
            if response.status_code == 401 or message == "Please login first":
                raise CliError(message + hint, UNAUTHORIZED)
            raise CliError(message, UNAUTHORIZED if response.status_code == 403 else FAILED)
        return payload

    def _ensure_signed_in(self) -> None:
        if self._signed_in:
            return
        assert self.credentials.login is not None
        organization, username, password = self.credentials.login
        self._signed_in = True
        token = self.sign_in(organization, username, password)
        self.http.headers["Authorization"] = f"Bearer {token}"

    def sign_in(self, organization: str, username: str, password: str, application: str = BUILT_IN_APP) -> str:
        """Casdoor's ``/api/login`` with ``type: token``: an access token (this is itself a login event)."""
        body = {"type": "token", "organization": organization, "application": application,
                "username": username, "password": password}
        try:
            data = self._send("POST", "login", None, body, None, hint="")["data"]
        except CliError as exc:
            raise CliError(f"signing in as {organization}/{username} failed: {exc.message}", exc.exit_code) from None
        if not isinstance(data, str) or not data:
            raise CliError("the server's login answer carried no access token")
        return data

    def get(self, action: str, **params: Any) -> tuple[Any, Any]:
        self._ensure_signed_in()
        payload = self._send("GET", action, params, None, None)
        return payload.get("data"), payload.get("data2")

    def post(
        self, action: str, body: Any = None, *, form: dict[str, str] | None = None, **params: Any
    ) -> tuple[Any, Any]:
        self._ensure_signed_in()
        payload = self._send("POST", action, params, body, form)
        return payload.get("data"), payload.get("data2")


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
