"""`make purge`: delete conversations and tickets older than RETENTION_DAYS (default 90).

Conversations live in Rasa's SQL tracker store: the SQLite file TRACKER_DB (default var/tracker.db) or, in the
production profile, PostgreSQL from DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD. Tickets live in the handoff store.
SMS opt-outs are a compliance record and are kept.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from typing import Any

from bot.handoff.store import open_store
from bot.settings import ROOT, Settings

# Senders whose newest event is older than the cutoff; their whole conversation goes.
_OLD_SENDERS = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < {mark}"
_DELETE = f"DELETE FROM events WHERE sender_id IN ({_OLD_SENDERS})"


def _tracker_connection() -> tuple[Any, str]:
    if os.environ.get("DB_HOST"):
        import psycopg

        conn = psycopg.connect(
            host=os.environ["DB_HOST"],
            port=int(os.environ.get("DB_PORT", "5432")),
            dbname=os.environ.get("DB_NAME", "rasa"),
            user=os.environ.get("DB_USER", "postgres"),
            password=os.environ.get("DB_PASSWORD") or None,
        )
        return conn, "%s"
    path = os.environ.get("TRACKER_DB", str(ROOT / "var" / "tracker.db"))
    return sqlite3.connect(path), "?"


def purge_conversations(older_than_days: int, now: float | None = None) -> int:
    """Delete every conversation whose last event is older than the window; returns events deleted."""
    cutoff = (now or time.time()) - older_than_days * 86400
    conn, mark = _tracker_connection()
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
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=settings.retention_days)
    args = parser.parse_args(argv)
    events = purge_conversations(args.days)
    tickets = open_store(settings).purge(args.days)
    print(f"purged {events} conversation events and {tickets} tickets older than {args.days} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
