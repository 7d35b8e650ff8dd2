from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.handoff.clinic_hours import (
    is_open,
    next_opening,
    parse_hours,
    response_time_text,
    timezone_label,
)
from bot.settings import Settings

LA = ZoneInfo("America/Los_Angeles")


def make_settings(hours: str = "0-4 08:00-17:00", tz: str = "America/Los_Angeles") -> Settings:
    return Settings.from_env().replace(clinic_hours=hours, clinic_timezone=tz)


def la(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LA)


# 2026-11-23 is a Monday.
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (la(2026, 11, 23, 8, 0), True),  # opening minute
        (la(2026, 11, 23, 12, 30), True),
        (la(2026, 11, 23, 16, 59), True),
        (la(2026, 11, 23, 17, 0), False),  # closing time is exclusive
        (la(2026, 11, 23, 7, 59), False),
        (la(2026, 11, 27, 10, 0), True),  # Friday
        (la(2026, 11, 28, 10, 0), False),  # Saturday
        (la(2026, 11, 29, 10, 0), False),  # Sunday
        (datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc), True),  # 10:00 PST
        (datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc), False),  # Mon 18:00 PST
        (datetime(2026, 7, 6, 23, 30, tzinfo=timezone.utc), True),  # Mon 16:30 PDT (summer time)
        (datetime(2026, 7, 7, 0, 30, tzinfo=timezone.utc), False),  # Mon 17:30 PDT
        (datetime(2026, 11, 23, 18, 0), True),  # naive datetimes are UTC
    ],
)
def test_is_open_follows_local_weekday_hours(now: datetime, expected: bool) -> None:
    assert is_open(now, make_settings()) is expected


def test_hours_in_another_timezone() -> None:
    settings = make_settings(tz="America/New_York")
    # 13:30 UTC on a Monday is 08:30 in New York but 05:30 in Los Angeles.
    now = datetime(2026, 11, 23, 13, 30, tzinfo=timezone.utc)
    assert is_open(now, settings)
    assert not is_open(now, make_settings())


def test_several_windows_and_day_lists() -> None:
    settings = make_settings("0-4 08:00-17:00; 5 09:00-12:00")
    assert is_open(la(2026, 11, 28, 9, 30), settings)  # Saturday morning
    assert not is_open(la(2026, 11, 28, 12, 0), settings)
    assert parse_hours("0,2,4 08:00-12:00")[0].days == frozenset({0, 2, 4})


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "weekdays 08:00-17:00",
        "0-7 08:00-17:00",
        "0-4 17:00-08:00",
        "0-4 25:00-26:00",
        "4-0 08:00-17:00",
    ],
)
def test_bad_hours_are_rejected_or_empty(spec: str) -> None:
    if spec == "":
        assert parse_hours(spec) == ()
        assert not is_open(la(2026, 11, 23, 10), make_settings(spec))
        return
    with pytest.raises(ValueError, match="clinic hours"):
        parse_hours(spec)


@pytest.mark.parametrize(
    ("urgency", "expected"),
    [
        ("urgent", "A nurse will call you back within 1 hour."),
        ("routine", "The care team will answer by the end of the next business day."),
        ("emergency", "Clinic staff will also call you back as soon as they can."),
    ],
)
def test_response_time_during_hours(urgency: str, expected: str) -> None:
    assert response_time_text(urgency, la(2026, 11, 24, 10), make_settings()) == expected


@pytest.mark.parametrize(
    ("now", "when"),
    [
        (la(2026, 11, 27, 18, 0), "8:00 AM on Monday"),  # Friday evening
        (la(2026, 11, 28, 11, 0), "8:00 AM on Monday"),  # Saturday
        (la(2026, 11, 24, 6, 15), "8:00 AM today"),  # Tuesday early morning
        (la(2026, 11, 24, 19, 0), "8:00 AM tomorrow"),  # Tuesday evening
        (la(2026, 11, 29, 23, 59), "8:00 AM tomorrow"),  # Sunday night
    ],
)
@pytest.mark.parametrize("urgency", ["urgent", "routine"])
def test_response_time_after_hours_names_the_opening(now: datetime, when: str, urgency: str) -> None:
    text = response_time_text(urgency, now, make_settings())
    assert text == f"The clinic is closed now; staff will answer when it opens at {when} (Pacific time)."


def test_after_hours_text_uses_afternoon_opening_and_zone_name() -> None:
    settings = make_settings("0-6 13:30-20:00", tz="Europe/Berlin")
    now = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # 09:00 in Berlin
    assert response_time_text("routine", now, settings) == (
        "The clinic is closed now; staff will answer when it opens at 1:30 PM today (Berlin time)."
    )


def test_next_opening_is_local_and_none_without_hours() -> None:
    opening = next_opening(la(2026, 11, 27, 18), make_settings())
    assert opening is not None
    assert (opening.weekday(), opening.hour, opening.minute) == (0, 8, 0)
    assert opening.utcoffset() == la(2026, 11, 30, 8).utcoffset()
    assert next_opening(la(2026, 11, 27, 18), make_settings("")) is None
    assert "as soon as they can" in response_time_text("urgent", la(2026, 11, 27, 18), make_settings(""))


def test_unknown_urgency_is_an_error() -> None:
    with pytest.raises(ValueError):
        response_time_text("whenever", la(2026, 11, 24, 10), make_settings())


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("America/Los_Angeles", "Pacific time"),
        ("America/New_York", "Eastern time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
    ],
)
def test_timezone_label(name: str, label: str) -> None:
    assert timezone_label(name) == label
