"""A second Hookdoor server as the upstream OpenID Connect provider of the one under test: its
application and user, the provider object and application entry that offer it, and a user agent that
goes from one to the other."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.compat.sdk import Tenant, new_tenant
from tests.support import ADMIN_PASSWORD, Api, ServerProcess, unique

UPSTREAM_PASSWORD = "upstream-password-1234"


def provider_url(upstream: ServerProcess) -> str:
    """The upstream under another host name than the server's: browsers keep cookies per host, not per
    port, and the two servers' session cookies have the same name."""
    return upstream.url.replace("127.0.0.1", "localhost")


@dataclass
class Federation:
    """The upstream's application and a user of it, and the downstream application offering it."""

    server: ServerProcess
    upstream: ServerProcess
    admin: Api
    provider: str
    downstream: Tenant
    upstream_user: str

    def browser(self) -> Browser:
        return Browser(self)


def _admin(server: ServerProcess) -> Api:
    api = Api(server.url)
    assert api.login("admin", ADMIN_PASSWORD)["status"] == "ok"
    return api


def _upstream_account(upstream: ServerProcess, server: ServerProcess) -> tuple[Tenant, str]:
    admin = _admin(upstream)
    tenant = new_tenant(admin)
    stored = admin.get("get-application", id=f"admin/{tenant.application}")["data"]
    callback = re.escape(f"{server.url}/api/callback")
    changed = admin.post("update-application", {**stored, "redirectUris": [callback]},
                         params={"id": f"admin/{tenant.application}"})
    assert changed["status"] == "ok", changed
    user = unique("upstream-user")
    added = admin.post("add-user", {"owner": tenant.organization, "name": user, "password": UPSTREAM_PASSWORD,
                                    "displayName": "Upstream Person", "email": f"{user}@example.com"})
    assert added["status"] == "ok", added
    return tenant, user


def provider_object(upstream: ServerProcess, owner: str, name: str, tenant: Tenant, **extra: Any) -> dict[str, Any]:
    return {"owner": owner, "name": name, "displayName": "Upstream Hookdoor", "category": "OAuth",
            "type": "Custom", "clientId": tenant.client_id, "clientSecret": tenant.client_secret,
            "customAuthUrl": f"{provider_url(upstream)}/login/oauth/authorize",
            "customTokenUrl": f"{provider_url(upstream)}/api/login/oauth/access_token",
            "customUserInfoUrl": f"{provider_url(upstream)}/api/userinfo", "scopes": "openid profile email",
            # Hookdoor's (and Casdoor's) userinfo: "name" is the username, "displayName" the person's name.
            "userMapping": {"id": "sub", "username": "preferred_username", "displayName": "displayName",
                            "email": "email", "avatarUrl": "picture"}, **extra}


def new_federation(server: ServerProcess, upstream: ServerProcess, admin: Api, *, sign_up: bool = True,
                   **item: Any) -> Federation:
    upstream_tenant, upstream_user = _upstream_account(upstream, server)
    downstream = new_tenant(admin, enable_sign_up=True)
    provider = unique("upstream")
    added = admin.post("add-provider", provider_object(upstream, downstream.organization, provider, upstream_tenant))
    assert added["status"] == "ok", added
    stored = admin.get("get-application", id=f"admin/{downstream.application}")["data"]
    entry = {"name": provider, "canSignIn": True, "canSignUp": sign_up, "canUnlink": True, **item}
    changed = admin.post("update-application", {**stored, "providers": [entry]},
                         params={"id": f"admin/{downstream.application}"})
    assert changed["status"] == "ok", changed
    return Federation(server, upstream, admin, provider, downstream, upstream_user)


class Browser:
    """A user agent across both servers: follows redirects, signs in on the upstream's page."""

    def __init__(self, federation: Federation) -> None:
        self.federation = federation
        self.http = requests.Session()

    def sign_in_page(self) -> str:
        page = self.http.get(f"{self.federation.server.url}/login", timeout=30,
                             params={"application": self.federation.downstream.application, "next": "/console"})
        assert page.status_code == 200
        return page.text

    def start(self, method: str = "") -> requests.Response:
        params = {"application": self.federation.downstream.application, "next": "/console/webhooks"}
        if method:
            params["method"] = method
        return self.http.get(f"{self.federation.server.url}/login/provider/{self.federation.provider}", params=params,
                             allow_redirects=False, timeout=30)

    def sign_in(self, method: str = "") -> requests.Response:
        """Through the provider and back: the downstream's last answer (a redirect, or the error page)."""
        response = self.start(method)
        for _ in range(8):
            location = response.headers.get("location", "")
            if response.status_code not in (302, 303) or not location:
                return response
            url = location if location.startswith("http") else _origin(response.url) + location
            if url.startswith(provider_url(self.federation.upstream) + "/login?"):
                response = self._upstream_login(url)
            elif url.startswith(self.federation.server.url) and "/api/callback" not in url:
                return response
            else:
                response = self.http.get(url, allow_redirects=False, timeout=30)
        raise AssertionError("too many redirects")

    def _upstream_login(self, url: str) -> requests.Response:
        page = self.http.get(url, timeout=30)
        fields = {k: v.replace("&amp;", "&") for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', page.text)}
        fields.update(username=self.federation.upstream_user, password=UPSTREAM_PASSWORD)
        return self.http.post(f"{provider_url(self.federation.upstream)}/login", data=fields, allow_redirects=False,
                              timeout=30)

    def account(self) -> dict[str, Any]:
        return self.http.get(f"{self.federation.server.url}/api/get-account", timeout=30).json()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
