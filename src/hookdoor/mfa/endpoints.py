"""Casdoor's MFA routes: mfa/setup/initiate, mfa/setup/verify, mfa/setup/enable, delete-mfa and
set-preferred-mfa (form fields, as Casdoor's page posts them, or a JSON object)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import form_or_json, ok
from hookdoor.mfa.service import MfaSetup

router = APIRouter(prefix="/api", tags=["mfa"])
Context = Depends(api_context, scope="function")


def _form(*fields: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema = {"type": "object", "properties": {n: {"type": "string"} for n in fields}, "required": list(required)}
    content = {"application/x-www-form-urlencoded": {"schema": schema}, "multipart/form-data": {"schema": schema},
               "application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def _first_code(value: str) -> str:
    """Casdoor's enable takes one recovery code; a JSON client may send the list initiate gave."""
    if value.startswith("["):
        try:
            codes = json.loads(value)
        except ValueError:
            return value
        return codes[0] if isinstance(codes, list) and codes and isinstance(codes[0], str) else ""
    return value


@router.post("/mfa/setup/initiate", openapi_extra=_form("owner", "name", "mfaType", required=("owner", "name",
                                                                                                "mfaType")))
async def mfa_setup_initiate(context: ApiContext = Context) -> dict[str, Any]:
    form = await form_or_json(context.request)
    return ok(await MfaSetup(context).initiate(form.get("owner", ""), form.get("name", ""), form.get("mfaType", "")))


@router.post("/mfa/setup/verify", openapi_extra=_form("mfaType", "passcode", "secret", "dest", "countryCode",
                                                      required=("mfaType", "passcode")))
async def mfa_setup_verify(context: ApiContext = Context) -> dict[str, Any]:
    """``secret`` for an authenticator app; ``dest`` (and ``countryCode``) where an email or SMS code went."""
    form = await form_or_json(context.request)
    await MfaSetup(context).verify(form.get("mfaType", ""), form.get("passcode", ""), form.get("secret", ""),
                                   form.get("dest", ""), form.get("countryCode", ""))
    return ok("OK")


@router.post("/mfa/setup/enable", openapi_extra=_form("owner", "name", "mfaType", "secret", "recoveryCodes", "dest",
                                                      "countryCode",
                                                      required=("owner", "name", "mfaType", "recoveryCodes")))
async def mfa_setup_enable(context: ApiContext = Context) -> dict[str, Any]:
    form = await form_or_json(context.request)
    await MfaSetup(context).enable(form.get("owner", ""), form.get("name", ""), form.get("mfaType", ""),
                                   form.get("secret", ""), _first_code(form.get("recoveryCodes", "")),
                                   form.get("dest", ""), form.get("countryCode", ""))
    return ok("OK")


@router.post("/delete-mfa", openapi_extra=_form("owner", "name", required=("owner", "name")))
async def delete_mfa(context: ApiContext = Context) -> dict[str, Any]:
    form = await form_or_json(context.request)
    return ok(await MfaSetup(context).delete(form.get("owner", ""), form.get("name", "")))


@router.post("/set-preferred-mfa", openapi_extra=_form("owner", "name", "mfaType",
                                                       required=("owner", "name", "mfaType")))
async def set_preferred_mfa(context: ApiContext = Context) -> dict[str, Any]:
    form = await form_or_json(context.request)
    return ok(await MfaSetup(context).set_preferred(form.get("owner", ""), form.get("name", ""),
                                                    form.get("mfaType", "")))
