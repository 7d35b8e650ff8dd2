from __future__ import annotations

import sqlite3
import time

import pytest

from bot.ops.purge import purge_conversations
from bot.settings import Settings


@pytest.fixture
def tracker_db(tmp_path, monkeypatch):  # noqa: ANN001
    path = tmp_path / "tracker.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL, data TEXT)")
    now = time.time()
    rows = [("old", now - 100 * 86400), ("old", now - 95 * 86400), ("mixed", now - 200 * 86400), ("mixed", now - 60)]
    conn.executemany("INSERT INTO events (sender_id, timestamp, data) VALUES (?, ?, '{}')", rows)
    conn.commit()
    conn.close()
    monkeypatch.setenv("TRACKER_DB", str(path))
    monkeypatch.delenv("DB_HOST", raising=False)
    return path


def test_purge_deletes_whole_conversations_past_retention_only(tracker_db):  # noqa: ANN001
    assert purge_conversations(90) == 2
    left = sqlite3.connect(tracker_db).execute("SELECT DISTINCT sender_id FROM events").fetchall()
    assert left == [("mixed",)]  # still active: kept whole, including its old events


def test_purge_without_any_conversation_is_a_no_op(tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "none.db"))
    monkeypatch.delenv("DB_HOST", raising=False)
    assert purge_conversations(90) == 0


def test_with_db_host_set_and_db_name_unset_the_purge_targets_the_eczema_database(monkeypatch):  # noqa: ANN001
    import psycopg

    class Refused(Exception):
        pass

    seen: dict[str, object] = {}

    def connect(**kwargs: object) -> None:
        seen.update(kwargs)
        raise Refused

    for name in ("DB_NAME", "DB_PORT", "DB_USER", "DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setattr(psycopg, "connect", connect)
    with pytest.raises(Refused):
        purge_conversations(90)
    assert seen == {"host": "db.internal", "port": 5432, "dbname": "eczema", "user": "postgres", "password": None}


def test_purge_reads_the_settings_it_is_given(tmp_path):  # noqa: ANN001
    settings = Settings.from_env({"TRACKER_DB": str(tmp_path / "none.db")})
    assert purge_conversations(90, settings=settings) == 0
