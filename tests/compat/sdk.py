"""Building the official ``casdoor`` SDK against a test server, as an integrator would."""

from __future__ import annotations

from dataclasses import dataclass

from casdoor import CasdoorSDK

from tests.support import Api, unique

BUILT_IN_ORG = "built-in"
BUILT_IN_APP = "app-built-in"


@dataclass(frozen=True)
class Tenant:
    """An organization with its own application, created for one test."""

    organization: str
    application: str
    client_id: str
    client_secret: str


def application_credentials(admin: Api, application: str) -> tuple[str, str]:
    """clientId and clientSecret, read as an administrator (who is shown the secret)."""
    answer = admin.get("get-application", id=f"admin/{application}")
    assert answer["status"] == "ok", answer
    return answer["data"]["clientId"], answer["data"]["clientSecret"]


def new_tenant(admin: Api, *, enable_sign_up: bool = False) -> Tenant:
    organization, application = unique("org"), unique("app")
    added = admin.post("add-organization", {"owner": "admin", "name": organization, "displayName": organization})
    assert added["status"] == "ok", added
    added = admin.post("add-application", {
        "owner": "admin", "name": application, "organization": organization,
        "enablePassword": True, "enableSignUp": enable_sign_up,
    })
    assert added["status"] == "ok", added
    return Tenant(organization, application, *application_credentials(admin, application))


def sdk_for(base_url: str, client_id: str, client_secret: str, organization: str, application: str) -> CasdoorSDK:
    return CasdoorSDK(
        endpoint=base_url, client_id=client_id, client_secret=client_secret, certificate="",
        org_name=organization, application_name=application,
    )


def built_in_sdk(base_url: str, admin: Api) -> CasdoorSDK:
    return sdk_for(base_url, *application_credentials(admin, BUILT_IN_APP), BUILT_IN_ORG, BUILT_IN_APP)


def tenant_sdk(base_url: str, tenant: Tenant) -> CasdoorSDK:
    return sdk_for(base_url, tenant.client_id, tenant.client_secret, tenant.organization, tenant.application)
