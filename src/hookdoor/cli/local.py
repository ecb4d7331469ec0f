"""``--local``: the same services the API runs, on the database of ``HOOKDOOR_DATABASE_URL``, each
call in the API's own unit of work (one transaction, and in it the action's event), without a server.

The caller is the local operator: whoever can open the database already holds every secret in it,
so local calls act as a global administrator. Their events name the actor ``built-in/hookdoor cli``
(a name no user can have, as it contains a space). Deliveries they cause are sent by the worker of
a running ``hookdoor serve`` or ``hookdoor worker`` on the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hookdoor.cli.errors import UNREACHABLE, CliError

LOCAL_ACTOR_NAME = "hookdoor cli"
Handler = Callable[[Any, dict[str, Any], Any], Awaitable[tuple[Any, Any]]]


def _sqlite_path(settings: Any) -> Path | None:
    if not settings.is_sqlite:
        return None
    path = settings.database_url.split(":///", 1)[1].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def safe_url(settings: Any) -> str:
    """The database URL to show: no password, neither as the URL's own nor as a query parameter
    (`?password=...` is one of asyncpg's ways)."""
    from sqlalchemy.engine import make_url

    from hookdoor.logs import redact_credentials

    try:
        return redact_credentials(make_url(settings.database_url).render_as_string(hide_password=True))
    except Exception:
        return "HOOKDOOR_DATABASE_URL"


class LocalBackend:
    local = True

    def __init__(self, settings: Any = None, *, create: bool = False) -> None:
        from hookdoor.cli.server import load_settings

        self.settings = settings or load_settings()
        self.create = create
        self.runner = asyncio.Runner()
        self.app: Any = None

    @property
    def where(self) -> str:
        return f"local database {safe_url(self.settings)}"

    def __enter__(self) -> LocalBackend:
        try:
            self.runner.run(self._open())
        except BaseException:
            self.runner.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.app is not None:
                self.runner.run(self.app.state.engine.dispose())
        finally:
            self.runner.close()

    async def _open(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from hookdoor.db.migrate import upgrade
        from hookdoor.identity.bootstrap import announce_generated_password, bootstrap

        path = _sqlite_path(self.settings)
        if path is not None and not self.create and not path.exists():
            raise CliError(f"no Hookdoor database at {path} (set HOOKDOOR_DATABASE_URL, or create one with "
                           "'hookdoor migrate')", UNREACHABLE)
        self.app = service_host(self.settings)
        state = self.app.state
        try:
            await upgrade(state.engine)
            async with state.sessionmaker() as db:
                generated = await bootstrap(db, self.settings, state.services.passwords)
                await db.commit()
        except (OSError, SQLAlchemyError) as exc:
            raise CliError(f"cannot open the database {safe_url(self.settings)}: {first_line(exc)}",
                           UNREACHABLE) from None
        if generated:
            announce_generated_password(self.settings.admin_name, generated)

    def _request(self, method: str, action: str) -> Any:
        from starlette.requests import Request

        return Request({
            "type": "http", "app": self.app, "method": method, "scheme": "http", "root_path": "",
            "path": f"/api/{action}", "raw_path": f"/api/{action}".encode(), "query_string": b"",
            "headers": [(b"host", b"localhost"), (b"user-agent", b"hookdoor-cli (local)")],
            "client": None, "server": ("localhost", 0),
        })

    async def _call(self, method: str, action: str, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
        from sqlalchemy.exc import SQLAlchemyError

        from hookdoor.api.context import unit_of_work
        from hookdoor.errors import HookdoorError

        handler = HANDLERS.get(action)
        if handler is None:
            raise CliError(f"'{action}' is not available with --local; run it against a server (--url)", 2)
        try:
            async with unit_of_work(self._request(method, action), action) as context:
                context.action.principal = local_operator()
                return await handler(context, params, body)
        except HookdoorError as exc:
            raise CliError(exc.message, 4 if exc.status_code in (401, 403) else 1) from None
        except (OSError, SQLAlchemyError) as exc:
            raise CliError(f"database error on {action}: {first_line(exc)}", UNREACHABLE) from None

    def get(self, action: str, **params: Any) -> tuple[Any, Any]:
        return self.runner.run(self._call("GET", action, params, None))

    def post(
        self, action: str, body: Any = None, *, form: dict[str, str] | None = None, **params: Any
    ) -> tuple[Any, Any]:
        return self.runner.run(self._call("POST", action, params, form if form is not None else body))


def service_host(settings: Any) -> Any:
    """What the services reach through ``request.app.state``, built as ``hookdoor.app.create_app`` builds
    it, without the web application itself (its routes take a second to build and are not needed)."""
    from hookdoor.db.engine import create_engine, create_sessionmaker
    from hookdoor.events.wakeup import Doorbell, Wakeup
    from hookdoor.identity.passwords import Passwords
    from hookdoor.identity.throttle import LoginThrottle
    from hookdoor.webhooks.target_guard import TargetPolicy

    engine = create_engine(settings)
    services = SimpleNamespace(
        passwords=Passwords(time_cost=settings.password_time_cost, memory_cost_kib=settings.password_memory_kib,
                            parallelism=1),
        throttle=LoginThrottle(max_failures=settings.login_max_failures,
                               max_failures_per_ip=settings.login_max_failures_per_ip,
                               lockout_seconds=settings.login_lockout_seconds),
        secret_key="",
    )
    state = SimpleNamespace(settings=settings, engine=engine, sessionmaker=create_sessionmaker(engine),
                            wakeup=Wakeup(Doorbell.for_database(settings.database_url)), services=services,
                            target_policy=TargetPolicy.from_strings(settings.allow_targets))
    return SimpleNamespace(state=state)


def local_operator() -> Any:
    from hookdoor.identity.principal import Principal
    from hookdoor.identity.registry import BUILT_IN_ORG

    return Principal(kind="user", organization=BUILT_IN_ORG, name=LOCAL_ACTOR_NAME,
                     is_global_admin=True, is_org_admin=True)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    return text.strip().splitlines()[0][:300]


# ---- the API actions available locally, as the routes perform them ----------------------------

def _service(context: Any, kind_name: str) -> Any:
    from hookdoor.identity.registry import kind
    from hookdoor.identity.service import ObjectService

    return ObjectService(context, kind(kind_name))


def _id(params: dict[str, Any]) -> tuple[str, str]:
    from hookdoor.identity.service import parse_id

    return parse_id(str(params.get("id") or ""))


def _affected(changed: bool) -> tuple[Any, Any]:
    return ("Affected" if changed else "Unaffected"), None


async def _get_account(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
    principal = context.principal
    return {"owner": principal.organization, "name": principal.name, "isAdmin": True, "local": True}, None


def _list_of(kind_name: str) -> Handler:
    async def handler(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
        from hookdoor.identity.repository import ListQuery

        owner = params.get("owner") or None
        return await _service(context, kind_name).list(ListQuery(owner=owner))

    return handler


def _get_one(kind_name: str) -> Handler:
    async def handler(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
        return await _service(context, kind_name).get(*_id(params)), None

    return handler


def _add(kind_name: str) -> Handler:
    async def handler(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
        await _service(context, kind_name).add(dict(body))
        return _affected(True)

    return handler


def _update(kind_name: str) -> Handler:
    async def handler(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
        columns = [c.strip() for c in str(params.get("columns") or "").split(",") if c.strip()] or None
        return _affected(await _service(context, kind_name).update(*_id(params), dict(body), columns))

    return handler


async def _set_password(context: Any, params: dict[str, Any], form: Any) -> tuple[Any, Any]:
    from hookdoor.identity.accounts import Accounts

    await Accounts(context).set_password(form["userOwner"], form["userName"], "", form["newPassword"])
    return None, None


async def _event_types(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
    from hookdoor.events.catalog import CATEGORIES, catalog_as_json

    category = params.get("category") or ""
    return [t for t in catalog_as_json() if not category or t["category"] == category], list(CATEGORIES)


async def _webhook_events(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
    from hookdoor.identity.service import parse_id
    from hookdoor.webhooks.control import WebhookControl, parse_time
    from hookdoor.webhooks.repository import DeliveryQuery

    query = DeliveryQuery(
        webhook=parse_id(params["webhook"]) if params.get("webhook") else None,
        state=params.get("state") or None, action=params.get("event") or None,
        since=parse_time(params.get("since") or "", "since"), until=parse_time(params.get("until") or "", "until"),
        page=params.get("p"), page_size=params.get("pageSize"),
    )
    return await WebhookControl(context).log(query)


def _control(method: str) -> Handler:
    async def handler(context: Any, params: dict[str, Any], body: Any) -> tuple[Any, Any]:
        from hookdoor.webhooks.control import WebhookControl

        control = WebhookControl(context)
        if method in ("detail", "resend"):
            result = await getattr(control, method)(str(params.get("id") or ""))
            return ("Affected" if method == "resend" else result), None
        if method == "recover":
            from hookdoor.webhooks.control import parse_time

            since = parse_time(str(params.get("since") or ""), "since")
            if since is None:
                from hookdoor.errors import BadRequest

                raise BadRequest("invalid parameter since: is required")
            until = parse_time(str(params.get("until") or ""), "until")
            force = str(params.get("force") or "").lower() in ("1", "true")
            requeued = await control.recover(*_id(params), since, until, force)
            return len(requeued), requeued
        return await getattr(control, method)(*_id(params)), None

    return handler


HANDLERS: dict[str, Handler] = {
    "get-account": _get_account,
    "get-webhooks": _list_of("webhook"), "get-webhook": _get_one("webhook"),
    "add-webhook": _add("webhook"), "update-webhook": _update("webhook"),
    "get-users": _list_of("user"), "get-user": _get_one("user"), "add-user": _add("user"),
    "set-password": _set_password,
    "get-event-types": _event_types,
    "get-webhook-events": _webhook_events,
    "get-webhook-event-detail": _control("detail"),
    "replay-webhook-event": _control("resend"),
    "recover-webhook-deliveries": _control("recover"),
    "test-webhook": _control("send_test"),
    "rotate-webhook-secret": _control("rotate_secret"),
    "get-webhook-health": _control("health"),
}
