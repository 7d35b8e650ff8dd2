"""The one custom action: every user turn goes through the assistant (safety screen first)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.constants import REPLY_TO_METADATA
from bot.conversation.reading import Embedding
from bot.conversation.service import get_assistant
from bot.conversation.types import Turn
from bot.rasa_server.logfmt import from_metadata, request_id_scope


def turn_from_tracker(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name")
    confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
    ranking = tuple(
        (str(r["name"]), float(r.get("confidence") or 0.0))
        for r in message.get("intent_ranking") or []
        if isinstance(r, dict) and r.get("name") and r.get("name") != "nlu_fallback"
    )
    if intent == "nlu_fallback":
        intent, confidence = ranking[0] if ranking else (None, 0.0)
    events = tracker.events or []
    channel = tracker.get_latest_input_channel() or "rest"
    metadata = message.get("metadata") or {}
    reply_to = metadata.get(REPLY_TO_METADATA) if channel == "sms" and isinstance(metadata, dict) else None
    transcript = tuple(
        {"role": "user" if e["event"] == "user" else "bot", "text": e.get("text") or ""}
        for e in events
        if e.get("event") in ("user", "bot") and e.get("text")
    )
    return Turn(
        text=message.get("text") or "",
        conversation_id=tracker.sender_id,
        channel=channel,
        intent=intent,
        confidence=confidence,
        intent_ranking=ranking,
        entity_drugs=tuple(str(e["value"]) for e in message.get("entities") or [] if e.get("entity") == "drug"),
        slot_drug=tracker.get_slot("drug"),
        slot_topic=tracker.get_slot("topic"),
        slot_ticket=tracker.get_slot("handoff_ticket"),
        first_turn=not any(e.get("event") == "bot" for e in events),
        transcript=transcript[-10:],
        slot_more=tracker.get_slot("sms_more"),
        slot_choices=tuple(tracker.get_slot("choices") or ()),
        slot_pending_erase=bool(tracker.get_slot("pending_erase")),
        embedding=Embedding.from_parse_data(message.get("embedding")),
        reply_to=reply_to if isinstance(reply_to, str) and reply_to else None,
    )


class ActionRespond(Action):
    def name(self) -> str:
        return "action_respond"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        with request_id_scope(from_metadata((tracker.latest_message or {}).get("metadata"))):
            reply = get_assistant().respond(turn_from_tracker(tracker))
        for i, text in enumerate(reply.texts):
            last = i == len(reply.texts) - 1
            dispatcher.utter_message(text=text, buttons=reply.buttons if last else None)
        dispatcher.utter_message(json_message=reply.custom)
        return [SlotSet(name, value) for name, value in reply.slots.items()]
