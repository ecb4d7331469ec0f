"""Tickets: what saving one implies, and add-ticket-message.

A ticket is filed by a member of its organization (the registry's ``filed_by``: the server writes
the caller into ``user``, and the member reads and edits only their own); its administrators
manage every ticket. As in Casdoor, the member may change their ticket's state only to Closed
(so they cannot reopen it), administrators to any state, and a message changes no state. The
thread (``messages``) is written by add-ticket-message alone: the reporter and the organization's
administrators add to it, each message signed by the server with its author, and nobody rewrites it
through update-ticket.
"""

from __future__ import annotations

from typing import Any

from hookdoor.api.context import ApiContext
from hookdoor.db.types import rfc3339, utcnow
from hookdoor.errors import BadRequest, Conflict, Forbidden
from hookdoor.identity.registry import kind
from hookdoor.identity.repository import ObjectRepository
from hookdoor.identity.service import parse_id
from hookdoor.tickets.schemas import CLOSED, MAX_MESSAGES, MESSAGE_LENGTH, OPEN
from hookdoor.verification.schemas import text_field

TICKETS = kind("ticket")


# ---- what saving a ticket implies (declared with the kind in identity/registry.py) ----------------

async def check_new_ticket(context: ApiContext, data: dict[str, Any]) -> dict[str, Any]:
    if not context.principal.manages(TICKETS.organization_of(data)) and data.get("state") not in ("", OPEN):
        raise Forbidden(f"invalid field state: a ticket is filed {OPEN}; its administrators move it on")
    data["state"] = data.get("state") or OPEN
    data["messages"] = []
    return {}


async def check_updated_ticket(context: ApiContext, current: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The thread as committed (locked until this change commits: a message added meanwhile stays),
    and Casdoor's rule for members: their own ticket's state may only become Closed."""
    stored = await ObjectRepository(context.db, TICKETS).get_for_update(current["owner"], current["name"]) or current
    data["messages"] = list(stored.get("messages") or [])
    data["state"] = data.get("state") or stored.get("state") or OPEN
    if not context.principal.manages(TICKETS.organization_of(current)) and data["state"] not in (
            stored.get("state"), CLOSED):
        raise Forbidden(f"invalid field state: you may only close your ticket (it is {stored.get('state')!r}); "
                        "its administrators change its state otherwise")
    return {}


# ---- add-ticket-message --------------------------------------------------------------------------

class Tickets:
    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.tickets = ObjectRepository(context.db, TICKETS)

    async def add_message(self, ticket_id: str, body: dict[str, Any]) -> dict[str, Any]:
        owner, name = parse_id(ticket_id)
        principal = self.context.require_login()
        self.context.action.concerns(organization=owner)
        if principal.kind != "user":
            raise Forbidden("a ticket's messages are written by signed-in users: the reporter and its administrators")
        ticket = await self.tickets.get_for_update(owner, name)
        is_admin = principal.manages(owner)
        if ticket is None or not (is_admin or ticket.get(TICKETS.filed_by) == principal.ref):
            # The same answer whether it exists or not: no one learns of others' tickets.
            raise Forbidden(f"you may not add messages to ticket {owner}/{name}: only its reporter and the "
                            f"administrators of organization {owner!r} may")
        message = {"author": principal.ref, "text": self._text(body), "timestamp": rfc3339(utcnow()),
                   "isAdmin": is_admin}
        messages = list(ticket.get("messages") or [])
        if len(messages) >= MAX_MESSAGES:
            raise Conflict(f"ticket {owner}/{name} has {MAX_MESSAGES} messages, as many as a ticket holds")
        updated = {**ticket, "messages": [*messages, message], "updatedTime": message["timestamp"]}
        await self.tickets.replace(owner, name, updated)
        self.context.action.concerns(obj={"ticket": f"{owner}/{name}", "state": ticket.get("state"),
                                          "user": ticket.get(TICKETS.filed_by), "message": message})
        return message

    @staticmethod
    def _text(body: dict[str, Any]) -> str:
        text = text_field(body, "text", max_length=MESSAGE_LENGTH)
        if not text:
            raise BadRequest("invalid field text: the message is empty")
        return text
