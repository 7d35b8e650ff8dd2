"""The inbox's API routes: the ticket list (filters, cursor, true counts), a ticket's detail, notes and reassigning.

Added to the staff API blueprint (``with_inbox_routes``), so they sit behind its authentication. Reading a ticket
records a "view" in the audit trail; notes and reassigning need the ACT permission and are audited too. Who wrote a
note, and who reassigned, always comes from the caller's identity, never from the request body.

``GET /tickets`` query parameters (all optional):
    status      open (default), claimed, resolved, active (open or claimed) or all
    urgency     emergency, urgent, routine: repeat it or separate with commas for several
    channel     rest, web, sms...
    older_than  hours: created more than this long ago; newer_than: created at most this long ago
    assigned    me, unassigned or a username (who the ticket is claimed by)
    cursor      the next_cursor of the previous page; limit: 1-200, default 50
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from bot.handoff.inbox import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Filters,
    UnknownStaff,
    add_note,
    list_page,
    reassign,
    ticket_detail,
)
from bot.handoff.store import HandoffStore
from bot.staff.auth import staff_of
from bot.staff.http import audited, error, json_body
from bot.staff.http import ticket_id as checked_id
from bot.staff.roles import ACT, READ, require

if TYPE_CHECKING:
    from bot.settings import Settings


def _hours(request: Request, name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        hours = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of hours") from None
    if not math.isfinite(hours):
        raise ValueError(f"{name} must be a number of hours")
    return hours


def _limit(request: Request) -> int:
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def filters_of(request: Request) -> Filters:
    """The list's filters from the query string; ValueError (400) names a bad one."""
    status = request.args.get("status", "open")
    urgencies = tuple(u.strip() for raw in request.args.getlist("urgency", []) for u in raw.split(",") if u.strip())
    assigned = request.args.get("assigned") or None
    if assigned == "me":
        assigned = staff_of(request).username
    return Filters(
        status=None if status == "all" else status,
        urgencies=urgencies,
        channel=request.args.get("channel") or None,
        older_than_hours=_hours(request, "older_than"),
        newer_than_hours=_hours(request, "newer_than"),
        assigned=assigned,
    )


def with_inbox_routes(api: Blueprint, settings: Settings) -> Blueprint:
    """Add the ticket list, detail, notes and reassign routes to the staff API blueprint and return it."""

    def store_of(request: Request) -> HandoffStore:
        store: HandoffStore = request.app.ctx.store
        return store

    async def list_tickets(request: Request) -> HTTPResponse:
        require(request, READ)
        filters, limit = filters_of(request), _limit(request)
        cursor = request.args.get("cursor") or None
        page = await asyncio.to_thread(list_page, store_of(request), settings, filters, cursor, limit)
        return json_response(page.to_dict())

    async def show_ticket(request: Request, ticket_id: str) -> HTTPResponse:
        require(request, READ)
        detail = await asyncio.to_thread(ticket_detail, store_of(request), settings, checked_id(ticket_id))
        await audited(request, "view", detail["id"])
        return json_response(detail)

    async def note(request: Request, ticket_id: str) -> HTTPResponse:
        require(request, ACT)
        tid, text = checked_id(ticket_id), json_body(request).get("text")
        added = await asyncio.to_thread(add_note, store_of(request), tid, staff_of(request).username, text)
        await audited(request, "note", tid, detail=f"note={added['id']}")
        detail = await asyncio.to_thread(ticket_detail, store_of(request), settings, tid)
        return json_response({"note": added, "ticket": detail})

    async def reassign_ticket(request: Request, ticket_id: str) -> HTTPResponse:
        require(request, ACT)
        tid, to = checked_id(ticket_id), json_body(request).get("to")
        try:
            changed, before = await asyncio.to_thread(reassign, store_of(request), tid, to)
        except UnknownStaff as exc:
            return error(400, "unknown_staff", str(exc))
        await audited(request, "reassign", tid, detail=f"from={before or '-'} to={changed.claimed_by}")
        return json_response(await asyncio.to_thread(ticket_detail, store_of(request), settings, tid))

    api.add_route(list_tickets, "/tickets", methods=["GET"], name="list_tickets")
    api.add_route(show_ticket, "/tickets/<ticket_id:str>", methods=["GET"], name="show_ticket")
    api.add_route(note, "/tickets/<ticket_id:str>/notes", methods=["POST"], name="add_note")
    api.add_route(reassign_ticket, "/tickets/<ticket_id:str>/reassign", methods=["POST"], name="reassign_ticket")
    return api
