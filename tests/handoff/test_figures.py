"""The dashboard's ticket figures equal direct SQL counts (SQLite and PostgreSQL); time to first action."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff.figures import handoffs_per_day, nearest_rank, response_times
from bot.handoff.inbox import add_note
from bot.handoff.store import HandoffStore
from bot.settings import Settings

START = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)  # Monday 10:00 in Los Angeles


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def direct_count(store: HandoffStore, day: str, urgency: str) -> int:
    start = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    with store._tx(write=False) as c:
        rows = c.rows(
            "SELECT COUNT(*) FROM handoff_tickets WHERE urgency = ? AND created_at >= ? AND created_at < ?",
            (urgency, start, start + timedelta(days=1)),
        )
    return int(rows[0][0])


def test_handoffs_per_day_equal_direct_counts(store: HandoffStore, clock: Clock) -> None:
    plan = {0: ["urgent", "routine"], 1: ["emergency"], 3: ["routine"] * 3, 9: ["urgent"], 40: ["routine"]}
    for days_ago, urgencies in plan.items():
        for i, urgency in enumerate(urgencies):
            clock.now = START - timedelta(days=days_ago, minutes=i)
            store.create_ticket(f"c-{days_ago}-{i}", "rest", urgency, "r", "m", [])
    clock.now = START + timedelta(hours=5)  # 23:00 UTC: still the same UTC day
    table = handoffs_per_day(store, 30)
    assert len(table) == 30 and list(table)[-1] == START.date().isoformat()
    for day, counts in table.items():
        for urgency, n in counts.items():
            assert n == direct_count(store, day, urgency), (day, urgency)
    assert sum(sum(c.values()) for c in table.values()) == 7  # the ticket 40 days ago is outside the window


def test_time_to_first_action_per_urgency_against_the_target(store: HandoffStore, clock: Clock) -> None:
    settings = Settings.from_env({})
    waits_minutes = [2, 5, 9, 14, 30]  # emergencies (target 15 minutes): four within it
    for i, minutes in enumerate(waits_minutes):
        clock.now = START + timedelta(minutes=i)
        made = store.create_ticket(f"e-{i}", "sms", "emergency", "r", "m", [])
        clock.now += timedelta(minutes=minutes)
        if i % 2:
            store.claim(made.id, "kim")
        else:
            add_note(store, made.id, "kim", "called")
    clock.now = START
    waiting = store.create_ticket("u-1", "web", "urgent", "r", "m", [])
    store.create_ticket("u-2", "web", "urgent", "r", "m", [])
    clock.now = START + timedelta(hours=2)
    store.resolve(waiting.id)  # resolved without a first action: neither acted on nor waiting
    by_urgency = {r.urgency: r for r in response_times(store, settings, 30)}
    emergency = by_urgency["emergency"]
    seconds = [m * 60.0 for m in waits_minutes]
    assert (emergency.tickets, emergency.acted, emergency.within_target) == (5, 5, 4)
    assert emergency.median_seconds == statistics.median(seconds) == 9 * 60
    assert emergency.p90_seconds == 30 * 60 and emergency.target_median_seconds == 15 * 60
    urgent = by_urgency["urgent"]
    assert (urgent.tickets, urgent.acted, urgent.waiting, urgent.waiting_overdue) == (2, 0, 1, 1)
    assert urgent.median_seconds is None and urgent.target == "1 business hour"
    assert by_urgency["routine"].tickets == 0


def test_nearest_rank() -> None:
    assert nearest_rank([], 90) is None
    assert nearest_rank([5.0], 90) == 5.0
    assert nearest_rank([float(n) for n in range(1, 11)], 90) == 9.0
    assert nearest_rank([float(n) for n in range(1, 21)], 90) == 18.0
