"""One error base for every expected failure, rendered once into Casdoor's response envelope.

Casdoor answers HTTP 200 with ``status: "error"``; Casdoor clients read ``status``, so Hookdoor
keeps the envelope but also sets a meaningful HTTP status code.
"""

from __future__ import annotations

from typing import Any


class HookdoorError(Exception):
    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        if status_code is not None:
            self.status_code = status_code


class BadRequest(HookdoorError):
    status_code = 400


class NotAuthenticated(HookdoorError):
    status_code = 401

    def __init__(self, message: str = "Please login first") -> None:
        super().__init__(message)


class Forbidden(HookdoorError):
    status_code = 403

    def __init__(self, message: str = "Unauthorized operation") -> None:
        super().__init__(message)


class NotFound(HookdoorError):
    status_code = 404


class Conflict(HookdoorError):
    status_code = 409


class TooManyRequests(HookdoorError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OAuthError(Exception):
    """RFC 6749 errors keep their own ``{error, error_description}`` shape."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code


def bearer_challenge(description: str) -> str:
    """RFC 6750 3: how a refused Bearer token is answered, in the WWW-Authenticate header."""
    quoted = description.replace("\\", "").replace('"', "'")
    return f'Bearer error="invalid_token", error_description="{quoted}"'
