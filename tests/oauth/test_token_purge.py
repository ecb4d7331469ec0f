"""Retired tokens are forgotten: a token whose access and refresh tokens have both expired, and a code
that was used, go a day later; a live token, and a token object an administrator added, stay. An
expired refresh token is refused."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from hookdoor.config import Settings
from hookdoor.db.engine import create_engine, create_sessionmaker
from hookdoor.db.tables import KIND_TABLES
from hookdoor.db.types import utcnow
from hookdoor.oauth.repository import purge_retired_tokens
from tests.oauth.test_authorize import CALLBACK, PASSWORD, Browser, Client, _authorization, _query, new_client
from tests.support import Api, ServerProcess, unique

TOKENS = KIND_TABLES["token"]


@pytest.fixture
def client(server: ServerProcess, admin: Api) -> Client:
    return new_client(server, admin, redirectUris=[CALLBACK])


def _password_grant(client: Client) -> dict[str, str]:
    answer = requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": "password", "username": client.user, "password": PASSWORD,
        "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _on_database(server: ServerProcess, work):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        engine = create_engine(Settings(database_url=server.database_url))
        try:
            async with create_sessionmaker(engine)() as db:
                result = await work(db)
                await db.commit()
                return result
        finally:
            await engine.dispose()
    return asyncio.run(run())


def _age(server: ServerProcess, name: str, *, by: timedelta) -> None:
    """Make the token object ``name`` expire ``by`` ago, access and refresh alike."""
    moment = utcnow() - by
    _on_database(server, lambda db: db.execute(update(TOKENS).where(TOKENS.c.name == name).values(
        expires_at=moment, refresh_expires_at=moment)))


def _names(admin: Api, organization: str) -> set[str]:
    tokens = admin.get("get-tokens", owner="admin", field="organization", value=organization)["data"] or []
    return {t["name"] for t in tokens if t["organization"] == organization}


def test_retired_tokens_are_purged_and_live_ones_kept(client: Client, admin: Api) -> None:
    organization = client.tenant.organization
    old, live = _password_grant(client), _password_grant(client)
    before = _names(admin, organization)
    assert len(before) == 2
    old_name = next(n for n in before if _jti(old["access_token"]).endswith(n))
    _age(client.server, old_name, by=timedelta(days=2))
    refused = requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": "refresh_token", "refresh_token": old["refresh_token"],
        "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", "an expired refresh token"

    session = client.session()
    url, _, _ = _authorization(client, session)
    _query(Browser(client).authorize(url))  # a code, never exchanged: it expires
    by_hand = unique("by-hand")
    added = admin.post("add-token", {"owner": "admin", "name": by_hand})
    assert added["status"] == "ok", added
    everything = _names(admin, organization)
    (code_name,) = everything - before
    _age(client.server, code_name, by=timedelta(days=2))

    removed = _on_database(client.server, lambda db: purge_retired_tokens(db, utcnow()))
    assert removed >= 2  # these two, and any other test's the suite aged
    left = _names(admin, organization)
    assert old_name not in left and code_name not in left
    assert (before - {old_name}) <= left
    assert admin.get("get-token", id=f"admin/{by_hand}")["data"]["name"] == by_hand
    assert requests.get(f"{client.server.url}/api/get-account", timeout=30,
                        headers={"Authorization": f"Bearer {live['access_token']}"}).json()["status"] == "ok"


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
