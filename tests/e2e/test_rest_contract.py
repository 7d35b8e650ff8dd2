"""The reply contract through the REST channel of a running bot."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import STAFF_TOKEN, Chat, customs, text_of

pytestmark = pytest.mark.integration


def test_first_reply_has_the_disclaimer_and_an_answer_with_sources(chat: Chat) -> None:
    messages = chat.send("what are the side effects of methotrexate?")
    assert "911" in messages[0]["text"] and "medical advice" in messages[0]["text"]
    answer = customs(messages)[0]
    assert answer["kind"] == "answer" and answer["drug"] == "methotrexate" and answer["topic"] == "side_effects"
    assert answer["sources"] and all(isinstance(s, str) for s in answer["sources"])
    assert all(len(m.get("text", "")) <= 600 for m in messages)


def test_every_turn_has_a_custom_message_with_a_kind(chat: Chat) -> None:
    for text in ["hi", "what's the weather", "tell me about dupixent", "thanks", "bye"]:
        kinds = [c["kind"] for c in customs(chat.send(text))]
        assert kinds and set(kinds) <= {"answer", "clarify", "abstain", "chitchat", "handoff"}, (text, kinds)


def test_clarify_offers_buttons_and_the_pick_is_answered(chat: Chat) -> None:
    messages = chat.send("how often is it given?")
    assert customs(messages)[0]["kind"] == "clarify"
    buttons = [b for m in messages for b in m.get("buttons") or []]
    pick = next(b for b in buttons if "Methotrexate" in b["title"])
    answer = customs(chat.send(pick["payload"]))[0]
    assert (answer["kind"], answer["drug"], answer["topic"]) == ("answer", "methotrexate", "administration")


def test_context_carries_over(chat: Chat) -> None:
    chat.send("does dupilumab need labs?")
    answer = customs(chat.send("what about methotrexate?"))[0]
    assert (answer["drug"], answer["topic"]) == ("methotrexate", "monitoring")


def test_handoff_creates_a_ticket_that_staff_can_see(chat: Chat, stack) -> None:  # noqa: ANN001
    messages = chat.send("my daughter has a fever of 103 and she takes cyclosporine")
    handoff = customs(messages)[0]
    assert handoff["kind"] == "handoff" and handoff["urgency"] in ("urgent", "emergency")
    assert "555-0100" in text_of(messages)
    api = f"{stack.staff_url}/staff/api/tickets"
    assert requests.get(api, timeout=10).status_code == 401
    ids: list[str] = []
    cursor = None
    while True:  # every page of the open tickets: the new one is among them
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = requests.get(api, params=params, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, timeout=10).json()
        ids += [t["id"] for t in page["tickets"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert handoff["ticket_id"] in ids


def test_a_long_conversation_keeps_its_context_and_its_transcript(chat: Chat, stack) -> None:  # noqa: ANN001
    said: list[str] = []  # the user's and the bot's texts, as a handoff ticket's transcript records them

    def send(text: str) -> list[dict]:
        messages = chat.send(text)
        said.extend([text, *(m["text"] for m in messages if m.get("text"))])
        return messages

    assert "medical advice" in send("does dupilumab need labs?")[0]["text"]
    for _ in range(12):  # more user turns than the tracker store loads (bot/rasa_server/tracker_store.py)
        assert "medical advice" not in text_of(send("thanks"))
    answer = customs(send("what about methotrexate?"))[0]
    assert (answer["drug"], answer["topic"]) == ("methotrexate", "monitoring")
    expected = [*said, "my son has a fever on methotrexate"][-10:]
    handoff = customs(send("my son has a fever on methotrexate"))[0]
    assert handoff["kind"] == "handoff" and handoff["ticket_id"]
    api = f"{stack.staff_url}/staff/api/tickets/{handoff['ticket_id']}"
    ticket = requests.get(api, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, timeout=10).json()
    assert [t["text"] for t in ticket["transcript"]] == expected
