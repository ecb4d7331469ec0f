"""Talking to an upstream provider: the URL the browser is sent to, the code exchanged for a token,
the token for its userinfo. Every connection goes through the SSRF guard, as webhooks do, since the
provider's URLs are what an administrator typed; nothing the provider answers reaches a log or an event."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from hookdoor.federation.schemas import Upstream, UpstreamFailed, UpstreamUser, upstream_user
from hookdoor.webhooks.target_guard import TargetPolicy, check_literal_host, guarded_connector, refusal_from

TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_ANSWER = 1 << 20  # a userinfo or token answer is a few hundred bytes; a megabyte is not one


def authorization_url(upstream: Upstream, redirect_uri: str, state: str, code_verifier: str) -> str:
    """Where the browser goes to sign in at the provider. PKCE always: it costs a provider that does
    not know it nothing, and binds the code to this sign-in for one that does."""
    return prepare_grant_uri(upstream.authorize_url, upstream.client_id, "code", redirect_uri=redirect_uri,
                             scope=upstream.scopes, state=state,
                             code_challenge=create_s256_code_challenge(code_verifier), code_challenge_method="S256")


async def signed_in_user(upstream: Upstream, policy: TargetPolicy, code: str, redirect_uri: str,
                         code_verifier: str) -> UpstreamUser:
    """The provider's user the code is for: the code exchanged, then the token's userinfo read."""
    async with aiohttp.ClientSession(connector=guarded_connector(policy), timeout=TIMEOUT, trust_env=False) as http:
        token = await _exchange(http, upstream, policy, code, redirect_uri, code_verifier)
        claims = await _userinfo(http, upstream, policy, token)
    return upstream_user(claims, upstream)


async def _exchange(http: aiohttp.ClientSession, upstream: Upstream, policy: TargetPolicy, code: str,
                    redirect_uri: str, code_verifier: str) -> str:
    body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri,
                                 code_verifier=code_verifier, client_id=upstream.client_id,
                                 client_secret=upstream.client_secret)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    answer = await _call(http, "POST", upstream.token_url, policy, upstream, "token", data=body, headers=headers)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        problem = answer.get("error_description") or answer.get("error") or "no access_token in its answer"
        raise UpstreamFailed(f"provider {upstream.id} did not exchange the code: {problem}")
    return token


async def _userinfo(http: aiohttp.ClientSession, upstream: Upstream, policy: TargetPolicy,
                    token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return await _call(http, "GET", upstream.userinfo_url, policy, upstream, "userinfo", headers=headers)


async def _call(http: aiohttp.ClientSession, method: str, url: str, policy: TargetPolicy, upstream: Upstream,
                what: str, **kwargs: Any) -> dict[str, Any]:
    """One request to the provider, its JSON object answer, or UpstreamFailed naming what went wrong."""
    try:
        check_literal_host(url, policy)
        async with http.request(method, url, allow_redirects=False, **kwargs) as response:
            raw = await response.content.read(MAX_ANSWER + 1)
            status = response.status
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        refused = refusal_from(exc)
        reason = str(refused) if refused else type(exc).__name__
        raise UpstreamFailed(f"provider {upstream.id}'s {what} endpoint could not be reached: {reason}") from None
    try:
        answer = json.loads(raw[:MAX_ANSWER])
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise UpstreamFailed(f"provider {upstream.id}'s {what} endpoint answered HTTP {status} without a JSON object")
    if status >= 400 and what == "userinfo":
        raise UpstreamFailed(f"provider {upstream.id}'s userinfo endpoint refused the token (HTTP {status})")
    return answer
