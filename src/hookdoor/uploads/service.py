"""Imports from .xlsx files and resource files: who may upload, limits, and what each implies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.config import Settings
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Forbidden, HookdoorError
from hookdoor.events.recorder import record
from hookdoor.identity.registry import GLOBAL_OWNER, ResourceKind, kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.identity.service import ObjectService
from hookdoor.uploads.repository import LocalFileStore, safe_key
from hookdoor.uploads.schemas import (
    ImportReport,
    RowOutcome,
    casdoor_file_type,
    media_type,
    type_allowed,
)
from hookdoor.uploads.spreadsheet import SheetRow, read_rows

RESOURCES, USERS, ORGANIZATIONS = kind("resource"), kind("user"), kind("organization")
LOCAL_PROVIDER = "hookdoor-local-storage"  # the provider name resources stored here carry
FILES_PATH = "/files"
NAME_LENGTH = 100
SHOWN_REFUSALS = 5


class UploadRefused(BadRequest):
    """A file with a refused row imports nothing; the report says what each row would have done."""


class FileTooLarge(HookdoorError):
    status_code = 413


class TypeNotAllowed(HookdoorError):
    status_code = 415


class StorageFailed(HookdoorError):
    status_code = 507


def file_store(settings: Settings) -> LocalFileStore:
    return LocalFileStore(settings.data_dir / "resources")


def _require_administrator(context: ApiContext, organization: str, plural: str) -> None:
    principal = context.require_login()
    if not principal.manages(organization):
        raise Forbidden(f"only administrators of organization {organization!r} may upload {plural}")


# ---- .xlsx imports ------------------------------------------------------------------------------

class ImportService:
    def __init__(self, context: ApiContext, resource: ResourceKind) -> None:
        self.context = context
        self.kind = resource
        self.objects = ObjectService(context, resource)

    async def import_file(self, owner: str, filename: str, content: bytes) -> ImportReport:
        """Every row added, or none: a refused row refuses the file (the request's transaction
        is rolled back, the add- events with it). Rows naming an object that exists are skipped."""
        organization = owner or self.context.require_login().organization
        _require_administrator(self.context, organization, self.kind.plural)
        rows = read_rows(content, filename, self.kind.model, self.kind.singular)
        seen: dict[str, int] = {}
        outcomes = [await self._import_row(row, organization, seen) for row in rows]
        report = ImportReport(
            file=filename, rows=outcomes, created=sum(o.outcome == "created" for o in outcomes),
            skipped=sum(o.outcome == "skipped" for o in outcomes),
            refused=sum(o.outcome == "refused" for o in outcomes),
        )
        if report.refused:
            for outcome in report.rows:
                if outcome.outcome == "created":  # rolled back with the refused rows
                    outcome.outcome, outcome.reason = "accepted", "not imported: the file has refused rows"
            report.created = 0
        self.context.action.object = {"owner": organization, "name": filename, **report.model_dump(exclude={"rows"})}
        self.context.action.concerns(organization=organization)
        self._refuse_unless_complete(report)
        return report

    async def _import_row(self, row: SheetRow, organization: str, seen: dict[str, int]) -> RowOutcome:
        body = await self.kind.imported_defaults(self.context, {"owner": organization, **row.fields})
        object_id = f"{body.get('owner')}/{body.get('name', '')}"
        if row.problem:
            return RowOutcome(row=row.number, id=object_id, outcome="refused", reason=row.problem)
        if not body.get("name"):
            return RowOutcome(row=row.number, id=object_id, outcome="refused", reason="the name is empty")
        if object_id in seen:
            return RowOutcome(row=row.number, id=object_id, outcome="refused",
                              reason=f"row {seen[object_id]} already names this {self.kind.singular}")
        seen[object_id] = row.number
        if await self.objects.repository.exists(str(body["owner"]), str(body["name"])):
            return RowOutcome(row=row.number, id=object_id, outcome="skipped", reason="it exists already")
        try:
            await self.objects.add(body)
        except HookdoorError as refusal:
            return RowOutcome(row=row.number, id=object_id, outcome="refused", reason=refusal.message)
        await record(self.context.db, self.context.action.derived(f"add-{self.kind.singular}"), outcome="ok",
                     status_code=200)
        return RowOutcome(row=row.number, id=object_id, outcome="created")

    def _refuse_unless_complete(self, report: ImportReport) -> None:
        refused = [o for o in report.rows if o.outcome == "refused"]
        if refused:
            reasons = "; ".join(f"row {o.row} ({o.id}): {o.reason}" for o in refused[:SHOWN_REFUSALS])
            more = f"; and {len(refused) - SHOWN_REFUSALS} more" if len(refused) > SHOWN_REFUSALS else ""
            raise UploadRefused(f"{len(refused)} of {len(report.rows)} rows of {report.file!r} were refused, so "
                                f"nothing was imported: {reasons}{more}", data=report.model_dump())
        if not report.created:
            raise UploadRefused(f"{report.file!r} holds no new {self.kind.plural}: every row exists already"
                                if report.rows else f"{report.file!r} holds no {self.kind.plural}",
                                data=report.model_dump())


# ---- resource files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ResourceUpload:
    owner: str
    user: str
    application: str
    tag: str
    parent: str
    full_file_path: str
    created_time: str
    description: str


class ResourceService:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.store = file_store(context.settings)
        self.resources = ObjectRepository(context.db, RESOURCES)

    def _authorize(self, upload: ResourceUpload) -> None:
        """Administrators store files for their organization's users; a user stores their own."""
        principal = self.context.require_login()
        if not (principal.manages(upload.owner) or principal.is_user(upload.owner, upload.user)):
            raise Forbidden(f"you may not store files for user {upload.owner}/{upload.user}")

    def _check_file(self, filename: str, content: bytes) -> str:
        settings = self.context.settings
        if len(content) > settings.upload_max_bytes:
            raise FileTooLarge(f"file {filename!r} is {len(content)} bytes, more than the limit of "
                               f"{settings.upload_max_bytes} bytes (HOOKDOOR_UPLOAD_MAX_BYTES)")
        media = media_type(filename)
        if not type_allowed(media, settings.upload_allowed_types):
            raise TypeNotAllowed(f"file {filename!r} is of type {media}, which may not be stored here "
                                 "(HOOKDOOR_UPLOAD_ALLOWED_TYPES)")
        return media

    async def _free_name_and_key(self, upload: ResourceUpload, key: str) -> tuple[str, str]:
        """Casdoor's naming: an avatar replaces the last one; other files get "-1", "-2"... when
        the path is taken."""
        path = PurePosixPath(key)
        for attempt in range(1000):
            candidate = key if attempt == 0 else str(path.with_name(f"{path.stem}-{attempt}{path.suffix}"))
            name = _resource_name(candidate, upload.owner)
            if upload.tag == "avatar" or not await self.resources.exists(upload.owner, name):
                return name, candidate
        raise BadRequest(f"too many files named {key!r}")

    async def upload(self, upload: ResourceUpload, content: bytes, base_url: str) -> tuple[str, str]:
        """Store the file and its resource object; returns (the file's URL, the resource's name)."""
        if not upload.user or not upload.full_file_path:
            raise BadRequest(f"the user and fullFilePath parameters are required (user = {upload.user!r}, "
                             f"fullFilePath = {upload.full_file_path!r})")
        if not upload.owner:
            raise BadRequest("the owner parameter (an organization) is required")
        self._authorize(upload)
        if not await ObjectRepository(self.context.db, ORGANIZATIONS).exists(GLOBAL_OWNER, upload.owner):
            raise BadRequest(f"organization {upload.owner!r} does not exist")
        filename = PurePosixPath(upload.full_file_path.replace("\\", "/")).name
        media = self._check_file(filename, content)
        requested = safe_key(upload.owner, upload.user, upload.full_file_path.lstrip("/"))
        name, key = await self._free_name_and_key(upload, requested)
        url = f"{base_url.rstrip('/')}{FILES_PATH}/{key}"
        resource = self._resource(upload, name, key, url, filename, media, len(content))
        await self._save_object(resource)
        if upload.tag == "avatar":
            await ObjectService(self.context, USERS).update(upload.owner, upload.user, {"avatar": url}, ["avatar"])
        try:
            self.store.write(key, content)  # last: a refused call leaves no file behind
        except OSError as exc:
            raise StorageFailed(f"file {filename!r} could not be stored: {exc.strerror or exc}") from None
        self.context.action.concerns(obj=RESOURCES.mask(resource, may_manage=False), organization=upload.owner)
        return url, name

    def _resource(self, upload: ResourceUpload, name: str, key: str, url: str, filename: str, media: str,
                  size: int) -> dict[str, Any]:
        now = rfc3339(utcnow())
        return {
            "owner": upload.owner, "name": name, "createdTime": upload.created_time or now, "updatedTime": now,
            "user": upload.user, "provider": LOCAL_PROVIDER, "application": upload.application, "tag": upload.tag,
            "parent": upload.parent, "fileName": filename, "fileType": casdoor_file_type(media),
            "fileFormat": PurePosixPath(filename).suffix, "fileSize": size, "url": url,
            "description": upload.description, "objectKey": key,
        }

    async def _save_object(self, resource: dict[str, Any]) -> None:
        if await self.resources.exists(resource["owner"], resource["name"]):
            await self.resources.replace(resource["owner"], resource["name"], resource)
        else:
            await self.resources.insert(resource)


def _resource_name(key: str, owner: str) -> str:
    """A resource's name: its key without the organization, "/" written "_" (names hold no "/"),
    the end kept (where the file's name is) when too long."""
    name = key.removeprefix(f"{owner}/").replace("/", "_")
    return name[-NAME_LENGTH:]


async def resource_changed(context: ApiContext, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """What deleting a resource implies (declared with the kind): its file goes too."""
    if before is not None and after is None:
        await remove_resource_file(context, before)


async def remove_resource_file(context: ApiContext, resource: dict[str, Any]) -> None:
    """A resource's file goes, if this server stored it."""
    if resource.get("provider") == LOCAL_PROVIDER and resource.get("objectKey"):
        file_store(context.settings).delete(str(resource["objectKey"]))
