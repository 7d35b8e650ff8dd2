"""The way back to the person: what the handoff reply promises per channel, and call-back numbers."""

from __future__ import annotations

import pytest

from bot.conversation import wayback
from bot.conversation.types import Turn
from bot.rasa_server.channels.gsm7 import SMS_LIMIT, is_gsm7, septets
from bot.sealing import Sealer, new_key
from tests.conftest import FakeVerdict, KeywordScreen, MemoryStore, make_assistant

FEVER = "my son has a fever on methotrexate"
NUMBER = "555-867-5309"


@pytest.fixture
def key() -> str:
    return new_key()


def build(kb, settings, key: str | None = None):  # noqa: ANN001, ANN201
    store = MemoryStore()
    screen = KeywordScreen({
        "fever": FakeVerdict("infection_fever", "urgent", "fever on an immune-suppressing medicine"),
        "missed": FakeVerdict("missed_dose", "routine", "missed dose"),
    })  # fmt: skip
    configured = settings.replace(data_encryption_key=key) if key else settings
    return make_assistant(kb, configured, store, screen=screen), store


def test_a_signed_in_widget_user_is_promised_a_reply_in_the_chat(kb, settings) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings)
    reply = assistant.respond(Turn(FEVER, conversation_id="web:patient-1", channel="web"))
    text = reply.texts[0]
    assert "[urgent reply time]" in text and "reply here in the chat" in text and "555-0199" in text
    assert reply.custom["reply_channel"] == "web"
    later = assistant.respond(
        Turn("what is dupixent", intent="ask_what_is", confidence=0.9, conversation_id="web:patient-1",
             channel="web", slot_ticket=reply.custom["ticket_id"])
    )  # fmt: skip
    assert "reply here in the chat" in later.texts[-1]


def test_an_sms_ticket_keeps_the_sealed_number_and_promises_a_text_back(kb, settings, key) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings)
    sealed = Sealer(key).seal("+15551230001")
    reply = assistant.respond(Turn(FEVER, conversation_id="sms:abc", channel="sms", reply_to=sealed, first_turn=True))
    (ticket,) = store.tickets.values()
    assert ticket.contact == ("sms", sealed)
    assert "text you back at this number" in reply.texts[0] and "[urgent reply time]" in reply.texts[0]
    assert septets(reply.texts[0]) <= SMS_LIMIT and is_gsm7(reply.texts[0])
    assert reply.custom["reply_channel"] == "sms"


def test_a_later_sms_turn_gives_a_ticket_without_a_contact_its_number(kb, settings, key) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings)
    first = assistant.respond(Turn(FEVER, conversation_id="sms:abc", channel="sms"))
    ticket = store.tickets[first.custom["ticket_id"]]
    assert ticket.contact is None and "can't text you back" in first.texts[0]
    sealed = Sealer(key).seal("+15551230001")
    assistant.respond(Turn("thanks", intent="thanks", confidence=0.9, conversation_id="sms:abc", channel="sms",
                           reply_to=sealed, slot_ticket=ticket.id))  # fmt: skip
    assert ticket.contact == ("sms", sealed)
    other = Sealer(key).seal("+15559990000")
    assistant.respond(Turn("ok", conversation_id="sms:abc", channel="sms", reply_to=other, slot_ticket=ticket.id))
    assert ticket.contact == ("sms", sealed)  # the first contact stays


def test_without_a_key_an_anonymous_chat_is_told_honestly_to_call(kb, settings) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings)
    reply = assistant.respond(Turn(FEVER, conversation_id="web-abc", channel="web"))
    text = reply.texts[0]
    assert "can't reply to you in this chat" in text and "call the clinic at 555-0199" in text
    assert "reply time" not in text and "type a phone number" not in text
    assert reply.custom["reply_channel"] is None
    (ticket,) = store.tickets.values()
    assistant.respond(Turn(f"my number is {NUMBER}", conversation_id="web-abc", channel="web", slot_ticket=ticket.id))
    assert ticket.contact is None  # nothing to seal it with: never kept


def test_an_anonymous_chat_is_asked_for_a_number_and_keeps_it_sealed_and_masked(kb, settings, key) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings, key)
    first = assistant.respond(Turn(FEVER, conversation_id="web-abc", channel="web"))
    assert "type a phone number where they can text you back" in first.texts[0]
    ticket = store.tickets[first.custom["ticket_id"]]

    ack = assistant.respond(Turn(f"My number is {NUMBER}", conversation_id="web-abc", channel="web",
                                 slot_ticket=ticket.id))  # fmt: skip
    assert (
        ack.kind == "chitchat" and "text you at that number" in ack.texts[0] and "[urgent reply time]" in ack.texts[0]
    )
    kind, sealed = ticket.contact
    assert kind == "sms" and Sealer(key).open(sealed) == "+15558675309"
    assert ticket.messages[-1] == "My number is [phone number]"
    assert NUMBER not in " ".join(ticket.messages) and "8675309" not in " ".join(ticket.messages)

    later = assistant.respond(
        Turn("what is dupixent", intent="ask_what_is", confidence=0.9, conversation_id="web-abc", channel="web",
             slot_ticket=ticket.id)
    )  # fmt: skip
    assert later.kind == "answer" and "text you at the number you gave" in later.texts[-1]


def test_a_number_with_a_question_gets_the_answer_and_the_acknowledgement(kb, settings, key) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings, key)
    first = assistant.respond(Turn("I missed my methotrexate", conversation_id="rest-1"))
    ticket = store.tickets[first.custom["ticket_id"]]
    reply = assistant.respond(
        Turn("text me at (555) 867-5309, and what is dupixent?", intent="ask_what_is", confidence=0.9,
             conversation_id="rest-1", slot_ticket=ticket.id)
    )  # fmt: skip
    assert reply.kind == "answer" and "text you at that number" in reply.texts[-1]
    assert ticket.contact is not None and ticket.messages[-1] == "text me at [phone number], and what is dupixent?"


def test_a_number_in_the_safety_message_itself_becomes_the_contact(kb, settings, key) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings, key)
    transcript = ({"role": "user", "text": f"hi, I'm at +1 {NUMBER}"}, {"role": "bot", "text": "Hello!"})
    reply = assistant.respond(
        Turn(f"{FEVER}, call me back on {NUMBER}", conversation_id="web-xyz", channel="web", transcript=transcript)
    )
    (ticket,) = store.tickets.values()
    assert ticket.contact is not None and Sealer(key).open(ticket.contact[1]) == "+15558675309"
    assert ticket.messages == [f"{FEVER}, call me back on [phone number]"]
    assert ticket.transcript[0]["text"] == "hi, I'm at [phone number]"
    assert "text you at the number you gave" in reply.texts[0] and reply.custom["reply_channel"] == "sms"


def test_a_signed_in_users_numbers_are_not_taken_as_a_callback(kb, settings, key) -> None:  # noqa: ANN001
    assistant, store = build(kb, settings, key)
    assistant.respond(Turn(f"{FEVER}, my cell is {NUMBER}", conversation_id="web:p2", channel="web"))
    (ticket,) = store.tickets.values()
    assert ticket.contact is None and ticket.reply_channel == "web"


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("555-867-5309", "+15558675309"),
        ("(555) 867-5309", "+15558675309"),
        ("555.867.5309", "+15558675309"),
        ("5558675309", "+15558675309"),
        ("+1 555 867 5309", "+15558675309"),
        ("1-555-867-5309", "+15558675309"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_call_back_numbers_are_recognised_and_normalised(typed: str, number: str) -> None:
    found = wayback.find_numbers(f"you can reach me at {typed} after 5")
    assert [wayback.e164(n) for n in found] == [number]
    assert wayback.mask_numbers(f"at {typed}.") == "at [phone number]."


@pytest.mark.parametrize(
    "text",
    ["call 555-0100", "born 12/25/2026", "on 2026-11-25", "500 mg twice a day", "ALT was 45 then 120", "911"],
)
def test_other_numbers_are_not_phone_numbers(text: str) -> None:
    assert wayback.find_numbers(text) == [] and wayback.mask_numbers(text) == text


@pytest.mark.parametrize(
    ("masked", "only"),
    [("[phone number]", True), ("My number is [phone number], thanks!", True), ("call me: [phone number]", True),
     ("[phone number] my son is worse", False), ("my son is worse", False)],
)  # fmt: skip
def test_only_a_number(masked: str, only: bool) -> None:
    assert wayback.only_a_number(masked) is only


def test_the_first_sms_of_a_handoff_keeps_911_and_the_promise_in_its_first_message(kb, settings, key) -> None:  # noqa: ANN001
    import datetime as dt

    from bot.handoff.clinic_hours import response_time_text

    start = dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)
    longest = max(
        (response_time_text(u, start + dt.timedelta(minutes=30 * i), settings) for u in ("urgent", "routine")
         for i in range(2 * 24 * 7)),
        key=len,
    )  # fmt: skip
    assistant, store = build(kb, settings)
    assistant.response_time = lambda urgency, now: longest
    assistant.handoffs.response_time = assistant.response_time
    sealed = Sealer(key).seal("+15551230001")
    for text, urgent in ((FEVER, True), ("I missed my methotrexate dose", False)):
        reply = assistant.respond(Turn(text, conversation_id=f"sms:{text[:5]}", channel="sms", reply_to=sealed,
                                       first_turn=True))  # fmt: skip
        (first,) = reply.texts
        assert "text you back at this number" in first and longest in first, first
        assert not urgent or "Call 911" in first.split("Call 911.", 1)[1], first  # the disclaimer's and the handoff's
        assert septets(first) <= SMS_LIMIT and "Reply MORE" not in first
