"""The dashboard's ticket figures: handoffs per day by urgency, and the time to a first staff action per urgency
against its target (bot/handoff/targets.py). Counts and durations only, never text. Days are UTC.

Time to first action is taken over the tickets created in the window that have had one (a claim, note or reply);
the median is the middle value (the mean of the two middle ones for an even count), the 90th percentile the
nearest-rank value (the smallest time that at least 90% of the tickets beat or equal).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from bot.handoff.inbox import FIRST_NOTE, FIRST_REPLY, first_action
from bot.handoff.models import URGENCIES
from bot.handoff.store import HandoffStore, as_utc, opt_utc
from bot.handoff.targets import target_for, timing

if TYPE_CHECKING:
    from bot.settings import Settings


@dataclass(frozen=True)
class ResponseTimes:
    """One urgency's tickets in the window: how soon staff first acted, against the target."""

    urgency: str
    target: str  # the target's label, e.g. "1 business hour"
    tickets: int
    acted: int
    within_target: int  # of the acted
    waiting: int  # no staff action yet (resolved without one excluded)
    waiting_overdue: int
    median_seconds: float | None
    p90_seconds: float | None
    target_median_seconds: float | None  # business-hour targets vary by when a ticket came in

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def nearest_rank(values: list[float], percent: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def _today(store: HandoffStore) -> date:
    return as_utc(store.clock()).date()


def _window_rows(store: HandoffStore, days: int) -> list[tuple[Any, ...]]:
    if days < 1:
        raise ValueError("days must be >= 1")
    start = datetime.combine(_today(store) - timedelta(days=days - 1), time(0), tzinfo=timezone.utc)
    with store._tx(write=False) as c:
        return c.rows(
            f"SELECT t.urgency, t.created_at, t.claimed_at, t.resolved_at, {FIRST_NOTE}, {FIRST_REPLY} "  # nosec B608  # fixed SQL
            "FROM handoff_tickets t WHERE t.created_at >= ? ORDER BY t.created_at",
            (start,),
        )


def handoffs_per_day(store: HandoffStore, days: int) -> dict[str, dict[str, int]]:
    """{day: {urgency: tickets created}} for the last ``days`` UTC days (today included), every day and urgency."""
    today = _today(store)
    table: dict[str, dict[str, int]] = {
        (today - timedelta(days=days - 1 - i)).isoformat(): dict.fromkeys(URGENCIES, 0) for i in range(days)
    }
    for urgency, created, *_ in _window_rows(store, days):
        day = as_utc(created).date().isoformat()
        if day in table and urgency in table[day]:
            table[day][urgency] += 1
    return table


def response_times(store: HandoffStore, settings: Settings, days: int) -> list[ResponseTimes]:
    """Per urgency (emergency first), over tickets created in the last ``days`` UTC days."""
    now = store.clock()
    waits: dict[str, list[float]] = {u: [] for u in URGENCIES}
    targets: dict[str, list[float]] = {u: [] for u in URGENCIES}
    tally = {u: {"tickets": 0, "within": 0, "waiting": 0, "waiting_overdue": 0} for u in URGENCIES}
    for urgency, created, claimed, resolved, note, reply in _window_rows(store, days):
        if urgency not in tally:
            continue
        acted = first_action(claimed, note, reply)
        created_at, resolved_at = as_utc(created), opt_utc(resolved)
        t = timing(urgency, created_at, now, settings, first_action_at=acted)
        counts = tally[urgency]
        counts["tickets"] += 1
        targets[urgency].append(t.target_seconds)
        if acted is not None:
            waits[urgency].append((acted - created_at).total_seconds())
            counts["within"] += not t.overdue
        elif resolved_at is None:
            counts["waiting"] += 1
            counts["waiting_overdue"] += t.overdue
    return [
        ResponseTimes(
            urgency=u,
            target=target_for(u, settings).label,
            tickets=tally[u]["tickets"],
            acted=len(waits[u]),
            within_target=tally[u]["within"],
            waiting=tally[u]["waiting"],
            waiting_overdue=tally[u]["waiting_overdue"],
            median_seconds=statistics.median(waits[u]) if waits[u] else None,
            p90_seconds=nearest_rank(waits[u], 90),
            target_median_seconds=statistics.median(targets[u]) if targets[u] else None,
        )
        for u in URGENCIES
    ]
