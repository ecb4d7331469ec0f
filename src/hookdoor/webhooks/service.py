"""What creating or changing a webhook implies: target policy, organization scope, signing secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest
from hookdoor.identity.registry import BUILT_IN_ORG, GLOBAL_OWNER
from hookdoor.inspector.targets import admit_inspector_target
from hookdoor.webhooks.signing import generate_secret, validate_secret
from hookdoor.webhooks.target_guard import TargetPolicy, TargetRefused, check_url_at_save

SECRET_GRACE = timedelta(hours=24)


def target_policy(context: ApiContext) -> TargetPolicy:
    return context.request.app.state.target_policy


async def _check_target(context: ApiContext, data: dict[str, Any]) -> None:
    if await admit_inspector_target(context, data):
        return  # this server's own inspector bin: delivered in-process, never over the network
    try:
        check_url_at_save(data["url"], target_policy(context))
    except TargetRefused as exc:
        raise BadRequest(f"invalid field url: {exc}") from None
    except ValueError as exc:
        raise BadRequest(f"invalid field url: {exc}") from None


def _scope(context: ApiContext, data: dict[str, Any]) -> None:
    """Casdoor's UI owns webhooks by "admin" with an organization field; its SDK by the organization."""
    if not data.get("organization"):
        data["organization"] = BUILT_IN_ORG if data["owner"] == GLOBAL_OWNER else data["owner"]
    if not context.principal.is_global_admin:
        data["singleOrgOnly"] = True  # only a global admin's webhook may see every organization


def _check_events(data: dict[str, Any]) -> None:
    """A webhook with nothing selected would be saved and never fire: say so instead."""
    if not data.get("events"):
        raise BadRequest("invalid field events: select at least one event or pattern (such as login or add-*); "
                         "a webhook without any never fires")


def _check_secret(secret: str) -> None:
    try:
        validate_secret(secret)
    except ValueError as exc:
        raise BadRequest(f"invalid field signingSecret: {exc}") from None


async def prepare_new_webhook(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    # The server sets it: a webhook receives the events that happen after it was created.
    data["createdTime"] = rfc3339(utcnow())
    _check_events(data)
    _scope(context, data)
    await _check_target(context, data)
    if data.get("signingSecret"):
        _check_secret(data["signingSecret"])
    else:
        data["signingSecret"] = generate_secret()
    data["previousSigningSecret"] = ""
    data["previousSecretExpiresAt"] = ""
    return {}


async def prepare_updated_webhook(
    context: ApiContext, current: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    if data.get("events") != current.get("events"):  # one saved before this rule can still be turned off
        _check_events(data)
    _scope(context, data)
    if data["url"] != current.get("url"):
        await _check_target(context, data)
    if data.get("signingSecret") != current.get("signingSecret"):
        _check_secret(data["signingSecret"] or "")
        rotate_into(data, current.get("signingSecret") or "", data["signingSecret"])
    if data.get("isEnabled") and not current.get("isEnabled"):
        data["disabledReason"] = ""
    return {}


def rotate_into(data: dict[str, Any], old_secret: str, new_secret: str) -> None:
    """The old secret keeps signing beside the new one for a grace period, so receivers can switch."""
    data["signingSecret"] = new_secret
    data["previousSigningSecret"] = old_secret
    data["previousSecretExpiresAt"] = rfc3339(utcnow() + SECRET_GRACE) if old_secret else ""
