"""actions/respond.py on trackers shaped like the ones the tracker store's window gives Rasa to send
(bot/rasa_server/tracker_store.py): the restored state events, then the last user turns of the session.
The first-turn flag (the disclaimer) and the handoff transcript come out as from the whole conversation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.respond import turn_from_tracker

SESSION_START = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"}]
LISTEN = {"event": "action", "name": "action_listen"}


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "ask_general", "confidence": 0.9}}}


def exchange(i: int) -> list[dict[str, Any]]:
    return [
        user(f"question {i}"),
        {"event": "action", "name": "action_respond"},
        {"event": "bot", "text": f"answer {i}"},
        {"event": "bot", "data": {"custom": {"kind": "answer"}}},
        LISTEN,
    ]


def tracker(events: list[dict[str, Any]], text: str, slots: dict[str, Any] | None = None) -> Tracker:
    latest = user(text)
    return Tracker.from_dict(
        {
            "sender_id": "c1",
            "slots": slots or {},
            "latest_message": {**latest["parse_data"], "text": text},
            "events": [*events, latest],
        }
    )


def test_the_first_message_of_a_conversation_is_the_first_turn() -> None:
    turn = turn_from_tracker(tracker([*SESSION_START, LISTEN], "hi"))
    assert turn.first_turn and turn.transcript == ({"role": "user", "text": "hi"},)


def test_a_windowed_tracker_is_not_the_first_turn_and_has_the_last_ten_texts() -> None:
    restored = [{"event": "slot", "name": "drug", "value": "methotrexate"}, {"event": "slot", "name": "topic"}]
    window = [event for i in range(90, 100) for event in exchange(i)]
    turn = turn_from_tracker(tracker([*restored, *window], "and the dose?", {"drug": "methotrexate"}))
    assert not turn.first_turn and turn.slot_drug == "methotrexate"
    last_turns = [[("user", f"question {i}"), ("bot", f"answer {i}")] for i in range(95, 100)]
    expected = [pair for pairs in last_turns for pair in pairs][1:] + [("user", "and the dose?")]
    assert [(t["role"], t["text"]) for t in turn.transcript] == expected


def test_the_first_message_of_a_new_session_is_not_the_first_turn() -> None:
    # Rasa starts the new session on the tracker it loaded, so the old session's window is still there:
    # the disclaimer stays once per conversation, as before the window.
    old = [event for i in range(10) for event in exchange(i)]
    turn = turn_from_tracker(tracker([*old, *SESSION_START, LISTEN], "hi again"))
    assert not turn.first_turn
