"""The web console (server-rendered pages under ``/`` and ``/console``) and the inspector's bins.

``install(app)`` is the one hook ``create_app`` calls: routes, static files, and the background
purge of expired inspector bins.
"""

from __future__ import annotations

import contextlib
import logging

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from hookdoor.console.web import HERE
from hookdoor.runtime import periodically

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 600.0


def _purging(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
    from hookdoor.inspector.service import purge_now

    return periodically(lambda: PURGE_EVERY_SECONDS, lambda: purge_now(app.state.sessionmaker),
                        name="hookdoor-inspector-purge", failing="purge expired inspector bins", log=log)


def install(app: FastAPI) -> None:
    from hookdoor.console import (
        auth_pages,
        authz_pages,
        commerce_pages,
        dashboard,
        event_pages,
        identity_pages,
        inspector_pages,
        security_pages,
        sync_pages,
        webhook_pages,
    )
    from hookdoor.inspector import endpoints as inspector_endpoints

    # Its lifespan runs inside the app's own, so after the migrations.
    lifecycle = APIRouter(lifespan=_purging)
    app.include_router(lifecycle)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    # auth_pages last: it ends with the console's catch-all 404 page.
    for module in (inspector_endpoints, dashboard, webhook_pages, inspector_pages, authz_pages, event_pages,
                   commerce_pages, identity_pages, sync_pages, security_pages, auth_pages):
        app.include_router(module.router)
