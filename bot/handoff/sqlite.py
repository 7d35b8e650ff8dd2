"""The SQLite handoff store: the default, and the PostgreSQL store's spool while the database is down."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.handoff.models import Clock, utcnow
from bot.handoff.store import DDL, Cursor, HandoffStore


class SqliteHandoffStore(HandoffStore):
    """SQLite file in WAL mode; one connection per operation (thread- and process-safe)."""

    def __init__(self, path: Path | str, clock: Clock = utcnow, timeout: float = 15.0) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self._timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(DDL.format(ts="TEXT"))
        finally:
            conn.close()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Cursor]:
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        try:
            # IMMEDIATE takes the write lock up front, so read-then-write never deadlocks.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield Cursor(conn, postgres=False)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
