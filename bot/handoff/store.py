"""Handoff tickets: a person's present-tense problem handed to clinic staff.

One SQL store with two backends: a SQLite file (default; WAL, one short connection per operation, so several
processes can share it) and PostgreSQL when ``DATABASE_URL`` is set. Both run the same SQL; only placeholders,
timestamp column types and the outbox claim's row locking differ.

Creating a ticket enqueues its staff notification (an outbox row) in the same transaction, so a ticket never exists
without its notification (see ``bot.handoff.outbox``). If PostgreSQL cannot be reached, new tickets and follow-ups go
to a local SQLite spool file; ``flush_spool()`` moves them over once it is back.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.handoff.contacts import Contact, check_contact, insert_contact, reply_channel
from bot.handoff.models import (
    MAX_STAFF_NAME,
    ROLES,
    STATUS_FILTERS,
    URGENCIES,
    Clock,
    FollowUp,
    InvalidTransition,
    OutboxItem,
    Ticket,
    TicketNotFound,
    utcnow,
)
from bot.handoff.schema import DDL as DDL  # re-exported: the backends import it here
from bot.handoff.schema import TICKET_TABLES

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)


TICKET_COLS = (
    "id, conversation_id, channel, urgency, reason, message, transcript, status, claimed_by, "
    "created_at, updated_at, claimed_at, resolved_at"
)
_URGENCY_RANK = "CASE urgency " + " ".join(f"WHEN '{u}' THEN {i}" for i, u in enumerate(URGENCIES)) + " ELSE 3 END"


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def as_utc(value: Any) -> datetime:
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def opt_utc(value: Any) -> datetime | None:
    return None if value is None else as_utc(value)


class Cursor:
    """Runs the shared SQL (written with ``?`` placeholders) on either backend."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self._conn = conn
        self._pg = postgres

    def _prep(self, sql: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
        if self._pg:
            return sql.replace("?", "%s"), list(params)
        # SQLite keeps UTC timestamps as fixed-width ISO text, so text order is time order.
        return sql, [as_utc(p).isoformat(timespec="microseconds") if isinstance(p, datetime) else p for p in params]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        query, args = self._prep(sql, params)
        cur = self._conn.execute(query, args)
        return [tuple(r) for r in cur.fetchall()]

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        query, args = self._prep(sql, params)
        return int(self._conn.execute(query, args).rowcount)


class HandoffStore:
    """Ticket store; subclasses provide the connection (``_tx``) and backend specifics."""

    _skip_locked = ""  # PostgreSQL: " FOR UPDATE SKIP LOCKED"

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Cursor]:
        raise NotImplementedError
        yield  # pragma: no cover

    # -- tickets -------------------------------------------------------------------------------

    def create_ticket(
        self,
        conversation_id: str,
        channel: str,
        urgency: str,
        reason: str,
        message: str,
        transcript: list[dict[str, str]],
        contact: Contact | None = None,
    ) -> Ticket:
        """Open a ticket, with its way back (``contact``: kind and sealed value) and its staff notification, in
        one transaction."""
        ticket = self._new_ticket(conversation_id, channel, urgency, reason, message, transcript, contact)
        with self._tx() as c:
            self._insert_ticket(c, ticket, enqueue=True, contact=contact)
        log.info("handoff ticket %s opened (urgency=%s, channel=%s)", ticket.id, urgency, channel)
        return ticket

    def add_contact(self, ticket_id: str, contact: Contact) -> bool:
        """Give a ticket its way back if it has none (a later turn brought it); True when added."""
        contact = check_contact(contact) or contact
        with self._tx() as c:
            self._status(c, ticket_id)  # raises TicketNotFound
            return insert_contact(c, ticket_id, contact, self.clock())

    def add_message(self, ticket_id: str, text: str) -> None:
        """Keep a follow-up the person wrote with the ticket (bumps updated_at)."""
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        with self._tx() as c:
            status = self._status(c, ticket_id)
            if status == "resolved":
                raise InvalidTransition(f"ticket {ticket_id!r} is resolved; open a new one")
            self._insert_message(c, secrets.token_urlsafe(12), ticket_id, text, self.clock())

    def open_ticket_for(self, conversation_id: str) -> Ticket | None:
        """The conversation's latest ticket that is still open or claimed."""
        with self._tx(write=False) as c:
            rows = c.rows(
                "SELECT id FROM handoff_tickets WHERE conversation_id = ? "
                "AND status IN ('open', 'claimed') ORDER BY created_at DESC, id LIMIT 1",
                (conversation_id,),
            )
            return self._load(c, rows[0][0]) if rows else None

    def list_tickets(self, status: str | None = "open", limit: int = 500) -> list[Ticket]:
        """Tickets by urgency (emergency first), then oldest first.

        status: open, claimed, resolved, active (open or claimed) or None for all.
        """
        where, params = "", []
        if status is not None:
            if status not in STATUS_FILTERS:
                raise ValueError(f"unknown status {status!r}; use one of {sorted(STATUS_FILTERS)}")
            wanted = STATUS_FILTERS[status]
            where, params = f"WHERE status IN ({_marks(len(wanted))})", list(wanted)
        with self._tx(write=False) as c:
            rows = c.rows(
                f"SELECT {TICKET_COLS} FROM handoff_tickets {where} ORDER BY {_URGENCY_RANK}, created_at, id LIMIT ?",
                [*params, int(limit)],
            )
            return self._with_follow_ups(c, [self._ticket(r) for r in rows])

    def get_ticket(self, ticket_id: str) -> Ticket:
        with self._tx(write=False) as c:
            return self._load(c, ticket_id)

    def claim(self, ticket_id: str, staff_name: str) -> Ticket:
        """open -> claimed by staff_name (claiming again by the same person is a no-op)."""
        name = staff_name.strip() if isinstance(staff_name, str) else ""
        if not name or len(name) > MAX_STAFF_NAME:
            raise ValueError(f"staff name must be 1-{MAX_STAFF_NAME} characters")
        now = self.clock()
        with self._tx() as c:
            changed = c.run(
                "UPDATE handoff_tickets SET status = 'claimed', claimed_by = ?, claimed_at = ?, "
                "updated_at = ? WHERE id = ? AND status = 'open'",
                (name, now, now, ticket_id),
            )
            if not changed:
                ticket = self._load(c, ticket_id)
                if not (ticket.status == "claimed" and ticket.claimed_by == name):
                    who = f" by {ticket.claimed_by}" if ticket.status == "claimed" else ""
                    raise InvalidTransition(f"ticket {ticket_id!r} is already {ticket.status}{who}")
            return self._load(c, ticket_id)

    def resolve(self, ticket_id: str) -> Ticket:
        """open or claimed -> resolved."""
        now = self.clock()
        with self._tx() as c:
            changed = c.run(
                "UPDATE handoff_tickets SET status = 'resolved', resolved_at = ?, updated_at = ? "
                "WHERE id = ? AND status IN ('open', 'claimed')",
                (now, now, ticket_id),
            )
            if not changed:
                self._status(c, ticket_id)  # raises TicketNotFound
                raise InvalidTransition(f"ticket {ticket_id!r} is already resolved")
            return self._load(c, ticket_id)

    def purge(self, older_than_days: int) -> int:
        """Delete tickets (any status) last updated more than older_than_days ago, and older daily counts."""
        if older_than_days < 0:
            raise ValueError("older_than_days must be >= 0")
        cutoff = self.clock() - timedelta(days=older_than_days)
        with self._tx() as c:
            for table in ("content_gaps", "conversation_outcomes"):  # daily counts: no ticket, no text
                c.run(f"DELETE FROM {table} WHERE day < ?", (cutoff.date().isoformat(),))
        return self._delete_where("updated_at < ?", (cutoff,))

    def delete_conversation(self, conversation_id: str) -> int:
        """Delete every ticket of a conversation (the person asked to delete their data)."""
        return self._delete_where("conversation_id = ?", (conversation_id,))

    def flush_spool(self) -> int:
        """Move tickets kept locally while the database was down (nothing to do for SQLite)."""
        return 0

    # -- outbox (used by bot.handoff.outbox) ---------------------------------------------------------------

    def claim_outbox(self, now: datetime, limit: int = 10, lease_seconds: float = 120.0) -> list[OutboxItem]:
        """Lease due, unsent notifications so no other worker sends them meanwhile."""
        token = secrets.token_hex(8)
        with self._tx() as c:
            claimed = c.rows(
                "UPDATE handoff_outbox SET lease_token = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM handoff_outbox WHERE sent_at IS NULL AND next_attempt_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                f" ORDER BY next_attempt_at, id LIMIT ?{self._skip_locked}"
                ") RETURNING id",
                (token, now + timedelta(seconds=lease_seconds), now, now, int(limit)),
            )
            if not claimed:
                return []
            ids = [r[0] for r in claimed]
            rows = c.rows(
                "SELECT o.id, o.ticket_id, o.attempts, t.urgency, t.reason, t.channel "
                "FROM handoff_outbox o JOIN handoff_tickets t ON t.id = o.ticket_id "
                f"WHERE o.id IN ({_marks(len(ids))}) ORDER BY o.next_attempt_at, o.id",
                ids,
            )
        return [
            OutboxItem(
                id=r[0],
                ticket_id=r[1],
                attempts=int(r[2]),
                lease_token=token,
                urgency=r[3],
                reason=r[4],
                channel=r[5],
            )
            for r in rows
        ]

    def mark_sent(self, item: OutboxItem, now: datetime | None = None) -> bool:
        """Record a delivered notification; False if the lease was lost meanwhile."""
        with self._tx() as c:
            return bool(
                c.run(
                    "UPDATE handoff_outbox SET sent_at = ?, lease_token = NULL, "
                    "lease_until = NULL, last_error = NULL "
                    "WHERE id = ? AND lease_token = ? AND sent_at IS NULL",
                    (now or self.clock(), item.id, item.lease_token),
                )
            )

    def mark_failed(self, item: OutboxItem, next_attempt_at: datetime, error: str) -> bool:
        """Count a failed attempt and schedule the next one."""
        with self._tx() as c:
            return bool(
                c.run(
                    "UPDATE handoff_outbox SET attempts = attempts + 1, next_attempt_at = ?, "
                    "last_error = ?, lease_token = NULL, lease_until = NULL "
                    "WHERE id = ? AND lease_token = ? AND sent_at IS NULL",
                    (next_attempt_at, error[:500], item.id, item.lease_token),
                )
            )

    def outbox_counts(self) -> dict[str, int]:
        """{"pending": n, "sent": n} — for health checks and tests."""
        with self._tx(write=False) as c:
            rows = c.rows(
                "SELECT CASE WHEN sent_at IS NULL THEN 'pending' ELSE 'sent' END, COUNT(*) "
                "FROM handoff_outbox GROUP BY 1"
            )
        counts = {"pending": 0, "sent": 0}
        counts.update({str(k): int(v) for k, v in rows})
        return counts

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        """Unsent notifications and when the oldest of them was queued (None: none) — for the metrics."""
        with self._tx(write=False) as c:
            rows = c.rows("SELECT COUNT(*), MIN(created_at) FROM handoff_outbox WHERE sent_at IS NULL")
        count, oldest = rows[0] if rows else (0, None)
        return int(count), opt_utc(oldest)

    def open_ticket_stats(self) -> dict[str, tuple[int, datetime]]:
        """Per urgency: how many tickets are open (unclaimed) and when the oldest was created — for the metrics."""
        with self._tx(write=False) as c:
            rows = c.rows(
                "SELECT urgency, COUNT(*), MIN(created_at) FROM handoff_tickets WHERE status = ? GROUP BY urgency",
                ("open",),
            )
        return {str(u): (int(n), as_utc(oldest)) for u, n, oldest in rows}

    # -- shared internals ------------------------------------------------------------------------

    def _new_ticket(
        self,
        conversation_id: str,
        channel: str,
        urgency: str,
        reason: str,
        message: str,
        transcript: list[dict[str, str]],
        contact: Contact | None = None,
    ) -> Ticket:
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}, not {urgency!r}")
        for name, value in (("conversation_id", conversation_id), ("channel", channel)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(reason, str) or not isinstance(message, str):
            raise ValueError("reason and message must be strings")
        turns: list[dict[str, str]] = []
        for i, turn in enumerate(transcript):
            role, text = turn.get("role"), turn.get("text")
            if role not in ROLES or not isinstance(text, str):
                raise ValueError(f"transcript[{i}] must be {{'role': 'user'|'bot', 'text': str}}")
            turns.append({"role": str(role), "text": text})
        check_contact(contact)
        now = self.clock()
        return Ticket(
            id=secrets.token_urlsafe(12),
            conversation_id=conversation_id,
            channel=channel,
            urgency=urgency,
            reason=reason,
            message=message,
            transcript=turns,
            status="open",
            created_at=now,
            updated_at=now,
            reply_channel=reply_channel(contact[0] if contact else None, conversation_id),
        )

    @staticmethod
    def _insert_ticket(c: Cursor, t: Ticket, enqueue: bool, contact: Contact | None = None) -> bool:
        """Insert unless the id exists (idempotent), with its contact; enqueue its notification if inserted."""
        inserted = c.run(
            f"INSERT INTO handoff_tickets ({TICKET_COLS}) VALUES ({_marks(13)}) ON CONFLICT (id) DO NOTHING",
            (
                t.id,
                t.conversation_id,
                t.channel,
                t.urgency,
                t.reason,
                t.message,
                json.dumps(t.transcript),
                t.status,
                t.claimed_by,
                t.created_at,
                t.updated_at,
                t.claimed_at,
                t.resolved_at,
            ),
        )
        if inserted and contact is not None:
            insert_contact(c, t.id, contact, t.created_at)
        if inserted and enqueue:
            c.run(
                "INSERT INTO handoff_outbox (id, ticket_id, attempts, next_attempt_at, created_at) "
                "VALUES (?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING",
                (f"{t.id}:new", t.id, t.created_at, t.created_at),
            )
        return bool(inserted)

    @staticmethod
    def _insert_message(c: Cursor, msg_id: str, ticket_id: str, text: str, at: datetime) -> None:
        c.run(
            "INSERT INTO handoff_messages (id, ticket_id, text, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (msg_id, ticket_id, text, at),
        )
        c.run(
            "UPDATE handoff_tickets SET updated_at = ? WHERE id = ? AND updated_at < ?",
            (at, ticket_id, at),
        )

    @staticmethod
    def _status(c: Cursor, ticket_id: str) -> str:
        rows = c.rows("SELECT status FROM handoff_tickets WHERE id = ?", (ticket_id,))
        if not rows:
            raise TicketNotFound(ticket_id)
        return str(rows[0][0])

    @staticmethod
    def _ticket(row: tuple[Any, ...]) -> Ticket:
        return Ticket(
            id=row[0],
            conversation_id=row[1],
            channel=row[2],
            urgency=row[3],
            reason=row[4],
            message=row[5],
            transcript=json.loads(row[6]),
            status=row[7],
            claimed_by=row[8],
            created_at=as_utc(row[9]),
            updated_at=as_utc(row[10]),
            claimed_at=opt_utc(row[11]),
            resolved_at=opt_utc(row[12]),
        )

    def _load(self, c: Cursor, ticket_id: str) -> Ticket:
        rows = c.rows(f"SELECT {TICKET_COLS} FROM handoff_tickets WHERE id = ?", (ticket_id,))
        if not rows:
            raise TicketNotFound(ticket_id)
        return self._with_follow_ups(c, [self._ticket(rows[0])])[0]

    @staticmethod
    def _with_follow_ups(c: Cursor, tickets: list[Ticket]) -> list[Ticket]:
        if not tickets:
            return tickets
        by_id: dict[str, list[FollowUp]] = {t.id: [] for t in tickets}
        ids = list(by_id)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for ticket_id, text, at in c.rows(
                "SELECT ticket_id, text, created_at FROM handoff_messages "
                f"WHERE ticket_id IN ({_marks(len(chunk))}) ORDER BY created_at, id",
                chunk,
            ):
                by_id[ticket_id].append(FollowUp(text=text, created_at=as_utc(at)))
        from bot.handoff import replies  # it builds on this module

        return replies.attach(c, [replace(t, follow_ups=by_id[t.id]) for t in tickets])

    def _delete_where(self, condition: str, params: Sequence[Any]) -> int:
        select = f"SELECT id FROM handoff_tickets WHERE {condition}"
        with self._tx() as c:
            for table in TICKET_TABLES:
                c.run(f"DELETE FROM {table} WHERE ticket_id IN ({select})", params)
            return c.run(f"DELETE FROM handoff_tickets WHERE {condition}", params)


def spool_path_for(settings: Settings) -> Path:
    """Where the PostgreSQL store keeps tickets while the database is down."""
    db = settings.handoff_db_path
    return db.with_name(f"{db.stem}-spool.sqlite")


def open_store(settings: Settings, clock: Clock = utcnow) -> HandoffStore:
    """PostgreSQL store if settings.database_url is set, else the SQLite file store."""
    if url := settings.database_url.get_secret_value():
        from bot.handoff.postgres import PostgresHandoffStore

        return PostgresHandoffStore(url, spool_path_for(settings), clock=clock)
    from bot.handoff.sqlite import SqliteHandoffStore

    return SqliteHandoffStore(settings.handoff_db_path, clock=clock)
