"""Casdoor's upload routes (upload-users, -groups, -roles, -permissions from the registry's
``uploadable`` kinds; upload-resource) and the stored files, served at /files/<key>."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from hookdoor.api.context import ApiContext, api_context
from hookdoor.api.envelope import ok
from hookdoor.errors import BadRequest, NotFound
from hookdoor.events.recorder import remember_form
from hookdoor.identity.registry import KINDS, ResourceKind
from hookdoor.uploads.schemas import media_type, shown_inline
from hookdoor.uploads.service import FILES_PATH, ImportService, ResourceService, ResourceUpload, file_store

router = APIRouter(prefix="/api", tags=["uploads"])
files_router = APIRouter(tags=["uploads"])
Context = Depends(api_context, scope="function")
FILE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}},
}}}}}


async def uploaded_file(request: Request) -> tuple[str, bytes]:
    """The multipart body's "file" part: its name and content (the other fields are recorded)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("the file must be sent as multipart/form-data, in a part named 'file'")
    form = await request.form(max_files=1, max_fields=50)
    remember_form(request, {key: value for key, value in form.items() if isinstance(value, str)})
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("the multipart body has no part named 'file'")
    return upload.filename or "upload", await upload.read()


def _import_route(resource: ResourceKind):  # type: ignore[no-untyped-def]
    async def upload_objects(
        context: ApiContext = Context,
        owner: str = Query("", max_length=100, description="The organization; default the caller's"),
    ) -> dict[str, Any]:
        filename, content = await uploaded_file(context.request)
        report = await ImportService(context, resource).import_file(owner, filename, content)
        return ok(report.model_dump())

    upload_objects.__name__ = f"upload_{resource.plural}"
    return upload_objects


for _kind in KINDS:
    if _kind.uploadable:
        router.add_api_route(f"/upload-{_kind.plural}", _import_route(_kind), methods=["POST"],
                             tags=[_kind.plural], openapi_extra=FILE_BODY)


@router.post("/upload-resource", tags=["resources"], openapi_extra=FILE_BODY)
async def upload_resource(
    context: ApiContext = Context,
    owner: str = Query("", max_length=100), user: str = Query("", max_length=100),
    application: str = Query("", max_length=100), tag: str = Query("", max_length=100),
    parent: str = Query("", max_length=100), fullFilePath: str = Query("", max_length=450),
    createdTime: str = Query("", max_length=40), description: str = Query("", max_length=1000),
) -> dict[str, Any]:
    """Data: the file's URL; data2: the resource's name (what delete-resource takes)."""
    _filename, content = await uploaded_file(context.request)
    upload = ResourceUpload(owner, user, application, tag, parent, fullFilePath, createdTime, description)
    base_url = context.settings.public_url or str(context.request.base_url)
    url, name = await ResourceService(context).upload(upload, content, base_url)
    return ok(url, name)


@files_router.get(f"{FILES_PATH}/{{key:path}}", include_in_schema=False)
async def stored_file(request: Request, key: str) -> FileResponse:
    """A stored resource file, to anyone who has its URL (as Casdoor serves its local storage).
    Types that could run script here (HTML, SVG...) are sent as downloads, never sniffed."""
    path = file_store(request.app.state.settings).file(key)
    if path is None:
        raise NotFound(f"no file {key!r}")
    media = media_type(path.name)
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}
    disposition = "inline" if shown_inline(media) else "attachment"
    return FileResponse(path, media_type=media, headers=headers, content_disposition_type=disposition)
