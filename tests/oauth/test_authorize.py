"""Sign in with Hookdoor: Authlib's OAuth 2 client runs the authorization code flow with PKCE from
discovery alone, a browser-like session signs in on the sign-in page, and joserfc validates the
id_token against the JWKS."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from hookdoor.oauth.service import at_hash
from tests.compat.sdk import Tenant, new_tenant
from tests.identity.test_events_recorded import events
from tests.support import Api, ServerProcess, unique

PASSWORD = "authorize-password-1234"
CALLBACK = "http://127.0.0.1:9/callback"


@dataclass
class Client:
    server: ServerProcess
    tenant: Tenant
    user: str
    config: dict[str, Any]

    def session(self, **kwargs: Any) -> OAuth2Session:
        return OAuth2Session(self.tenant.client_id, self.tenant.client_secret, redirect_uri=CALLBACK,
                             scope="openid profile", code_challenge_method="S256", **kwargs)


def new_client(server: ServerProcess, admin: Api, **application: Any) -> Client:
    """A fresh organization's application with ``application``'s fields set (redirect URIs...), a user
    of it, and the server's discovery document."""
    tenant = new_tenant(admin)
    stored = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    updated = admin.post("update-application", {**stored, **application}, params={"id": f"admin/{tenant.application}"})
    assert updated["status"] == "ok", updated
    user = unique("oidc-user")
    added = admin.post("add-user", {"owner": tenant.organization, "name": user, "password": PASSWORD})
    assert added["status"] == "ok", added
    config = requests.get(f"{server.url}/.well-known/openid-configuration", timeout=30).json()
    return Client(server, tenant, user, config)


@pytest.fixture
def client(server: ServerProcess, admin: Api) -> Client:
    return new_client(server, admin, redirectUris=[CALLBACK, r"https://app\.example/cb/\d+"])


class Browser:
    """A user agent: follows this server's redirects, signs in on its page, stops at the client's."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.http = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=30)

    def authorize(self, url: str) -> str:
        """The URL the browser is finally sent to at the client, signing in when asked."""
        response = self.get(url)
        for _ in range(5):
            location = response.headers.get("location", "")
            if response.status_code not in (302, 303) or not location:
                raise AssertionError(f"no redirect: {response.status_code} {response.text[:300]}")
            if location.startswith(CALLBACK) or location.startswith("https://app.example"):
                return location
            if location.startswith("/login?"):
                response = self.sign_in(location)
            else:
                response = self.get(self.client.server.url + location)
        raise AssertionError("too many redirects")

    def sign_in(self, login_path: str) -> requests.Response:
        page = self.get(self.client.server.url + login_path)
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
        fields.update(username=self.client.user, password=PASSWORD)
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
        return self.http.post(f"{self.client.server.url}/login", data=fields, allow_redirects=False, timeout=30)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _authorization(client: Client, session: OAuth2Session, **extra: str) -> tuple[str, str, str]:
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(client.config["authorization_endpoint"], code_verifier=verifier,
                                                  nonce="nonce-" + secrets.token_hex(4), **extra)
    return url, state, verifier


def test_code_flow_with_pkce_from_discovery(client: Client) -> None:
    session = client.session()
    url, state, verifier = _authorization(client, session)
    callback = Browser(client).authorize(url)
    assert _query(callback)["state"] == state

    token = session.fetch_token(client.config["token_endpoint"], authorization_response=callback,
                                code_verifier=verifier)
    keys = KeySet.import_key_set(requests.get(client.config["jwks_uri"], timeout=30).json())
    identity = jwt.decode(token["id_token"], keys).claims
    assert identity["aud"] == client.tenant.client_id
    assert identity["nonce"] == _query(url)["nonce"]
    assert identity["preferred_username"] == client.user and identity["auth_time"] > 0
    account = requests.get(f"{client.server.url}/api/get-account", timeout=30,
                           headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert account["data"]["name"] == client.user

    recorded = events(client.server, action="login", subject=f"{client.tenant.organization}/{client.user}")
    assert any(e["outcome"] == "ok" for e in recorded)
    for event in events(client.server, action="login/oauth/access_token"):
        assert token["access_token"] not in str(event) and verifier not in str(event)


def test_a_wrong_code_verifier_is_refused(client: Client) -> None:
    session = client.session()
    url, _, _ = _authorization(client, session)
    callback = Browser(client).authorize(url)
    answer = requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": "authorization_code", "code": _query(callback)["code"], "redirect_uri": CALLBACK,
        "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret,
        "code_verifier": secrets.token_urlsafe(48),
    })
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert "code_verifier" in answer.json()["error_description"]


def test_a_second_use_of_a_code_is_refused_and_revokes_its_tokens(client: Client) -> None:
    session = client.session()
    url, _, verifier = _authorization(client, session)
    callback = Browser(client).authorize(url)
    form = {"grant_type": "authorization_code", "code": _query(callback)["code"], "redirect_uri": CALLBACK,
            "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret,
            "code_verifier": verifier}
    first = requests.post(client.config["token_endpoint"], data=form, timeout=30).json()
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    assert requests.get(f"{client.server.url}/api/get-account", headers=bearer, timeout=30).status_code == 200

    again = requests.post(client.config["token_endpoint"], data=form, timeout=30)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert requests.get(f"{client.server.url}/api/get-account", headers=bearer, timeout=30).status_code == 401


def test_a_public_client_must_use_pkce(client: Client) -> None:
    session = client.session()
    url, _, verifier = _authorization(client, session)
    code = _query(Browser(client).authorize(url))["code"]
    public = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
              "client_id": client.tenant.client_id, "code_verifier": verifier}
    assert "access_token" in requests.post(client.config["token_endpoint"], data=public, timeout=30).json()

    plain = OAuth2Session(client.tenant.client_id, redirect_uri=CALLBACK, scope="openid")
    url, _ = plain.create_authorization_url(client.config["authorization_endpoint"])
    code = _query(Browser(client).authorize(url))["code"]
    refused = requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": client.tenant.client_id, "code_verifier": secrets.token_urlsafe(48),
    })
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:9/callback/../evil", "https://evil.example/cb",
                                          "https://app.example/cb/12x", "http://localhost:9/callback"])
def test_a_redirect_uri_the_application_does_not_list_is_never_redirected_to(client: Client,
                                                                           redirect_uri: str) -> None:
    session = OAuth2Session(client.tenant.client_id, redirect_uri=redirect_uri, scope="openid")
    url, _ = session.create_authorization_url(client.config["authorization_endpoint"])
    response = requests.get(url, allow_redirects=False, timeout=30)
    assert response.status_code == 400 and "location" not in response.headers
    assert "redirect_uri" in response.text


def test_a_regular_expression_entry_matches_the_whole_uri(client: Client) -> None:
    session = OAuth2Session(client.tenant.client_id, redirect_uri="https://app.example/cb/42", scope="openid")
    url, state = session.create_authorization_url(client.config["authorization_endpoint"])
    assert _query(Browser(client).authorize(url))["state"] == state


def test_prompt_none_without_a_session_answers_login_required(client: Client) -> None:
    session = client.session()
    url, state, _ = _authorization(client, session, prompt="none")
    response = requests.get(url, allow_redirects=False, timeout=30)
    assert response.status_code == 303
    answer = _query(response.headers["location"])
    assert (answer["error"], answer["state"]) == ("login_required", state)


def test_plain_pkce_and_other_response_types_go_back_as_errors(client: Client) -> None:
    session = OAuth2Session(client.tenant.client_id, redirect_uri=CALLBACK, scope="openid")
    for extra, error in (({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
                         ({"response_type": "code token_please"}, "unsupported_response_type")):
        url, _ = session.create_authorization_url(client.config["authorization_endpoint"], **extra)
        response = requests.get(url, allow_redirects=False, timeout=30)
        assert response.headers["location"].startswith(CALLBACK)
        assert _query(response.headers["location"])["error"] == error
    # Tokens from the authorization endpoint only where the application allows the implicit grant; the
    # refusal goes where the tokens would have gone, in the fragment.
    url, _ = session.create_authorization_url(client.config["authorization_endpoint"], response_type="token")
    location = requests.get(url, allow_redirects=False, timeout=30).headers["location"]
    assert _fragment(location)["error"] == "unauthorized_client" and "?" not in location


def _fragment(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).fragment).items()}


def test_implicit_and_hybrid_answers_come_in_the_fragment(server: ServerProcess, admin: Api) -> None:
    client = new_client(server, admin, redirectUris=[CALLBACK], grantTypes=["authorization_code", "implicit"])
    keys = KeySet.import_key_set(requests.get(client.config["jwks_uri"], timeout=30).json())
    browser = Browser(client)
    base = {"client_id": client.tenant.client_id, "redirect_uri": CALLBACK, "scope": "openid profile",
            "state": "st-1", "nonce": "nonce-1"}
    endpoint = client.config["authorization_endpoint"]

    tokens = _fragment(browser.authorize(f"{endpoint}?{urlencode({**base, 'response_type': 'id_token token'})}"))
    assert tokens["token_type"] == "Bearer" and tokens["state"] == "st-1" and "refresh_token" not in tokens
    identity = jwt.decode(tokens["id_token"], keys).claims
    assert identity["nonce"] == "nonce-1" and identity["aud"] == client.tenant.client_id
    assert identity["at_hash"] == at_hash(tokens["access_token"], "RS256")
    account = requests.get(f"{server.url}/api/get-account", timeout=30,
                           headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert account["data"]["name"] == client.user

    hybrid = _fragment(browser.authorize(f"{endpoint}?{urlencode({**base, 'response_type': 'code id_token'})}"))
    assert set(hybrid) == {"code", "id_token", "state"}
    assert jwt.decode(hybrid["id_token"], keys).claims["c_hash"] == at_hash(hybrid["code"], "RS256")
    exchanged = requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": "authorization_code", "code": hybrid["code"], "redirect_uri": CALLBACK,
        "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret})
    assert exchanged.status_code == 200 and exchanged.json()["refresh_token"], exchanged.text

    no_nonce = {k: v for k, v in base.items() if k != "nonce"}
    refused = browser.get(f"{endpoint}?{urlencode({**no_nonce, 'response_type': 'id_token'})}")
    assert _fragment(refused.headers["location"])["error"] == "invalid_request"
    in_query = browser.get(f"{endpoint}?{urlencode({**base, 'response_type': 'token', 'response_mode': 'query'})}")
    assert "access_token" not in in_query.headers["location"]
    for event in events(server, action="login", subject=f"{client.tenant.organization}/{client.user}"):
        assert tokens["access_token"] not in str(event) and hybrid["code"] not in str(event)


def test_casdoors_page_style_code_login_binds_the_code(client: Client) -> None:
    """What Casdoor's own sign-in page sends: POST /api/login with the authorization request in the query."""
    verifier = secrets.token_urlsafe(48)
    challenge = create_s256_code_challenge(verifier)
    query = {"clientId": client.tenant.client_id, "responseType": "code", "redirectUri": CALLBACK,
             "scope": "openid", "state": "s1", "nonce": "n1", "code_challenge": challenge}
    answer = Api(client.server.url).post("login", {
        "type": "code", "organization": client.tenant.organization, "application": client.tenant.application,
        "username": client.user, "password": PASSWORD,
    }, params=query)
    assert answer["status"] == "ok", answer
    form = {"grant_type": "authorization_code", "code": answer["data"], "redirect_uri": CALLBACK,
            "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret}
    refused = requests.post(client.config["token_endpoint"], data=form, timeout=30)
    assert refused.json()["error"] == "invalid_grant"
    answer = Api(client.server.url).post("login", {
        "type": "code", "organization": client.tenant.organization, "application": client.tenant.application,
        "username": client.user, "password": PASSWORD,
    }, params=query)
    accepted = requests.post(client.config["token_endpoint"], timeout=30,
                             data={**form, "code": answer["data"], "code_verifier": verifier}).json()
    keys = KeySet.import_key_set(requests.get(client.config["jwks_uri"], timeout=30).json())
    assert jwt.decode(accepted["id_token"], keys).claims["nonce"] == "n1"

    elsewhere = Api(client.server.url).post("login", {
        "type": "code", "organization": client.tenant.organization, "application": client.tenant.application,
        "username": client.user, "password": PASSWORD,
    }, params={**query, "redirectUri": "https://evil.example/cb"})
    assert elsewhere["status"] == "error" and "redirect_uri" in elsewhere["msg"]


def _password_tokens(client: Client, scope: str) -> dict[str, Any]:
    return requests.post(client.config["token_endpoint"], timeout=30, data={
        "grant_type": "password", "client_id": client.tenant.client_id,
        "client_secret": client.tenant.client_secret, "username": client.user, "password": PASSWORD,
        "scope": scope,
    }).json()


def test_refresh_tokens_rotate_and_a_reuse_revokes_the_family(client: Client) -> None:
    first = _password_tokens(client, "openid")
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
               "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret}
    second = requests.post(f"{client.server.url}/api/login/oauth/refresh_token", data=refresh, timeout=30).json()
    assert second["access_token"] != first["access_token"] and second["scope"] == "openid"

    def works(token: dict[str, Any]) -> bool:
        return requests.get(f"{client.server.url}/api/get-account", timeout=30,
                            headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 200

    assert not works(first) and works(second)
    reused = requests.post(client.config["token_endpoint"], data=refresh, timeout=30)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert not works(second), "the copy's reuse revoked the tokens rotated from it"
    again = {**refresh, "refresh_token": second["refresh_token"]}
    assert requests.post(client.config["token_endpoint"], data=again, timeout=30).json()["error"] == "invalid_grant"


def test_introspection_tells_live_from_revoked(client: Client, admin: Api) -> None:
    tokens = _password_tokens(client, "openid email")
    auth = (client.tenant.client_id, client.tenant.client_secret)
    url = f"{client.server.url}/api/login/oauth/introspect"
    live = requests.post(url, data={"token": tokens["access_token"]}, auth=auth, timeout=30).json()
    assert live["active"] is True and live["client_id"] == client.tenant.client_id
    assert (live["username"], live["scope"], live["token_type"]) == (client.user, "openid email", "access-token")
    assert requests.post(url, data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
                         auth=auth, timeout=30).json()["token_type"] == "refresh-token"

    stranger = new_tenant(admin)
    foreign = requests.post(url, data={"token": tokens["access_token"]}, timeout=30,
                            auth=(stranger.client_id, stranger.client_secret)).json()
    assert foreign == {"active": False}
    unauthenticated = requests.post(url, data={"token": tokens["access_token"]}, timeout=30)
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "invalid_client"

    requests.post(f"{client.server.url}/api/logout", timeout=30,
                  headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert requests.post(url, data={"token": tokens["access_token"]}, auth=auth, timeout=30).json() == {
        "active": False}


def test_userinfo_shows_what_the_scope_asked_for(client: Client) -> None:
    narrow = _password_tokens(client, "openid")
    wide = _password_tokens(client, "openid profile email")
    url = f"{client.server.url}/api/userinfo"
    few = requests.get(url, headers={"Authorization": f"Bearer {narrow['access_token']}"}, timeout=30).json()
    many = requests.get(url, headers={"Authorization": f"Bearer {wide['access_token']}"}, timeout=30).json()
    assert set(few) == {"sub", "iss", "aud"} and few["aud"] == client.tenant.client_id
    assert many["preferred_username"] == client.user and "email" in many and "phone" not in many
    laravel = requests.get(f"{client.server.url}/api/user", timeout=30,
                           headers={"Authorization": f"Bearer {wide['access_token']}"}).json()
    assert laravel["name"] == client.user and set(laravel) >= {"id", "email", "created_at", "updated_at"}


def test_revocation_ends_the_pair_and_only_for_its_client(client: Client, admin: Api) -> None:
    tokens = _password_tokens(client, "openid")
    url = f"{client.server.url}/api/login/oauth/revoke"
    stranger = new_tenant(admin)
    other = requests.post(url, data={"token": tokens["refresh_token"]}, timeout=30,
                          auth=(stranger.client_id, stranger.client_secret))
    assert other.status_code == 200 and other.json() == {}
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(f"{client.server.url}/api/get-account", headers=bearer, timeout=30).status_code == 200

    own = requests.post(url, data={"token": tokens["refresh_token"]}, timeout=30,
                        auth=(client.tenant.client_id, client.tenant.client_secret))
    assert own.status_code == 200
    assert requests.get(f"{client.server.url}/api/get-account", headers=bearer, timeout=30).status_code == 401


def test_rp_initiated_logout_returns_to_a_listed_uri(client: Client) -> None:
    browser = Browser(client)
    session = client.session()
    url, _, verifier = _authorization(client, session)
    token = session.fetch_token(client.config["token_endpoint"], authorization_response=browser.authorize(url),
                                code_verifier=verifier)
    assert browser.get(f"{client.server.url}/api/get-account").json()["status"] == "ok"

    refused = browser.get(f"{client.server.url}/api/logout?" + urlencode(
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example/"}))
    assert refused.status_code == 400 and "location" not in refused.headers
    assert browser.get(f"{client.server.url}/api/get-account").json()["status"] == "ok"

    done = browser.get(f"{client.server.url}{urlsplit(client.config['end_session_endpoint']).path}?" + urlencode(
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": CALLBACK, "state": "bye"}))
    assert done.status_code == 302 and done.headers["location"] == f"{CALLBACK}?state=bye"
    assert browser.get(f"{client.server.url}/api/get-account").json()["status"] == "error"

    forged = token["id_token"][:-4] + ("AAAA" if not token["id_token"].endswith("AAAA") else "BBBB")
    assert requests.get(f"{client.server.url}/api/logout", params={"id_token_hint": forged},
                        timeout=30).status_code == 400


def test_get_app_login_checks_the_request_and_hides_the_secret(client: Client) -> None:
    query = {"clientId": client.tenant.client_id, "responseType": "code", "redirectUri": CALLBACK,
             "scope": "openid", "state": "x"}
    answer = requests.get(f"{client.server.url}/api/get-app-login", params=query, timeout=30).json()
    assert answer["status"] == "ok" and answer["data"]["name"] == client.tenant.application
    assert answer["data"]["clientSecret"] == "***"
    wrong = requests.get(f"{client.server.url}/api/get-app-login", timeout=30,
                         params={**query, "redirectUri": "https://evil.example/"}).json()
    assert wrong["status"] == "error" and "redirect_uri" in wrong["msg"]


def test_the_other_well_known_documents(client: Client) -> None:
    base = f"{client.server.url}/.well-known"
    metadata = requests.get(f"{base}/oauth-authorization-server", timeout=30).json()
    assert metadata["issuer"] == client.server.url and "userinfo_endpoint" not in metadata
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    resource = requests.get(f"{base}/{client.tenant.application}/oauth-protected-resource", timeout=30).json()
    assert resource["authorization_servers"] == [client.server.url]
    finger = requests.get(f"{base}/webfinger", timeout=30, params={
        "resource": "acct:nobody@example.com", "rel": "http://openid.net/specs/connect/1.0/issuer"})
    assert finger.json()["links"] == [{"rel": "http://openid.net/specs/connect/1.0/issuer",
                                       "href": client.server.url}]
    assert requests.get(f"{base}/webfinger", params={"resource": "nonsense"}, timeout=30).status_code == 400
    assert requests.get(f"{base}/no-such-app/jwks", timeout=30).status_code == 404


def test_a_refused_bearer_token_is_answered_as_rfc_6750_says(client: Client) -> None:
    refused = requests.get(f"{client.server.url}/api/get-account", timeout=30,
                           headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_a_refresh_token_used_twice_at_once_rotates_once_and_revokes_the_family(server: ServerProcess,
                                                                                 admin: Api) -> None:
    """Two refreshes racing with the same token: one wins, the other is a reuse, and the token the
    winner got is revoked with it (on PostgreSQL the two really run at once)."""
    client = new_client(server, admin, redirectUris=[CALLBACK])
    token_endpoint = client.config["token_endpoint"]
    for _ in range(5):
        first = requests.post(token_endpoint, timeout=30, data={
            "grant_type": "password", "username": client.user, "password": PASSWORD,
            "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret}).json()
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret}
        with ThreadPoolExecutor(2) as pool:
            sent = [pool.submit(requests.post, token_endpoint, data=form, timeout=30) for _ in range(2)]
            answers = [future.result() for future in sent]
        codes = sorted(a.status_code for a in answers)
        assert codes in ([200, 400], [400, 400]), [a.text for a in answers]
        won = [a.json() for a in answers if a.status_code == 200]
        for tokens in won:
            account = requests.get(f"{server.url}/api/get-account", timeout=30,
                                   headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
            assert account["status"] == "error", "the winner's token is revoked with its family"


def test_a_code_exchanged_twice_at_once_gives_tokens_once(client: Client) -> None:
    for _ in range(3):
        session = client.session()
        url, _, verifier = _authorization(client, session)
        code = _query(Browser(client).authorize(url))["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier,
                "client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret}
        with ThreadPoolExecutor(2) as pool:
            token_endpoint = client.config["token_endpoint"]
            sent = [pool.submit(requests.post, token_endpoint, data=form, timeout=30) for _ in range(2)]
            answers = [future.result() for future in sent]
        assert sorted(a.status_code for a in answers) == [200, 400], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 400).json()
        assert refused["error"] == "invalid_grant" and "already used" in refused["error_description"]


TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def test_token_exchange_narrows_a_live_access_token(client: Client) -> None:
    """RFC 8693, as Casdoor offers it: the client trades a user's access token for a new one, of the
    same or a narrower scope; a refresh token, a revoked token or a wider scope is refused."""
    session = client.session()
    url, _, verifier = _authorization(client, session)
    first = session.fetch_token(client.config["token_endpoint"], authorization_response=Browser(client).authorize(url),
                                code_verifier=verifier)
    secret = {"client_id": client.tenant.client_id, "client_secret": client.tenant.client_secret}

    def exchange(subject: str, **extra: str) -> requests.Response:
        return requests.post(client.config["token_endpoint"], timeout=30, data={
            "grant_type": TOKEN_EXCHANGE, "subject_token": subject, **secret, **extra})

    narrowed = exchange(first["access_token"], scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid"
    assert narrowed.json()["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    account = requests.get(f"{client.server.url}/api/get-account", timeout=30,
                           headers={"Authorization": f"Bearer {narrowed.json()['access_token']}"}).json()
    assert account["data"]["name"] == client.user

    wider = exchange(first["access_token"], scope="openid profile email")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    assert exchange(first["refresh_token"]).json()["error"] == "invalid_grant"
    assert exchange(first["access_token"], subject_token_type="urn:ietf:params:oauth:token-type:id_token").json()[
        "error"] == "invalid_request"
    revoke = requests.post(f"{client.server.url}/api/login/oauth/revoke", timeout=30,
                           data={"token": first["access_token"], **secret})
    assert revoke.status_code == 200
    assert exchange(first["access_token"]).json()["error"] == "invalid_grant", "a revoked token is no grant"
