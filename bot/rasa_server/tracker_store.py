"""Rasa's SQL tracker store, with SQLite set up for a server (endpoints.yml names this class).

On SQLite, Rasa opens a new connection for every query batch and every commit waits for an fsync (about 1.4 ms
each here, several per turn). This store keeps one connection per thread and uses write-ahead logging with
synchronous=NORMAL: the file stays consistent if the process crashes, and a power cut may lose only the last
turns. Conversations are not the record of care (handoff tickets are, and their store commits fully). On
PostgreSQL (production) it is Rasa's store unchanged.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import event
from sqlalchemy.pool import SingletonThreadPool


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are zeroed, not left in free pages (many builds default to it; not all). The WAL still holds
    # them until erase_conversation (channels/common.py) or `make purge` checkpoints and truncates it.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class TrackerStore(SQLTrackerStore):
    engine: Any
    sessionmaker: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            return
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=SingletonThreadPool)
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
