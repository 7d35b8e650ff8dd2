from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import uuid

import pytest

from bot.handoff.sqlite import SqliteHandoffStore
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


def _raw(db) -> bytes:  # noqa: ANN001
    """Every byte SQLite keeps for a database: the file, its write-ahead log and shared-memory index."""
    files = (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
    return b"".join(p.read_bytes() for p in files if p.exists())


def test_purged_conversations_are_gone_from_the_tracker_file_and_its_wal(tmp_path):  # noqa: ANN001
    db = tmp_path / "tracker.db"
    marker = f"purge-marker-{uuid.uuid4().hex}"
    server = sqlite3.connect(db)  # like the Rasa server: WAL mode, its connection stays open
    server.execute("PRAGMA journal_mode=WAL")
    server.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL, data TEXT)")
    old = time.time() - 100 * 86400
    rows = [("old", old, json.dumps({"event": "user", "text": f"{marker} {i}"})) for i in range(20)]
    server.executemany("INSERT INTO events (sender_id, timestamp, data) VALUES (?, ?, ?)", rows)
    server.execute("INSERT INTO events (sender_id, timestamp, data) VALUES ('new', ?, '{}')", (time.time(),))
    server.commit()
    assert marker.encode() in _raw(db)

    assert purge_conversations(90, settings=Settings.from_env({"TRACKER_DB": str(db)})) == 20

    assert marker.encode() not in _raw(db)
    assert server.execute("SELECT sender_id FROM events").fetchall() == [("new",)]
    server.close()


def test_purged_tickets_are_gone_from_the_handoff_file_and_its_wal(tmp_path):  # noqa: ANN001
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    clock = [now]
    store = SqliteHandoffStore(tmp_path / "handoff.sqlite", clock=lambda: clock[0])
    marker = f"ticket-marker-{uuid.uuid4().hex}"
    ticket = store.create_ticket("c1", "rest", "urgent", "rash", marker, [{"role": "user", "text": marker}])
    store.add_message(ticket.id, f"{marker} follow-up")
    clock[0] = now + dt.timedelta(days=100)
    kept = store.create_ticket("c2", "rest", "routine", "question", "keep me", [])
    # Another process (the staff app, the action server's other worker) has the file open: the WAL stays.
    other = sqlite3.connect(store.path)
    assert other.execute("SELECT count(*) FROM handoff_tickets").fetchone() == (2,)
    assert marker.encode() in _raw(store.path)

    assert store.purge(90) == 1

    assert marker.encode() not in _raw(store.path)
    assert [t.id for t in store.list_tickets(status=None)] == [kept.id]
    other.close()


def test_make_purge_deletes_audit_entries_past_their_own_retention_only(tmp_path, monkeypatch, capsys):  # noqa: ANN001
    from bot.handoff import audit
    from bot.ops import purge

    now = dt.datetime.now(dt.timezone.utc)
    for age_days, actor in ((2191, "seven-years-ago"), (400, "last-year"), (0, "today")):
        store = SqliteHandoffStore(tmp_path / "handoff.sqlite", clock=lambda d=age_days: now - dt.timedelta(days=d))
        audit.record(store, actor, "login")
    settings = Settings.from_env(
        {"HANDOFF_DB_PATH": str(tmp_path / "handoff.sqlite"), "TRACKER_DB": str(tmp_path / "none.db")}
    )
    monkeypatch.setattr(purge, "get_settings", lambda: settings)
    assert purge.main([]) == 0
    assert "purged 1 audit entries older than 2190 days" in capsys.readouterr().out
    left = [e.actor for e in audit.entries(SqliteHandoffStore(tmp_path / "handoff.sqlite"))]
    assert left == ["today", "last-year"]
    assert purge.main(["--audit-days", "365"]) == 0
    assert [e.actor for e in audit.entries(SqliteHandoffStore(tmp_path / "handoff.sqlite"))] == ["today"]
