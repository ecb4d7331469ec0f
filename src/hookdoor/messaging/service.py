"""Providers that send: what saving one implies, which one serves which purpose, and sending.

An application picks its providers in its ``providers`` list (Casdoor's ProviderItem); an item's
``rule`` says which purpose it serves (``signup``, ``login``, ``reset``, ``forget``, ``mfaSetup``,
``mfaAuth``), empty or ``All`` for every one, and the first item that fits wins, as in Casdoor's
``GetProviderByCategoryAndRule``. Sends are limited per destination and per caller, counted in the
database (messaging/repository.py) so that every server process counts the same sends.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.errors import BadRequest, Forbidden, NotFound, TooManyRequests
from hookdoor.identity.principal import Principal
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.messaging import transport
from hookdoor.messaging.repository import SendLog
from hookdoor.messaging.schemas import (
    CUSTOM_HTTP_SMS,
    EMAIL,
    HTTP_METHODS,
    NOTIFICATION,
    NOTIFICATION_TYPES,
    SMS,
    SMTP_TYPES,
    SSL_MODES,
    EmailForm,
    HttpNotificationProvider,
    HttpSmsProvider,
    NotificationForm,
    SmsForm,
    SmtpProvider,
    is_sending_provider,
    provider_id,
)
from hookdoor.webhooks.target_guard import TargetPolicy, TargetRefused, check_url_at_save

PROVIDERS = kind("provider")
APPLICATIONS = kind("application")
ORGANIZATIONS = kind("organization")
SEND_WINDOW_SECONDS = 3600
RULES_FOR_EVERY_PURPOSE = ("", "All", "all", "None")


# ---- what saving a provider implies (declared with the kind in identity/registry.py) ---------------

async def check_new_provider(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    """The checks of providers that send (and ID verification ones); the others are other domains'."""
    if is_sending_provider(data) or data.get("category") == "ID Verification":
        _check_sending_provider(context.request.app.state.target_policy, data)
    return {}


async def check_updated_provider(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await check_new_provider(context, data)


def _check_sending_provider(policy: TargetPolicy, data: Mapping[str, Any]) -> None:
    category, kind_ = data.get("category"), data.get("type")
    if category == EMAIL and kind_ in SMTP_TYPES:
        _check_smtp(data)
    elif category == SMS and kind_ == CUSTOM_HTTP_SMS:
        _check_method(data)
        _check_url(policy, "endpoint", data.get("endpoint"))
    elif category == NOTIFICATION and kind_ in NOTIFICATION_TYPES:
        _check_method(data)
        _check_url(policy, "receiver", data.get("receiver"))
    elif category == "ID Verification" and kind_ == "Custom HTTP":
        _check_url(policy, "endpoint", data.get("endpoint"))
    # Other types (Casdoor knows dozens) are kept as they are; sending through one is refused then.


def _check_smtp(data: Mapping[str, Any]) -> None:
    if not isinstance(data.get("host"), str) or not data.get("host"):
        raise BadRequest("invalid field host: an SMTP provider needs its server's host name")
    port = data.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise BadRequest("invalid field port: an SMTP provider needs its server's port (1-65535)")
    if data.get("sslMode") and data.get("sslMode") not in SSL_MODES:
        raise BadRequest(f"invalid field sslMode: must be one of {', '.join(SSL_MODES)}")


def _check_method(data: Mapping[str, Any]) -> None:
    method = data.get("method") or "POST"
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise BadRequest(f"invalid field method: must be one of {', '.join(HTTP_METHODS)}")


def _check_url(policy: TargetPolicy, field: str, url: Any) -> None:
    if not isinstance(url, str) or not url:
        raise BadRequest(f"invalid field {field}: the URL the provider sends to is required")
    try:
        check_url_at_save(url, policy)
    except (TargetRefused, ValueError) as exc:
        raise BadRequest(f"invalid field {field}: {exc}") from None


# ---- which provider serves which purpose -------------------------------------------------------------

async def application_provider(db: Any, application: Mapping[str, Any], category: str,
                               purpose: str = "") -> dict[str, Any] | None:
    """The first provider of ``category`` in the application's list whose rule fits ``purpose`` (any
    rule when no purpose is given): by name in its organization, else a shared one."""
    providers = ObjectRepository(db, PROVIDERS)
    for item in application.get("providers") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            continue
        rule = item.get("rule") or ""
        if purpose and rule not in (purpose, *RULES_FOR_EVERY_PURPOSE):
            continue
        provider = (await providers.get(application.get("organization") or "", item["name"])
                    or await providers.get(GLOBAL_OWNER, item["name"]))
        if provider is not None and provider.get("category") == category:
            return provider
    return None


def no_provider(application: Mapping[str, Any], category: str) -> BadRequest:
    article = "an" if category[0] in "AEIOU" else "a"
    return BadRequest(f"application {application.get('name')!r} has no {category} provider: add {article} "
                      f"{category} provider to its providers list")


# ---- limits ------------------------------------------------------------------------------------------

def caller_key(principal: Principal, client_ip: str) -> str:
    return principal.ref or f"ip:{client_ip}"


@dataclass(frozen=True)
class SendLimits:
    per_destination: int
    per_caller: int

    async def admit(self, context: ApiContext, destinations: list[str]) -> None:
        """Refuse before sending when a destination or the caller has had its sends this hour; each
        send is counted even if it then fails (a failing provider is no way around the limit)."""
        log, now = SendLog(context.db), time.time()
        since = now - SEND_WINDOW_SECONDS
        caller = caller_key(context.principal, context.action.request.get("clientIp", ""))
        if await log.count_since(caller=caller, since=since) + len(destinations) > self.per_caller:
            raise TooManyRequests(f"too many messages sent by {caller} in the last hour "
                                  f"(at most {self.per_caller}); try again later", SEND_WINDOW_SECONDS)
        for destination in destinations:
            if await log.count_since(destination=destination, since=since) >= self.per_destination:
                raise TooManyRequests(f"too many messages sent to {destination.partition(':')[2]} in the last "
                                      f"hour (at most {self.per_destination}); try again later", SEND_WINDOW_SECONDS)
        for destination in destinations:
            context.write_even_if_failed(lambda db, d=destination: SendLog(db).add(d, caller, now, forget_before=since))


def send_limits(context: ApiContext) -> SendLimits:
    settings = context.settings
    return SendLimits(settings.send_limit_per_destination, settings.send_limit_per_caller)


# ---- sending -----------------------------------------------------------------------------------------

def _policy(context: ApiContext) -> TargetPolicy:
    return context.request.app.state.target_policy


async def send_email(context: ApiContext, provider: Mapping[str, Any], receivers: list[str], title: str,
                     content: str, sender: str) -> None:
    smtp = smtp_provider(provider)
    await send_limits(context).admit(context, [f"email:{r.lower()}" for r in receivers])
    messages = [transport.email_message(smtp, sender, r, title, content) for r in receivers]
    await transport.send_emails(smtp, _policy(context), messages)


async def test_smtp_server(context: ApiContext, provider: Mapping[str, Any]) -> None:
    await transport.send_emails(smtp_provider(provider), _policy(context), [])


async def send_sms(context: ApiContext, provider: Mapping[str, Any], receivers: list[str], content: str) -> None:
    sms = sms_provider(provider)
    await send_limits(context).admit(context, [f"sms:{r}" for r in receivers])
    for receiver in receivers:
        await transport.send_http("SMS", sms.id, _policy(context), transport.sms_request(sms, receiver, content))


async def send_notification(context: ApiContext, provider: Mapping[str, Any], content: str, recipient: str) -> None:
    notifier = notification_provider(provider)
    await send_limits(context).admit(context, [f"notification:{notifier.id}"])
    await transport.send_http("notification", notifier.id, _policy(context),
                              transport.notification_request(notifier, content, recipient))


def smtp_provider(provider: Mapping[str, Any]) -> SmtpProvider:
    if provider.get("category") != EMAIL or provider.get("type") not in SMTP_TYPES:
        raise BadRequest(f"provider {provider_id(provider)} cannot send email: only category Email of type "
                         f"Default (SMTP) is supported (got {provider.get('category')!r} / {provider.get('type')!r})")
    return SmtpProvider.of(provider)


def sms_provider(provider: Mapping[str, Any]) -> HttpSmsProvider:
    if provider.get("category") != SMS or provider.get("type") != CUSTOM_HTTP_SMS:
        raise BadRequest(f"provider {provider_id(provider)} cannot send SMS: only category SMS of type "
                         f"{CUSTOM_HTTP_SMS!r} is supported (got {provider.get('category')!r} / "
                         f"{provider.get('type')!r})")
    return HttpSmsProvider.of(provider)


def notification_provider(provider: Mapping[str, Any]) -> HttpNotificationProvider:
    if provider.get("category") != NOTIFICATION or provider.get("type") not in NOTIFICATION_TYPES:
        raise BadRequest(f"provider {provider_id(provider)} cannot send notifications: only category Notification "
                         f"of type {' or '.join(map(repr, NOTIFICATION_TYPES))} is supported "
                         f"(got {provider.get('category')!r} / {provider.get('type')!r})")
    return HttpNotificationProvider.of(provider)


# ---- the service routes: send-email, send-sms, send-notification ------------------------------------

class Messaging:
    """Casdoor's service API (controllers/service.go), for applications (client credentials) and
    administrators; the provider is the one named, else the caller's application's of the category."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.providers = ObjectRepository(context.db, PROVIDERS)

    def _require_sender(self) -> Principal:
        principal = self.context.require_login()
        if principal.kind != "application" and not principal.manages(principal.organization):
            raise Forbidden("sending messages is for applications (client credentials) and administrators")
        return principal

    async def send_email(self, body: Mapping[str, Any], provider_name: str) -> None:
        self._require_sender()  # before looking at the body: a refused caller learns nothing of it
        form = EmailForm.of(body)
        provider = await self._provider(EMAIL, provider_name or form.provider)
        if form.tests_server_only:
            await test_smtp_server(self.context, provider)
            return
        if not form.title or not form.content or not form.sender:
            raise BadRequest("invalid field title/content/sender: all three are required")
        await send_email(self.context, provider, list(form.receivers), form.title, form.content, form.sender)

    async def send_sms(self, body: Mapping[str, Any], provider_name: str) -> None:
        self._require_sender()  # before looking at the body: a refused caller learns nothing of it
        form = SmsForm.of(body)
        provider = await self._provider(SMS, provider_name)
        await send_sms(self.context, provider, list(form.receivers), form.content)

    async def send_notification(self, body: Mapping[str, Any], provider_name: str) -> None:
        self._require_sender()  # before looking at the body: a refused caller learns nothing of it
        form = NotificationForm.of(body)
        provider = await self._provider(NOTIFICATION, provider_name)
        await send_notification(self.context, provider, form.content, form.recipient)

    async def _provider(self, category: str, name: str) -> dict[str, Any]:
        principal = self._require_sender()
        application = await self._caller_application(principal)
        provider = await self._named(principal, application, name) if name else (
            await application_provider(self.context.db, application, category) if application else None)
        if provider is None:
            raise no_provider(application or {"name": ""}, category)
        if provider.get("category") != category:
            raise BadRequest(f"provider {provider_id(provider)} is of category {provider.get('category')!r}, "
                             f"not {category!r}")
        self.context.action.concerns(obj={"provider": provider_id(provider), "category": category},
                                     organization=principal.organization)
        return provider

    async def _named(self, principal: Principal, application: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
        own = await self.providers.get(principal.organization, name)
        if own is not None:
            return own
        shared = await self.providers.get(GLOBAL_OWNER, name)
        listed = any(isinstance(i, dict) and i.get("name") == name for i in (application or {}).get("providers") or [])
        if shared is None or not (principal.is_global_admin or listed):
            raise NotFound(f"provider {name!r} does not exist in organization {principal.organization!r}")
        return shared

    async def _caller_application(self, principal: Principal) -> dict[str, Any] | None:
        """The application whose providers serve the caller: its own for client credentials; for an
        administrator, the one they signed up with, else their organization's default one."""
        applications = ObjectRepository(self.context.db, APPLICATIONS)
        if principal.kind == "application":
            return await applications.get(GLOBAL_OWNER, principal.name)
        user = principal.user or {}
        for name in (user.get("signupApplication"), await self._default_application(principal.organization)):
            found = await applications.get(GLOBAL_OWNER, name) if isinstance(name, str) and name else None
            if found is not None and found.get("organization") == principal.organization:
                return found
        return None

    async def _default_application(self, organization: str) -> str:
        found = await ObjectRepository(self.context.db, ORGANIZATIONS).get(GLOBAL_OWNER, organization)
        return str((found or {}).get("defaultApplication") or "")


# ---- the console's "send a test" on a provider's page -----------------------------------------------

TEST_ACTIONS = {EMAIL: "send-email", SMS: "send-sms", NOTIFICATION: "send-notification"}
TEST_TEXT = "This is a test message from Hookdoor."


async def send_test(context: ApiContext, provider: Mapping[str, Any], receiver: str) -> None:
    """A test through ``provider`` to ``receiver``, by its administrator: the same sends and limits
    as the API's, recorded as the category's send event."""
    if not context.require_login().manages(PROVIDERS.organization_of(provider)):
        raise Forbidden(f"you may not send with provider {provider_id(provider)}")
    context.action.concerns(obj={"provider": provider_id(provider), "category": provider.get("category")},
                            organization=PROVIDERS.organization_of(provider))
    category = provider.get("category")
    if category == EMAIL:
        form = EmailForm.of({"receivers": [receiver]})
        await send_email(context, provider, list(form.receivers), "Hookdoor test", TEST_TEXT, "Hookdoor")
    elif category == SMS:
        await send_sms(context, provider, list(SmsForm.of({"receivers": [receiver], "content": TEST_TEXT}).receivers),
                       TEST_TEXT)
    else:
        await send_notification(context, provider, TEST_TEXT, receiver)
