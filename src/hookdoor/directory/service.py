"""The rules of the directory's lookups: who may ask, and Casdoor's answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from hookdoor.api.context import ApiContext
from hookdoor.directory.repository import DirectoryRepository
from hookdoor.directory.schemas import OrganizationName, field_of_column
from hookdoor.directory.whois import base_domain, domain_expiry
from hookdoor.errors import BadRequest, Forbidden, HookdoorError, NotFound
from hookdoor.identity.credentials import hash_token, resolve_principal
from hookdoor.identity.registry import GLOBAL_OWNER, kind
from hookdoor.identity.repository import ListQuery, ObjectRepository
from hookdoor.identity.service import ObjectService, parse_id

USERS, APPLICATIONS, ORGANIZATIONS = kind("user"), kind("application"), kind("organization")
RECORDS, CERTS = kind("record"), kind("cert")


@dataclass(frozen=True)
class ExpiryLookup:
    """What WHOIS said about a cert's domain, asked before the request's transaction began."""

    cert_name: str
    expiry: str = ""
    failure: HookdoorError | None = None


async def look_up_domain_expiry(request: Request, cert_id: str) -> ExpiryLookup | None:
    """Ask WHOIS outside any transaction: on SQLite a transaction holds the write lock, and the
    answer takes up to seconds. Only for a caller who may change the cert (no WHOIS queries on an
    anonymous caller's behalf); otherwise None, and the update that follows refuses the call and
    records why."""
    state = request.app.state
    try:
        owner, name = parse_id(cert_id)
        async with state.sessionmaker() as db:
            principal = await resolve_principal(db, request)
            cert = await ObjectRepository(db, CERTS).get(owner, name)
            await db.rollback()
        if cert is None or not principal.manages(CERTS.organization_of(cert)):
            return None
        domain = base_domain(name)
    except HookdoorError:
        return None
    try:
        return ExpiryLookup(name, expiry=await domain_expiry(domain, state.settings.whois_server, state.target_policy))
    except HookdoorError as failure:
        return ExpiryLookup(name, failure=failure)


class DirectoryService:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.directory = DirectoryRepository(context.db)

    def _require_manager(self, organization: str) -> None:
        """Counting and ranking an organization's users is its administrators' business; every
        organization's at once is the global administrators'."""
        principal = self.context.require_login()
        if not organization:
            if not principal.is_global_admin:
                raise Forbidden("only global administrators may count the users of every organization")
            return
        if not principal.manages(organization):
            raise Forbidden(f"only administrators of organization {organization!r} may do this")
        self.context.action.concerns(organization=organization)

    # ---- users ---------------------------------------------------------------------------------

    async def user_count(self, owner: str, online: bool | None) -> int:
        self._require_manager(owner)
        return await self.directory.user_count(owner or None, online)

    async def sorted_users(self, owner: str, sorter: str, limit: int) -> list[dict[str, Any]]:
        if not owner:
            raise BadRequest("the owner parameter (an organization) is required")
        self._require_manager(owner)
        query = ListQuery(owner=owner, sort_field=field_of_column(sorter or "created_time"), sort_order="descend",
                          page=1 if limit > 0 else None, page_size=limit if limit > 0 else None)
        users, _total = await ObjectService(self.context, USERS).list(query)
        return users

    # ---- organizations and their applications ---------------------------------------------------

    async def organization_names(self) -> list[OrganizationName]:
        """Names and display names only, for anyone (Casdoor's sign-in page offers them)."""
        return [OrganizationName(**row) for row in await self.directory.organization_names()]

    def _shown_application(self, application: dict[str, Any], organization: str) -> dict[str, Any]:
        shown = APPLICATIONS.mask(application, may_manage=self.context.principal.manages(organization))
        return {**shown, "organization": organization}

    async def default_application(self, organization_id: str) -> dict[str, Any]:
        """The organization's defaultApplication, else its first application that allows sign-up,
        else its first. For anyone: the sign-in page asks it, and the secret is masked."""
        owner, name = parse_id(organization_id)
        organization = await ObjectRepository(self.context.db, ORGANIZATIONS).get(owner, name)
        if organization is None:
            raise NotFound(f"organization {organization_id} does not exist")
        self.context.action.concerns(organization=name)
        return self._shown_application(await self._default_application_of(organization), name)

    async def _default_application_of(self, organization: dict[str, Any]) -> dict[str, Any]:
        if chosen := organization.get("defaultApplication"):
            application = await ObjectRepository(self.context.db, APPLICATIONS).get(GLOBAL_OWNER, chosen)
            if application is None:
                raise NotFound(f"the default application {chosen!r} of organization {organization['name']!r} "
                               "does not exist")
            return application
        applications = await self.directory.applications_of(organization["name"])
        if not applications:
            raise NotFound(f"organization {organization['name']!r} has no application")
        return next((a for a in applications if a.get("enableSignUp")), applications[0])

    async def organization_applications(self, organization: str, query: ListQuery) -> tuple[list[dict[str, Any]],
                                                                                           int | None]:
        if not organization:
            raise BadRequest("the organization parameter is required")
        principal = self.context.require_login()
        if not principal.manages(organization) and principal.organization != organization:
            raise Forbidden(f"you may not read the applications of organization {organization!r}")
        self.context.action.concerns(organization=organization)
        query = ListQuery(field=query.field, value=query.value, sort_field=query.sort_field,
                          sort_order=query.sort_order, page=query.page, page_size=query.page_size,
                          equals={"organization": organization})
        return await ObjectService(self.context, APPLICATIONS).list(query)

    async def user_application(self, user_id: str) -> dict[str, Any]:
        """The application a user signs in with: the one they signed up through, else their
        organization's default. The user themselves or an administrator of theirs may ask."""
        owner, name = parse_id(user_id)
        principal = self.context.require_login()
        if not (principal.is_user(owner, name) or principal.manages(owner)):
            raise Forbidden(f"you may not read the application of user {user_id}")
        user = await ObjectRepository(self.context.db, USERS).get(owner, name)
        if user is None:
            raise NotFound(f"user {user_id} does not exist")
        self.context.action.concerns(subject=USERS.mask(user, may_manage=False))
        if signup := user.get("signupApplication"):
            application = await ObjectRepository(self.context.db, APPLICATIONS).get(GLOBAL_OWNER, signup)
            if application is None:
                raise NotFound(f"the signup application {signup!r} of user {user_id} does not exist")
            return self._shown_application(application, APPLICATIONS.organization_of(application))
        organization = await ObjectRepository(self.context.db, ORGANIZATIONS).get(GLOBAL_OWNER, owner)
        if organization is None:
            raise NotFound(f"organization {owner!r} does not exist")
        return self._shown_application(await self._default_application_of(organization), owner)

    # ---- certs -----------------------------------------------------------------------------------

    async def store_domain_expiry(self, cert_id: str, lookup: ExpiryLookup | None) -> bool:
        owner, name = parse_id(cert_id)
        certs = ObjectService(self.context, CERTS)
        if lookup is None:
            current = await certs.get(owner, name)  # refuses a caller who may not read it
            if current is None:
                raise NotFound(f"cert {cert_id} does not exist")
            certs.guard.require_write(current, "update")
            base_domain(name)  # refuses a name that is no domain
            raise BadRequest(f"the domain expiry of cert {cert_id} could not be looked up; try again")
        if lookup.failure is not None:
            raise lookup.failure
        return await certs.update(owner, name, {"domainExpireTime": lookup.expiry}, ["domainExpireTime"])

    # ---- records and sessions --------------------------------------------------------------------

    async def records_like(self, example: dict[str, Any]) -> list[dict[str, Any]]:
        """Records whose fields equal the example's non-empty ones (Casdoor's xorm Find by example,
        which leaves out zero values)."""
        principal = self.context.require_login()
        if not (principal.is_global_admin or principal.is_org_admin):
            raise Forbidden("only administrators may filter records")
        equals = {}
        for field, value in example.items():
            if value in ("", None, False, 0, [], {}):
                continue
            if not isinstance(value, str):
                raise BadRequest(f"invalid field {field}: records are filtered by text fields only")
            equals[field] = value
        owner = equals.pop("owner", None)
        records, _total = await ObjectService(self.context, RECORDS).list(ListQuery(owner=owner, equals=equals))
        return records

    async def is_session_duplicated(self, session_id: str, browser_session: str) -> bool:
        """Whether user ``owner/name`` is signed in to ``application`` in more than one browser
        session, or in one other than ``browser_session`` (the value of its session cookie): the
        sign-in sessions Hookdoor keeps, as Casdoor's session object lists its browser sessions."""
        owner, _, rest = session_id.partition("/")
        name, _, application = rest.partition("/")
        owner, name = parse_id(f"{owner}/{name}")
        principal = self.context.require_login()
        if not (principal.is_user(owner, name) or principal.manages(owner)):
            raise Forbidden(f"you may not read the sessions of user {owner}/{name}")
        self.context.action.concerns(organization=owner)
        held = await self.directory.live_session_hashes(owner, name, application)
        if len(held) != 1:
            return len(held) > 1
        return held[0] != hash_token(browser_session)
