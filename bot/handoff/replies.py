"""Staff replies to the person: ``ticket_replies`` (DDL in ``bot.handoff.schema``), deleted with their ticket.

Every reply is kept, sent or not: an SMS reply is "sent" (with Twilio's message sid) or "failed" (with the error
code); a reply to a signed-in widget conversation is "delivered-to-widget" and the widget marks it read
(``read_at``). ``attach`` gives tickets their ``reply_channel`` and ``replies`` for the ticket JSON.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.handoff.contacts import contact_kinds, reply_channel
from bot.handoff.models import REPLY_STATUSES, Ticket, TicketReply
from bot.handoff.store import Cursor, HandoffStore, as_utc, opt_utc

REPLY_COLS = "id, ticket_id, channel, staff, text, status, provider_id, error, created_at, read_at"
WIDGET_LIMIT = 200  # the newest replies a widget is shown


def _reply(row: Sequence[Any]) -> TicketReply:
    return TicketReply(
        id=row[0],
        ticket_id=row[1],
        channel=row[2],
        staff=row[3],
        text=row[4],
        status=row[5],
        provider_id=row[6],
        error=row[7],
        created_at=as_utc(row[8]),
        read_at=opt_utc(row[9]),
    )


def add_reply(
    store: HandoffStore,
    ticket: Ticket,
    *,
    channel: str,
    staff: str,
    text: str,
    status: str,
    provider_id: str | None = None,
    error: str | None = None,
) -> TicketReply:
    """Record one reply (bumps the ticket's updated_at, so the retention clock restarts)."""
    if status not in REPLY_STATUSES:
        raise ValueError(f"reply status must be one of {REPLY_STATUSES}")
    reply = TicketReply(
        id=secrets.token_urlsafe(12),
        ticket_id=ticket.id,
        channel=channel,
        staff=staff,
        text=text,
        status=status,
        created_at=store.clock(),
        provider_id=provider_id,
        error=(error or "")[:200] or None,
    )
    with store._tx() as c:
        c.run(
            f"INSERT INTO ticket_replies (conversation_id, {REPLY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # nosec B608  # fixed columns
            (
                ticket.conversation_id,
                reply.id,
                reply.ticket_id,
                reply.channel,
                reply.staff,
                reply.text,
                reply.status,
                reply.provider_id,
                reply.error,
                reply.created_at,
                None,
            ),
        )
        c.run(
            "UPDATE handoff_tickets SET updated_at = ? WHERE id = ? AND updated_at < ?",
            (reply.created_at, ticket.id, reply.created_at),
        )
    return reply


def attach(c: Cursor, tickets: list[Ticket]) -> list[Ticket]:
    """The tickets with their reply channel and replies (oldest first)."""
    if not tickets:
        return tickets
    ids = [t.id for t in tickets]
    kinds = contact_kinds(c, ids)
    by_id: dict[str, list[TicketReply]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        where = f"WHERE ticket_id IN ({marks}) ORDER BY created_at, id"
        for row in c.rows(f"SELECT {REPLY_COLS} FROM ticket_replies {where}", chunk):  # nosec B608  # constants
            by_id[row[1]].append(_reply(row))
    return [
        replace(t, reply_channel=reply_channel(kinds.get(t.id), t.conversation_id), replies=by_id[t.id])
        for t in tickets
    ]


def widget_replies(store: HandoffStore, conversation_id: str, limit: int = WIDGET_LIMIT) -> list[TicketReply]:
    """The care team's replies a signed-in person's widget shows, oldest first."""
    with store._tx(write=False) as c:
        rows = c.rows(
            f"SELECT {REPLY_COLS} FROM ticket_replies WHERE conversation_id = ? AND channel = 'web' "  # nosec B608  # fixed columns
            "AND status = 'delivered-to-widget' ORDER BY created_at DESC, id DESC LIMIT ?",
            (conversation_id, int(limit)),
        )
    return [_reply(r) for r in reversed(rows)]


def mark_read(store: HandoffStore, conversation_id: str, ids: Sequence[str] | None = None) -> int:
    """Mark the conversation's unread widget replies read (only `ids`, when given); returns how many."""
    now = store.clock()
    sql = "UPDATE ticket_replies SET read_at = ? WHERE conversation_id = ? AND channel = 'web' AND read_at IS NULL"
    params: list[Any] = [now, conversation_id]
    if ids is not None:
        if not ids:
            return 0
        sql += f" AND id IN ({', '.join('?' * len(ids))})"
        params += list(ids)
    with store._tx() as c:
        return c.run(sql, params)
