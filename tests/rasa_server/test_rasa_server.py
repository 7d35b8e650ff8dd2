"""Plug-ins loaded by the Rasa server (Rasa venv): action-reply validation and the SQLite tracker store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from bot.rasa_server import action_check
from bot.rasa_server.channels.rest import SafeRestInput
from bot.rasa_server.tracker_store import TrackerStore

VALID: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "drug", "value": "methotrexate"}], "responses": [{"text": "hi"}]},
    {"responses": [{"text": "a", "buttons": [{"title": "Yes", "payload": "/affirm"}], "custom": {"kind": "x"}}]},
]
INVALID: list[dict[str, Any]] = [
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


@pytest.mark.parametrize("result", VALID)
def test_a_valid_action_reply_passes_like_with_rasas_own_check(result: dict[str, Any]) -> None:
    jsonschema.validate(result, RemoteAction.action_response_format_spec())  # Rasa's check agrees
    assert action_check.validate_action_result(None, result) is True


@pytest.mark.parametrize("result", INVALID)
def test_an_invalid_action_reply_fails_like_with_rasas_own_check(result: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        action_check.validate_action_result(None, result)


def test_the_rest_channel_installs_the_check_when_rasa_builds_it() -> None:
    SafeRestInput.from_credentials(None)
    assert RemoteAction._validate_action_result is action_check.validate_action_result
    with pytest.raises(jsonschema.ValidationError):
        RemoteAction("action_respond", None)._validate_action_result(INVALID[0])
    assert RemoteAction("action_respond", None)._validate_action_result(VALID[1]) is True


def _turn(store: TrackerStore, sender: str, text: str) -> None:
    async def run() -> None:
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(UserUttered(text))
        tracker.update(SlotSet("drug", "methotrexate"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)

    asyncio.run(run())


def test_the_sqlite_tracker_store_uses_wal_and_keeps_conversations_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    domain = Domain.load(Path(__file__).resolve().parents[2] / "domain.yml")
    _turn(TrackerStore(domain, dialect="sqlite", db=str(db)), "p1", "hello")
    _turn(TrackerStore(domain, dialect="sqlite", db=str(db)), "p1", "what is mtx")  # a restarted server
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    tracker = asyncio.run(TrackerStore(domain, dialect="sqlite", db=str(db)).retrieve("p1"))
    assert tracker is not None
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hello", "what is mtx"]
    assert tracker.get_slot("drug") == "methotrexate"
    count = sqlite3.connect(db).execute("SELECT count(*) FROM events WHERE sender_id = 'p1'").fetchone()[0]
    assert count == len(tracker.events)  # nothing written twice
