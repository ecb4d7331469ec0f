"""Casdoor's verification routes (controllers/verification.go, account.go, auth.go, user.go):
sending and checking codes, changing one's email or phone with a code, and the image captcha."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import form_or_json, json_object, ok
from hookdoor.identity.throttle import account_key
from hookdoor.verification.schemas import CaptchaAnswer, VerificationForm
from hookdoor.verification.service import Captcha, Identification, Verifications, application_by_id

router = APIRouter(prefix="/api", tags=["verification"])
Context = Depends(api_context, scope="function")


def _form(*required: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {name: {"type": "string"} for name in (*required, *optional)}
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": schema}, "application/x-www-form-urlencoded": {"schema": schema}}}}


@router.post("/send-verification-code", openapi_extra=_form(
    "dest", "type", "applicationId", optional=("method", "countryCode", "checkUser", "captchaType", "captchaToken",
                                               "clientSecret")))
async def send_verification_code(context: ApiContext = Context) -> dict[str, Any]:
    """A code to ``dest`` (type email or phone) for ``method``: signup, login, reset, forget, mfaSetup, mfaAuth."""
    await Verifications(context).send_code(VerificationForm.of(await form_or_json(context.request)))
    return ok()


@router.post("/verify-code", openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "properties": {n: {"type": "string"} for n in ("organization", "username", "code")},
               "required": ["organization", "username", "code"]}}}}})
async def verify_code(context: ApiContext = Context) -> dict[str, Any]:
    await Verifications(context).verify_code(await json_object(context.request))
    return ok()


@router.post("/reset-email-or-phone", openapi_extra=_form("type", "dest", "code"))
async def reset_email_or_phone(context: ApiContext = Context) -> dict[str, Any]:
    await Verifications(context).reset_email_or_phone(await form_or_json(context.request))
    return ok()


@router.get("/get-email-and-phone")
async def get_email_and_phone(
    context: ApiContext = Context,
    organization: str = Query("", max_length=100),
    username: str = Query("", max_length=320),
) -> dict[str, Any]:
    user, content_type = await Verifications(context).email_and_phone(organization, username)
    return ok(user, content_type)


@router.get("/get-verifications")
async def get_verifications(
    context: ApiContext = Context,
    owner: str = Query("", max_length=100),
    p: int | None = Query(None, ge=1, le=1_000_000),
    pageSize: int | None = Query(None, ge=1, le=1000),
) -> dict[str, Any]:
    records, total = await Verifications(context).list(owner, p if pageSize else None, pageSize if p else None)
    return ok(records, total) if p and pageSize else ok(records)


@router.get("/get-captcha")
async def get_captcha(
    context: ApiContext = Context,
    applicationId: str = Query("", max_length=201, description="admin/<application>"),
) -> dict[str, Any]:
    """The application's captcha: ``{"type": "none"}`` when it asks for none, else for type Default an
    image (``captchaImage``, base64 PNG) and its ``captchaId``, to answer with in verify-captcha."""
    captcha = Captcha(context)
    provider, rule = await captcha.provider_of(await application_by_id(context.db, applicationId))
    if provider is None or rule in ("", "None"):
        return ok({"type": "none"})
    if provider.get("type") != "Default":
        return ok({"owner": provider.get("owner", ""), "name": provider.get("name", ""), "type": provider.get("type"),
                   "clientId": provider.get("clientId", ""), "clientSecret": "***"})
    return ok(await captcha.new(provider))


@router.post("/verify-captcha", openapi_extra=_form("captchaType", "captchaToken", "clientSecret",
                                                    optional=("applicationId",)))
async def verify_captcha(context: ApiContext = Context) -> dict[str, Any]:
    """Casdoor's answer: ``data`` true or false. A captcha is answered once."""
    return ok(await Captcha(context).verify(CaptchaAnswer.of(await form_or_json(context.request))))


@router.get("/get-captcha-status")
async def get_captcha_status(
    context: ApiContext = Context,
    organization: str = Query("", max_length=100),
    userId: str = Query("", max_length=100),
    application: str = Query("", max_length=100),
) -> dict[str, Any]:
    """Whether the next sign-in of ``userId`` must answer a captcha: always (rule Always), or after failed
    sign-ins (rule Dynamic)."""
    found = await application_by_id(context.db, f"admin/{application}")
    failed = await context.services.throttle.has_failures(context.db, account_key(f"{organization}/{userId}"))
    return ok(await Captcha(context).required(found, failed_before=failed))


@router.post("/verify-identification")
async def verify_identification(
    context: ApiContext = Context,
    owner: str = Query("", max_length=100),
    name: str = Query("", max_length=100),
    provider: str = Query("", max_length=100),
) -> dict[str, Any]:
    """The user (oneself when owner/name are left out) verified by an ID Verification provider; ``data`` is
    their real name."""
    return ok(await Identification(context).verify(owner, name, provider))
