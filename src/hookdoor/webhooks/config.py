"""A webhook's configuration: Casdoor's fields plus Hookdoor's delivery settings, validated.

Everything that can be checked without the server's settings is checked here; the URL's target
policy (SSRF) and the signing secret are applied by :mod:`hookdoor.webhooks.service`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hookdoor.events.catalog import unknown_selectors
from hookdoor.identity.schemas import Webhook

HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Headers a webhook may not set itself: Hookdoor owns them (signing, framing).
RESERVED_HEADERS = frozenset(
    {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length", "host",
     "transfer-encoding", "connection"}
)
FILTER_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,5}$")
DEFAULT_EVENTS = ["signup", "login", "logout", "update-user"]


class WebhookHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    value: str = Field(default="", max_length=4096)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        if not HEADER_NAME.match(name):
            raise ValueError(f"the name {name!r} must be a token (letters, digits, - and _; no spaces or colons)")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name} is set by Hookdoor on every delivery and cannot be overridden")
        return name

    @field_validator("value")
    @classmethod
    def _single_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError("the value must be one line (no CR, LF or NUL)")
        return value


class WebhookConfig(Webhook):
    """The stored webhook. Unknown fields round-trip, like every Casdoor object."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    url: str = Field(default="", max_length=2048)
    method: Literal["POST", "GET", "PUT", "PATCH", "DELETE"] = "POST"
    contentType: Literal["application/json", "application/x-www-form-urlencoded"] = "application/json"
    headers: list[WebhookHeader] | None = None  # type: ignore[assignment]
    events: list[str] | None = None
    tokenFields: list[str] | None = None
    objectFields: list[str] | None = None
    isUserExtended: bool = False
    singleOrgOnly: bool = False
    isEnabled: bool = True
    maxRetries: int = Field(default=0, ge=0, le=50, description="Casdoor retry policy when > 0")
    retryInterval: int = Field(default=60, ge=0, le=86400, description="seconds; 0 means the default, 60")
    useExponentialBackoff: bool = False

    payloadFormat: Literal["hookdoor", "casdoor", "cloudevents"] = "hookdoor"
    timeoutSeconds: float = Field(default=15, ge=1, le=60)
    rateLimit: float = Field(default=0, ge=0, le=10000, description="Requests per second; 0 = unlimited")
    maxConcurrency: int = Field(default=10, ge=1, le=1000)
    ordered: bool = False
    filter: dict[str, str | int | float | bool | None] | None = None
    includeFailures: bool = False
    signingSecret: str = ""
    previousSigningSecret: str = ""
    previousSecretExpiresAt: str = ""
    disabledReason: str = ""

    @field_validator("url")
    @classmethod
    def _url_given(cls, url: str) -> str:
        if not url.strip():
            raise ValueError("is required")
        return url.strip()

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, method: Any) -> Any:
        # Casdoor's SDK sends "" for an unset method: that means the default.
        return (method.upper() or "POST") if isinstance(method, str) else method

    @field_validator("contentType", mode="before")
    @classmethod
    def _default_content_type(cls, content_type: Any) -> Any:
        return content_type or "application/json"

    @field_validator("events")
    @classmethod
    def _known_events(cls, events: list[str] | None) -> list[str] | None:
        if events and (unknown := unknown_selectors(events)):
            noun = "unknown event" if len(unknown) == 1 else "unknown events"
            raise ValueError(f"{noun}: {', '.join(unknown)} (see 'hookdoor events list' or GET /api/get-event-types)")
        return events

    @field_validator("filter")
    @classmethod
    def _filter_paths(cls, filters: dict[str, Any] | None) -> dict[str, Any] | None:
        for path in filters or {}:
            if not FILTER_PATH.match(path):
                raise ValueError(f"filter key {path!r} must be a dotted field path such as 'object.type'")
        return filters

    def header_pairs(self) -> list[tuple[str, str]]:
        return [(h.name, h.value) for h in self.headers or []]
