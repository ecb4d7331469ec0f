"""What the impersonation events carry as their object."""

from __future__ import annotations

from pydantic import BaseModel


class Impersonation(BaseModel):
    impersonator: str  # owner/name of the global administrator
    impersonated: str  # owner/name of the user they act as
