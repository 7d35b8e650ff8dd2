"""`make purge`: delete conversations and tickets older than RETENTION_DAYS (default 90).

Conversations live in Rasa's SQL tracker store: the SQLite file TRACKER_DB (default var/tracker.db) or, when DB_HOST
is set (production profile), PostgreSQL from DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD with the same defaults as
the stack and deploy/ (database "eczema"; see bot/settings.py). Tickets live in the handoff store.
SMS opt-outs are a compliance record and are kept.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from typing import Any

from bot.handoff.store import open_store
from bot.settings import Settings, get_settings

# Senders whose newest event is older than the cutoff; their whole conversation goes.
_OLD_SENDERS = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < {mark}"
_DELETE = f"DELETE FROM events WHERE sender_id IN ({_OLD_SENDERS})"


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
    return sqlite3.connect(settings.tracker_db), "?"


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
        return int(deleted)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=settings.retention_days)
    args = parser.parse_args(argv)
    events = purge_conversations(args.days, settings=settings)
    tickets = open_store(settings).purge(args.days)
    print(f"purged {events} conversation events and {tickets} tickets older than {args.days} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
