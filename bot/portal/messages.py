"""The care team's replies to a signed-in widget user: ``GET /portal/messages`` and ``POST /portal/messages/read``.

Served by the staff app next to the demo portal (they read the handoff store). The widget sends the portal's JWT in
``Authorization: Bearer``; it is verified with WEB_JWT_SECRET exactly as the Rasa web channel verifies it
(bot/rasa_server/channels/identity.py), and its ``sub`` names the conversation ``web:<sub>``, so a person sees the
replies to their own conversation only, on any device, whatever the browser stored.

GET answers ``{"messages": [{"id", "text", "from": "care_team", "name", "created_at", "unread"}], "unread": n}``,
oldest first. POST marks them read: all of them, or only ``{"ids": [...]}``; answers ``{"marked": n}``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from bot.handoff.models import TicketReply
from bot.handoff.replies import mark_read, widget_replies
from bot.handoff.store import HandoffStore
from bot.rasa_server.channels.identity import WEB_SIGNED_IN, SignInError, verify_jwt

CARE_TEAM = "Your care team"
MAX_IDS = 200
_NO_STORE = {"Cache-Control": "no-store"}


def _error(status: int, code: str, message: str) -> HTTPResponse:
    resp = json_response({"error": code, "message": message}, status=status, headers=_NO_STORE)
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return resp


def _conversation(request: Request, secret: str) -> str:
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    if not token:
        raise SignInError("token_missing", "Please sign in to the portal to see messages from your care team.")
    return f"{WEB_SIGNED_IN}{verify_jwt(token, secret)}"


def _ids(request: Request) -> list[str] | None:
    if not request.body:
        return None
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("The request body is not valid JSON.") from None
    ids = body.get("ids") if isinstance(body, dict) else None
    if ids is None:
        return None
    if not isinstance(ids, list) or len(ids) > MAX_IDS or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in ids):
        raise ValueError(f'"ids" must be a list of at most {MAX_IDS} message ids.')
    return ids


def public(reply: TicketReply) -> dict[str, Any]:
    """What the widget may show of a reply: its text from the care team, never who on the staff wrote it."""
    return {
        "id": reply.id,
        "text": reply.text,
        "from": "care_team",
        "name": CARE_TEAM,
        "created_at": reply.created_at.isoformat(),
        "unread": reply.read_at is None,
    }


def with_message_routes(bp: Blueprint, secret: str) -> Blueprint:
    """Add the two routes to the portal blueprint (before it is registered) and return it."""

    def store_of(request: Request) -> HandoffStore:
        store: HandoffStore = request.app.ctx.store
        return store

    async def messages(request: Request) -> HTTPResponse:
        try:
            conversation = _conversation(request, secret)
        except SignInError as err:
            return _error(401, err.code, str(err))
        replies = await asyncio.to_thread(widget_replies, store_of(request), conversation)
        shown = [public(r) for r in replies]
        unread = sum(1 for m in shown if m["unread"])
        return json_response({"messages": shown, "unread": unread}, headers=_NO_STORE)

    async def read(request: Request) -> HTTPResponse:
        try:
            conversation = _conversation(request, secret)
            ids = _ids(request)
        except SignInError as err:
            return _error(401, err.code, str(err))
        except ValueError as err:
            return _error(400, "bad_request", str(err))
        marked = await asyncio.to_thread(mark_read, store_of(request), conversation, ids)
        return json_response({"marked": marked}, headers=_NO_STORE)

    bp.add_route(messages, "/portal/messages", methods=["GET"], name="portal_messages")
    bp.add_route(read, "/portal/messages/read", methods=["POST"], name="portal_messages_read")
    return bp
