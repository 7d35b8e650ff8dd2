"""`make purge`: delete conversations and tickets older than RETENTION_DAYS (default 90).

Conversations live in Rasa's SQL tracker store: the SQLite file TRACKER_DB (default var/tracker.db) or, when DB_HOST
is set (production profile), PostgreSQL from DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD with the same defaults as
the stack and deploy/ (database "eczema"; see bot/settings.py). Tickets live in the handoff store.
SMS opt-outs are a compliance record and are kept. The audit trail has its own, longer retention: entries older than
AUDIT_RETENTION_DAYS (default 2190, six years) are deleted (bot.handoff.audit.purge_audit).

Deleted means gone from the files where the stores can make it so: on SQLite the purge deletes with secure_delete
(rows zeroed) and then checkpoints and truncates the write-ahead log; on PostgreSQL it runs VACUUM on the purged
tables so the dead rows' space is reclaimed (README, Privacy, says what that does and does not guarantee).
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from typing import Any

from bot.handoff.audit import purge_audit
from bot.handoff.schema import TICKET_TABLES
from bot.handoff.store import open_store
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Senders whose newest event is older than the cutoff; their whole conversation goes.
_OLD_SENDERS = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < {mark}"
_DELETE = f"DELETE FROM events WHERE sender_id IN ({_OLD_SENDERS})"
HANDOFF_TABLES = (*TICKET_TABLES, "handoff_tickets")


def _tracker_connection(settings: Settings) -> tuple[Any, str]:
    if settings.db_host:
        import psycopg

        conn = psycopg.connect(
            host=settings.db_host,
            port=settings.db_port,
            dbname=settings.db_name,
            user=settings.db_user,
            password=settings.db_password.get_secret_value() or None,
        )
        return conn, "%s"
    lite = sqlite3.connect(settings.tracker_db)
    lite.execute("PRAGMA secure_delete=ON")
    return lite, "?"


def purge_conversations(older_than_days: int, now: float | None = None, settings: Settings | None = None) -> int:
    """Delete every conversation whose last event is older than the window; returns events deleted."""
    cutoff = (now or time.time()) - older_than_days * 86400
    conn, mark = _tracker_connection(settings or get_settings())
    try:
        cur = conn.cursor()
        try:
            cur.execute(_DELETE.format(mark=mark), (cutoff,))
        except Exception as exc:  # sqlite3 and psycopg raise different types for a missing table
            if "no such table" in str(exc) or "does not exist" in str(exc):
                return 0  # no conversation was ever stored
            raise
        deleted = cur.rowcount
        conn.commit()
        if deleted:
            reclaim(conn, ("events",))
        return int(deleted)
    finally:
        conn.close()


def reclaim(conn: Any, tables: tuple[str, ...]) -> None:
    """After a delete: SQLite empties its write-ahead log (the rows are already zeroed); PostgreSQL VACUUMs."""
    if isinstance(conn, sqlite3.Connection):
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.warning("the write-ahead log could not be truncated (a reader was busy); run make purge again")
        return
    conn.autocommit = True  # VACUUM cannot run inside a transaction
    for table in tables:
        conn.execute(f"VACUUM {table}")  # table names are this module's constants


def vacuum_handoff_tables(settings: Settings) -> None:
    """VACUUM the PostgreSQL handoff tables after a ticket purge (the SQLite store truncates its own WAL)."""
    url = settings.database_url.get_secret_value()
    if not url:
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        reclaim(conn, HANDOFF_TABLES)


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=settings.retention_days)
    parser.add_argument("--audit-days", type=int, default=settings.audit_retention_days)
    args = parser.parse_args(argv)
    events = purge_conversations(args.days, settings=settings)
    store = open_store(settings)
    tickets = store.purge(args.days)
    if tickets:
        vacuum_handoff_tables(settings)
    audited = purge_audit(store, args.audit_days)
    print(f"purged {events} conversation events and {tickets} tickets older than {args.days} days")
    print(f"purged {audited} audit entries older than {args.audit_days} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
