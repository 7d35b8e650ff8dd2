"""Response targets per urgency: parsing RESPONSE_TARGETS, deadlines in business hours, and the waited clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.handoff.targets import Target, due_at, parse_targets, timing
from bot.settings import Settings, SettingsError

LA = ZoneInfo("America/Los_Angeles")


def make_settings(targets: str = "emergency=15m,urgent=1bh,routine=nbd", hours: str = "0-4 08:00-17:00") -> Settings:
    return Settings.from_env({}).replace(response_targets=targets, clinic_hours=hours)


def la(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LA)


def test_the_default_targets() -> None:
    targets = parse_targets(Settings.from_env({}).response_targets)
    assert targets == {"emergency": Target("m", 15), "urgent": Target("bh", 1), "routine": Target("nbd")}
    assert [t.label for t in targets.values()] == ["15 minutes", "1 business hour", "end of next business day"]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("emergency=15m,urgent=1bh", "no target for routine"),
        ("emergency=15m,urgent=1bh,routine=nbd,soon=1h", "expected urgency=target"),
        ("emergency=15,urgent=1bh,routine=nbd", "not Nm, Nh, Nbh or nbd"),
        ("emergency=0m,urgent=1bh,routine=nbd", "at least 1"),
        ("emergency 15m,urgent=1bh,routine=nbd", "expected urgency=target"),
    ],
)
def test_bad_targets_are_refused_naming_the_variable(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_targets(spec)
    with pytest.raises(SettingsError, match=f"RESPONSE_TARGETS: .*{problem}"):
        Settings.from_env({"RESPONSE_TARGETS": spec})


# 2026-11-23 is a Monday; 2026-11-27 a Friday.
@pytest.mark.parametrize(
    ("urgency", "created", "due"),
    [
        ("emergency", la(11, 28, 3, 0), la(11, 28, 3, 15)),  # clock time, open or not
        ("urgent", la(11, 23, 10, 0), la(11, 23, 11, 0)),
        ("urgent", la(11, 23, 16, 30), la(11, 24, 8, 30)),  # half an hour today, half tomorrow
        ("urgent", la(11, 27, 16, 30), la(11, 30, 8, 30)),  # over the weekend
        ("urgent", la(11, 28, 11, 0), la(11, 30, 9, 0)),  # Saturday: the first open hour
        ("urgent", la(11, 23, 6, 0), la(11, 23, 9, 0)),  # before opening
        ("routine", la(11, 23, 10, 0), la(11, 24, 17, 0)),  # end of the next business day
        ("routine", la(11, 23, 6, 0), la(11, 24, 17, 0)),  # the next day, even before opening
        ("routine", la(11, 27, 10, 0), la(11, 30, 17, 0)),  # Friday -> Monday
        ("routine", la(11, 28, 10, 0), la(11, 30, 17, 0)),  # Saturday -> Monday
        ("urgent", la(3, 6, 16, 30), la(3, 9, 8, 30)),  # across the switch to daylight time (PST -> PDT)
    ],
)
def test_deadlines_count_business_hours(urgency: str, created: datetime, due: datetime) -> None:
    assert due_at(urgency, created, make_settings()) == due
    assert due_at(urgency, created.astimezone(timezone.utc), make_settings()) == due


def test_windows_on_one_day_and_other_units() -> None:
    settings = make_settings("emergency=2h,urgent=3bh,routine=nbd", hours="0-4 08:00-12:00; 0-4 13:00-17:00")
    assert due_at("urgent", la(11, 23, 11, 0), settings) == la(11, 23, 15, 0)  # lunch does not count
    assert due_at("emergency", la(11, 23, 11, 0), settings) == la(11, 23, 13, 0)
    assert due_at("routine", la(11, 23, 11, 0), settings) == la(11, 24, 17, 0)


def test_without_clinic_hours_business_time_is_clock_time() -> None:
    settings = make_settings(hours="")
    assert due_at("urgent", la(11, 28, 11, 0), settings) == la(11, 28, 12, 0)
    assert due_at("routine", la(11, 28, 11, 0), settings) == la(11, 30, 0, 0)  # end of the next calendar day


def test_timing_waits_until_the_first_action_or_resolution() -> None:
    settings = make_settings()
    created = la(11, 23, 10, 0)
    waiting = timing("urgent", created, created + timedelta(minutes=30), settings)
    assert (waiting.waited_seconds, waiting.target_seconds, waiting.overdue) == (1800, 3600, False)
    late = timing("urgent", created, created + timedelta(hours=2), settings)
    assert (late.waited_seconds, late.overdue) == (7200, True)
    later = created + timedelta(days=3)
    acted = timing("urgent", created, later, settings, first_action_at=created + timedelta(minutes=5))
    assert (acted.waited_seconds, acted.overdue) == (300, False)
    closed = timing("urgent", created, later, settings, resolved_at=created + timedelta(hours=4))
    assert (closed.waited_seconds, closed.overdue) == (4 * 3600, True)
    assert closed.due_at == la(11, 23, 11, 0)
