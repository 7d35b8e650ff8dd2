"""The tracker store's window (bot/rasa_server/tracker_store.py), on SQLite and on PostgreSQL (skipped when no
PostgreSQL answers on 127.0.0.1:5432): a long conversation loads a bounded number of events and the same state as
Rasa's whole-session load; the full tracker and "delete my data" still cover every event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from bot.rasa_server.channels.common import erase_conversation
from bot.rasa_server.tracker_store import WINDOW_USER_TURNS, TrackerStore

DOMAIN = Domain.load(Path(__file__).resolve().parents[2] / "domain.yml")
PG = {"host": "127.0.0.1", "port": 5432, "username": "postgres", "password": ""}


def _postgres_admin() -> Any:
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        conn = psycopg2.connect(dbname="postgres", user=PG["username"], host=PG["host"], port=PG["port"])
    except psycopg2.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    conn.autocommit = True
    return conn


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrackerStore]:
    if request.param == "sqlite":
        yield TrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
        return
    admin = _postgres_admin()
    name = f"tracker_test_{uuid.uuid4().hex[:12]}"
    admin.cursor().execute(f"CREATE DATABASE {name}")
    pg_store = TrackerStore(DOMAIN, dialect="postgresql", db=name, **PG)
    try:
        yield pg_store
    finally:
        pg_store.engine.dispose()
        admin.cursor().execute(f"DROP DATABASE {name}")
        admin.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def turn(
    store: TrackerStore, sender: str, text: str, slots: dict[str, Any] | None = None, *extra: Event, reply: bool = True
) -> None:
    """One turn as Rasa stores it: a new conversation's action_listen and session start, the user message, the
    action, its messages (none when the action server failed) and slot events, action_listen."""

    async def go() -> None:
        new = await store.retrieve(sender) is None
        tracker = await store.get_or_create_tracker(sender)
        if new:
            tracker.update_with_events(
                [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")], DOMAIN
            )
        tracker.update(UserUttered(text, {"name": "ask_general", "confidence": 0.9}))
        tracker.update(ActionExecuted("action_respond"))
        if reply:
            tracker.update(BotUttered(f"reply to {text}"))
            tracker.update(BotUttered(data={"custom": {"kind": "answer"}}))
        tracker.update_with_events([SlotSet(k, v) for k, v in (slots or {}).items()], DOMAIN)
        tracker.update_with_events(list(extra), DOMAIN)
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)

    run(go())


def whole_session(store: TrackerStore, sender: str) -> DialogueStateTracker:
    """Rasa's own retrieve: every event of the current session."""
    tracker = run(SQLTrackerStore.retrieve(store, sender))
    assert tracker is not None
    return tracker


def window(store: TrackerStore, sender: str) -> DialogueStateTracker:
    tracker = run(store.retrieve(sender))
    assert tracker is not None
    return tracker


def what_the_action_reads(tracker: DialogueStateTracker) -> tuple[list[str], bool]:
    """The texts of actions/respond.py's transcript and whether the bot spoke, from what Rasa sends it."""
    events = tracker.current_state(EventVerbosity.ALL)["events"]
    texts = [e["text"] for e in events if e["event"] in ("user", "bot") and e.get("text")]
    return texts[-10:], any(e["event"] == "bot" for e in events)


def assert_same_state(store: TrackerStore, sender: str) -> None:
    windowed, whole = window(store, sender), whole_session(store, sender)
    assert windowed.current_slot_values() == whole.current_slot_values()
    assert what_the_action_reads(windowed) == what_the_action_reads(whole)
    assert windowed.latest_message == whole.latest_message
    assert windowed.is_paused() == whole.is_paused()
    assert windowed.active_loop == whole.active_loop
    assert windowed.latest_bot_utterance == whole.latest_bot_utterance


def stored_rows(store: TrackerStore, sender: str) -> int:
    with store.session_scope() as session:
        return session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender).count()


SLOTS_BY_TURN: dict[int, dict[str, Any]] = {
    0: {"drug": "methotrexate", "topic": "side_effects"},
    1: {"choices": ['/inform_drug{"drug": "dupilumab"}', '/inform_drug{"drug": "methotrexate"}']},
    2: {"handoff_ticket": "T-1", "choices": None},
    5: {"sms_more": "the rest of the answer"},
    6: {"pending_erase": True},
    7: {"pending_erase": False, "topic": "monitoring"},
}


def test_a_short_conversation_loads_like_rasa(store: TrackerStore) -> None:
    for i in range(WINDOW_USER_TURNS - 1):
        turn(store, "short", f"question {i}", SLOTS_BY_TURN.get(i))
    assert [e.as_dict() for e in window(store, "short").events] == [
        e.as_dict() for e in whole_session(store, "short").events
    ]


def test_a_long_conversation_loads_a_bounded_window_with_the_state_of_the_whole_session(store: TrackerStore) -> None:
    lengths = {}
    for i in range(60):
        turn(store, "long", f"question {i}", SLOTS_BY_TURN.get(i))
        if i in (29, 59):
            lengths[i] = len(window(store, "long").events)
    assert lengths[29] == lengths[59] < len(whole_session(store, "long").events) / 4
    windowed = window(store, "long")
    assert [e.text for e in windowed.events if isinstance(e, UserUttered)] == [
        f"question {i}" for i in range(60 - WINDOW_USER_TURNS, 60)
    ]
    assert windowed.get_slot("drug") == "methotrexate" and windowed.get_slot("topic") == "monitoring"
    assert windowed.get_slot("handoff_ticket") == "T-1" and windowed.get_slot("choices") is None
    assert windowed.get_slot("sms_more") == "the rest of the answer" and windowed.get_slot("pending_erase") is False
    assert_same_state(store, "long")


def test_saving_a_windowed_tracker_appends_each_event_once(store: TrackerStore) -> None:
    for i in range(40):
        turn(store, "saved", f"question {i}", SLOTS_BY_TURN.get(i))
    full = run(store.retrieve_full_tracker("saved"))
    assert full is not None and stored_rows(store, "saved") == len(full.events)
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == [f"question {i}" for i in range(40)]
    assert len(full.events) == 1 + 3 + 40 * 5 + sum(len(s) for s in SLOTS_BY_TURN.values())


def test_a_new_session_loads_only_its_own_events_and_the_full_tracker_keeps_every_session(
    store: TrackerStore,
) -> None:
    for i in range(30):
        turn(store, "sessions", f"old {i}", SLOTS_BY_TURN.get(i))
    new_session = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]

    async def expire() -> None:
        tracker = await store.get_or_create_tracker("sessions")
        tracker.update_with_events(new_session, DOMAIN)
        await store.save(tracker)

    run(expire())
    turn(store, "sessions", "new 0")
    tracker = window(store, "sessions")
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["new 0"]
    assert tracker.get_slot("drug") is None  # carry_over_slots_to_new_session: false
    assert_same_state(store, "sessions")
    full = run(store.retrieve_full_tracker("sessions"))
    assert full is not None and len([e for e in full.events if isinstance(e, UserUttered)]) == 31
    assert len(full.events) == stored_rows(store, "sessions")


@pytest.mark.parametrize(
    "event",
    [Restarted(), AllSlotsReset(), UserUtteranceReverted(), ConversationPaused()],
    ids=["restart", "reset_slots", "rewind", "pause"],
)
def test_resets_rewinds_and_pauses_before_the_window_give_the_same_state(store: TrackerStore, event: Event) -> None:
    for i in range(30):
        slots = {"drug": "dupilumab", "topic": "onset"} if i == 4 else SLOTS_BY_TURN.get(i)
        turn(store, "marked", f"question {i}", slots, *([event] if i == 4 else []))
    assert_same_state(store, "marked")


def test_a_window_of_failed_turns_still_shows_that_the_bot_spoke(store: TrackerStore) -> None:
    turn(store, "outage", "hello")
    for i in range(WINDOW_USER_TURNS + 2):  # Rasa saves a turn whose action failed, without any reply
        turn(store, "outage", f"question {i}", reply=False)
    texts, spoke = what_the_action_reads(window(store, "outage"))
    assert spoke and texts == [f"question {i}" for i in range(2, WINDOW_USER_TURNS + 2)]
    assert_same_state(store, "outage")


def test_erasing_a_long_conversation_removes_every_event(store: TrackerStore) -> None:
    for i in range(30):
        turn(store, "erased", f"question {i}", SLOTS_BY_TURN.get(i))
    turn(store, "kept", "hello")
    erase_conversation(store, "erased")
    assert run(store.retrieve("erased")) is None and run(store.retrieve_full_tracker("erased")) is None
    assert stored_rows(store, "erased") == 0 and stored_rows(store, "kept") > 0
    turn(store, "erased", "hello again")  # a new conversation from nothing
    assert [e.text for e in window(store, "erased").events if isinstance(e, UserUttered)] == ["hello again"]
