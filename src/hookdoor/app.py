"""create_app(): wires the routers, the error handlers, the middleware and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookdoor.api import openapi
from hookdoor.api.body_limit import BodyLimit, BodyTooLarge
from hookdoor.api.envelope import error_body
from hookdoor.authz import endpoints as authz_endpoints
from hookdoor.authz.engines import EngineCache
from hookdoor.commerce import endpoints as commerce
from hookdoor.commerce import tasks as commerce_tasks
from hookdoor.config import Settings
from hookdoor.console import install as install_console
from hookdoor.db.checkpoint import checkpointing
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.migrate import upgrade
from hookdoor.delivery.metrics import DeliveryMetrics
from hookdoor.delivery.process import WorkerProcess
from hookdoor.delivery.runner import running_worker
from hookdoor.delivery.worker import Worker
from hookdoor.directory import endpoints as directory_endpoints
from hookdoor.errors import HookdoorError, NotAuthenticated, OAuthError, TooManyRequests, bearer_challenge
from hookdoor.events.wakeup import Doorbell, Wakeup
from hookdoor.federation import endpoints as federation
from hookdoor.identity import account_endpoints, endpoints
from hookdoor.identity.bootstrap import announce_generated_password, bootstrap, stored_secret_key
from hookdoor.identity.passwords import Passwords
from hookdoor.identity.registry import KINDS
from hookdoor.identity.throttle import LoginThrottle
from hookdoor.impersonation import endpoints as impersonation_endpoints
from hookdoor.invitations import endpoints as invitations
from hookdoor.messaging import endpoints as messaging
from hookdoor.metrics import HttpMetrics, MetricsMiddleware
from hookdoor.mfa import endpoints as mfa
from hookdoor.oauth import discovery
from hookdoor.oauth import endpoints as oauth
from hookdoor.saml import endpoints as saml
from hookdoor.sync import endpoints as sync
from hookdoor.sync import tasks as sync_tasks
from hookdoor.system import endpoints as system_endpoints
from hookdoor.tickets import endpoints as tickets
from hookdoor.uploads import endpoints as upload_endpoints
from hookdoor.verification import endpoints as verification
from hookdoor.webauthn import endpoints as webauthn_endpoints
from hookdoor.webhooks import endpoints as webhook_endpoints
from hookdoor.webhooks.target_guard import TargetPolicy

log = logging.getLogger(__name__)
MULTIPART_ALLOWANCE = 64 * 1024


@dataclass
class Services:
    passwords: Passwords
    throttle: LoginThrottle
    secret_key: str = ""


def _services(settings: Settings) -> Services:
    return Services(
        passwords=Passwords(time_cost=settings.password_time_cost, memory_cost_kib=settings.password_memory_kib,
                            parallelism=1),
        throttle=LoginThrottle(
            max_failures=settings.login_max_failures,
            max_failures_per_ip=settings.login_max_failures_per_ip,
            lockout_seconds=settings.login_lockout_seconds,
        ),
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    await upgrade(state.engine)
    async with state.sessionmaker() as db:
        generated = await bootstrap(db, state.settings, state.services.passwords)
        state.services.secret_key = (
            state.settings.secret_key.get_secret_value() if state.settings.secret_key else await stored_secret_key(db)
        )
        await db.commit()
    if generated:
        announce_generated_password(state.settings.admin_name, generated)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(checkpointing(state.settings.database_url))
        if state.worker_process:
            state.worker_process.start()
            # Stopped here, not after the server returns: uvicorn ends the process with the signal
            # that stopped it, and the worker then lets the sends in flight finish (up to 30 s).
            stack.push_async_callback(asyncio.to_thread, state.worker_process.stop)
        if state.settings.run_worker:
            worker = Worker(state.sessionmaker, state.settings, state.wakeup, state.delivery_metrics)
            await stack.enter_async_context(running_worker(worker, state.settings))
        try:
            yield
        finally:
            await stack.aclose()
            await state.engine.dispose()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HookdoorError)
    async def hookdoor_error(request: Request, exc: HookdoorError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        if isinstance(exc, NotAuthenticated) and request.headers.get("authorization", "").lower().startswith("bearer "):
            headers = {"WWW-Authenticate": bearer_challenge(exc.message)}
        return JSONResponse(error_body(exc.message, exc.data), status_code=exc.status_code, headers=headers)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(error_body(exc.description), status_code=exc.status_code)

    @app.exception_handler(OAuthError)
    async def oauth_error(request: Request, exc: OAuthError) -> JSONResponse:
        challenge = bearer_challenge(exc.description) if exc.error == "invalid_token" else "Basic"
        headers = {"WWW-Authenticate": challenge} if exc.status_code == 401 else None
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()]
        return JSONResponse(error_body("invalid parameter " + "; ".join(problems)), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = f"no such API: {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(error_body(message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal server error; the details are in the server log"), status_code=500)


def create_app(settings: Settings | None = None, worker_process: WorkerProcess | None = None) -> FastAPI:
    """The application. ``worker_process``: `serve`'s worker as a child process, started once
    migrations have run and stopped at shutdown; its delivery metrics are served on /api/metrics."""
    settings = settings or Settings()
    app = FastAPI(
        title="Hookdoor",
        version="0.1.0",
        description="An identity server that speaks Casdoor's API; every action is a signed webhook event.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = create_engine(settings)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.wakeup = Wakeup(Doorbell.for_database(settings.database_url))
    app.state.services = _services(settings)
    app.state.metrics_registry = CollectorRegistry()
    app.state.http_metrics = HttpMetrics(app.state.metrics_registry)
    app.state.worker_process = worker_process
    if worker_process is None:
        app.state.delivery_metrics = DeliveryMetrics(app.state.metrics_registry)
    else:
        MultiProcessCollector(app.state.metrics_registry, path=str(worker_process.metrics_dir))
    app.state.target_policy = TargetPolicy.from_strings(settings.allow_targets)
    app.state.authz_engines = EngineCache()
    # A multipart body carries the file and a few hundred bytes of headers and fields.
    upload_limit = settings.upload_max_bytes + MULTIPART_ALLOWANCE
    upload_paths = ["/api/upload-", *(f"/console/{k.plural}/upload" for k in KINDS if k.uploadable)]
    app.add_middleware(BodyLimit, larger_limits=dict.fromkeys(upload_paths, upload_limit))
    app.add_middleware(MetricsMiddleware, metrics=app.state.http_metrics)
    _install_error_handlers(app)
    app.include_router(system_endpoints.router)
    app.include_router(account_endpoints.router)
    app.include_router(oauth.lifecycle)
    app.include_router(oauth.router)
    app.include_router(discovery.router)
    app.include_router(oauth.authorize_router)
    app.include_router(oauth.user_router)
    app.include_router(webhook_endpoints.router)
    app.include_router(federation.router)
    app.include_router(federation.pages)
    app.include_router(federation.callback_pages)
    app.include_router(authz_endpoints.router)
    app.include_router(directory_endpoints.router)
    app.include_router(impersonation_endpoints.router)
    app.include_router(upload_endpoints.router)
    app.include_router(upload_endpoints.files_router)
    app.include_router(saml.router)
    app.include_router(saml.pages)
    app.include_router(saml.acs_pages)
    app.include_router(sync.router)
    app.include_router(sync.ldap_router)
    app.include_router(sync_tasks.lifecycle)
    app.include_router(mfa.router)
    app.include_router(webauthn_endpoints.router)
    app.include_router(messaging.router)
    app.include_router(messaging.pages)
    app.include_router(invitations.router)
    app.include_router(invitations.pages)
    app.include_router(tickets.router)
    app.include_router(tickets.pages)
    app.include_router(verification.router)
    app.include_router(commerce.router)
    app.include_router(commerce_tasks.lifecycle)
    endpoints.add_routes(app.router)
    install_console(app)  # the console's pages, the inspector's bins, their static files
    openapi.install(app)
    return app
