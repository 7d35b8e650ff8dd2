"""What the staff API's route modules share: the JSON error shape, the ticket id check, the JSON body, the audit."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from sanic import Request
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from bot.handoff import audit
from bot.handoff.models import TicketNotFound
from bot.handoff.store import HandoffStore
from bot.staff.auth import client_address, staff_of

_TICKET_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def error(status: int, code: str, message: str) -> HTTPResponse:
    return json_response({"error": code, "message": message}, status=status)


def ticket_id(raw: str) -> str:
    """The id from the URL; an id that can't exist is simply not found."""
    if not _TICKET_ID.match(raw):
        raise TicketNotFound(raw)
    return raw


def json_body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise SanicException("request body is not valid JSON", status_code=400) from None
    if not isinstance(data, dict):
        raise SanicException("request body must be a JSON object", status_code=400)
    return data


async def audited(request: Request, action: str, ticket_id: str | None = None, detail: str = "") -> None:
    """Append the caller's action to the audit trail (bot.handoff.audit; never any message text)."""
    store: HandoffStore = request.app.ctx.store
    who = staff_of(request).username
    await asyncio.to_thread(
        audit.record, store, who, action, ticket_id=ticket_id, remote=client_address(request), detail=detail
    )
