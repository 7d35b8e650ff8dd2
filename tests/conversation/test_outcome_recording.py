"""The action server's assistant records each conversation's outcome per day; a failure never breaks a reply."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.conversation.service import RecordingAssistant
from bot.conversation.types import Turn
from bot.handoff.outcomes import OutcomeRecorder, outcomes_per_day
from bot.handoff.sqlite import SqliteHandoffStore
from tests.conftest import FakeVerdict, KeywordScreen, MemoryStore, name_matcher
from tests.fakes import FixedScores

TODAY = date(2026, 11, 25)


def recording(kb, settings, record, screen=None) -> RecordingAssistant:  # noqa: ANN001
    assistant = RecordingAssistant(
        kb, settings, name_matcher(), screen or KeywordScreen(), None, MemoryStore(), lambda urgency, now: "soon"
    )
    assistant.outcomes = OutcomeRecorder(record, lambda: TODAY)
    return assistant


def test_each_reply_kind_records_its_outcome(kb, settings) -> None:  # noqa: ANN001
    seen: list[tuple[str, str]] = []
    screen = KeywordScreen({"fever": FakeVerdict("infection", "urgent", "fever on an immunosuppressant")})
    assistant = recording(kb, settings, lambda conv, outcome, day: seen.append((conv, outcome)), screen)
    turns = {
        "a": Turn("what are the side effects of methotrexate", "a", intent="ask_side_effects", confidence=0.9),
        "b": Turn("can you drink alcohol on cyclosporine", "b", entity_drugs=("cyclosporine",)),
        "c": Turn("my son has a fever on methotrexate", "c"),
        "d": Turn("hello", "d", intent="greet", confidence=0.99),
    }
    kinds = {conv: assistant.respond(turn).kind for conv, turn in turns.items()}
    assert kinds == {"a": "answer", "b": "abstain", "c": "handoff", "d": "chitchat"}
    assert seen == [("a", "answered"), ("b", "abstained"), ("c", "handed_off")]  # a greeting is no outcome


def test_a_failing_assistant_records_a_fallback_and_still_raises(kb, settings, monkeypatch) -> None:  # noqa: ANN001
    seen: list[str] = []
    assistant = recording(kb, settings, lambda conv, outcome, day: seen.append(outcome))

    def boom(self, turn):  # noqa: ANN001, ANN202
        raise RuntimeError("model crashed")

    monkeypatch.setattr("bot.conversation.assistant.Assistant.respond", boom)
    with pytest.raises(RuntimeError):
        assistant.respond(Turn("what is dupilumab", "z"))
    assert seen == ["fallback"]


def test_a_failing_store_does_not_break_the_reply(kb, settings, caplog) -> None:  # noqa: ANN001
    def broken(conv: str, outcome: str, day: date) -> None:
        raise OSError("database locked")

    turn = Turn("what are the side effects of methotrexate", intent="ask_side_effects", confidence=0.9)
    plain = recording(kb, settings, lambda *args: None).respond(turn)
    reply = recording(kb, settings, broken).respond(turn)
    assert reply.kind == "answer" and reply.texts == plain.texts
    assert "could not record a conversation outcome" in caplog.text


def test_the_service_records_outcomes_in_the_handoff_store(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    import bot.conversation.service as service

    monkeypatch.setenv("HANDOFF_DB_PATH", str(tmp_path / "handoff.sqlite"))
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setattr("bot.encoder.get_encoder", lambda: None)
    monkeypatch.setattr("bot.conversation.timed.TimedRetriever", lambda *args: None)
    monkeypatch.setattr("bot.conversation.timed.TimedScreen", lambda *args, **kwargs: KeywordScreen())
    monkeypatch.setattr("bot.conversation.aspects.AspectModel", lambda *args: FixedScores({"alcohol": 0.9}))
    service.get_assistant.cache_clear()
    try:
        assistant = service.get_assistant()
        assistant.respond(Turn("can you drink alcohol on cyclosporine", "conv-9", entity_drugs=("cyclosporine",)))
    finally:
        service.get_assistant.cache_clear()
    store = SqliteHandoffStore(tmp_path / "handoff.sqlite")
    today = outcomes_per_day(store, 1)
    assert list(today.values()) == [{"handed_off": 0, "fallback": 0, "abstained": 1, "answered": 0}]
