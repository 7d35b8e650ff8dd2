"""The staff inbox's queries: a filtered, paged ticket list with true counts, a ticket's detail, notes, reassigning.

The list puts what needs action first: open before claimed (then resolved), emergency before urgent before routine,
then the oldest first. Within one urgency, oldest first is also nearest deadline first (a later ticket never has an
earlier target, bot/handoff/targets.py), so the ticket that has waited longest against its target leads. Pages are
cut by a cursor on that order (keyset paging: no page is skipped or repeated when new tickets arrive), and the
counts are COUNT queries over the whole filter, never the page's length. List summaries carry no message text.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.handoff.models import MAX_STAFF_NAME, STATUS_FILTERS, STATUSES, URGENCIES, InvalidTransition, Ticket
from bot.handoff.store import Cursor, HandoffStore, as_utc, opt_utc
from bot.handoff.targets import target_for, timing

if TYPE_CHECKING:
    from bot.settings import Settings

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_NOTE = 4000
MAX_HOURS = 24 * 3660
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CHANNEL = re.compile(r"^[a-z0-9_-]{1,32}$")
_STATUS_RANK = "CASE t.status WHEN 'open' THEN 0 WHEN 'claimed' THEN 1 ELSE 2 END"
_URGENCY_RANK = "CASE t.urgency " + " ".join(f"WHEN '{u}' THEN {i}" for i, u in enumerate(URGENCIES)) + " ELSE 3 END"
# The first staff action: the claim, or the first note or reply (correlated, so only for the rows selected).
FIRST_NOTE = "(SELECT MIN(n.created_at) FROM ticket_notes n WHERE n.ticket_id = t.id) AS first_note"
FIRST_REPLY = "(SELECT MIN(r.created_at) FROM ticket_replies r WHERE r.ticket_id = t.id) AS first_reply"
_SUMMARY_COLS = (
    "t.id, t.urgency, t.status, t.channel, t.reason, t.created_at, t.updated_at, t.claimed_by, t.claimed_at, "
    f"t.resolved_at, {FIRST_NOTE}, {FIRST_REPLY}, c.kind"
)


class UnknownStaff(ValueError):
    """Reassigning to someone without an active staff account."""


@dataclass(frozen=True)
class Filters:
    """What the list shows. assigned: None (anyone), "unassigned" or a username (the route turns "me" into one)."""

    status: str | None = "open"  # a STATUS_FILTERS key, or None for all
    urgencies: tuple[str, ...] = ()
    channel: str | None = None
    older_than_hours: float | None = None
    newer_than_hours: float | None = None
    assigned: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUS_FILTERS:
            raise ValueError(f"status must be one of: {', '.join([*STATUS_FILTERS, 'all'])}")
        for urgency in self.urgencies:
            if urgency not in URGENCIES:
                raise ValueError(f"urgency must be one of: {', '.join(URGENCIES)}")
        if self.channel is not None and not _CHANNEL.match(self.channel):
            raise ValueError("channel must be a channel name such as rest, web or sms")
        for hours in (self.older_than_hours, self.newer_than_hours):
            if hours is not None and not 0 <= hours <= MAX_HOURS:
                raise ValueError(f"older_than and newer_than are hours from 0 to {MAX_HOURS}")
        if self.assigned is not None and not 0 < len(self.assigned) <= MAX_STAFF_NAME:
            raise ValueError(f"assigned must be 1-{MAX_STAFF_NAME} characters")

    def where(self, now: datetime) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.status is not None:
            wanted = STATUS_FILTERS[self.status]
            clauses.append(f"t.status IN ({', '.join('?' * len(wanted))})")
            params += wanted
        if self.urgencies:
            clauses.append(f"t.urgency IN ({', '.join('?' * len(self.urgencies))})")
            params += self.urgencies
        if self.channel is not None:
            clauses.append("t.channel = ?")
            params.append(self.channel)
        if self.older_than_hours is not None:
            clauses.append("t.created_at < ?")
            params.append(now - timedelta(hours=self.older_than_hours))
        if self.newer_than_hours is not None:
            clauses.append("t.created_at >= ?")
            params.append(now - timedelta(hours=self.newer_than_hours))
        if self.assigned == "unassigned":
            clauses.append("t.claimed_by IS NULL")
        elif self.assigned is not None:
            clauses.append("t.claimed_by = ?")
            params.append(self.assigned)
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


@dataclass(frozen=True)
class Page:
    tickets: list[dict[str, Any]]
    next_cursor: str | None
    counts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"tickets": self.tickets, "next_cursor": self.next_cursor, "counts": self.counts}


def encode_cursor(key: tuple[int, int, datetime, str]) -> str:
    status_rank, urgency_rank, created_at, ticket_id = key
    raw = json.dumps([status_rank, urgency_rank, created_at.isoformat(), ticket_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int, datetime, str]:
    """The list position a cursor stands for; ValueError for anything this module did not make."""
    problem = ValueError("cursor is not valid: use the next_cursor of a previous page")
    if not isinstance(cursor, str) or len(cursor) > 300:
        raise problem
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        status_rank, urgency_rank, created, ticket_id = data
        created_at = as_utc(datetime.fromisoformat(created))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise problem from None
    ranks_ok = all(type(r) is int and 0 <= r <= 3 for r in (status_rank, urgency_rank))
    if not ranks_ok or not isinstance(ticket_id, str) or not _SAFE_ID.match(ticket_id):
        raise problem
    return status_rank, urgency_rank, created_at, ticket_id


def first_action(claimed_at: Any, first_note: Any, first_reply: Any) -> datetime | None:
    """The earliest of the claim, the first note and the first reply (None: no staff action yet)."""
    times = [as_utc(t) for t in (claimed_at, first_note, first_reply) if t is not None]
    return min(times) if times else None


def _timing_fields(
    urgency: str, created_at: datetime, acted: datetime | None, resolved: datetime | None, now: datetime, s: Settings
) -> dict[str, Any]:
    t = timing(urgency, created_at, now, s, first_action_at=acted, resolved_at=resolved)
    return {
        "first_action_at": acted.isoformat() if acted else None,
        "waited_seconds": t.waited_seconds,
        "target_seconds": t.target_seconds,
        "target": target_for(urgency, s).label,
        "due_at": t.due_at.isoformat(),
        "overdue": t.overdue,
    }


def _summary(row: tuple[Any, ...], now: datetime, settings: Settings) -> dict[str, Any]:
    tid, urgency, status, channel, reason, created, updated, claimed_by, claimed, resolved, note, reply, kind = row
    created_at, claimed_at, resolved_at = as_utc(created), opt_utc(claimed), opt_utc(resolved)
    return {
        "id": tid,
        "urgency": urgency,
        "status": status,
        "channel": channel,
        "reason": reason,
        "created_at": created_at.isoformat(),
        "updated_at": as_utc(updated).isoformat(),
        "claimed_by": claimed_by,
        "claimed_at": claimed_at.isoformat() if claimed_at else None,
        "resolved_at": resolved_at.isoformat() if resolved_at else None,
        "reply_channel": kind,
        **_timing_fields(urgency, created_at, first_action(claimed, note, reply), resolved_at, now, settings),
    }


def counts(c: Cursor, where: str, params: list[Any]) -> dict[str, Any]:
    rows = c.rows(
        f"SELECT t.status, t.urgency, COUNT(*) FROM handoff_tickets t {where} GROUP BY t.status, t.urgency",  # nosec B608  # Filters.where: fixed clauses, values bound
        params,
    )
    by_urgency = dict.fromkeys(URGENCIES, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    for status, urgency, n in rows:
        by_status[status] = by_status.get(status, 0) + int(n)
        by_urgency[urgency] = by_urgency.get(urgency, 0) + int(n)
    return {"total": sum(by_status.values()), "by_urgency": by_urgency, "by_status": by_status}


def list_page(
    store: HandoffStore, settings: Settings, filters: Filters, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page:
    """One page of ticket summaries in action order, the cursor of the next page (None: last) and true counts."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {MAX_LIMIT}")
    now = store.clock()
    where, params = filters.where(now)
    after, after_params = "", []
    if cursor:
        after, after_params = "WHERE (q.sr, q.ur, q.created_at, q.id) > (?, ?, ?, ?)", list(decode_cursor(cursor))
    sql = (
        f"SELECT q.* FROM (SELECT {_SUMMARY_COLS}, {_STATUS_RANK} AS sr, {_URGENCY_RANK} AS ur "  # nosec B608  # fixed SQL
        f"FROM handoff_tickets t LEFT JOIN ticket_contacts c ON c.ticket_id = t.id {where}) q "
        f"{after} ORDER BY q.sr, q.ur, q.created_at, q.id LIMIT ?"
    )
    with store._tx(write=False) as c:
        rows = c.rows(sql, [*params, *after_params, limit + 1])
        totals = counts(c, where, params)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor((int(last[13]), int(last[14]), as_utc(last[5]), str(last[0])))
    return Page([_summary(r[:13], now, settings) for r in rows], next_cursor, totals)


def _notes(c: Cursor, ticket_id: str) -> list[dict[str, Any]]:
    rows = c.rows(
        "SELECT id, staff, text, created_at FROM ticket_notes WHERE ticket_id = ? ORDER BY created_at, id", (ticket_id,)
    )
    return [{"id": r[0], "staff": r[1], "text": r[2], "created_at": as_utc(r[3]).isoformat()} for r in rows]


def _replies(c: Cursor, ticket_id: str) -> list[dict[str, Any]]:
    rows = c.rows(
        "SELECT id, channel, staff, text, status, error, created_at, read_at FROM ticket_replies "
        "WHERE ticket_id = ? ORDER BY created_at, id",
        (ticket_id,),
    )
    keys = ("id", "channel", "staff", "text", "status", "error")
    return [
        {**dict(zip(keys, r[:6], strict=True)), "created_at": as_utc(r[6]).isoformat(), "read_at": _iso(r[7])}
        for r in rows
    ]


def _iso(value: Any) -> str | None:
    found = opt_utc(value)
    return found.isoformat() if found else None


def ticket_detail(store: HandoffStore, settings: Settings, ticket_id: str) -> dict[str, Any]:
    """The whole ticket (transcript, follow-ups, notes, replies) with its way back and its timing."""
    now = store.clock()
    with store._tx(write=False) as c:
        ticket: Ticket = store._load(c, ticket_id)
        notes, replies = _notes(c, ticket_id), _replies(c, ticket_id)
        contact = c.rows("SELECT kind FROM ticket_contacts WHERE ticket_id = ?", (ticket_id,))
    acted = first_action(ticket.claimed_at, min((n["created_at"] for n in notes), default=None),
                         min((r["created_at"] for r in replies), default=None))  # fmt: skip
    return {
        **ticket.to_dict(),
        "notes": notes,
        "replies": replies,
        "reply_channel": contact[0][0] if contact else None,
        **_timing_fields(ticket.urgency, ticket.created_at, acted, ticket.resolved_at, now, settings),
    }


def _clean(value: Any, what: str, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > limit:
        raise ValueError(f"{what} must be 1-{limit} characters")
    return text


def add_note(store: HandoffStore, ticket_id: str, staff: str, text: Any) -> dict[str, Any]:
    """Keep an internal note (never sent to the person) on a ticket of any status; bumps updated_at."""
    body = _clean(text, "a note", MAX_NOTE)
    author = _clean(staff, "the staff name", MAX_STAFF_NAME)
    note_id, now = secrets.token_urlsafe(12), store.clock()
    with store._tx() as c:
        store._status(c, ticket_id)  # TicketNotFound
        c.run(
            "INSERT INTO ticket_notes (id, ticket_id, staff, text, created_at) VALUES (?, ?, ?, ?, ?)",
            (note_id, ticket_id, author, body, now),
        )
        c.run("UPDATE handoff_tickets SET updated_at = ? WHERE id = ? AND updated_at < ?", (now, ticket_id, now))
    return {"id": note_id, "staff": author, "text": body, "created_at": now.isoformat()}


def active_account(c: Cursor, username: str) -> bool:
    """Whether ``username`` has an active (not disabled) staff account."""
    return bool(c.rows("SELECT 1 FROM staff_accounts WHERE username = ? AND disabled = 0", (username,)))


def reassign(store: HandoffStore, ticket_id: str, to: Any) -> tuple[Ticket, str | None]:
    """Give an open or claimed ticket to ``to`` (claimed by them); returns it and who had it before.

    ``to`` must be the username of an active account (UnknownStaff otherwise; usernames are case-insensitive, as at
    sign-in). Reassigning an open ticket claims it for them, which counts as its first staff action.
    """
    name = _clean(to, "the staff name to reassign to", MAX_STAFF_NAME).lower()
    now = store.clock()
    with store._tx() as c:
        before = store._load(c, ticket_id)  # TicketNotFound first: an unknown ticket is 404 whoever it is for
        if not active_account(c, name):
            raise UnknownStaff(f"no active staff account is named {name!r}")
        if before.status == "resolved":
            raise InvalidTransition(f"ticket {ticket_id!r} is resolved; it can't be reassigned")
        c.run(
            "UPDATE handoff_tickets SET status = 'claimed', claimed_by = ?, claimed_at = COALESCE(claimed_at, ?), "
            "updated_at = ? WHERE id = ? AND status IN ('open', 'claimed')",
            (name, now, now, ticket_id),
        )
        return store._load(c, ticket_id), before.claimed_by
