"""Rasa's SQL tracker store, loading a bounded window of each conversation (endpoints.yml and
deploy/endpoints.prod.yml name this class).

Why a window: Rasa's store loads every event of the current session on each turn and replays it, then Rasa sends
all of it to the action server and its rule policy featurizes all of it, twice per turn. In one conversation
through the REST channel, turns 176-200 (about 1,500 events) took 530-690 ms against 60-70 ms for turns 1-25
(`python -m bot.quality.bench --only curve`). `retrieve` loads the events from the WINDOW_USER_TURNS-th last user
message of the current session on, preceded by the latest event of each kind of state set before it (each slot,
active loop, pause/resume, the latest bot message), so the tracker's state is the one the whole session gives.
What is read from the events is in the window: this bot's rules look at the last user message, the action at the
last 10 user/bot texts (its transcript; every user message has text) and at whether the bot ever spoke (the
disclaimer on the first reply). A session with a rewind or undo (`/back`) before the window loads whole, since
what those revert is not one event per state. `retrieve_full_tracker` (Rasa's /conversations/<id>/tracker API)
still loads every session. `save` appends the events after the loaded ones (Rasa counts the session's rows).

On SQLite, Rasa opens a new connection for every query batch and every commit waits for an fsync (about 1.4 ms
each here, several per turn). This store keeps one connection per thread and uses write-ahead logging with
synchronous=NORMAL: the file stays consistent if the process crashes, and a power cut may lose only the last
turns. Conversations are not the record of care (handoff tickets are, and their store commits fully). On
PostgreSQL (production) the connection handling is Rasa's.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event
from sqlalchemy.pool import SingletonThreadPool

# At least the last 10 user/bot texts, the action's transcript.
WINDOW_USER_TURNS = 10
# Events that set state kept across turns; the latest one of each type and name restores it. "bot": whether and
# what the bot last said, when the turns of the window have no reply (the action server failed in each).
STATE_EVENTS = ("slot", "active_loop", "loop_interrupted", "form_validation", "pause", "resume", "bot")
RESETS = ("restart", "reset_slots")  # restart resets all state, reset_slots the slots
REVERTS = ("rewind", "undo")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are zeroed, not left in free pages (many builds default to it; not all). The WAL still holds
    # them until erase_conversation (channels/common.py) or `make purge` checkpoints and truncates it.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class WindowTracker(DialogueStateTracker):
    """A tracker whose first `stored_events` events are in the store, so `save` appends only the rest."""

    stored_events: int = 0


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

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's tracker from its last WINDOW_USER_TURNS user turns and its current state."""
        with self.session_scope() as session:
            rows = self._window_query(session, sender_id).all()
            events = [json.loads(row.data) for row in rows]
        if not self.domain or not events:
            return None
        tracker = WindowTracker.from_dict(sender_id, events, self.domain.slots)
        tracker.stored_events = len(tracker.events)
        return tracker

    def _window_query(self, session: Any, sender_id: str) -> Any:
        E = self.SQLEvent
        session_start = (
            session.query(sa.func.max(E.timestamp)).filter(E.sender_id == sender_id, E.type_name == "session_started")
        ).scalar()
        # The same session as Rasa's own query: from the latest session start by timestamp, in id order.
        in_session = [E.sender_id == sender_id] + ([E.timestamp >= session_start] if session_start is not None else [])
        whole_session = session.query(E).filter(*in_session).order_by(E.id)
        start = (
            session.query(E.id)
            .filter(*in_session, E.type_name == "user")
            .order_by(E.id.desc())
            .offset(WINDOW_USER_TURNS - 1)
            .limit(1)
            .scalar()
        )
        if start is None:
            return whole_session
        before = [*in_session, E.id < start]
        marks = dict(
            session.query(E.type_name, sa.func.max(E.id))
            .filter(*before, E.type_name.in_(RESETS + REVERTS))
            .group_by(E.type_name)
            .all()
        )
        if any(name in marks for name in REVERTS):
            return whole_session
        since_restart = E.id > marks.get("restart", 0)
        slots_since_reset = sa.or_(E.type_name != "slot", E.id > max(marks.values(), default=0))
        latest_state = (
            sa.select(sa.func.max(E.id))
            .where(*before, E.type_name.in_(STATE_EVENTS), since_restart, slots_since_reset)
            .group_by(E.type_name, E.action_name)
        )
        return (
            session.query(E).filter(sa.or_(E.id.in_(latest_state), sa.and_(*in_session, E.id >= start))).order_by(E.id)
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(tracker)
        if isinstance(tracker, WindowTracker):
            tracker.stored_events = len(tracker.events)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Any]:
        """Rasa counts the session's stored events to find the new ones; a window tracker knows how many it has."""
        if isinstance(tracker, WindowTracker):
            return itertools.islice(tracker.events, tracker.stored_events, None)
        return super()._additional_events(session, tracker)
