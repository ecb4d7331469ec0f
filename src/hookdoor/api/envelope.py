"""Casdoor's response envelope and the request-body parsing its clients need."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from hookdoor.errors import BadRequest
from hookdoor.events.recorder import remember_form, remember_json

AFFECTED = "Affected"
UNAFFECTED = "Unaffected"
MAX_BODY_DEPTH = 32  # Casdoor objects nest three or four levels; deeper is an attack, not data


def ok(data: Any = None, data2: Any = None, msg: str = "", **extra: Any) -> dict[str, Any]:
    return {"status": "ok", "msg": msg, "data": data, "data2": data2, **extra}


def affected(changed: bool) -> dict[str, Any]:
    return ok(AFFECTED if changed else UNAFFECTED)


def error_body(message: str, data: Any = None) -> dict[str, Any]:
    return {"status": "error", "msg": message, "data": data, "data2": None}


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored, or None.

    PostgreSQL text cannot hold NUL characters and UTF-8 cannot encode a lone surrogate (JSON's
    "\\ud800"): either would otherwise fail deep in the database driver, or later when a list that
    contains it is encoded for a response, as a server error.
    """
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (it contains a lone surrogate)"
    return None


def storage_problem(value: Any) -> str | None:
    """The first field of a parsed body that cannot be stored, as an error message; or None.

    Iterative, so that a deeply nested body cannot exhaust the stack.
    """
    pending: list[tuple[str, Any, int]] = [("", value, 0)]
    while pending:
        path, item, depth = pending.pop()
        if depth > MAX_BODY_DEPTH:
            return f"invalid field {path}: nested deeper than {MAX_BODY_DEPTH} levels"
        if isinstance(item, str) and (problem := text_problem(item)):
            return f"invalid field {path or 'body'}: {problem}"
        if isinstance(item, dict):
            for key, child in item.items():
                if problem := text_problem(key):
                    return f"invalid field name {key!r}: {problem}"
                pending.append((f"{path}.{key}" if path else key, child, depth + 1))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child, depth + 1) for index, child in enumerate(item))
    return None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text[:30]} is too large")
    return number


def _parsed(raw: bytes) -> Any:
    # NaN, Infinity and 1e999 are refused: stored, they make every later response that includes
    # them fail to encode (and PostgreSQL's json type refuses them outright).
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise BadRequest(f"request body is nested deeper than {MAX_BODY_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, and integers over 4300 digits
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, whatever Content-Type says (Casdoor's SDK sends none)."""
    raw = await request.body()  # at most MAX_BODY_BYTES: api/body_limit.py refuses more as it is read
    if not raw.strip():
        raise BadRequest("request body is empty; a JSON object is expected")
    body = _parsed(raw)
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if problem := storage_problem(body):
        raise BadRequest(problem)
    remember_json(request, body, len(raw))
    return body


async def json_value(request: Request, expected: str) -> Any:
    """The body as any JSON value (Casbin requests and policies are lists); ``expected`` names what
    an empty body should have been."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest(f"request body is empty; {expected} is expected")
    body = _parsed(raw)
    if problem := storage_problem(body):
        raise BadRequest(problem)
    remember_json(request, body, len(raw))
    return body


async def json_array(request: Request) -> list[Any]:
    """The body as a JSON array (Casdoor's batch routes take one)."""
    body = await json_value(request, "a JSON array")
    if not isinstance(body, list):
        raise BadRequest("request body must be a JSON array")
    return body


async def form_or_json(request: Request) -> dict[str, str]:
    """Fields of a form post (multipart or urlencoded), or of a JSON object."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if problem := storage_problem(fields):
            raise BadRequest(problem)
        remember_form(request, fields)
        return fields
    body = await json_object(request)
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()}
