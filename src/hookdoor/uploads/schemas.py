"""What an import reports, and which files may be stored."""

from __future__ import annotations

import fnmatch
import mimetypes
from typing import Literal

from pydantic import BaseModel

# The MIME types a resource may have, judged from its file name's extension (a client's
# Content-Type is not trusted): HOOKDOOR_UPLOAD_ALLOWED_TYPES, comma-separated patterns.
DEFAULT_ALLOWED_TYPES = (
    "image/png,image/jpeg,image/gif,image/webp,image/x-icon,image/vnd.microsoft.icon,video/*,audio/*,"
    "application/pdf,text/plain,text/csv,text/markdown,application/json,application/zip,"
    "application/vnd.openxmlformats-officedocument.*"
)
# Shown in the browser as themselves; anything else is served as a download, so that an uploaded
# HTML or SVG file cannot run script in this server's origin.
SHOWN_INLINE = ("image/png", "image/jpeg", "image/gif", "image/webp", "video/*", "audio/*", "application/pdf",
                "text/plain")
UNKNOWN_TYPE = "application/octet-stream"


class RowOutcome(BaseModel):
    row: int
    id: str
    # "accepted": valid, but not imported because another row of the file was refused.
    outcome: Literal["created", "accepted", "skipped", "refused"]
    reason: str = ""


class ImportReport(BaseModel):
    file: str
    created: int
    skipped: int
    refused: int
    rows: list[RowOutcome]


def media_type(filename: str) -> str:
    guessed, _encoding = mimetypes.guess_type(filename, strict=False)
    return guessed or UNKNOWN_TYPE


def type_allowed(media: str, allowed: str) -> bool:
    return any(fnmatch.fnmatchcase(media, pattern.strip()) for pattern in allowed.split(",") if pattern.strip())


def shown_inline(media: str) -> bool:
    return any(fnmatch.fnmatchcase(media, pattern) for pattern in SHOWN_INLINE)


def casdoor_file_type(media: str) -> str:
    """Casdoor's Resource.fileType: the MIME type's first half ("image", "video", "application")."""
    return media.split("/", 1)[0] if media != UNKNOWN_TYPE else "unknown"
