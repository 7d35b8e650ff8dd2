""" "Delete my data" on the real SQLite tracker store: the text is gone from the database file and its WAL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered

from bot.rasa_server.channels.common import erase_conversation
from bot.rasa_server.tracker_store import TrackerStore

DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"


def _say(store: TrackerStore, sender: str, *texts: str) -> None:
    async def run() -> None:
        tracker = await store.get_or_create_tracker(sender)
        for text in texts:
            tracker.update(UserUttered(text))
            tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)

    asyncio.run(run())


def _raw(db: Path) -> bytes:
    """Every byte SQLite keeps for the database: the file, its write-ahead log and shared-memory index."""
    files = (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
    return b"".join(p.read_bytes() for p in files if p.exists())


def test_an_erased_conversation_is_not_in_the_database_file_or_its_wal(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = TrackerStore(Domain.load(DOMAIN), dialect="sqlite", db=str(db))
    marker = f"my son's rash marker-{uuid.uuid4().hex}"
    kept = f"another family's question keep-{uuid.uuid4().hex}"
    _say(store, "erase-me", marker, f"{marker} again", "what about methotrexate?")
    _say(store, "keep-me", kept)
    assert marker.encode() in _raw(db)  # the check below can find it

    erase_conversation(store, "erase-me")  # the server keeps running: its connection stays open

    raw = _raw(db)
    assert marker.encode() not in raw
    assert b"erase-me" not in raw
    tracker = asyncio.run(store.retrieve("keep-me"))
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == [kept]
    gone = asyncio.run(store.retrieve("erase-me"))
    assert gone is None or not gone.events
