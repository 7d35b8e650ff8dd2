"""The REST channel (Rasa venv): bad input gets a clear 4xx, a failing or silent bot still gets a reply."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_support import RasaServer, echo, serve

from bot.rasa_server.channels.rest import SafeRestInput

URL = "/webhooks/rest/webhook"


@pytest.fixture(scope="module")
def server_module() -> Iterator[RasaServer]:
    channel = SafeRestInput()
    channel.turn_timeout = 1.0
    with serve([channel]) as server:
        yield server


@pytest.fixture
def server(server_module: RasaServer) -> RasaServer:
    server_module.agent.reply = echo
    server_module.agent.received.clear()
    return server_module


def test_a_question_reaches_the_bot_and_the_reply_comes_back(server: RasaServer) -> None:
    resp = server.post_json(URL, {"sender": "p1", "message": "  what is  MTX?\n"})
    assert resp.status == 200
    assert [m.get("text") for m in resp.json()][0] == "You said: what is MTX?"
    assert server.agent.received[0].sender_id == "p1" and server.agent.received[0].channel == "rest"


def test_each_turn_gets_a_request_id_in_its_metadata_and_logs_a_valid_incoming_one_kept(server: RasaServer) -> None:
    server.post_json(URL, {"sender": "p1", "message": "one"})
    server.post_json(URL, {"sender": "p1", "message": "two"})
    server.post_json(URL, {"sender": "p1", "message": "three"}, headers={"X-Request-ID": "edge-7"})
    server.post_json(URL, {"sender": "p1", "message": "four"}, headers={"X-Request-ID": "not valid!"})
    ids = [r.metadata.get("request_id") for r in server.agent.received]
    assert [r.logged_request_id for r in server.agent.received] == ids
    assert ids[2] == "edge-7" and len(set(ids)) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", str(i)) for i in (ids[0], ids[1], ids[3]))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "invalid_json"),
        (b'{"sender": "a", "message": "\xff\xfe"}', 400, "invalid_utf8"),
        (b"[1, 2]", 400, "invalid_body"),
        (b'{"message": "hi"}', 400, "invalid_sender"),
        (b'{"sender": "a"}', 400, "message_missing"),
        (b'{"sender": "a", "message": 5}', 400, "message_missing"),
        (b'{"sender": "a", "message": "   "}', 400, "message_empty"),
        (b'{"sender": "a", "message": "hi\\u0000there"}', 400, "control_characters"),
        (b'{"sender": "a", "message": "' + b"x" * 20_000 + b'"}', 413, "message_too_long"),
        (b'{"sender": "a", "message": "' + b"w" * 5_000 + b'"}', 413, "message_too_long"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_never_reaches_the_bot(
    server: RasaServer, body: bytes, status: int, code: str
) -> None:
    resp = server.post_json(URL, body)
    assert resp.status == status and resp.json()["error"] == code and resp.json()["message"]
    assert server.agent.received == []


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", '{"sender": "x"}', "😀 is dupixent ok", "é" * 1000])
def test_unusual_but_valid_text_is_passed_on(server: RasaServer, text: str) -> None:
    resp = server.post_json(URL, {"sender": "p2", "message": text})
    assert resp.status == 200 and server.agent.received[0].text == text


def _raise(text: str) -> Any:
    raise RuntimeError("action server down")


async def _hang(text: str) -> list[dict[str, Any]]:
    await asyncio.sleep(30)
    return []


@pytest.mark.parametrize("reply", [_raise, _hang, lambda text: []], ids=["error", "timeout", "silence"])
def test_a_failing_bot_still_gives_the_clinic_phone_and_911(server: RasaServer, reply: Any) -> None:
    server.agent.reply = reply
    resp = server.post_json(URL, {"sender": "p3", "message": "what are the side effects of methotrexate?"})
    assert resp.status == 200
    messages = resp.json()
    text = " ".join(m.get("text", "") for m in messages)
    assert "911" in text and "555-0100" in text
    assert {"kind": "abstain", "reason": "unavailable", "clinic_phone": "555-0100"} in [
        m.get("custom") for m in messages
    ]


class MemoryTrackers:
    def __init__(self) -> None:
        self.store: dict[str, str] = {}


def test_a_confirmed_erase_deletes_the_conversation_after_the_turn(server: RasaServer) -> None:
    trackers = MemoryTrackers()
    trackers.store.update({"p4": "events of p4", "someone-else": "events"})
    server.agent.tracker_store = trackers  # type: ignore[attr-defined]
    server.agent.reply = lambda text: [{"text": "Done."}, {"custom": {"kind": "erased"}}]
    try:
        resp = server.post_json(URL, {"sender": "p4", "message": "yes"})
    finally:
        del server.agent.tracker_store  # type: ignore[attr-defined]
    assert resp.status == 200 and resp.json()[1]["custom"]["kind"] == "erased"
    assert trackers.store == {"someone-else": "events"}


def test_an_erase_that_cannot_be_done_still_replies(server: RasaServer) -> None:
    server.agent.reply = lambda text: [{"text": "Done."}, {"custom": {"kind": "erased"}}]
    resp = server.post_json(URL, {"sender": "p5", "message": "yes"})
    assert resp.status == 200
