"""The content-gaps view for clinicians: ``GET /staff/api/gaps`` (JSON) and the page ``/staff/gaps``.

The API route is added to the staff API blueprint, so it sits behind the same authentication as the ticket routes.
The page holds no data; its script fetches the counts with the staff session the inbox page set up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import file as file_response
from sanic.response import json as json_response

from bot.handoff.gaps import DEFAULT_DAYS, by_medicine, top_gaps
from bot.handoff.store import HandoffStore

MAX_DAYS = 3660


def _days(request: Request) -> int:
    raw = request.args.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_DAYS}")
    return int(raw)


def with_gap_routes(api: Blueprint) -> Blueprint:
    """Add ``GET /gaps`` to the staff API blueprint (before it is registered) and return it."""

    async def list_gaps(request: Request) -> HTTPResponse:
        days = _days(request)
        store: HandoffStore = request.app.ctx.store
        counts = await asyncio.to_thread(top_gaps, store, days)
        medicines = [
            {"drug": drug, "total": total, "aspects": [c.to_dict() for c in rows]}
            for drug, total, rows in by_medicine(counts)
        ]
        return json_response({"days": days, "medicines": medicines})

    api.add_route(list_gaps, "/gaps", methods=["GET"], name="content_gaps")
    return api


def gaps_page_blueprint(static_dir: Path, csp: str) -> Blueprint:
    """The page at /staff/gaps (its script and style are in the staff app's static files)."""
    bp = Blueprint("staff_gaps_page")

    @bp.get("/staff/gaps")
    async def page(request: Request) -> HTTPResponse:
        return await file_response(static_dir / "gaps.html", headers={"Content-Security-Policy": csp}, no_store=True)

    return bp
