"""A page for every resource kind: list with search and paging, create, edit, delete with confirmation.

Organizations, users, applications, groups, roles and permissions have fields chosen for them (roles
and permissions pick their members from the organization's); every other kind's page is derived from
its declaration in identity/registry.py (console/forms.py: derived_page), so a new kind gets one too.

Every read and change goes through ObjectService, so the console's rules are the API's rules; each
form performs the API's action of the same name (add-user, update-role...) and records its event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from hookdoor.api.context import ApiContext
from hookdoor.console.forms import CREATE_DEFAULTS, PAGES, KindPage, form_values, object_body, posted_values
from hookdoor.console.repository import events_of_user
from hookdoor.console.web import (
    ConsoleRoute,
    CsrfRefused,
    acting,
    field_of,
    read_form,
    redirect,
    render,
    segment,
    viewing,
)
from hookdoor.errors import BadRequest, Forbidden, HookdoorError, NotAuthenticated, NotFound
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ListQuery
from hookdoor.identity.service import ObjectService
from hookdoor.invitations.service import Invitations
from hookdoor.uploads.service import ImportService, UploadRefused

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 20


def page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 100_000))
    except ValueError:
        return 1


async def organization_names(context: ApiContext, *, managed: bool) -> list[str]:
    """Organizations the caller may read (or manage): for filters and the organization selects."""
    items, _ = await ObjectService(context, kind("organization")).list(ListQuery(sort_field="name",
                                                                                  sort_order="ascend"))
    names = [item["name"] for item in items]
    return [n for n in names if context.principal.manages(n)] if managed else names


MEMBER_CHOICES_LIMIT = 500  # offered per picker; ids already chosen are always shown


async def member_choices(context: ApiContext, page: KindPage, organization: str) -> dict[str, list[str]]:
    """For each member picker: the ids (owner/name) of the organization's users, groups or roles that
    the caller may read."""
    choices: dict[str, list[str]] = {}
    for field in page.fields:
        if field.type != "members" or not organization:
            continue
        query = ListQuery(owner=organization, sort_field="name", sort_order="ascend", page=1,
                          page_size=MEMBER_CHOICES_LIMIT)
        try:
            items, _ = await ObjectService(context, kind(field.members)).list(query)
        except Forbidden:
            items = []
        choices[field.name] = [f"{item['owner']}/{item['name']}" for item in items]
    return choices


def object_path(page: KindPage, owner: str, name: str) -> str:
    return f"/console/{page.kind.plural}/{segment(owner)}/{segment(name)}"


def named(page: KindPage, obj: dict[str, Any]) -> dict[str, Any]:
    """The object with its key as ``name`` for the pages' links and titles (an LDAP server is keyed
    by its id, and has no name)."""
    key = page.kind.key_field
    return obj if key == "name" else {**obj, "name": obj.get(key, "")}


# ---- list ---------------------------------------------------------------------------------------

async def list_objects(request: Request, page: KindPage) -> Response:
    params = request.query_params
    number = page_number(params.get("p"))
    search = params.get("q", "")[:200]
    field = params.get("field") if params.get("field") in page.search_fields else page.search_fields[0]
    organization = params.get("organization", "")[:100]
    async with viewing(request) as context:
        principal = context.principal
        if organization and not principal.is_global_admin and organization != principal.organization:
            raise Forbidden(f"you may not read {page.kind.plural} of organization {organization!r}")
        filters: dict[str, Any] = {"field": field if search else "", "value": search}
        if organization and page.kind.singular != "organization":
            if page.owner_is_organization:
                filters["owner"] = organization
            else:
                filters["equals"] = {"organization": organization}
        query = ListQuery(page=number, page_size=PAGE_SIZE, **filters)
        items, total = await ObjectService(context, page.kind).list(query)
        organizations = [] if page.kind.singular == "organization" else await organization_names(context,
                                                                                                  managed=False)
        importable_into = await organization_names(context, managed=True) if page.kind.uploadable else []
        links = await _signup_links(context, page, items)
        return render(
            request, "objects/list.html", page=page, items=[named(page, i) for i in items], total=total or 0,
            number=number,
            pages=max(1, -(-(total or 0) // PAGE_SIZE)), search=search, field=field,
            organization=organization, organizations=organizations, active=page.kind.plural,
            importable_into=importable_into, signup_links=links,
        )


async def _signup_links(context: ApiContext, page: KindPage, items: list[dict[str, Any]]) -> dict[str, str]:
    """Invitations' sign-up links, for the list's "Copy link" (those the caller administers)."""
    if page.kind.singular != "invitation":
        return {}
    invitations = Invitations(context)
    return {f"{i['owner']}/{i['name']}": await invitations.console_link(i) for i in items
            if context.principal.manages(i["owner"])}


# ---- import from .xlsx --------------------------------------------------------------------------

async def upload_objects(request: Request, page: KindPage) -> Response:
    """The list page's import form: the API's upload-<plural>, its report shown row by row."""
    form = await read_form(request)
    upload = form.get("file")
    owner = str(form.get("owner") or "")
    report, error = None, None
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequest("choose an .xlsx file to import")
        content = await upload.read()
        async with acting(request, f"upload-{page.kind.plural}", form) as context:
            report = (await ImportService(context, page.kind).import_file(owner, upload.filename, content)).model_dump()
    except HookdoorError as exc:
        if not _refused_in_place(exc):
            raise
        error = exc.message
        report = exc.data if isinstance(exc, UploadRefused) else None
    async with viewing(request):
        return render(request, "objects/upload_result.html", status_code=400 if error else 200, page=page,
                      report=report, error=error, owner=owner, active=page.kind.plural)


# ---- create and edit ----------------------------------------------------------------------------

async def _form_page(
    request: Request, page: KindPage, *, obj: dict[str, Any] | None, values: dict[str, Any],
    error: HookdoorError | None = None,
) -> Response:
    async with viewing(request) as context:
        editable = obj is None or ObjectService(context, page.kind).may_manage(obj)
        manager = obj is None or context.principal.manages(page.kind.organization_of(obj))
        events = []
        if obj is not None and page.kind.singular == "user":
            events = await events_of_user(context.db, f"{obj['owner']}/{obj['name']}")
        signup_link = ""
        if obj is not None and page.kind.singular == "invitation" and manager:
            signup_link = await Invitations(context).console_link(obj)
        organization = (obj or {}).get("owner") if page.owner_is_organization else None
        organization = organization or values.get(page.organization_field or "") or context.principal.organization
        return render(
            request, "objects/form.html", status_code=error.status_code if error else 200, page=page,
            obj=named(page, obj) if obj else None,
            values=values, creating=obj is None, editable=editable, manager=manager, events=events,
            signup_link=signup_link,
            member_choices=await member_choices(context, page, str(organization)),
            organizations=await organization_names(context, managed=True),
            error=error.message if error else None, error_field=field_of(error.message) if error else None,
            active=page.kind.plural,
        )


async def new_object(request: Request, page: KindPage) -> Response:
    async with viewing(request) as context:
        organization = request.query_params.get("organization") or context.principal.organization
    values = {**CREATE_DEFAULTS, page.organization_field or "": organization}
    return await _form_page(request, page, obj=None, values=values)


def _refused_in_place(exc: HookdoorError) -> bool:
    """Errors shown beside the form; the rest (signed out, CSRF) are handled for the whole page."""
    return not isinstance(exc, NotAuthenticated | CsrfRefused)


async def add_object(request: Request, page: KindPage) -> Response:
    form = await read_form(request)
    body = object_body(page, form, creating=True)
    try:
        async with acting(request, f"add-{page.kind.singular}", form) as context:
            await ObjectService(context, page.kind).add(body)
    except HookdoorError as exc:
        if not _refused_in_place(exc):
            raise
        return await _form_page(request, page, obj=None, values=posted_values(page, form), error=exc)
    key = body.get(page.kind.key_field)
    if not key:  # made by the server (an LDAP server's id): the list shows it
        return redirect(f"/console/{page.kind.plural}", notice="created")
    return redirect(object_path(page, body["owner"], key), notice="created")


async def _stored(context: ApiContext, page: KindPage, owner: str, name: str) -> dict[str, Any]:
    obj = await ObjectService(context, page.kind).get(owner, name)
    if obj is None:
        raise NotFound(f"{page.kind.singular} {owner}/{name} does not exist")
    return obj


async def edit_object(request: Request, page: KindPage, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        obj = await _stored(context, page, owner, name)
    return await _form_page(request, page, obj=obj, values=form_values(page, obj))


async def update_object(request: Request, page: KindPage, owner: str, name: str) -> Response:
    form = await read_form(request)
    try:
        async with acting(request, f"update-{page.kind.singular}", form) as context:
            service = ObjectService(context, page.kind)
            obj = await _stored(context, page, owner, name)
            manager = context.principal.manages(page.kind.organization_of(obj))
            body = object_body(page, form, creating=False, manager=manager)
            await service.update(owner, name, body, list(body))
    except HookdoorError as exc:
        if not _refused_in_place(exc) or isinstance(exc, NotFound):
            raise
        async with viewing(request) as context:
            obj = await _stored(context, page, owner, name)
        return await _form_page(request, page, obj=obj, values={**form_values(page, obj),
                                                                  **posted_values(page, form)}, error=exc)
    return redirect(object_path(page, owner, name), notice="saved")


# ---- delete -------------------------------------------------------------------------------------

async def confirm_delete(request: Request, page: KindPage, owner: str, name: str) -> Response:
    async with viewing(request) as context:
        obj = await _stored(context, page, owner, name)
        return render(request, "confirm_delete.html", what=f"{page.kind.singular} {owner}/{name}", obj=obj,
                      action=object_path(page, owner, name) + "/delete", back=object_path(page, owner, name),
                      active=page.kind.plural)


async def delete_object(request: Request, page: KindPage, owner: str, name: str) -> Response:
    form = await read_form(request)
    async with acting(request, f"delete-{page.kind.singular}", form) as context:
        if not await ObjectService(context, page.kind).delete({"owner": owner, page.kind.key_field: name}):
            raise NotFound(f"{page.kind.singular} {owner}/{name} does not exist")
    return redirect(f"/console/{page.kind.plural}", notice="deleted")


@router.get("/console/kinds")
async def all_kinds(request: Request) -> Response:
    """Every kind with a page, for the navigation's "All kinds"."""
    async with viewing(request) as context:
        context.require_login()
        return render(request, "objects/kinds.html", pages=list(PAGES.values()), active="kinds")


# ---- routes, one set per kind -------------------------------------------------------------------

Handler = Callable[..., Awaitable[Response]]


def _bind(handler: Handler, page: KindPage, with_id: bool) -> Handler:
    if with_id:
        async def with_object(request: Request, owner: str, name: str) -> Response:
            return await handler(request, page, owner, name)
        return with_object

    async def without_object(request: Request) -> Response:
        return await handler(request, page)
    return without_object


for _page in PAGES.values():
    _base = f"/console/{_page.kind.plural}"
    for _path, _method, _handler, _with_id in (
        ("", "GET", list_objects, False),
        ("/new", "GET", new_object, False),
        ("/new", "POST", add_object, False),
        ("/{owner}/{name}", "GET", edit_object, True),
        ("/{owner}/{name}", "POST", update_object, True),
        ("/{owner}/{name}/delete", "GET", confirm_delete, True),
        ("/{owner}/{name}/delete", "POST", delete_object, True),
    ):
        router.add_api_route(_base + _path, _bind(_handler, _page, _with_id), methods=[_method])
    if _page.kind.uploadable:
        router.add_api_route(_base + "/upload", _bind(upload_objects, _page, False), methods=["POST"])

