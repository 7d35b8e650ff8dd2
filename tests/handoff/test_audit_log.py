"""The audit log is append-only in the database itself, and has its own retention purge."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from bot.handoff import audit
from bot.handoff.postgres import PostgresHandoffStore
from bot.handoff.sqlite import SqliteHandoffStore
from bot.handoff.store import HandoffStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_an_update_of_an_entry_fails_and_changes_nothing(store: HandoffStore) -> None:
    audit.record(store, "ann", "claim", ticket_id="T1", remote="10.0.0.1", detail="x")
    for sql in ("UPDATE audit_log SET actor = 'mallory'", "UPDATE audit_log SET at = at WHERE id > 0"):
        with pytest.raises(Exception, match="append-only"):
            with store._tx() as c:
                c.run(sql)
    (entry,) = audit.entries(store)
    assert (entry.actor, entry.action, entry.ticket_id, entry.remote) == ("ann", "claim", "T1", "10.0.0.1")


def test_a_second_store_on_the_same_database_keeps_the_trigger(tmp_path: Path, clock: Clock) -> None:
    SqliteHandoffStore(tmp_path / "h.sqlite", clock=clock)
    again = SqliteHandoffStore(tmp_path / "h.sqlite", clock=clock)  # the DDL runs again: no error, still guarded
    audit.record(again, "ann", "login")
    with pytest.raises(Exception, match="append-only"):
        with again._tx() as c:
            c.run("UPDATE audit_log SET detail = 'changed'")


@pytest.mark.integration
def test_postgres_refuses_a_truncate(pg_url: str, tmp_path: Path, clock: Clock) -> None:
    store = PostgresHandoffStore(pg_url, tmp_path / "spool.sqlite", clock=clock)
    audit.record(store, "ann", "login")
    with pytest.raises(psycopg.Error, match="append-only"):
        with store._tx() as c:
            c.run("TRUNCATE audit_log")
    assert len(audit.entries(store)) == 1


def test_the_retention_purge_deletes_only_older_entries(store: HandoffStore, clock: Clock) -> None:
    audit.record(store, "old", "login")
    clock.now += timedelta(days=2190)
    audit.record(store, "boundary", "login")
    clock.now += timedelta(days=1)
    audit.record(store, "new", "login")
    assert audit.purge_audit(store, 2190) == 1
    assert [e.actor for e in audit.entries(store)] == ["new", "boundary"]
    with pytest.raises(ValueError):
        audit.purge_audit(store, 0)
