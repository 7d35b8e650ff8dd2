from __future__ import annotations

import multiprocessing
import re
import socket
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.handoff.models import InvalidTransition, StoreUnavailable, TicketNotFound
from bot.handoff.postgres import PostgresHandoffStore
from bot.handoff.sqlite import SqliteHandoffStore
from bot.handoff.store import HandoffStore, open_store, spool_path_for
from bot.settings import Settings

TRANSCRIPT = [
    {"role": "user", "text": "hi"},
    {"role": "bot", "text": "Hello! Ask me about eczema medicines."},
    {"role": "user", "text": "my son has a fever on methotrexate"},
]


class FakeClock:
    """Moves one second per reading, so creation order is deterministic."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def handoff_store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> HandoffStore:
    if request.param == "sqlite":
        return SqliteHandoffStore(tmp_path / "handoff.sqlite", clock=clock)
    url = request.getfixturevalue("pg_url")
    return PostgresHandoffStore(url, tmp_path / "spool.sqlite", clock=clock)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_ticket(
    store: HandoffStore,
    conversation: str = "conv-1",
    urgency: str = "urgent",
    reason: str = "fever on an immune-suppressing medicine",
):  # noqa: ANN201
    return store.create_ticket(conversation, "rest", urgency, reason, "my son has a fever on methotrexate", TRANSCRIPT)


def test_create_ticket_is_open_with_utc_times_and_one_queued_notification(
    handoff_store: HandoffStore,
) -> None:
    ticket = make_ticket(handoff_store)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", ticket.id)
    assert ticket.status == "open"
    assert ticket.created_at.tzinfo is not None and ticket.created_at.utcoffset() == timedelta(0)
    assert handoff_store.get_ticket(ticket.id) == ticket
    assert handoff_store.outbox_counts() == {"pending": 1, "sent": 0}
    data = ticket.to_dict()
    assert data["transcript"] == TRANSCRIPT and data["follow_ups"] == []
    assert data["created_at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("urgency", "transcript"),
    [
        ("soon", TRANSCRIPT),
        ("urgent", [{"role": "nurse", "text": "x"}]),
        ("urgent", [{"role": "user"}]),
    ],
)
def test_create_ticket_rejects_bad_input_and_stores_nothing(
    handoff_store: HandoffStore, urgency: str, transcript: list[dict[str, str]]
) -> None:
    with pytest.raises(ValueError):
        handoff_store.create_ticket("c", "rest", urgency, "r", "m", transcript)
    assert handoff_store.list_tickets(None) == []
    assert handoff_store.outbox_counts() == {"pending": 0, "sent": 0}


def test_follow_up_is_kept_and_bumps_updated_at(handoff_store: HandoffStore) -> None:
    ticket = make_ticket(handoff_store)
    handoff_store.add_message(ticket.id, "now she has a rash too")
    handoff_store.add_message(ticket.id, "and 38.5C")
    stored = handoff_store.get_ticket(ticket.id)
    assert [f.text for f in stored.follow_ups] == ["now she has a rash too", "and 38.5C"]
    assert stored.updated_at > ticket.updated_at
    with pytest.raises(TicketNotFound):
        handoff_store.add_message("no-such-ticket", "hello")


def test_open_ticket_for_returns_latest_open_or_claimed(handoff_store: HandoffStore) -> None:
    assert handoff_store.open_ticket_for("conv-1") is None
    first = make_ticket(handoff_store)
    second = make_ticket(handoff_store, urgency="routine")
    make_ticket(handoff_store, conversation="someone-else")
    assert handoff_store.open_ticket_for("conv-1").id == second.id  # type: ignore[union-attr]
    handoff_store.claim(second.id, "Nurse Kim")
    assert handoff_store.open_ticket_for("conv-1").id == second.id  # type: ignore[union-attr]
    handoff_store.resolve(second.id)
    assert handoff_store.open_ticket_for("conv-1").id == first.id  # type: ignore[union-attr]
    handoff_store.resolve(first.id)
    assert handoff_store.open_ticket_for("conv-1") is None
    with pytest.raises(InvalidTransition):
        handoff_store.add_message(first.id, "more")


def test_list_orders_by_urgency_then_oldest_first(handoff_store: HandoffStore) -> None:
    routine = make_ticket(handoff_store, "a", "routine")
    urgent_old = make_ticket(handoff_store, "b", "urgent")
    emergency = make_ticket(handoff_store, "c", "emergency")
    urgent_new = make_ticket(handoff_store, "d", "urgent")
    ids = [t.id for t in handoff_store.list_tickets()]
    assert ids == [emergency.id, urgent_old.id, urgent_new.id, routine.id]
    handoff_store.claim(urgent_old.id, "Ann")
    handoff_store.resolve(routine.id)
    assert [t.id for t in handoff_store.list_tickets("open")] == [emergency.id, urgent_new.id]
    assert [t.id for t in handoff_store.list_tickets("claimed")] == [urgent_old.id]
    assert [t.id for t in handoff_store.list_tickets("resolved")] == [routine.id]
    assert [t.id for t in handoff_store.list_tickets("active")] == [
        emergency.id,
        urgent_old.id,
        urgent_new.id,
    ]
    assert len(handoff_store.list_tickets(None)) == 4
    with pytest.raises(ValueError):
        handoff_store.list_tickets("pending")


def test_claim_and_resolve_transitions(handoff_store: HandoffStore) -> None:
    ticket = make_ticket(handoff_store)
    claimed = handoff_store.claim(ticket.id, "  Nurse Kim ")
    assert (claimed.status, claimed.claimed_by) == ("claimed", "Nurse Kim")
    assert claimed.claimed_at is not None
    assert handoff_store.claim(ticket.id, "Nurse Kim").status == "claimed"  # same person: no-op
    with pytest.raises(InvalidTransition, match="claimed by Nurse Kim"):
        handoff_store.claim(ticket.id, "Dr Lee")
    resolved = handoff_store.resolve(ticket.id)
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    with pytest.raises(InvalidTransition):
        handoff_store.resolve(ticket.id)
    with pytest.raises(InvalidTransition):
        handoff_store.claim(ticket.id, "Dr Lee")
    for action in (
        lambda: handoff_store.claim("nope", "Ann"),
        lambda: handoff_store.resolve("nope"),
        lambda: handoff_store.get_ticket("nope"),
    ):
        with pytest.raises(TicketNotFound):
            action()
    with pytest.raises(ValueError):
        handoff_store.claim(make_ticket(handoff_store).id, "   ")


def test_purge_deletes_old_tickets_with_their_messages_and_notifications(
    handoff_store: HandoffStore, clock: FakeClock
) -> None:
    old_open = make_ticket(handoff_store, "old-1")
    old_resolved = make_ticket(handoff_store, "old-2")
    handoff_store.add_message(old_open.id, "follow-up")
    handoff_store.resolve(old_resolved.id)
    clock.advance(days=31)
    recent = make_ticket(handoff_store, "new")
    assert handoff_store.purge(30) == 2
    assert [t.id for t in handoff_store.list_tickets(None)] == [recent.id]
    assert handoff_store.outbox_counts() == {"pending": 1, "sent": 0}
    assert handoff_store.purge(30) == 0
    with pytest.raises(ValueError):
        handoff_store.purge(-1)


def test_delete_conversation_removes_only_that_conversation(handoff_store: HandoffStore) -> None:
    mine = [make_ticket(handoff_store, "me"), make_ticket(handoff_store, "me", "routine")]
    handoff_store.add_message(mine[0].id, "delete my data")
    other = make_ticket(handoff_store, "other")
    assert handoff_store.delete_conversation("me") == 2
    assert [t.id for t in handoff_store.list_tickets(None)] == [other.id]
    assert handoff_store.outbox_counts()["pending"] == 1
    assert handoff_store.delete_conversation("me") == 0


def test_open_store_picks_backend_from_settings(tmp_path: Path, pg_url: str) -> None:
    base = Settings.from_env().replace(handoff_db_path=tmp_path / "a" / "b" / "h.sqlite")
    sqlite_store = open_store(base.replace(database_url=""))
    assert isinstance(sqlite_store, SqliteHandoffStore)
    assert (tmp_path / "a" / "b" / "h.sqlite").exists()
    with sqlite3.connect(tmp_path / "a" / "b" / "h.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    pg_store = open_store(base.replace(database_url=pg_url))
    assert isinstance(pg_store, PostgresHandoffStore)
    ticket = make_ticket(pg_store)
    assert pg_store.get_ticket(ticket.id).id == ticket.id


def _create_many(path: str, conversation: str, count: int) -> None:
    store = SqliteHandoffStore(path)
    for _ in range(count):
        make_ticket(store, conversation)


def test_sqlite_store_is_safe_for_several_processes_and_threads(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    SqliteHandoffStore(path)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_create_many, args=(path, f"proc-{i}", 15)) for i in range(2)]
    threads = [threading.Thread(target=_create_many, args=(path, f"thread-{i}", 10)) for i in range(3)]
    for proc in procs:
        proc.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    store = SqliteHandoffStore(path)
    assert len(store.list_tickets(None)) == 60
    assert store.outbox_counts() == {"pending": 60, "sent": 0}


@pytest.mark.integration
def test_postgres_down_spools_tickets_then_flush_moves_each_once(tmp_path: Path, pg_url: str) -> None:
    settings = Settings.from_env().replace(
        handoff_db_path=tmp_path / "handoff.sqlite",
        database_url=f"postgresql://postgres@127.0.0.1:{closed_port()}/test",
    )
    down = open_store(settings)
    first = make_ticket(down, "conv-1")
    second = make_ticket(down, "conv-2", "emergency")
    down.add_message(first.id, "still feverish")
    assert down.open_ticket_for("conv-1").id == first.id  # type: ignore[union-attr]
    with pytest.raises(StoreUnavailable):
        down.list_tickets()
    spool = spool_path_for(settings)
    assert spool.exists()

    # Keep a copy of the spool to replay a crash between the PostgreSQL commit and the spool delete.
    replay = tmp_path / "replay.sqlite"
    with sqlite3.connect(spool) as src, sqlite3.connect(replay) as dst:
        src.backup(dst)

    up = open_store(settings.replace(database_url=pg_url))
    assert up.flush_spool() == 2
    assert up.flush_spool() == 0
    with sqlite3.connect(replay) as src, sqlite3.connect(spool) as dst:
        src.backup(dst)
    assert up.flush_spool() == 2  # replayed: already there, nothing doubled

    assert sorted(t.id for t in up.list_tickets(None)) == sorted([first.id, second.id])
    assert [f.text for f in up.get_ticket(first.id).follow_ups] == ["still feverish"]
    assert up.outbox_counts() == {"pending": 2, "sent": 0}
    assert up.open_ticket_for("conv-2").id == second.id  # type: ignore[union-attr]


@pytest.mark.integration
def test_postgres_up_keeps_follow_ups_for_a_ticket_still_in_the_spool(tmp_path: Path, pg_url: str) -> None:
    spool = tmp_path / "spool.sqlite"
    down = PostgresHandoffStore(f"postgresql://postgres@127.0.0.1:{closed_port()}/test", spool)
    ticket = make_ticket(down)
    up = PostgresHandoffStore(pg_url, spool)
    assert up.open_ticket_for("conv-1").id == ticket.id  # type: ignore[union-attr]
    up.add_message(ticket.id, "it is worse")  # PostgreSQL is up but the ticket is not there yet
    assert up.flush_spool() == 1
    assert [f.text for f in up.get_ticket(ticket.id).follow_ups] == ["it is worse"]
    assert up.delete_conversation("conv-1") == 1
    assert up.list_tickets(None) == []
