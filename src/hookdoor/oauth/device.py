"""Device authorization (RFC 8628): a device without a browser asks for a code pair, its user approves
the user code on /login/oauth/device, and the device polls the token endpoint until then.

Each request is a token object of type "device" (``oauth/repository.py``'s ``DeviceAuthorizations``),
so every server process sees it. Its states: ``pending`` until the user answers, then ``approved``
(with the user) or ``denied``; the token endpoint's answer ends a denied one and makes an approved one
``tokenIssued``, which the device may once turn into a browser session (Casdoor's device-auth-complete)
until it expires.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, OAuthError
from hookdoor.identity.registry import GLOBAL_OWNER
from hookdoor.oauth.repository import DeviceAuthorizations
from hookdoor.oauth.service import (
    DEVICE_INTERVAL_SECONDS,
    DEVICE_LIFETIME_SECONDS,
    device_record_name,
    new_user_code,
    normalized_user_code,
)

TOKEN_ISSUED = "tokenIssued"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def start(db: AsyncSession, application: dict[str, Any], scope: str, issuer: str) -> dict[str, Any]:
    """A new request for ``application``: the device's answer (RFC 8628 3.2)."""
    device_code, user_code, cancel_token = secrets.token_urlsafe(32), new_user_code(), secrets.token_urlsafe(16)
    now = rfc3339(utcnow())
    record = {
        "owner": GLOBAL_OWNER, "name": device_record_name(user_code), "createdTime": now, "updatedTime": now,
        "application": application["name"], "organization": application.get("organization", ""), "user": "",
        "scope": scope, "tokenType": "device", "expiresIn": DEVICE_LIFETIME_SECONDS, "deviceStatus": "pending",
        "cancelTokenHash": _hash(cancel_token), "lastPoll": 0,
    }
    await DeviceAuthorizations(db).add(record, device_code, utcnow() + timedelta(seconds=DEVICE_LIFETIME_SECONDS))
    verification = f"{issuer}/login/oauth/device"
    return {
        "device_code": device_code, "user_code": user_code, "verification_uri": verification,
        "verification_uri_complete": f"{verification}/{user_code}", "expires_in": DEVICE_LIFETIME_SECONDS,
        "interval": DEVICE_INTERVAL_SECONDS, "cancel_token": cancel_token,
    }


async def pending(db: AsyncSession, user_code: str) -> dict[str, Any]:
    """The request a user code names, if it still waits for its user."""
    if not normalized_user_code(user_code):
        raise BadRequest("invalid field user_code: a user code is 8 letters, like BCDF-GHJK")
    record = await DeviceAuthorizations(db).by_user_code(device_record_name(user_code))
    if record is None or record.get("deviceStatus") != "pending":
        raise BadRequest("invalid field user_code: no device is waiting for this code (expired or used)")
    return record


async def decide(db: AsyncSession, record: dict[str, Any], user: dict[str, Any], approve: bool) -> None:
    decided = {**record, "deviceStatus": "approved" if approve else "denied", "updatedTime": rfc3339(utcnow()),
               "user": user["name"] if approve else "", "authTime": int(time.time())}
    await DeviceAuthorizations(db).save(decided)


async def cancel(db: AsyncSession, user_code: str, cancel_token: str) -> None:
    """The device gives up (Casdoor's cancel-device-auth); it needs the cancel token it was given."""
    record = await pending(db, user_code)
    if not secrets.compare_digest(_hash(cancel_token), record.get("cancelTokenHash") or ""):
        raise BadRequest("invalid parameter cancelToken: it is not this request's")
    await DeviceAuthorizations(db).remove(record)


async def poll(context: Any, application: dict[str, Any], device_code: str) -> dict[str, Any]:
    """The approved request, used up; until then the RFC 8628 3.5 error the device is to act on. The
    time of each poll is kept even though the answer is an error (``write_even_if_failed``)."""
    if not device_code:
        raise OAuthError("invalid_request", "device_code is required")
    devices = DeviceAuthorizations(context.db)
    found = await devices.by_device_code(device_code)
    if found is None or found[0].get("application") != application["name"]:
        raise OAuthError("invalid_grant", "the device_code is unknown or not this client's")
    record, live = found
    if not live:
        context.write_even_if_failed(lambda db: DeviceAuthorizations(db).remove(record))
        raise OAuthError("expired_token", "the device code has expired; start again")
    status = record.get("deviceStatus")
    if status == "denied":
        context.write_even_if_failed(lambda db: DeviceAuthorizations(db).remove(record))
        raise OAuthError("access_denied", "the user denied the request")
    if status == "approved":
        await devices.save({**record, "deviceStatus": TOKEN_ISSUED, "updatedTime": rfc3339(utcnow())})
        return record
    if status == TOKEN_ISSUED:
        raise OAuthError("invalid_grant", "the device_code was already exchanged for tokens")
    now = int(time.time() * 1000)  # in ms: the interval is checked across processes, by the wall clock
    polled = {**record, "lastPoll": now}
    context.write_even_if_failed(lambda db: DeviceAuthorizations(db).save(polled))
    if now - int(record.get("lastPoll") or 0) < DEVICE_INTERVAL_SECONDS * 1000:
        raise OAuthError("slow_down", f"poll at most every {DEVICE_INTERVAL_SECONDS} seconds")
    raise OAuthError("authorization_pending", "the user has not answered yet")


async def complete(db: AsyncSession, device_code: str) -> dict[str, Any]:
    """The request whose tokens were issued, used up once more (Casdoor's device-auth-complete)."""
    devices = DeviceAuthorizations(db)
    found = await devices.by_device_code(device_code) if device_code else None
    if found is None or found[0].get("deviceStatus") != TOKEN_ISSUED or not found[1]:
        raise BadRequest("invalid parameter deviceCode: no device authorization whose tokens were issued has this "
                         "code (unknown, not yet approved, already completed or expired)")
    await devices.remove(found[0])
    return found[0]


def check_completion(record: dict[str, Any], application: dict[str, Any], client_id: str, scope: str) -> None:
    """A code or token asked for at completion is for the same client, and no wider scope."""
    if client_id != application.get("clientId"):
        raise BadRequest("invalid parameter clientId: the device authorization was made for another application")
    granted = set((record.get("scope") or "").split())
    if granted and not set(scope.split()) <= granted:
        raise BadRequest(f"invalid parameter scope: wider than the device authorization's ({record.get('scope')})")
