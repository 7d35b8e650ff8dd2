"""The way back to the person who wrote a ticket: ``ticket_contacts`` (DDL in ``bot.handoff.schema``).

One row per ticket at most: ``kind`` "sms" with ``secret`` the phone number sealed by ``bot.sealing`` (the SMS
channel's sender, or a call-back number the person typed). The row is written in the ticket's transaction, or later
by a follow-up turn when the ticket has none yet, and is deleted with the ticket. A signed-in widget conversation
(``web:<portal sub>``) needs no row: the staff reply goes to that conversation (``bot.handoff.replies``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.handoff.models import CONTACT_KINDS
from bot.rasa_server.channels.identity import WEB_SIGNED_IN

if TYPE_CHECKING:
    from bot.handoff.store import Cursor, HandoffStore

Contact = tuple[str, str]  # (kind, sealed secret)


@dataclass(frozen=True)
class StoredContact:
    kind: str
    secret: str


def check_contact(contact: Contact | None) -> Contact | None:
    """The contact if well-formed; ValueError otherwise."""
    if contact is None:
        return None
    kind, secret = contact
    if kind not in CONTACT_KINDS or not isinstance(secret, str) or not secret.strip():
        raise ValueError(f"contact must be (kind, sealed value) with kind one of {CONTACT_KINDS}")
    return kind, secret


def insert_contact(c: Cursor, ticket_id: str, contact: Contact, at: datetime) -> bool:
    """Add the ticket's contact unless it has one; True when added."""
    kind, secret = contact
    return bool(
        c.run(
            "INSERT INTO ticket_contacts (ticket_id, kind, secret, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (ticket_id) DO NOTHING",
            (ticket_id, kind, secret, at),
        )
    )


def contact_of(store: HandoffStore, ticket_id: str) -> StoredContact | None:
    with store._tx(write=False) as c:
        rows = c.rows("SELECT kind, secret FROM ticket_contacts WHERE ticket_id = ?", (ticket_id,))
    return StoredContact(str(rows[0][0]), str(rows[0][1])) if rows else None


def reply_channel(contact_kind: str | None, conversation_id: str) -> str | None:
    """How a staff reply reaches the person: by SMS to the sealed number, in the signed-in chat, or not at all."""
    if contact_kind == "sms":
        return "sms"
    if contact_kind == "web" or conversation_id.startswith(WEB_SIGNED_IN):
        return "web"
    return None


def contact_kinds(c: Cursor, ticket_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT ticket_id, kind FROM ticket_contacts WHERE ticket_id IN ({marks})"  # nosec B608  # marks
        for ticket_id, kind in c.rows(sql, chunk):
            found[str(ticket_id)] = str(kind)
    return found
