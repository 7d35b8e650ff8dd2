"""Each abstention is counted as a content gap; answers are not; a failing count never breaks the reply."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.gaps import GapRecorder, gap_of
from bot.conversation.service import RecordingAssistant
from bot.conversation.types import Reply, Turn
from bot.handoff.gaps import Gap, record_gap, top_gaps
from bot.handoff.sqlite import SqliteHandoffStore
from tests.conftest import KeywordScreen, MemoryStore, name_matcher
from tests.fakes import FixedScores


def recording(kb, settings, record) -> RecordingAssistant:  # noqa: ANN001
    assistant = RecordingAssistant(
        kb, settings, name_matcher(), KeywordScreen(), None, MemoryStore(), lambda urgency, now: "soon"
    )
    assistant.gaps = GapRecorder(record)
    return assistant


def test_an_abstention_records_its_medicine_and_aspect_and_nothing_of_the_text(kb, settings, tmp_path: Path) -> None:
    store = SqliteHandoffStore(tmp_path / "gaps.sqlite")
    assistant = recording(kb, settings, lambda gap: record_gap(store, gap))
    reply = assistant.respond(Turn("can you drink alcohol on cyclosporine", entity_drugs=("cyclosporine",)))
    assert reply.kind == "abstain"
    assert [(c.drug, c.aspect, c.reason, c.count) for c in top_gaps(store)] == [
        ("cyclosporine", "alcohol", "not_covered", 1)
    ]
    with store._tx(write=False) as c:
        stored = repr(c.rows("SELECT * FROM content_gaps"))
    assert "drink" not in stored


def test_no_fact_records_the_medicine_and_the_intents_topic(kb, settings) -> None:
    gaps: list[Gap] = []
    reply = recording(kb, settings, gaps.append).respond(
        Turn("is dupixent safe in pregnancy", intent="ask_pregnancy", confidence=0.9)
    )
    assert reply.kind == "abstain" and gaps == [Gap("dupilumab", "pregnancy", "no_fact")]


def test_an_answer_records_nothing(kb, settings) -> None:
    gaps: list[Gap] = []
    reply = recording(kb, settings, gaps.append).respond(
        Turn("what are the side effects of methotrexate", intent="ask_side_effects", confidence=0.9)
    )
    assert reply.kind == "answer" and gaps == []


def test_a_failing_store_does_not_break_the_reply(kb, settings, caplog: pytest.LogCaptureFixture) -> None:
    def broken(gap: Gap) -> None:
        raise OSError("disk full")

    plain = recording(kb, settings, lambda gap: None).respond(Turn("can you drink alcohol on cyclosporine"))
    reply = recording(kb, settings, broken).respond(Turn("can you drink alcohol on cyclosporine"))
    assert reply.kind == "abstain" and reply.texts == plain.texts
    assert "could not record a content gap" in caplog.text


def test_drug_and_aspect_in_the_reply_are_taken_at_their_word() -> None:
    turn = Turn("whatever", entity_drugs=("methotrexate",), intent="ask_onset", confidence=0.99)
    explicit = Reply("abstain", ["no"], {"reason": "no_fact", "drug": "dupilumab", "aspect": "storage"})
    unknown = Reply("abstain", ["no"], {"reason": "abstain", "drug": None, "aspect": None})
    assert gap_of(turn, explicit) == Gap("dupilumab", "storage", "no_fact")
    assert gap_of(turn, unknown) == Gap(None, None, "abstain")
    assert gap_of(turn, Reply("abstain", ["too long"])) == Gap("methotrexate", "onset", "abstain")
    assert gap_of(turn, Reply("clarify", ["which?"], {"topic": "onset"})) is None


def test_the_service_wires_the_recorder_to_the_handoff_store(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    """get_assistant's recorder writes to the store the tickets use (the models are not loaded for this)."""
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
        assistant.respond(Turn("can you drink alcohol on cyclosporine", entity_drugs=("cyclosporine",)))
    finally:
        service.get_assistant.cache_clear()
    store = SqliteHandoffStore(tmp_path / "handoff.sqlite")
    assert [(c.drug, c.aspect) for c in top_gaps(store, days=1)] == [("cyclosporine", "alcohol")]
