"""Signing Hookdoor's tokens, and what adding or changing a cert implies.

Access and refresh tokens are JWTs signed with the application's cert (joserfc), in the
application's ``tokenFormat``, with the audience its ``clientId`` - so Casdoor's SDKs verify them
with the cert's certificate, unmodified. Only their SHA-256 is stored (``identity/credentials.py``):
revoking a token deletes its row, and a token without a row is refused everywhere at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from hookdoor.db.types import utcnow
from hookdoor.errors import BadRequest, OAuthError
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.oauth import keys
from hookdoor.oauth.repository import CertRepository
from hookdoor.oauth.schemas import TOKEN_FORMATS, user_claims

# ---- what adding or changing a cert implies (declared with the kind in identity/registry.py) ---------

async def prepare_new_cert(context: Any, data: dict[str, Any]) -> dict[str, Any]:
    await _fill_in_keys(data)
    return {}


async def prepare_updated_cert(context: Any, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    if any(data.get(f) != current.get(f) for f in ("certificate", "privateKey", "cryptoAlgorithm")):
        await _fill_in_keys(data)
    return {}


async def _fill_in_keys(data: dict[str, Any]) -> None:
    """A cert sent without key material gets a new key pair (Casdoor's "add-cert" with an empty
    certificate); one sent with it is checked, so that a bad key fails here and not at sign-in."""
    data["scope"] = data.get("scope") or "JWT"
    data["type"] = data.get("type") or "x509"
    data["cryptoAlgorithm"] = keys.algorithm_of(data)
    if data["cryptoAlgorithm"].startswith(("RS", "PS")):
        data["bitSize"] = int(data.get("bitSize") or keys.DEFAULT_BIT_SIZE)
    data["expireInYears"] = int(data.get("expireInYears") or keys.DEFAULT_EXPIRE_YEARS)
    if data.get("certificate") and data.get("privateKey"):
        keys.check_pair(data)
        return
    if data.get("certificate") or data.get("privateKey"):
        raise BadRequest("invalid field certificate/privateKey: give both, or neither to have them generated")
    pair = await asyncio.to_thread(keys.generate, data)  # an RSA-4096 key takes a second: not in the loop
    data.update(certificate=pair.certificate, privateKey=pair.private_key, expireTime=pair.expire_time)


def new_cert(name: str, owner: str = GLOBAL_OWNER) -> dict[str, Any]:
    """A cert as Casdoor's defaults make it, key material still to be generated."""
    return {"owner": owner, "name": name, "displayName": name, "scope": "JWT", "type": "x509",
            "cryptoAlgorithm": keys.DEFAULT_ALGORITHM, "bitSize": keys.DEFAULT_BIT_SIZE,
            "expireInYears": keys.DEFAULT_EXPIRE_YEARS, "certificate": "", "privateKey": ""}


async def with_keys(cert: dict[str, Any]) -> dict[str, Any]:
    filled = dict(cert)
    await _fill_in_keys(filled)
    return filled


# ---- signing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignedTokens:
    name: str  # the token object's name; its jti is "admin/<name>"
    access_token: str
    refresh_token: str
    id_token: str | None
    expires_in: int
    refresh_expires_in: int


def _hours(application: dict[str, Any], field: str, default: float) -> float:
    value = application.get(field) or 0
    return float(value) if float(value) > 0 else default


def at_hash(access_token: str, algorithm: str) -> str:
    """OIDC Core 3.1.3.6: the left half of the token's hash by the JWS algorithm's hash function
    (SHA-256 for RS256/ES256/PS256...; SHA-512 for EdDSA over Ed25519), base64url."""
    function = hashlib.sha512 if algorithm == "EdDSA" else getattr(hashlib, f"sha{algorithm[2:]}")
    digest = function(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


class TokenSigner:
    def __init__(self, db: Any, issuer: str, default_ttl_hours: float) -> None:
        self.certs = CertRepository(db)
        self.issuer = issuer
        self.default_ttl_hours = default_ttl_hours

    async def signing_cert(self, application: dict[str, Any]) -> dict[str, Any]:
        cert = await self.certs.for_application(application)
        if cert is None or not cert.get("privateKey"):
            raise BadRequest(f"application {application.get('name')!r} has no usable cert "
                             f"({application.get('cert') or 'cert-built-in'!r}); give it one with key material")
        return cert

    async def sign(
        self, application: dict[str, Any], user: dict[str, Any] | None, *, scope: str = "", nonce: str = "",
        auth_time: int | None = None, code: str = "",
    ) -> SignedTokens:
        """An access and a refresh token for ``user`` (None: the application itself, as in
        client_credentials), and an ID token when the scope asks for ``openid``."""
        token_format = application.get("tokenFormat") or "JWT"
        if token_format not in TOKEN_FORMATS:
            raise BadRequest(f"application {application['name']!r}: unknown tokenFormat {token_format!r}")
        cert = await self.signing_cert(application)
        key, algorithm = keys.signing_key(cert), keys.algorithm_of(cert)
        now = int(time.time())
        access_hours = _hours(application, "expireInHours", self.default_ttl_hours)
        # As Casdoor: a refresh token lives as long as its access token unless the application says more.
        refresh_hours = _hours(application, "refreshExpireInHours", access_hours)
        name = uuid.uuid4().hex
        base = self._claims(application, user, token_format, scope, nonce, name, now)
        header = {"alg": algorithm, "kid": cert["name"], "typ": "JWT"}
        access = jwt.encode(header, {**base, "tokenType": "access-token", "exp": now + int(access_hours * 3600)}, key)
        refresh = jwt.encode(
            header, {**base, "tokenType": "refresh-token", "exp": now + int(refresh_hours * 3600)}, key
        )
        id_token = None
        if user is not None and "openid" in scope.split():
            id_claims = self._id_claims(application, user, nonce, now, access_hours, auth_time or now,
                                        at_hash(access, algorithm))
            if code:  # an id_token beside a code, from the authorization endpoint (OIDC Core 3.3.2.11)
                id_claims["c_hash"] = at_hash(code, algorithm)
            id_token = jwt.encode(header, id_claims, key)
        return SignedTokens(name, access, refresh, id_token, int(access_hours * 3600), int(refresh_hours * 3600))

    def _claims(
        self, application: dict[str, Any], user: dict[str, Any] | None, token_format: str, scope: str,
        nonce: str, name: str, now: int,
    ) -> dict[str, Any]:
        client_id = application.get("clientId", "")
        registered = {
            "iss": self.issuer, "sub": user.get("id", "") if user else client_id, "aud": [client_id],
            "nbf": now, "iat": now, "jti": f"{GLOBAL_OWNER}/{name}",
        }
        about = user_claims(token_format, user, application.get("tokenFields")) if user else {
            "owner": application.get("organization", ""), "name": application["name"], "type": "application",
        }
        extra = {"nonce": nonce, "scope": scope, "azp": client_id}
        if token_format == "JWT" and user:
            extra["tag"] = user.get("tag", "")
        return {**about, **{k: v for k, v in extra.items() if v or k == "tag"}, **registered}

    def _id_claims(
        self, application: dict[str, Any], user: dict[str, Any], nonce: str, now: int, hours: float,
        auth_time: int, access_token_hash: str,
    ) -> dict[str, Any]:
        client_id = application.get("clientId", "")
        claims = {
            "iss": self.issuer, "sub": user.get("id", ""), "aud": client_id, "azp": client_id,
            "iat": now, "exp": now + int(hours * 3600), "auth_time": auth_time, "at_hash": access_token_hash,
            "name": user.get("displayName") or user.get("name", ""), "preferred_username": user.get("name", ""),
            "owner": user.get("owner", ""),
        }
        if nonce:
            claims["nonce"] = nonce
        return claims


def issuer_of(context: Any) -> str:
    return issuer_of_request(context.request)


def issuer_of_request(request: Any) -> str:
    """The issuer of tokens and discovery: the configured public URL, else how this request came."""
    return request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


def token_signer(context: Any) -> TokenSigner:
    return TokenSigner(context.db, issuer_of(context), context.settings.access_token_ttl_hours)


def jwks(certs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"keys": [keys.public_jwk(cert) for cert in certs]}


# ---- the authorization request (/login/oauth/authorize, and Casdoor's page-style code login) ------

PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
PLAIN_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$")  # a URL entry, not a pattern


class AuthorizationRefused(Exception):
    """An RFC 6749 4.1.2.1 error, sent back to the client's (valid) redirect URI."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    application: dict[str, Any]
    redirect_uri: str
    params: Mapping[str, str]

    def param(self, *names: str) -> str:
        return next((self.params[n] for n in names if self.params.get(n)), "")

    @property
    def scope(self) -> str:
        return self.param("scope")

    @property
    def state(self) -> str:
        return self.param("state")

    @property
    def nonce(self) -> str:
        return self.param("nonce")

    @property
    def code_challenge(self) -> str:
        return self.param("code_challenge")

    @property
    def prompt(self) -> str:
        return self.param("prompt")

    @property
    def response_types(self) -> frozenset[str]:
        return frozenset(self.param("response_type", "responseType").split())

    @property
    def in_fragment(self) -> bool:
        """Tokens in the answer travel in the fragment, which the browser keeps from servers and logs
        (OAuth 2.0 Multiple Response Types 2.1); a plain code travels in the query."""
        return bool(self.response_types & {"token", "id_token"}) and self.response_types in RESPONSE_TYPES

    def check(self) -> None:
        """What the client asked for, checked; a refusal goes back to the client's redirect URI."""
        self._check_response_type()
        method = self.param("code_challenge_method") or ("S256" if self.code_challenge else "")
        if method and method != "S256":
            raise AuthorizationRefused("invalid_request", "code_challenge_method must be S256 (plain is refused)")
        if self.code_challenge and not PKCE_CHALLENGE.match(self.code_challenge):
            raise AuthorizationRefused("invalid_request", "code_challenge must be 43 base64url characters (S256)")
        if self.prompt not in PROMPTS:
            raise AuthorizationRefused("invalid_request", f"prompt must be one of {', '.join(PROMPTS[1:])}")


    def _check_response_type(self) -> None:
        types = self.response_types
        if types not in RESPONSE_TYPES:
            raise AuthorizationRefused("unsupported_response_type", "response_type must be 'code', or one of "
                                       "'token', 'id_token', 'id_token token', 'code id_token', 'code token', "
                                       "'code id_token token' where the application allows the implicit grant")
        if types == {"code"}:
            return
        if "implicit" not in (self.application.get("grantTypes") or []):
            raise AuthorizationRefused("unauthorized_client", "this application does not allow the implicit grant "
                                       "(add 'implicit' to its grantTypes), so tokens are not sent from here")
        if self.param("response_mode") == "query":
            raise AuthorizationRefused("invalid_request", "tokens are never sent in the query: leave response_mode "
                                       "out, or use fragment")
        if "id_token" in types and "openid" not in self.scope.split():
            raise AuthorizationRefused("invalid_scope", "an id_token is issued for the openid scope only")
        if "id_token" in types and not self.nonce:
            raise AuthorizationRefused("invalid_request", "nonce is required when an id_token comes from the "
                                       "authorization endpoint (OpenID Connect Core 3.2.2.1)")


PROMPTS = ("", "login", "none", "consent", "select_account")
RESPONSE_TYPES = frozenset(frozenset(t.split()) for t in (
    "code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"))


def redirect_uri_allowed(application: dict[str, Any], uri: str) -> bool:
    """Casdoor's rule, without its leniency: an entry that is a URL must equal the redirect URI; any
    other entry is a regular expression the whole URI must match. (Casdoor also accepts any
    localhost origin and any subdomain of an entry's host; Hookdoor does not.)"""
    for entry in application.get("redirectUris") or []:
        if not isinstance(entry, str) or not entry:
            continue
        parts = urlsplit(entry)
        if parts.scheme and PLAIN_HOST.match(parts.netloc):
            if uri == entry:
                return True
            continue
        try:
            if re.fullmatch(entry, uri):
                return True
        except re.error:
            continue
    return False


def pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return bool(PKCE_VERIFIER.match(verifier)) and hmac.compare_digest(expected, challenge)


async def authorization_request(db: Any, params: Mapping[str, str]) -> AuthorizationRequest:
    """The client and where to send the user back, checked. Either being wrong raises ``BadRequest``:
    the answer is then shown to the user and never redirected anywhere (RFC 6749 4.1.2.1)."""
    client_id = params.get("client_id") or params.get("clientId") or ""
    if not client_id:
        raise BadRequest("invalid parameter client_id: it is required")
    stored = await ObjectRepository(db, kind("application")).find_by("clientId", client_id)
    if stored is None:
        raise BadRequest(f"invalid parameter client_id: no application has the client id {client_id!r}")
    redirect_uri = params.get("redirect_uri") or params.get("redirectUri") or ""
    if not redirect_uri_allowed(stored.data, redirect_uri):
        raise BadRequest(f"invalid parameter redirect_uri: {redirect_uri!r} is not one of application "
                         f"{stored.data['name']!r}'s redirect URIs")
    return AuthorizationRequest(stored.data, redirect_uri, params)


def redirect_to_client(request: AuthorizationRequest, **values: str) -> str:
    """The client's redirect URI with ``values`` (and the state) added to its query, or as its
    fragment when the answer carries tokens."""
    parts = urlsplit(request.redirect_uri)
    answer = [(k, v) for k, v in values.items() if v]
    if request.state:
        answer.append(("state", request.state))
    if request.in_fragment:
        return urlunsplit(parts._replace(fragment=urlencode(answer)))
    query = parse_qsl(parts.query, keep_blank_values=True) + answer
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---- introspection (RFC 7662) -----------------------------------------------------------------

INACTIVE = {"active": False}


async def _live_token(db: Any, token: str, hint: str) -> Any:
    """The stored token this access or refresh token is, unless revoked, rotated out or expired."""
    tokens = ObjectRepository(db, kind("token"))
    columns = ["refresh_token_hash", "access_token_hash"] if hint == "refresh_token" else [
        "access_token_hash", "refresh_token_hash"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    for column in columns:
        stored = await tokens.find_by(column, digest)
        if stored is not None and not stored.data.get("rotatedTo"):
            return stored
    return None


async def introspection(db: Any, client: dict[str, Any], token: str, hint: str) -> dict[str, Any]:
    stored = await _live_token(db, token, hint)
    if stored is None:
        return INACTIVE
    certs = CertRepository(db)
    application = await certs.application(stored.data.get("application") or "")
    if application is None or application.get("organization") != client.get("organization"):
        return INACTIVE
    if stored.data.get("user"):
        user = await ObjectRepository(db, kind("user")).get(stored.data["organization"], stored.data["user"])
        if user is None or user.get("isForbidden") or user.get("isDeleted"):
            return INACTIVE
    cert = await certs.for_application(application)
    try:
        claims = jwt.decode(token, keys.signing_key(cert) if cert else "").claims
        jwt.JWTClaimsRegistry().validate(claims)
    except (ValueError, TypeError, JoseError):
        return INACTIVE  # expired, or signed by a key the application no longer has
    return {
        "active": True, "scope": claims.get("scope", ""), "client_id": application.get("clientId", ""),
        "username": claims.get("name") or claims.get("preferred_username") or "",
        "token_type": claims.get("tokenType", ""), "exp": claims.get("exp"), "iat": claims.get("iat"),
        "nbf": claims.get("nbf"), "sub": claims.get("sub"), "aud": claims.get("aud"), "iss": claims.get("iss"),
        "jti": claims.get("jti"),
    }


# ---- token exchange (RFC 8693) --------------------------------------------------------------------

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


@dataclass(frozen=True)
class ExchangedSubject:
    organization: str
    user: str
    scope: str


async def exchanged_subject(db: Any, client: dict[str, Any], subject_token: str, token_type: str,
                            scope: str) -> ExchangedSubject:
    """Whom a subject token (an access token this server issued, live) acts for, for ``client``: the
    client must be the token's own or in its audience, and may narrow its scope, never widen it.
    Casdoor also takes a token it revoked, and skips the audience for JWT-Standard tokens."""
    if not subject_token:
        raise OAuthError("invalid_request", "subject_token is required")
    if (token_type or ACCESS_TOKEN_TYPE) not in (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE):
        raise OAuthError("invalid_request", "subject_token_type must be the access_token or jwt type: an ID token "
                         "here is no grant (exchange the access token that came with it)")
    digest = hashlib.sha256(subject_token.encode()).hexdigest()
    stored = await ObjectRepository(db, kind("token")).find_by("access_token_hash", digest)
    expires = stored.private.get("expires_at") if stored else None
    if stored is None or expires is None or expires <= utcnow():
        raise OAuthError("invalid_grant", "subject_token is not a live access token of this server")
    claims = await _verified_claims(db, stored.data, subject_token)
    audience = claims.get("aud") or []
    if client.get("clientId") not in (audience if isinstance(audience, list) else [audience]):
        raise OAuthError("invalid_grant", "subject_token's audience does not include this client")
    granted = (stored.data.get("scope") or "").split()
    asked = scope.split()
    if asked and granted and not set(asked) <= set(granted):
        raise OAuthError("invalid_scope", f"scope may only narrow the subject_token's ({' '.join(granted)})")
    if not stored.data.get("user"):
        raise OAuthError("invalid_grant", "subject_token acts for no user (a client credentials token)")
    return ExchangedSubject(stored.data["organization"], stored.data["user"], scope or " ".join(granted))


async def _verified_claims(db: Any, token_object: dict[str, Any], token: str) -> dict[str, Any]:
    certs = CertRepository(db)
    issuing = await certs.application(token_object.get("application") or "")
    cert = await certs.for_application(issuing) if issuing else None
    try:
        claims = jwt.decode(token, keys.signing_key(cert) if cert else "").claims
        jwt.JWTClaimsRegistry().validate(claims)
    except (ValueError, TypeError, JoseError):
        raise OAuthError("invalid_grant", "subject_token's signature or expiry does not check out") from None
    return claims


# ---- userinfo ---------------------------------------------------------------------------------

# What a caller signed in by session (their own browser) is shown: everything a token could ask for.
SESSION_SCOPE = "openid profile email phone address"


def userinfo_claims(user: dict[str, Any], scope: str, audience: str, issuer: str) -> dict[str, Any]:
    """OIDC UserInfo (Core 5.3) in Casdoor's shape: ``sub``, ``iss``, ``aud`` always; the rest by scope."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": user.get("id", ""), "iss": issuer, "aud": audience}
    if "profile" in scopes:
        claims.update(name=user.get("name", ""), preferred_username=user.get("name", ""),
                      displayName=user.get("displayName", ""), picture=user.get("avatar", ""),
                      groups=user.get("groups") or [], owner=user.get("owner", ""))
    if "email" in scopes:
        claims.update(email=user.get("email", ""), email_verified=bool(user.get("emailVerified")))
    if "phone" in scopes:
        claims["phone"] = user.get("phone", "")
    if "address" in scopes:
        address = user.get("address") or []
        claims["address"] = {"formatted": ", ".join(address) if isinstance(address, list) else str(address)}
    return claims


def laravel_user(user: dict[str, Any]) -> dict[str, Any]:
    """Casdoor's ``/api/user``: the user as Laravel's Socialite expects it."""
    return {"id": user.get("id", ""), "name": user.get("name", ""), "email": user.get("email", ""),
            "email_verified_at": user.get("createdTime", ""), "created_at": user.get("createdTime", ""),
            "updated_at": user.get("updatedTime", "")}


# ---- RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) --------------------------------

async def _hinted_application(db: Any, id_token_hint: str) -> dict[str, Any]:
    """The application an ID token we signed was issued to; expired hints are fine (that is the point
    of logging out), forged or foreign ones are not."""
    try:
        claims = json.loads(extract_compact(id_token_hint.encode()).payload)  # read, to find its signer
    except (JoseError, ValueError):
        raise BadRequest("invalid parameter id_token_hint: not a JWT") from None
    audience = claims.get("aud") if isinstance(claims, dict) else None
    client_id = audience[0] if isinstance(audience, list) and audience else audience
    stored = await ObjectRepository(db, kind("application")).find_by("clientId", str(client_id or ""))
    cert = await CertRepository(db).for_application(stored.data) if stored else None
    try:
        jwt.decode(id_token_hint, keys.signing_key(cert))  # the signature only: expiry does not matter
    except (JoseError, ValueError, TypeError, KeyError):
        raise BadRequest("invalid parameter id_token_hint: not an ID token this server signed") from None
    if stored is None:
        raise BadRequest("invalid parameter id_token_hint: its audience is no application")
    return stored.data


async def logout_redirect(db: Any, params: Mapping[str, str]) -> str | None:
    """Where to send the user after signing out, if the relying party asked and may be sent there."""
    hint, target = params.get("id_token_hint", ""), params.get("post_logout_redirect_uri", "")
    if not hint:
        if target:
            raise BadRequest("invalid parameter post_logout_redirect_uri: it needs an id_token_hint")
        return None
    application = await _hinted_application(db, hint)
    if not target:
        return None
    if not redirect_uri_allowed(application, target):
        raise BadRequest(f"invalid parameter post_logout_redirect_uri: {target!r} is not one of application "
                         f"{application['name']!r}'s redirect URIs")
    request = AuthorizationRequest(application, target, params)
    return redirect_to_client(request)


async def revoke_if_owned(db: Any, application: dict[str, Any], token: str) -> bool:
    """Revoke the token (access or refresh: the pair goes together) if ``application`` holds it."""
    stored = await _live_token(db, token, "")
    if stored is None or stored.data.get("application") != application.get("name"):
        return False
    return await ObjectRepository(db, kind("token")).delete(stored.data["owner"], stored.data["name"])


# ---- consent (Casdoor's customScopes and user.applicationScopes) --------------------------------

def requested_scopes(scope: str) -> list[str]:
    return list(dict.fromkeys(s for s in scope.split() if s))


def custom_scopes(application: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The scopes the application describes to its users, by name."""
    described = application.get("customScopes") or []
    return {s["scope"]: s for s in described if isinstance(s, dict) and isinstance(s.get("scope"), str) and s["scope"]}


def granted_scopes(user: dict[str, Any], application: dict[str, Any]) -> set[str]:
    application_id = f"{GLOBAL_OWNER}/{application['name']}"
    for record in user.get("applicationScopes") or []:
        if isinstance(record, dict) and record.get("application") == application_id:
            return set(record.get("grantedScopes") or [])
    return set()


def scopes_to_consent(
    user: dict[str, Any], application: dict[str, Any], scope: str, prompt: str
) -> list[dict[str, Any]]:
    """What the user must still agree to, as Casdoor decides: the requested scopes the application
    describes (customScopes) and the user has not granted it yet; all of them with prompt=consent."""
    described = custom_scopes(application)
    asked = [s for s in requested_scopes(scope) if s in described]
    if prompt != "consent":
        asked = [s for s in asked if s not in granted_scopes(user, application)]
    return [described[s] for s in asked]


def with_consent(
    user: dict[str, Any], application: dict[str, Any], scopes: list[str], *, grant: bool
) -> dict[str, Any]:
    """The user with ``scopes`` granted to (or revoked from) the application."""
    application_id = f"{GLOBAL_OWNER}/{application['name']}"
    records = [r for r in (user.get("applicationScopes") or []) if isinstance(r, dict)]
    current = granted_scopes(user, application)
    kept = [r for r in records if r.get("application") != application_id]
    now = sorted(current | set(scopes)) if grant else sorted(current - set(scopes))
    if now:
        kept.append({"application": application_id, "grantedScopes": now})
    return {**user, "applicationScopes": kept}


# ---- device authorization (RFC 8628) ----------------------------------------------------------

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_LIFETIME_SECONDS = 300
DEVICE_INTERVAL_SECONDS = 5  # as Casdoor; a client polling faster is told slow_down
USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 6.1: no vowels, nothing that reads alike


def new_user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_LETTERS) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def normalized_user_code(given: str) -> str:
    letters = "".join(c for c in given.upper() if c.isalpha())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else ""


def device_record_name(user_code: str) -> str:
    """The token object of a device authorization is named after its user code's hash: the code is
    what the user types in, and the name finds the request without keeping the code itself."""
    return "device-" + hashlib.sha256(normalized_user_code(user_code).encode()).hexdigest()[:40]


def allows_device_login(application: dict[str, Any]) -> bool:
    methods = [m.get("name") for m in application.get("signinMethods") or [] if isinstance(m, dict)]
    return DEVICE_GRANT in (application.get("grantTypes") or []) or "Device login" in methods
