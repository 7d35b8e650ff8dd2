"""The audit trail for admins: ``GET /staff/api/audit`` (JSON pages), ``GET /staff/api/audit/export`` (CSV) and
the page ``/staff/audit``.

Both API routes need the admin role (roles.AUDIT) and are themselves recorded (audit_view, export). Filters: ``ticket``
(a ticket id) and ``actor`` (a username); pages are newest first, ``cursor`` is the ``next_cursor`` of the page
before. The export streams every matching entry, so a six-year trail never has to fit in memory.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import file as file_response
from sanic.response import json as json_response

from bot.handoff import audit
from bot.handoff.store import HandoffStore
from bot.staff.auth import client_address, staff_of
from bot.staff.roles import AUDIT, require

PAGE = 100
MAX_PAGE = 500
EXPORT_BATCH = 1000
COLUMNS = ("id", "at", "actor", "action", "ticket_id", "remote", "detail")
_TICKET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _filters(request: Request) -> dict[str, Any]:
    ticket = request.args.get("ticket") or None
    actor = request.args.get("actor") or None
    if ticket is not None and not _TICKET.match(ticket):
        raise ValueError("ticket must be a ticket id")
    if actor is not None and len(actor) > 100:
        raise ValueError("actor must be at most 100 characters")
    return {"ticket_id": ticket, "actor": actor}


def _int_arg(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula.
    return "'" + text if text.startswith(_FORMULA) else text


def csv_lines(entries: list[audit.AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for e in entries:
        row = e.to_dict()
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def with_audit_routes(api: Blueprint) -> Blueprint:
    """Add ``GET /audit`` and ``GET /audit/export`` to the staff API blueprint and return it."""

    def store_of(request: Request) -> HandoffStore:
        store: HandoffStore = request.app.ctx.store
        return store

    async def record(request: Request, action: str, filters: dict[str, Any], detail: str = "") -> None:
        actor = filters["actor"]
        what = " ".join(p for p in (f"actor={actor}" if actor else "", detail) if p)
        await asyncio.to_thread(
            audit.record, store_of(request), staff_of(request).username, action,
            ticket_id=filters["ticket_id"], remote=client_address(request), detail=what,
        )  # fmt: skip

    async def list_audit(request: Request) -> HTTPResponse:
        require(request, AUDIT)
        filters = _filters(request)
        limit = _int_arg(request, "limit", PAGE, 1, MAX_PAGE) or PAGE
        cursor = _int_arg(request, "cursor", None, 1, 2**62)
        rows = await asyncio.to_thread(audit.entries, store_of(request), before_id=cursor, limit=limit + 1, **filters)
        page, more = rows[:limit], len(rows) > limit
        await record(request, "audit_view", filters)
        return json_response(
            {"entries": [e.to_dict() for e in page], "next_cursor": str(page[-1].id) if more and page else None}
        )

    async def export_audit(request: Request) -> HTTPResponse | None:
        require(request, AUDIT)
        filters = _filters(request)
        await record(request, "export", filters, "audit_log")
        response = await request.respond(
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
        )
        await response.send(",".join(COLUMNS) + "\r\n")
        before: int | None = None
        while True:
            batch = await asyncio.to_thread(
                audit.entries, store_of(request), before_id=before, limit=EXPORT_BATCH, **filters
            )
            if not batch:
                break
            await response.send(csv_lines(batch))
            before = batch[-1].id
        await response.eof()
        return None

    api.add_route(list_audit, "/audit", methods=["GET"], name="audit_list")
    api.add_route(export_audit, "/audit/export", methods=["GET"], name="audit_export")
    return api


def audit_page_blueprint(static_dir: Path, csp: str) -> Blueprint:
    """The page at /staff/audit (its data comes from the API, for admins only)."""
    bp = Blueprint("staff_audit_page")

    @bp.get("/staff/audit")
    async def page(request: Request) -> HTTPResponse:
        return await file_response(static_dir / "audit.html", headers={"Content-Security-Policy": csp}, no_store=True)

    return bp
