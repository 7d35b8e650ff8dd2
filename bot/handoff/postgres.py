"""The PostgreSQL handoff store, with a local SQLite spool for tickets written while it is down."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.handoff.contacts import Contact, check_contact, insert_contact
from bot.handoff.models import (
    Clock,
    StoreUnavailable,
    Ticket,
    TicketNotFound,
    utcnow,
)
from bot.handoff.schema import APPEND_ONLY, SERIAL
from bot.handoff.sqlite import SqliteHandoffStore
from bot.handoff.store import DDL, TICKET_COLS, Cursor, HandoffStore, as_utc

log = logging.getLogger(__name__)


class PostgresHandoffStore(HandoffStore):
    """PostgreSQL (psycopg 3) with a local SQLite spool for tickets written while it is down."""

    _skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        url: str,
        spool_path: Path | str,
        clock: Clock = utcnow,
        connect_timeout: int = 3,
    ) -> None:
        super().__init__(clock)
        self.url = url
        self.spool_path = Path(spool_path)
        self._connect_timeout = connect_timeout
        self._schema_ready = False
        self._spool_store: SqliteHandoffStore | None = None

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Cursor]:
        import psycopg

        try:
            conn = psycopg.connect(self.url, connect_timeout=self._connect_timeout)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"PostgreSQL unreachable ({type(exc).__name__})") from exc
        try:
            with conn:  # commit on success, rollback on error, then close
                if not self._schema_ready:
                    # An advisory lock keeps replicas starting together from racing on DDL.
                    conn.execute("SELECT pg_advisory_xact_lock(72310541)")
                    for stmt in DDL.format(ts="TIMESTAMPTZ", serial=SERIAL["postgres"]).split(";"):
                        if stmt.strip():
                            conn.execute(stmt)
                    for stmt in APPEND_ONLY["postgres"]:
                        conn.execute(stmt)
                    conn.commit()
                    self._schema_ready = True
                yield Cursor(conn, postgres=True)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"PostgreSQL connection lost ({type(exc).__name__})") from exc

    # -- spool -----------------------------------------------------------------------------------

    def _spool(self) -> SqliteHandoffStore:
        if self._spool_store is None:
            self._spool_store = SqliteHandoffStore(self.spool_path, clock=self.clock)
        return self._spool_store

    def _has_spool(self) -> bool:
        return self._spool_store is not None or self.spool_path.exists()

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
        """Like HandoffStore.create_ticket, but never lost: spooled (with its contact) if PostgreSQL is down."""
        ticket = self._new_ticket(conversation_id, channel, urgency, reason, message, transcript, contact)
        try:
            with self._tx() as c:
                self._insert_ticket(c, ticket, enqueue=True, contact=contact)
        except StoreUnavailable:
            with self._spool()._tx() as s:
                self._insert_ticket(s, ticket, enqueue=False, contact=contact)
            log.warning("PostgreSQL unavailable: handoff ticket %s spooled locally", ticket.id)
        else:
            log.info("handoff ticket %s opened (urgency=%s, channel=%s)", ticket.id, urgency, channel)
        return ticket

    def add_message(self, ticket_id: str, text: str) -> None:
        try:
            super().add_message(ticket_id, text)
            return
        except TicketNotFound:
            if not (self._has_spool() and self._spool_has_ticket(ticket_id)):
                raise
        except StoreUnavailable:
            log.warning("PostgreSQL unavailable: follow-up for ticket %s spooled", ticket_id)
        with self._spool()._tx() as s:
            self._insert_message(s, secrets.token_urlsafe(12), ticket_id, text, self.clock())

    def add_contact(self, ticket_id: str, contact: Contact) -> bool:
        try:
            return super().add_contact(ticket_id, contact)
        except TicketNotFound:
            if not (self._has_spool() and self._spool_has_ticket(ticket_id)):
                raise
        except StoreUnavailable:
            log.warning("PostgreSQL unavailable: contact for ticket %s spooled", ticket_id)
        with self._spool()._tx() as s:
            return insert_contact(s, ticket_id, check_contact(contact) or contact, self.clock())

    def open_ticket_for(self, conversation_id: str) -> Ticket | None:
        try:
            found = super().open_ticket_for(conversation_id)
        except StoreUnavailable:
            log.warning("PostgreSQL unavailable: looking up open tickets in the local spool only")
            found = None
        if found is None and self._has_spool():
            found = self._spool().open_ticket_for(conversation_id)
        return found

    def delete_conversation(self, conversation_id: str) -> int:
        spooled = self._spool().delete_conversation(conversation_id) if self._has_spool() else 0
        return super().delete_conversation(conversation_id) + spooled

    def _spool_has_ticket(self, ticket_id: str) -> bool:
        try:
            self._spool().get_ticket(ticket_id)
        except TicketNotFound:
            return False
        return True

    def flush_spool(self) -> int:
        """Move spooled tickets and follow-ups into PostgreSQL; returns tickets moved.

        Idempotent by id: a crash between the PostgreSQL commit and the spool delete only means
        the next flush finds them already there (and enqueues no second notification).
        """
        if not self._has_spool():
            return 0
        spool = self._spool()
        with spool._tx(write=False) as s:
            tickets = [
                spool._ticket(r) for r in s.rows(f"SELECT {TICKET_COLS} FROM handoff_tickets ORDER BY created_at")
            ]
            messages = s.rows("SELECT id, ticket_id, text, created_at FROM handoff_messages ORDER BY created_at")
            contacts = s.rows("SELECT ticket_id, kind, secret, created_at FROM ticket_contacts")
        if not tickets and not messages and not contacts:
            return 0
        with self._tx() as c:
            for ticket in tickets:
                self._insert_ticket(c, ticket, enqueue=True)
            for ticket_id, kind, secret, at in contacts:
                if c.rows("SELECT 1 FROM handoff_tickets WHERE id = ?", (ticket_id,)):
                    insert_contact(c, ticket_id, (kind, secret), as_utc(at))
            for msg_id, ticket_id, text, at in messages:
                if c.rows("SELECT 1 FROM handoff_tickets WHERE id = ?", (ticket_id,)):
                    self._insert_message(c, msg_id, ticket_id, text, as_utc(at))
                else:
                    log.warning("dropping spooled follow-up for deleted ticket %s", ticket_id)
        with spool._tx() as s:
            for ticket in tickets:
                s.run("DELETE FROM handoff_tickets WHERE id = ?", (ticket.id,))
            for msg_id, *_ in messages:
                s.run("DELETE FROM handoff_messages WHERE id = ?", (msg_id,))
            for ticket_id, *_ in contacts:
                s.run("DELETE FROM ticket_contacts WHERE ticket_id = ?", (ticket_id,))
        if tickets:
            log.info("moved %d spooled handoff ticket(s) into PostgreSQL", len(tickets))
        return len(tickets)
