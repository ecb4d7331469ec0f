"""The local-filesystem storage provider: resource files under ``<data folder>/resources``.

A key is a relative POSIX path made of plain segments; one that is absolute, climbs with "..",
or whose resolved path leaves the root (a symbolic link) is refused, so no key reaches a file
outside the folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from hookdoor.errors import BadRequest

SEGMENT = re.compile(r"^[^\x00-\x1f/\\:*?\"<>|]{1,200}$")
MAX_KEY_LENGTH = 450  # Casdoor's limit on a resource's path


def safe_key(*parts: str) -> str:
    """The storage key of ``parts`` joined by "/", each checked segment by segment."""
    segments: list[str] = []
    for part in parts:
        path = PurePosixPath(part.replace("\\", "/"))
        if path.is_absolute():
            raise BadRequest(f"invalid path {part!r}: it must be relative")
        for segment in path.parts:
            if segment in (".", "..") or not SEGMENT.match(segment) or segment != segment.strip():
                raise BadRequest(f"invalid path {part!r}: segment {segment!r} is not allowed")
            segments.append(segment)
    key = "/".join(segments)
    if not segments or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(f"invalid path: it must have 1 to {MAX_KEY_LENGTH} characters")
    return key


class LocalFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        root = self.root.resolve()
        path = (root / safe_key(key)).resolve()
        if not path.is_relative_to(root):
            raise BadRequest(f"invalid path {key!r}: it leaves the storage folder")
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def write(self, key: str, content: bytes) -> None:
        """Written to a temporary name first, then renamed: a reader never sees half a file."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(content)
        os.replace(partial, path)

    def file(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def delete(self, key: str) -> bool:
        path = self._path(key)
        if not path.is_file():
            return False
        path.unlink()
        return True
