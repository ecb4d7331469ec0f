"""First start: the built-in organization, its application, its cert and a global administrator."""

from __future__ import annotations

import logging
import secrets
import sys
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hookdoor.config import Settings
from hookdoor.db.tables import server_state
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.identity.passwords import Passwords
from hookdoor.identity.registry import BUILT_IN_ORG, GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.oauth.repository import DEFAULT_CERT
from hookdoor.oauth.service import new_cert, with_keys

log = logging.getLogger(__name__)
BUILT_IN_APP = "app-built-in"


def _stamp(obj: dict[str, Any]) -> dict[str, Any]:
    now = rfc3339(utcnow())
    return {**obj, "createdTime": now, "updatedTime": now}


async def bootstrap(db: AsyncSession, settings: Settings, passwords: Passwords) -> str | None:
    """Create what a fresh database lacks. Returns a generated admin password, if one was made."""
    organizations = ObjectRepository(db, kind("organization"))
    await _ensure_default_cert(db)
    if await organizations.exists(GLOBAL_OWNER, BUILT_IN_ORG):
        return None
    await organizations.insert(_stamp({
        "owner": GLOBAL_OWNER, "name": BUILT_IN_ORG, "displayName": "Built-in Organization",
        "websiteUrl": "", "passwordType": "argon2id", "defaultApplication": BUILT_IN_APP,
    }))
    await ObjectRepository(db, kind("application")).insert(_stamp({
        "owner": GLOBAL_OWNER, "name": BUILT_IN_APP, "displayName": "Hookdoor",
        "organization": BUILT_IN_ORG, "enablePassword": True, "enableSignUp": False, "cert": DEFAULT_CERT,
        "clientId": secrets.token_hex(10), "clientSecret": secrets.token_hex(20),
        "grantTypes": ["authorization_code", "password", "client_credentials", "token", "refresh_token"],
    }))
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(18)
    await ObjectRepository(db, kind("user")).insert(
        _stamp({
            "owner": BUILT_IN_ORG, "name": settings.admin_name, "id": str(uuid.uuid4()),
            "type": "normal-user", "displayName": "Admin", "email": "", "isAdmin": True,
            "signupApplication": BUILT_IN_APP, "password": "",
        }),
        {"password_hash": await passwords.hash(password)},
    )
    return None if given else password


# Smaller than Casdoor's 4096 bits: generated at every first start (0.1 s rather than 2 s), and
# RSA-2048 is what RS256 needs. Add a cert of 4096 bits and point the applications at it for more.
DEFAULT_CERT_BITS = 2048


async def _ensure_default_cert(db: AsyncSession) -> None:
    """The shared cert that signs tokens of applications without one of their own; a database made
    before tokens were signed gets it at its next start."""
    certs = ObjectRepository(db, kind("cert"))
    if await certs.exists(GLOBAL_OWNER, DEFAULT_CERT):
        return
    cert = await with_keys({**new_cert(DEFAULT_CERT), "bitSize": DEFAULT_CERT_BITS,
                            "displayName": "Built-in Cert"})
    await certs.insert(_stamp(cert))


def announce_generated_password(name: str, password: str) -> None:
    """Shown once, on the console only: the password is not stored anywhere in clear."""
    print(
        f"\n  Hookdoor created the administrator {BUILT_IN_ORG}/{name}.\n"
        f"  Its generated password (shown only now): {password}\n"
        "  Set HOOKDOOR_ADMIN_PASSWORD before the first start to choose it instead.\n",
        file=sys.stderr, flush=True,
    )


async def stored_secret_key(db: AsyncSession) -> str:
    """The key that signs cookies and CSRF tokens, generated once and kept in the database."""
    value = await db.scalar(select(server_state.c.value).where(server_state.c.key == "secret_key"))
    if value:
        return value
    value = secrets.token_urlsafe(48)
    await db.execute(server_state.insert().values(key="secret_key", value=value, updated_at=utcnow().timestamp()))
    return value
