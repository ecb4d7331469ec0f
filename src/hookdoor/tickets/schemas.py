"""What a ticket is (Casdoor's object/ticket.go): a question filed by a member, its state, its thread."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from hookdoor.identity.schemas import CasdoorObject

OPEN, IN_PROGRESS, RESOLVED, CLOSED = "Open", "In Progress", "Resolved", "Closed"
STATES = (OPEN, IN_PROGRESS, RESOLVED, CLOSED)
MESSAGE_LENGTH = 10_000
MAX_MESSAGES = 1_000  # a thread is kept in the ticket's document


class Ticket(CasdoorObject):
    user: str = Field(default="", max_length=201)  # owner/name of the member who filed it
    title: str = Field(default="", max_length=200)
    content: str = Field(default="", max_length=100_000)
    state: str = ""
    messages: list[dict[str, Any]] | None = None

    @field_validator("state")
    @classmethod
    def _known_state(cls, state: str) -> str:
        if state and state not in STATES:
            raise ValueError(f"must be one of {', '.join(map(repr, STATES))}")
        return state
