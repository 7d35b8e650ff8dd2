"""The SQLite handoff store: the default, and the PostgreSQL store's spool while the database is down."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.handoff.models import Clock, utcnow
from bot.handoff.schema import APPEND_ONLY, SERIAL
from bot.handoff.store import DDL, Cursor, HandoffStore

log = logging.getLogger(__name__)


class SqliteHandoffStore(HandoffStore):
    """SQLite file in WAL mode; one connection per operation (thread- and process-safe).

    Deleted tickets are gone from the file: secure_delete zeroes their rows, and after a delete (purge, "delete my
    data") the write-ahead log, which still holds the old pages, is checkpointed and truncated.
    """

    def __init__(self, path: Path | str, clock: Clock = utcnow, timeout: float = 15.0) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self._timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(DDL.format(ts="TEXT", serial=SERIAL["sqlite"]))
            for stmt in APPEND_ONLY["sqlite"]:
                conn.execute(stmt)
        finally:
            conn.close()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Cursor]:
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA secure_delete=ON")
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

    def _delete_where(self, condition: str, params: Sequence[Any]) -> int:
        deleted = super()._delete_where(condition, params)
        if deleted:
            self.truncate_wal()
        return deleted

    def truncate_wal(self) -> bool:
        """Copy the write-ahead log into the file and empty it; False if a reader kept it from finishing."""
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            conn.close()
        if busy:
            log.warning("the handoff store's write-ahead log could not be truncated after a delete")
        return not busy
