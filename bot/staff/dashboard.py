"""The dashboard: ``GET /staff/dashboard`` (a page of server-rendered SVG charts, each with its data table) and
``GET /staff/api/dashboard`` (the same figures as JSON). Both need the DASHBOARD permission. ``?days=`` (1-366,
default 30) sets the window, in UTC days up to today.

Figures: conversations per day by outcome (bot/handoff/outcomes.py), handoffs per day by urgency and the time to
a first staff action per urgency against its target (bot/handoff/figures.py), and the content gaps: the most asked
aspects the handouts don't cover, per medicine (bot/handoff/gaps.py). Counts only, never patient text.
"""

from __future__ import annotations

import asyncio
from datetime import timezone
from html import escape
from string import Template
from typing import TYPE_CHECKING, Any

from sanic import Blueprint, Request
from sanic.exceptions import Forbidden
from sanic.response import HTTPResponse, html, redirect
from sanic.response import json as json_response

from bot.handoff.figures import handoffs_per_day, response_times
from bot.handoff.gaps import by_medicine, top_gaps
from bot.handoff.models import URGENCIES
from bot.handoff.outcomes import OUTCOMES, outcomes_per_day
from bot.handoff.store import HandoffStore
from bot.staff import charts
from bot.staff.gate import Refused, authenticate
from bot.staff.pages import CSP, STATIC_DIR
from bot.staff.roles import DASHBOARD, require

if TYPE_CHECKING:
    from bot.settings import Settings

DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP_GAPS = 15
OUTCOME_LABELS = {"answered": "Answered", "abstained": "Abstained", "handed_off": "Handed off", "fallback": "Fallback"}
OUTCOME_COLORS = {"answered": "#009E73", "abstained": "#E69F00", "handed_off": "#0072B2", "fallback": "#D55E00"}
URGENCY_COLORS = {"emergency": "#D55E00", "urgent": "#E69F00", "routine": "#56B4E9"}
DISPLAY_ORDER = ("answered", "abstained", "handed_off", "fallback")  # bottom of the stack first


def days_of(request: Request) -> int:
    raw = request.args.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_DAYS}")
    return int(raw)


def figures(store: HandoffStore, settings: Settings, days: int) -> dict[str, Any]:
    """Every figure of the dashboard, JSON-ready."""
    outcomes = outcomes_per_day(store, days)
    handoffs = handoffs_per_day(store, days)
    medicines = [
        {"drug": drug, "total": total, "aspects": [c.to_dict() for c in rows]}
        for drug, total, rows in by_medicine(top_gaps(store, days))
    ]
    return {
        "days": days,
        "generated_at": store.clock().astimezone(timezone.utc).isoformat(),
        "conversations": {
            "per_day": [{"day": day, **counts} for day, counts in outcomes.items()],
            "totals": {o: sum(c[o] for c in outcomes.values()) for o in OUTCOMES},
        },
        "handoffs": {
            "per_day": [{"day": day, **counts} for day, counts in handoffs.items()],
            "totals": {u: sum(c[u] for c in handoffs.values()) for u in URGENCIES},
        },
        "response_times": [r.to_dict() for r in response_times(store, settings, days)],
        "gaps": {"medicines": medicines},
    }


def _conversations(data: dict[str, Any]) -> str:
    rows = data["conversations"]["per_day"]
    series = [charts.Series(OUTCOME_LABELS[o], [r[o] for r in rows], OUTCOME_COLORS[o]) for o in DISPLAY_ORDER]
    chart = charts.stacked_bars(
        "chart-conversations", "Conversations per day by outcome", [r["day"] for r in rows], series
    )
    table = charts.table(
        "table-conversations",
        "Conversations per day by outcome (each conversation counted once a day, under its most serious outcome)",
        ["Day", *(OUTCOME_LABELS[o] for o in DISPLAY_ORDER), "Total"],
        [[r["day"], *(r[o] for o in DISPLAY_ORDER), sum(r[o] for o in OUTCOMES)] for r in rows],
    )
    return _section("conversations", "Conversations by outcome", chart, table)


def _handoffs(data: dict[str, Any]) -> str:
    rows = data["handoffs"]["per_day"]
    series = [charts.Series(u.capitalize(), [r[u] for r in rows], URGENCY_COLORS[u]) for u in reversed(URGENCIES)]
    chart = charts.stacked_bars("chart-handoffs", "Handoffs per day by urgency", [r["day"] for r in rows], series)
    table = charts.table(
        "table-handoffs",
        "Handoff tickets created per day by urgency",
        ["Day", *(u.capitalize() for u in URGENCIES), "Total"],
        [[r["day"], *(r[u] for u in URGENCIES), sum(r[u] for u in URGENCIES)] for r in rows],
    )
    return _section("handoffs", "Handoffs by urgency", chart, table)


def _response(data: dict[str, Any]) -> str:
    rows = data["response_times"]
    chart = charts.range_bars(
        "chart-response",
        "Time to first staff action per urgency, against its target",
        [(r["urgency"].capitalize(), r["median_seconds"], r["p90_seconds"], r["target_median_seconds"]) for r in rows],
    )
    fmt = charts.format_duration
    table = charts.table(
        "table-response",
        "Time to first staff action (a claim, note or reply) for the tickets of the period",
        ["Urgency", "Target", "Tickets", "Acted on", "Within target", "Median", "90th percentile", "Waiting",
         "Overdue"],
        [
            [r["urgency"].capitalize(), r["target"], r["tickets"], r["acted"], r["within_target"],
             fmt(r["median_seconds"]), fmt(r["p90_seconds"]), r["waiting"], r["waiting_overdue"]]
            for r in rows
        ],
    )  # fmt: skip
    return _section("response", "Time to first staff action", chart, table)


def _gap_label(drug: str | None, aspect: str | None) -> str:
    return f"{drug or '(no medicine named)'} · {aspect or '(aspect not known)'}"


def _gaps(data: dict[str, Any]) -> str:
    flat = [(m["drug"], a) for m in data["gaps"]["medicines"] for a in m["aspects"]]
    top = sorted(flat, key=lambda pair: -int(pair[1]["count"]))[:TOP_GAPS]
    chart = charts.bars(
        "chart-gaps",
        "Most asked questions the handouts don't answer",
        [(_gap_label(drug, a["aspect"]), a["count"]) for drug, a in top],
    )
    table = charts.table(
        "table-gaps",
        "Unanswered questions per medicine and aspect (no message text is kept)",
        ["Medicine", "Aspect asked", "Why not answered", "Count"],
        [[drug or "(no medicine named)", a["aspect"] or "(not known)", a["reason"], a["count"]] for drug, a in flat],
    )
    return _section("gaps", "Content gaps", chart, table)


def _section(name: str, heading: str, chart: str, table: str) -> str:
    return (
        f'<section class="panel" aria-labelledby="{name}-heading"><h2 id="{name}-heading">{escape(heading)}</h2>'
        f'<figure class="chart-box">{chart}</figure><details class="data-box"><summary>Table of these figures</summary>'
        f"{table}</details></section>"
    )


def render_page(data: dict[str, Any]) -> str:
    template = Template((STATIC_DIR / "dashboard.html").read_text(encoding="utf-8"))
    sections = _conversations(data) + _handoffs(data) + _response(data) + _gaps(data)
    return template.substitute(days=data["days"], generated=escape(data["generated_at"]), sections=sections)


def with_dashboard_routes(api: Blueprint, settings: Settings) -> Blueprint:
    """Add ``GET /dashboard`` (the figures as JSON) to the staff API blueprint and return it."""

    async def dashboard_data(request: Request) -> HTTPResponse:
        require(request, DASHBOARD)
        days = days_of(request)
        return json_response(await asyncio.to_thread(figures, request.app.ctx.store, settings, days))

    api.add_route(dashboard_data, "/dashboard", methods=["GET"], name="dashboard_data")
    return api


def dashboard_page_blueprint(settings: Settings) -> Blueprint:
    """The page at /staff/dashboard, behind the API's authentication (bot/staff/gate.py); a caller who is not
    signed in is sent to the sign-in page."""
    bp = Blueprint("staff_dashboard_page")

    @bp.get("/staff/dashboard")
    async def page(request: Request) -> HTTPResponse:
        try:
            await authenticate(request, settings)
        except Refused:
            return redirect("/staff", status=303)
        headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
        try:
            require(request, DASHBOARD)
        except Forbidden:
            return html("<!doctype html><title>Forbidden</title><p>Your role may not see the dashboard.</p>", 403)
        days = days_of(request)
        data = await asyncio.to_thread(figures, request.app.ctx.store, settings, days)
        return html(render_page(data), headers=headers)

    return bp
