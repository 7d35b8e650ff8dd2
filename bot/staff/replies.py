"""A staff reply to the person: ``POST /staff/api/tickets/<id>/reply {"text": "..."}``, on the ticket's way back.

- SMS (the ticket's sealed number): the text goes out through Twilio (bot/staff/sms_sender.py), GSM-7 and at most two
  segments, never to a number that opted out. The reply is kept either way: "sent" with Twilio's sid, or "failed"
  with its error code (502 ``send_failed``).
- A signed-in widget conversation: the reply is posted to it ("delivered-to-widget"); the widget shows it from
  ``/portal/messages`` (bot/portal/messages.py), and the portal webhook, when configured, is told.

Answers 200 ``{"reply": {...}, "ticket": {...}}``. Errors: 400 ``bad_request`` / ``too_long`` / ``not_gsm7``, 403 for
a role that may not act, 404, 409 ``no_way_back`` (no contact) / ``opted_out`` / ``contact_unreadable``, 502
``send_failed``, 503 ``sms_not_configured`` / ``optout_unavailable``. "replied by" is the signed-in account, and
each stored reply is an audit entry "reply" (no text).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from bot.handoff import audit
from bot.handoff.contacts import contact_of
from bot.handoff.models import Ticket, TicketReply
from bot.handoff.replies import add_reply
from bot.handoff.store import HandoffStore
from bot.sealing import Sealer, SealError
from bot.settings import Settings
from bot.staff import portal_hook
from bot.staff.auth import client_address, staff_of
from bot.staff.optouts import OptOutsUnavailable, is_opted_out
from bot.staff.roles import ACT, require
from bot.staff.sms_sender import BodyError, SmsSender, sms_body

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 2000  # a widget reply; an SMS reply is held to two segments


class ReplyRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _text(request: Request) -> str:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ReplyRefused(400, "bad_request", "The request body is not valid JSON.") from None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ReplyRefused(400, "bad_request", 'Send {"text": "<your reply>"}.')
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyRefused(400, "too_long", f"The reply is longer than {MAX_REPLY_CHARS} characters.")
    return text.strip()


def _number(store: HandoffStore, ticket: Ticket, settings: Settings) -> str:
    """The ticket's phone number, opened (blocking)."""
    contact = contact_of(store, ticket.id)
    if contact is None or contact.kind != "sms":
        raise ReplyRefused(409, "no_way_back", "This ticket has no way back to the person.")
    key = settings.data_encryption_key.get_secret_value()
    if not key.strip():
        raise ReplyRefused(503, "sms_not_configured", "DATA_ENCRYPTION_KEY is not set: the number can't be read.")
    try:
        return Sealer(key).open(contact.secret)
    except SealError:
        raise ReplyRefused(409, "contact_unreadable", "The number was sealed with a key this server lacks.") from None


def _send_sms(store: HandoffStore, ticket: Ticket, settings: Settings, text: str, staff: str) -> TicketReply:
    """Check, send and record an SMS reply (blocking: runs in a thread, Twilio's call included)."""
    try:
        body = sms_body(text)
    except BodyError as err:
        raise ReplyRefused(400, err.code, str(err)) from None
    sender = SmsSender(settings)
    if not sender.configured:
        message = "SMS replies need TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER."
        raise ReplyRefused(503, "sms_not_configured", message)
    number = _number(store, ticket, settings)
    try:
        if is_opted_out(number, settings, store):
            raise ReplyRefused(409, "opted_out", "This number opted out of texts (STOP); call the person instead.")
    except OptOutsUnavailable:
        raise ReplyRefused(503, "optout_unavailable", "The opt-out list can't be read; nothing was sent.") from None
    result = sender.send(number, body)
    status = "sent" if result.ok else "failed"
    return add_reply(
        store, ticket, channel="sms", staff=staff, text=body, status=status, provider_id=result.sid, error=result.error
    )


def _post_to_widget(store: HandoffStore, ticket: Ticket, text: str, staff: str) -> TicketReply:
    return add_reply(store, ticket, channel="web", staff=staff, text=text, status="delivered-to-widget")


def with_reply_routes(api: Blueprint, settings: Settings) -> Blueprint:
    """Add ``POST /tickets/<id>/reply`` to the staff API blueprint (before it is registered) and return it."""

    async def reply(request: Request, ticket_id: str) -> HTTPResponse:
        require(request, ACT)
        store: HandoffStore = request.app.ctx.store
        staff = staff_of(request).username
        try:
            text = _text(request)
            ticket = await asyncio.to_thread(store.get_ticket, ticket_id)
            if ticket.reply_channel == "sms":
                stored = await asyncio.to_thread(_send_sms, store, ticket, settings, text, staff)
            elif ticket.reply_channel == "web":
                stored = await asyncio.to_thread(_post_to_widget, store, ticket, text, staff)
            else:
                raise ReplyRefused(409, "no_way_back", "This ticket has no way back to the person: call them.")
        except ReplyRefused as refused:
            return json_response({"error": refused.code, "message": refused.message}, status=refused.status)
        detail = f"channel={stored.channel} status={stored.status}" + (f" error={stored.error}" if stored.error else "")
        await asyncio.to_thread(
            audit.record, store, staff, "reply", ticket_id=ticket.id, remote=client_address(request), detail=detail
        )
        if stored.channel == "web":
            portal_hook.notify_soon(settings, ticket.id)
        log.info("ticket %s reply %s (%s)", ticket.id, stored.status, stored.channel)
        payload: dict[str, Any] = {
            "reply": stored.to_dict(),
            "ticket": (await asyncio.to_thread(store.get_ticket, ticket.id)).to_dict(),
        }
        if stored.status == "failed":
            message = f"The text message was not sent (Twilio error {stored.error}); the reply is kept on the ticket."
            return json_response({"error": "send_failed", "message": message, **payload}, status=502)
        return json_response(payload)

    api.add_route(reply, "/tickets/<ticket_id:str>/reply", methods=["POST"], name="ticket_reply")
    return api
