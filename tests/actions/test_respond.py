"""actions/respond.py: the tracker read into a Turn, and the assistant's reply turned into messages and events."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import respond
from bot.encoder import DIMENSIONS, pack_vector
from bot.rasa_server.logfmt import RequestIdFilter
from tests.conftest import FakeVerdict, KeywordScreen, make_assistant


def tracker(
    text: str,
    intent: str | None = None,
    confidence: float = 0.0,
    *,
    ranking: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    **parse_data: Any,
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": [], **parse_data}
    if ranking is not None:
        message["intent_ranking"] = ranking
    events = [*(history or []), {"event": "user", "text": text, "input_channel": "rest", "parse_data": message}]
    return Tracker("c1", slots or {}, message, events, False, None, {}, "action_listen")


def run(action_tracker: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(respond.ActionRespond().run(dispatcher, action_tracker, {}))
    return dispatcher.messages, events


@pytest.fixture
def assistant(kb, settings, store, monkeypatch):  # noqa: ANN001
    built = make_assistant(kb, settings, store, screen=KeywordScreen({"fever": FakeVerdict("f", "urgent", "r")}))
    monkeypatch.setattr(respond, "get_assistant", lambda: built)
    return built


def test_an_answer_becomes_texts_a_custom_message_and_slot_events(assistant) -> None:  # noqa: ANN001
    history = [{"event": "bot", "text": "Hi!"}]
    messages, events = run(tracker("side effects of dupixent", "ask_side_effects", 0.95, history=history))
    texts, custom = [m["text"] for m in messages[:-1]], messages[-1]["custom"]
    assert texts and all(texts) and custom["kind"] == "answer" and custom["drug"] == "dupilumab"
    assert SlotSet("drug", "dupilumab") in events and SlotSet("topic", custom["topic"]) in events
    assert all(isinstance(e, dict) and e["event"] == "slot" for e in events)


def test_buttons_go_with_the_last_text(assistant) -> None:  # noqa: ANN001
    messages, events = run(tracker("what are the side effects", "ask_side_effects", 0.95))
    assert messages[-1]["custom"]["kind"] == "clarify"
    with_buttons = [m for m in messages if m.get("buttons")]
    assert with_buttons == [messages[-2]]
    assert '/inform_drug{"drug":"methotrexate"}' in [b["payload"] for b in with_buttons[0]["buttons"]]
    assert SlotSet("topic", "side_effects") in events


def test_the_first_turn_starts_with_the_disclaimer_and_a_handoff_sets_the_ticket(assistant, store) -> None:  # noqa: ANN001
    messages, events = run(tracker("my son has a fever", "report_symptom", 0.9))
    assert "can't give medical advice" in messages[0]["text"]
    assert messages[-1]["custom"]["kind"] == "handoff" and messages[-1]["custom"]["urgency"] == "urgent"
    [ticket] = store.tickets
    assert SlotSet("handoff_ticket", ticket) in events


def test_nlu_fallback_takes_the_next_intent_in_the_ranking() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.7},
        {"name": "ask_onset", "confidence": 0.28},
        {"name": "ask_what_is", "confidence": 0.2},
    ]
    turn = respond.turn_from_tracker(tracker("how quick does it kick in", "nlu_fallback", 0.7, ranking=ranking))
    assert (turn.intent, turn.confidence) == ("ask_onset", 0.28)
    # the topic reader weighs the whole ranking, without the fallback
    assert turn.intent_ranking == (("ask_onset", 0.28), ("ask_what_is", 0.2))
    only = respond.turn_from_tracker(tracker("hm", "nlu_fallback", 0.7, ranking=[ranking[0]]))
    assert (only.intent, only.confidence) == (None, 0.0)


def test_the_turn_carries_slots_entities_channel_and_transcript() -> None:
    message = {
        "text": "and mtx?",
        "intent": {"name": "inform_drug", "confidence": 0.9},
        "entities": [{"entity": "drug", "value": "methotrexate"}, {"entity": "other", "value": "x"}],
    }
    events = [
        {"event": "user", "text": "hi"},
        {"event": "bot", "text": "Hello"},
        {"event": "slot", "name": "drug", "value": "methotrexate"},
        {"event": "user", "text": "and mtx?", "input_channel": "sms"},
    ]
    slots = {"drug": "methotrexate", "topic": "onset", "choices": ["/affirm"], "pending_erase": True}
    turn = respond.turn_from_tracker(Tracker("c9", slots, message, events, False, None, {}, "action_listen"))
    assert (turn.conversation_id, turn.channel, turn.entity_drugs) == ("c9", "sms", ("methotrexate",))
    assert (turn.slot_drug, turn.slot_topic, turn.slot_choices, turn.slot_pending_erase) == (
        "methotrexate", "onset", ("/affirm",), True,
    )  # fmt: skip
    assert not turn.first_turn and turn.embedding is None
    assert [t["role"] for t in turn.transcript] == ["user", "bot", "user"]


def test_the_embedding_in_the_parse_data_is_passed_into_the_turn() -> None:
    vector = np.linspace(-1, 1, DIMENSIONS, dtype=np.float32)
    data = {"encoder": "abc123", "text": "side effects of medicine", "vector": pack_vector(vector)}
    turn = respond.turn_from_tracker(tracker("side effects of dupixent", "ask_side_effects", 0.9, embedding=data))
    assert turn.embedding is not None
    assert (turn.embedding.encoder, turn.embedding.text) == ("abc123", "side effects of medicine")
    np.testing.assert_array_equal(turn.embedding.vector, vector)


@pytest.mark.parametrize(
    "data",
    [None, "x", {"encoder": "a", "text": "t"}, {"encoder": "a", "text": "t", "vector": "!!"},
     {"encoder": "a", "text": "t", "vector": pack_vector(np.zeros(10, np.float32))}],
)  # fmt: skip
def test_a_missing_or_malformed_embedding_is_ignored(data: Any) -> None:
    turn = respond.turn_from_tracker(tracker("hello", "greet", 0.9, embedding=data))
    assert turn.embedding is None


def test_the_turn_runs_with_the_request_id_rasa_put_in_the_message_metadata(
    assistant, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:  # noqa: ANN001
    log = logging.getLogger("tests.actions.request_id")
    answer = assistant.respond

    def respond_logging(turn: Any) -> Any:
        log.warning("answering")
        return answer(turn)

    monkeypatch.setattr(assistant, "respond", respond_logging)
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger=log.name):
        run(tracker("what is dupixent?", "ask_drug_info", 0.9, metadata={"request_id": "turn-42"}))
        run(tracker("what is dupixent?", "ask_drug_info", 0.9, metadata={"request_id": "bad id!"}))
        run(tracker("what is dupixent?", "ask_drug_info", 0.9))
    assert [r.request_id for r in caplog.records if r.name == log.name] == ["turn-42", None, None]  # type: ignore[attr-defined]
