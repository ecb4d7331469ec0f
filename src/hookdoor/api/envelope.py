"""Casdoor's response envelope and the request-body parsing its clients need."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from hookdoor.errors import BadRequest

AFFECTED = "Affected"
UNAFFECTED = "Unaffected"
MAX_BODY_BYTES = 1_000_000


def ok(data: Any = None, data2: Any = None, msg: str = "", **extra: Any) -> dict[str, Any]:
    return {"status": "ok", "msg": msg, "data": data, "data2": data2, **extra}


def affected(changed: bool) -> dict[str, Any]:
    return ok(AFFECTED if changed else UNAFFECTED)


def error_body(message: str, data: Any = None) -> dict[str, Any]:
    return {"status": "error", "msg": message, "data": data, "data2": None}


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, whatever Content-Type says (Casdoor's SDK sends none)."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is larger than {MAX_BODY_BYTES} bytes", status_code=413)
    if not raw.strip():
        raise BadRequest("request body is empty; a JSON object is expected")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


async def form_or_json(request: Request) -> dict[str, str]:
    """Fields of a form post (multipart or urlencoded), or of a JSON object."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    body = await json_object(request)
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()}
