"""The SMS channel in a real Rasa Sanic app: Twilio signatures, opt-out keywords, GSM-7 TwiML replies."""

from __future__ import annotations

import logging
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_support import RasaServer, echo, serve
from twilio.request_validator import RequestValidator

from bot.rasa_server.channels.gsm7 import is_gsm7, septets
from bot.rasa_server.channels.optout import SqliteOptOuts
from bot.rasa_server.channels.sms import SmsInput, keyword, render_sms

PATH = "/webhooks/sms/webhook"
AUTH_TOKEN = "twilio-auth-token-for-tests-0123"
PHONE = "+15551234567"
PUBLIC_URL = "https://bot.example.org/webhooks/sms/webhook"


def twilio_fields(body: str, phone: str = PHONE) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": "SM" + secrets.token_hex(16),  # a new message each time (a repeated one is a replay)
        "From": phone,
        "To": "+15550000000",
        "Body": body,
        "NumMedia": "0",
    }


def sign(url: str, fields: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, fields)


def send(server: RasaServer, body: str, phone: str = PHONE, *, url: str | None = None) -> str | None:
    """Post a correctly signed message; the SMS text of the TwiML reply, or None for an empty <Response/>."""
    fields = twilio_fields(body, phone)
    signature = sign(url or server.base_url + PATH, fields)
    resp = server.post_form(PATH, fields, {"X-Twilio-Signature": signature})
    assert resp.status == 200, resp.body
    assert resp.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(resp.body)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


def make_channel(tmp: Path, **kwargs: Any) -> SmsInput:
    defaults: dict[str, Any] = {
        "auth_token": AUTH_TOKEN,
        "optouts": SqliteOptOuts(tmp / "optout.sqlite"),
        "clinic_phone": "555-0100",
        "turn_timeout": 2.0,
    }
    return SmsInput(**{**defaults, **kwargs})


@pytest.fixture(scope="module")
def sms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    with serve([make_channel(tmp_path_factory.mktemp("sms"))], cors=None) as server:
        yield server


_numbers = iter(range(1000, 9999))


@pytest.fixture
def sms(sms_server: RasaServer) -> RasaServer:
    sms_server.agent.reply = echo
    sms_server.agent.received.clear()
    return sms_server


@pytest.fixture
def phone() -> str:
    """A number no other test has used (opt-outs persist in the module's store)."""
    return f"+1555000{next(_numbers)}"


# ---- signatures ----


def test_a_correctly_signed_message_gets_the_bot_reply_as_twiml(sms: RasaServer, phone: str) -> None:
    reply = send(sms, "what are the side effects of methotrexate?", phone)

    assert reply == "You said: what are the side effects of methotrexate?"
    (received,) = sms.agent.received
    assert received.channel == "sms"
    assert received.sender_id.startswith("sms:") and phone[1:] not in received.sender_id


def test_an_unsigned_message_gets_403_with_no_body_and_no_bot_call(sms: RasaServer) -> None:
    resp = sms.post_form(PATH, twilio_fields("hello"))

    assert resp.status == 403 and resp.body == b""
    assert sms.agent.received == []


@pytest.mark.parametrize("field", ["Body", "From", "To", "MessageSid"])
def test_changing_one_signed_field_gets_403(sms: RasaServer, field: str) -> None:
    fields = twilio_fields("hello")
    signature = sign(sms.base_url + PATH, fields)
    fields[field] += "9"

    resp = sms.post_form(PATH, fields, {"X-Twilio-Signature": signature})

    assert resp.status == 403 and resp.body == b""
    assert sms.agent.received == []


def test_an_added_field_gets_403(sms: RasaServer) -> None:
    fields = twilio_fields("hello")
    signature = sign(sms.base_url + PATH, fields)

    resp = sms.post_form(PATH, {**fields, "Extra": "1"}, {"X-Twilio-Signature": signature})

    assert resp.status == 403


@pytest.mark.parametrize(
    "signature",
    [
        lambda url, fields: sign(url, fields, token="another-accounts-token-000000000"),
        lambda url, fields: sign(url.replace("/webhooks/", "/other/"), fields),
        lambda url, fields: "not-a-signature",
    ],
    ids=["other-token", "other-url", "garbage"],
)
def test_signatures_made_otherwise_get_403(sms: RasaServer, signature: Any) -> None:
    fields = twilio_fields("hello")

    resp = sms.post_form(PATH, fields, {"X-Twilio-Signature": signature(sms.base_url + PATH, fields)})

    assert resp.status == 403 and sms.agent.received == []


def test_a_body_that_is_not_utf8_gets_400_and_no_bot_call(sms: RasaServer) -> None:
    resp = sms.request("POST", PATH, b"From=%2B1555&Body=\xff\xfe", {"X-Twilio-Signature": "x"})

    assert resp.status == 400 and resp.json()["error"] == "invalid_utf8"
    assert sms.agent.received == []


def test_a_body_that_is_not_utf8_without_a_signature_still_gets_403(sms: RasaServer) -> None:
    assert sms.request("POST", PATH, b"From=%2B1555&Body=\xff\xfe").status == 403


def test_with_sms_public_url_the_signature_must_cover_the_public_url(tmp_path: Path) -> None:
    with serve([make_channel(tmp_path, public_url=PUBLIC_URL)], cors=None) as server:
        assert send(server, "hello", url=PUBLIC_URL) == "You said: hello"
        fields = twilio_fields("hello")
        local = server.post_form(PATH, fields, {"X-Twilio-Signature": sign(server.base_url + PATH, fields)})
        assert local.status == 403


def test_without_an_auth_token_the_channel_is_off(tmp_path: Path) -> None:
    with serve([make_channel(tmp_path, auth_token="")], cors=None) as server:
        fields = twilio_fields("hello")
        resp = server.post_form(PATH, fields, {"X-Twilio-Signature": sign(server.base_url + PATH, fields)})

        assert resp.status == 503 and resp.json()["error"] == "sms_disabled"
        assert server.agent.received == []


# ---- keywords and opt-out ----


def test_stop_confirms_once_then_nothing_is_sent_until_start(sms: RasaServer, phone: str) -> None:
    confirmation = send(sms, "STOP", phone)
    assert confirmation and "unsubscribed" in confirmation and "START" in confirmation

    assert send(sms, "stop", phone) is None
    assert send(sms, "what is dupilumab?", phone) is None
    assert send(sms, "HELP", phone) is None
    assert sms.agent.received == []

    resumed = send(sms, "Start", phone)
    assert resumed and "subscribed" in resumed
    assert send(sms, "what is dupilumab?", phone) == "You said: what is dupilumab?"


@pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", " Stop. "])
def test_every_stop_keyword_opts_out(sms: RasaServer, phone: str, word: str) -> None:
    assert "unsubscribed" in (send(sms, word, phone) or "")
    assert send(sms, "hello", phone) is None


@pytest.mark.parametrize("word", ["UNSTOP", "yes"])
def test_unstop_and_yes_resubscribe(sms: RasaServer, phone: str, word: str) -> None:
    send(sms, "STOP", phone)
    assert "subscribed" in (send(sms, word, phone) or "")
    assert send(sms, "hello", phone) == "You said: hello"


def test_yes_from_a_subscribed_number_is_an_ordinary_message(sms: RasaServer, phone: str) -> None:
    assert send(sms, "yes", phone) == "You said: yes"


def test_a_sentence_with_stop_in_it_is_a_question_not_an_opt_out(sms: RasaServer, phone: str) -> None:
    assert send(sms, "can I stop methotrexate?", phone) == "You said: can I stop methotrexate?"
    assert send(sms, "hello", phone) == "You said: hello"


@pytest.mark.parametrize("word", ["HELP", "help", "INFO"])
def test_help_gives_the_program_the_clinic_phone_and_how_to_stop(sms: RasaServer, phone: str, word: str) -> None:
    reply = send(sms, word, phone) or ""

    assert "Eczema clinic medicine info" in reply and "555-0100" in reply and "STOP" in reply
    assert is_gsm7(reply) and septets(reply) <= 160
    assert sms.agent.received == []


def test_opt_outs_survive_a_restart(tmp_path: Path) -> None:
    with serve([make_channel(tmp_path)], cors=None) as server:
        send(server, "STOP")
    with serve([make_channel(tmp_path)], cors=None) as server:
        assert send(server, "hello") is None
        assert server.agent.received == []


def test_opt_outs_follow_the_number_not_the_process_key(tmp_path: Path) -> None:
    first = make_channel(tmp_path)
    assert first.sender_id(PHONE) == make_channel(tmp_path).sender_id("+1 (555) 123-4567")
    assert first.sender_id(PHONE) != first.sender_id("+15551234568")
    assert first.sender_id(PHONE) != make_channel(tmp_path, id_secret="another key").sender_id(PHONE)


# ---- replies ----


def test_long_answers_become_at_most_306_gsm7_characters_ending_in_reply_more(sms: RasaServer, phone: str) -> None:
    long = "Methotrexate “needs” regular blood tests — usually every few weeks… 💉 " * 12
    sms.agent.reply = lambda text: [{"text": long}, {"custom": {"kind": "answer", "sources": ["Handout"]}}]

    reply = send(sms, "labs for methotrexate?", phone) or ""

    assert is_gsm7(reply) and septets(reply) <= 306
    assert reply.endswith(" Reply MORE for more.")
    assert "kind" not in reply and "Handout" not in reply


def test_buttons_become_numbered_choices(sms: RasaServer, phone: str) -> None:
    buttons = [
        {"title": "Methotrexate", "payload": '/inform_drug{"drug":"methotrexate"}'},
        {"title": "Dupilumab", "payload": '/inform_drug{"drug":"dupilumab"}'},
    ]
    sms.agent.reply = lambda text: [{"text": "Which medicine?", "buttons": buttons}, {"custom": {"kind": "clarify"}}]

    assert send(sms, "side effects?", phone) == "Which medicine? Reply 1 for Methotrexate, 2 for Dupilumab."


def test_markup_in_bot_text_is_escaped_in_the_twiml(sms: RasaServer, phone: str) -> None:
    sms.agent.reply = lambda text: [{"text": "Call <clinic> & ask"}]

    assert send(sms, "hi", phone) == "Call <clinic> & ask"


def test_a_failing_bot_still_gets_a_reply_with_the_clinic_phone_and_911(sms: RasaServer, phone: str) -> None:
    def broken(text: str) -> list[dict[str, Any]]:
        raise ConnectionError("action server down")

    sms.agent.reply = broken
    reply = send(sms, "hello", phone) or ""

    assert "555-0100" in reply and "911" in reply


def test_a_picture_without_text_gets_a_short_prompt_not_a_bot_turn(sms: RasaServer, phone: str) -> None:
    reply = send(sms, "", phone) or ""

    assert "text" in reply and "911" in reply and sms.agent.received == []


def test_phone_numbers_and_message_text_are_not_logged(sms: RasaServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    send(sms, "my private question", "+15559876543")
    send(sms, "STOP", "+15559876543")

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "5559876543" not in logged and "my private question" not in logged


# ---- pure helpers ----


@pytest.mark.parametrize(
    ("body", "word"),
    [("STOP", "STOP"), (" stop! ", "STOP"), ("Help?", "HELP"), ("stop taking it", ""), ("", ""), ("stöp", "")],
)
def test_keyword_only_matches_a_single_word_message(body: str, word: str) -> None:
    assert keyword(body) == word


def test_render_sms_drops_custom_messages_and_falls_back_when_the_bot_said_nothing() -> None:
    assert render_sms([{"custom": {"kind": "answer"}}], "555-0100").startswith("Sorry")
    assert render_sms([{"text": "A"}, {"custom": {"kind": "x"}}, {"text": "B"}], "555-0100") == "A B"


# ---- replays ----


def _signed_post(sms: RasaServer, fields: dict[str, str], **headers: str) -> list[ET.Element]:
    resp = sms.post_form(PATH, fields, {"X-Twilio-Signature": sign(sms.base_url + PATH, fields), **headers})
    assert resp.status == 200
    return ET.fromstring(resp.body).findall("Message")


def test_a_replayed_message_gets_an_empty_reply_and_no_new_turn(sms: RasaServer, phone: str) -> None:
    fields = twilio_fields("what is dupixent", phone)

    first = _signed_post(sms, fields)
    replayed = _signed_post(sms, fields)

    assert len(first) == 1 and replayed == []
    assert len(sms.agent.received) == 1


def test_a_retry_with_the_same_idempotency_token_is_not_a_new_turn(sms: RasaServer, phone: str) -> None:
    token = "idem-" + secrets.token_hex(8)
    first = _signed_post(sms, twilio_fields("what is dupixent", phone), **{"I-Twilio-Idempotency-Token": token})
    retry = _signed_post(sms, twilio_fields("what is dupixent", phone), **{"I-Twilio-Idempotency-Token": token})
    other = _signed_post(sms, twilio_fields("what is dupixent", phone))

    assert len(first) == 1 and retry == [] and len(other) == 1
    assert len(sms.agent.received) == 2


def test_a_replayed_stop_does_not_answer_twice(sms: RasaServer, phone: str) -> None:
    fields = twilio_fields("STOP", phone)
    assert len(_signed_post(sms, fields)) == 1
    assert _signed_post(sms, fields) == []
