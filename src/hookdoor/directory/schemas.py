"""Parameters and answer shapes of the directory's routes."""

from __future__ import annotations

import re

from pydantic import BaseModel

from hookdoor.errors import BadRequest

# Casdoor's get-sorted-users names a database column ("created_time"); Hookdoor's fields are
# the objects' JSON names ("createdTime"), and both spellings are accepted.
SNAKE = re.compile(r"_([a-z0-9])")


def field_of_column(column: str) -> str:
    return SNAKE.sub(lambda match: match.group(1).upper(), column)


def online_filter(is_online: str) -> bool | None:
    """get-user-count's isOnline: "" for every user, "1" online, "0" offline."""
    if is_online == "":
        return None
    if is_online not in ("0", "1"):
        raise BadRequest(f"invalid parameter isOnline: must be '', '0' or '1', got {is_online!r}")
    return is_online == "1"


class OrganizationName(BaseModel):
    """get-organization-names answers Casdoor organizations with only these fields filled."""

    owner: str
    name: str
    displayName: str
