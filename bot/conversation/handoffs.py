"""Handing a safety message to the clinic staff: the ticket, its follow-ups, its way back, and what the bot says.

The assistant calls this once the safety screen has a verdict, and on every turn of a conversation with an open
ticket (follow-ups join the ticket; a way back that arrives later is added to it). The store being down never
stops the reply.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from bot.constants import URGENCY_RANK
from bot.conversation import replies
from bot.conversation.types import Reply, Ticket, TicketStore, Turn, Verdict
from bot.conversation.wayback import Callback, WayBack, only_a_number
from bot.settings import Settings

log = logging.getLogger(__name__)

HOTLINE_REPLY = {
    "911": "handoff_emergency_911",
    "988": "handoff_emergency_988",
    "poison_control": "handoff_emergency_poison",
}
Say = Callable[..., str]  # (reply name, turn, **values) -> text


class Handoffs:
    def __init__(
        self,
        store: TicketStore,
        settings: Settings,
        response_time: Callable[[str, dt.datetime], str],
        clock: Callable[[], dt.datetime],
        say: Say,
    ) -> None:
        self.store = store
        self.settings = settings
        self.response_time = response_time
        self.clock = clock
        self.say = say
        self.way_back = WayBack(settings)

    def open_ticket(self, turn: Turn) -> Ticket | None:
        if not turn.slot_ticket:
            return None
        try:
            return self.store.open_ticket_for(turn.conversation_id)
        except Exception:  # the store being down must not stop the answer
            log.exception("handoff store unavailable while looking up an open ticket")
            return None

    def follow_up(self, ticket: Ticket, text: str) -> None:
        try:
            self.store.add_message(ticket.id, text)
        except Exception:
            log.exception("could not add a follow-up to ticket %s", ticket.id)

    def handoff(self, turn: Turn, callback: Callback, verdict: Verdict, ticket: Ticket | None) -> Reply:
        """The reply to a screened message: a follow-up of the open ticket, or a new ticket."""
        now, text = self.clock(), callback.text
        if ticket is not None and URGENCY_RANK[verdict.urgency] <= URGENCY_RANK[ticket.urgency]:
            self.follow_up(ticket, text)
            way = self.way(turn, ticket, self.keep_contact(turn, ticket, callback) is not None)
            wording = self.say(
                "handoff_followup",
                turn,
                response_time=self._when(ticket.urgency, now, way),
                way_back=self.say(self.way_back.promise(turn, way), turn),
            )
            return Reply("handoff", [wording], {"ticket_id": ticket.id, "urgency": ticket.urgency})
        contact = self.way_back.from_channel(turn) or (("sms", callback.sealed) if callback.sealed else None)
        ticket_id: str | None = None
        try:
            transcript = self.way_back.transcript(turn, [*turn.transcript][-10:])
            created = self._create(turn, verdict, text, transcript, contact)
            ticket_id = created.id
        except Exception:
            log.exception("handoff ticket could not be stored")
            contact = None
        way = self.way_back.channel(turn, contact[0] if contact else None)
        if verdict.urgency == "emergency":
            wording = self.say(HOTLINE_REPLY.get(verdict.hotline or "911", "handoff_emergency_911"), turn)
        else:
            # a category may have its own wording ("handoff_urgent_extra_dose" adds when to call Poison Control)
            specific = f"handoff_{verdict.urgency}_{verdict.category}"
            wording = self.say(
                specific if specific in replies.names() else f"handoff_{verdict.urgency}",
                turn,
                response_time=self._when(verdict.urgency, now, way),
                way_back=self.say(self.way_back.promise(turn, way), turn),
            )
        data = {
            "ticket_id": ticket_id,
            "urgency": verdict.urgency,
            "hotline": verdict.hotline,
            "clinic_phone": self.settings.clinic_phone,
            "reply_channel": "sms" if way == "callback" else way,
        }
        return Reply("handoff", [wording], data, slots={"handoff_ticket": ticket_id})

    def _create(
        self, turn: Turn, verdict: Verdict, text: str, transcript: list[dict[str, str]], contact: Any
    ) -> Ticket:
        args = (turn.conversation_id, turn.channel, verdict.urgency, verdict.reason, text, transcript)
        # Stores without a way back (tests' in-memory store) take the plain call.
        return self.store.create_ticket(*args, contact=contact) if contact else self.store.create_ticket(*args)

    def keep_contact(self, turn: Turn, ticket: Ticket | None, callback: Callback) -> str | None:
        """Give an open ticket without a way back the one this turn brings (the SMS sender's number, or a number
        the person typed); the acknowledgement to say when the person typed it, else None."""
        if ticket is None or getattr(ticket, "reply_channel", None) is not None:
            return None
        contact = self.way_back.from_channel(turn) or (("sms", callback.sealed) if callback.sealed else None)
        if contact is None:
            return None
        try:
            self.store.add_contact(ticket.id, contact)
        except Exception:
            log.exception("could not add a contact to ticket %s", ticket.id)
            return self.say("callback_failed", turn) if callback.sealed else None
        if not callback.sealed:
            return None
        return self.say("callback_saved", turn, response_time=self.response_time(ticket.urgency, self.clock()))

    def answer_only_the_number(self, turn: Turn, ticket: Ticket, callback: Callback, said: str) -> Reply | None:
        """A message that only gives the call-back number gets the acknowledgement alone."""
        if not callback.sealed or not only_a_number(callback.text):
            return None
        self.follow_up(ticket, callback.text)
        return Reply("chitchat", [said], {"ticket_id": ticket.id, "reply_channel": "sms"})

    def reminder(self, turn: Turn, ticket: Ticket) -> str:
        """After an answer in a conversation with an open ticket: the staff have it, and how they can answer."""
        way = self.way(turn, ticket, False)
        return self.say("handoff_reminder", turn, way_back=self.say(self.way_back.promise(turn, way), turn))

    def way(self, turn: Turn, ticket: Ticket, contact_added: bool) -> str | None:
        channel = getattr(ticket, "reply_channel", None)
        if contact_added:
            channel = "sms"
        return self.way_back.channel(turn, channel)

    def _when(self, urgency: str, now: dt.datetime, way: str | None) -> str:
        # No promise of an answer where none can reach the person; the way-back sentence says what to do.
        return self.response_time(urgency, now) if way is not None else ""
