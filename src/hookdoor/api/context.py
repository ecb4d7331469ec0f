"""The request's unit of work: one transaction per API call, and in it the call's event.

Routes never commit. This dependency opens the session, resolves the caller, hands both to the
route, then writes the call's event row and commits - the change and its event together, or
neither. A failed call rolls back and is recorded as an ``error`` event in its own transaction,
together with the writes the call asked to keep whatever its outcome (a failed sign-in's count).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from hookdoor.api.envelope import text_problem
from hookdoor.config import Settings
from hookdoor.errors import BadRequest, Forbidden, HookdoorError, NotAuthenticated
from hookdoor.events.recorder import Action, parsed_body, record, request_facts
from hookdoor.identity.credentials import resolve_principal
from hookdoor.identity.principal import Principal

log = logging.getLogger(__name__)
LastingWrite = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class ApiContext:
    request: Request
    db: AsyncSession
    action: Action
    settings: Settings
    lasting_writes: list[LastingWrite] = field(default_factory=list)

    @property
    def principal(self) -> Principal:
        return self.action.principal

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.request.app.state.services

    def write_even_if_failed(self, write: LastingWrite) -> None:
        """Make ``write(db)`` part of this call whatever its outcome: in the call's transaction if
        it commits, else in the one that records its failure (the call's own is rolled back)."""
        self.lasting_writes.append(write)

    def require_login(self) -> Principal:
        if not self.principal.authenticated:
            raise NotAuthenticated()
        return self.principal

    def require_global_admin(self) -> Principal:
        if not self.require_login().is_global_admin:
            raise Forbidden("this operation is for global administrators only")
        return self.principal


def action_name(request: Request) -> str:
    return request.url.path.removeprefix("/api/").strip("/") or "api"


def _failure_status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HookdoorError):
        return exc.status_code, exc.message
    status = getattr(exc, "status_code", 500)
    return status, str(getattr(exc, "description", "")) or type(exc).__name__


async def notify_workers(db: AsyncSession) -> None:
    """On PostgreSQL, wake workers in other processes; NOTIFY is sent only if the transaction commits."""
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(text("NOTIFY hookdoor_events"))


async def _write_all(db: AsyncSession, writes: list[LastingWrite]) -> None:
    for write in writes:
        await write(db)


async def _record_failure(request: Request, context: ApiContext, exc: Exception) -> None:
    status, message = _failure_status(exc)
    action = context.action
    try:
        async with request.app.state.sessionmaker() as db:
            await _write_all(db, context.lasting_writes)
            await record(db, action, outcome="error", status_code=status, message=message)
            await notify_workers(db)
            await db.commit()
    except Exception:  # the caller still gets its own error; this one goes to the log
        log.exception("could not record the failed action %s", action.name)
        return
    request.app.state.wakeup.notify()


def _refuse_unstorable_query(request: Request) -> None:
    """Query values reach SQL as parameters (owner, id, clientId...); PostgreSQL refuses a NUL in them."""
    for key, value in request.query_params.multi_items():
        if problem := text_problem(key) or text_problem(value):
            raise BadRequest(f"invalid parameter {key!r}: {problem}")


@contextlib.asynccontextmanager
async def unit_of_work(request: Request, name: str, *, resolve_caller: bool = True) -> AsyncIterator[ApiContext]:
    """One action named ``name``: its transaction, its caller and its event. The API's routes get it
    through :func:`api_context`; the console opens it with the Casdoor action its form performs.
    ``resolve_caller=False``: the route checks a credential of its own (its Bearer token is no access
    token), and the caller stays anonymous."""
    state = request.app.state
    action = Action(name=name, request=request_facts(request))
    async with state.sessionmaker() as db:
        context = ApiContext(request=request, db=db, action=action, settings=state.settings)
        try:
            _refuse_unstorable_query(request)
            if resolve_caller:
                action.principal = await resolve_principal(db, request)
            yield context
            action.body = parsed_body(request)
            await _write_all(db, context.lasting_writes)
            await record(db, action, outcome="ok", status_code=200)
            await notify_workers(db)
            await db.commit()
        except Exception as exc:
            await db.rollback()
            action.body = parsed_body(request)  # a refused call's body is recorded too (a failed login's)
            await _record_failure(request, context, exc)
            raise
    state.wakeup.notify()


async def api_context(request: Request) -> AsyncIterator[ApiContext]:
    async with unit_of_work(request, action_name(request)) as context:
        yield context


def context_of(name: str, *, resolve_caller: bool = True) -> Callable[[Request], AsyncIterator[ApiContext]]:
    """A route's unit of work recorded as the action ``name`` rather than after its path (a route
    whose path holds an id, or that performs another route's action)."""
    async def named_context(request: Request) -> AsyncIterator[ApiContext]:
        async with unit_of_work(request, name, resolve_caller=resolve_caller) as context:
            yield context
    return named_context
