"""Ticket records, their states and the store errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bot.constants import URGENCIES as URGENCIES  # re-exported: the store and tests import it here

STATUSES = ("open", "claimed", "resolved")
# Status filters for list_tickets besides the plain statuses: "active" = open or claimed.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    **{s: (s,) for s in STATUSES},
    "active": ("open", "claimed"),
}
ROLES = ("user", "bot")
CONTACT_KINDS = ("sms", "web")
# sent: Twilio accepted the SMS; failed: it did not (the error says why); delivered-to-widget: posted to the
# signed-in person's chat (read_at is set once the widget showed it).
REPLY_STATUSES = ("sent", "failed", "delivered-to-widget")
MAX_STAFF_NAME = 100

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class HandoffError(Exception):
    """Base class for handoff store errors."""


class TicketNotFound(HandoffError, LookupError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"no ticket with id {ticket_id!r}")
        self.ticket_id = ticket_id


class InvalidTransition(HandoffError, ValueError):
    """The ticket's status does not allow that change (e.g. resolving a resolved ticket)."""


class StoreUnavailable(HandoffError):
    """The database could not be reached (PostgreSQL down)."""


@dataclass(frozen=True)
class FollowUp:
    text: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class TicketReply:
    """A staff reply to the person (bot.handoff.contacts): sent by SMS, or posted to the signed-in widget."""

    id: str
    ticket_id: str
    channel: str  # "sms" | "web"
    staff: str  # the account's username
    text: str
    status: str  # REPLY_STATUSES
    created_at: datetime
    provider_id: str | None = None  # Twilio's message sid
    error: str | None = None  # Twilio's error code, or a short cause
    read_at: datetime | None = None  # widget replies: when the person saw it

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "channel": self.channel,
            "staff": self.staff,
            "text": self.text,
            "status": self.status,
            "provider_id": self.provider_id,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "read_at": self.read_at.isoformat() if self.read_at else None,
        }


@dataclass(frozen=True)
class Ticket:
    id: str
    conversation_id: str
    channel: str
    urgency: str
    reason: str
    message: str
    transcript: list[dict[str, str]]
    status: str
    created_at: datetime
    updated_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    follow_ups: list[FollowUp] = field(default_factory=list)
    reply_channel: str | None = None  # how a staff reply reaches the person: "sms", "web" or None (no way back)
    replies: list[TicketReply] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (timestamps as ISO 8601 UTC)."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "urgency": self.urgency,
            "reason": self.reason,
            "message": self.message,
            "transcript": [dict(turn) for turn in self.transcript],
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "claimed_by": self.claimed_by,
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "follow_ups": [f.to_dict() for f in self.follow_ups],
            "reply_channel": self.reply_channel,
            "replies": [r.to_dict() for r in self.replies],
        }


@dataclass(frozen=True)
class OutboxItem:
    """A claimed (leased) staff notification, with the ticket fields the summary may show."""

    id: str
    ticket_id: str
    attempts: int
    lease_token: str
    urgency: str
    reason: str
    channel: str
