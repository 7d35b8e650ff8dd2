"""Clinic opening hours and the "when will staff answer" sentence of a handoff reply.

settings.clinic_hours: one or more "DAYS HH:MM-HH:MM" windows separated by ";", where DAYS is a
weekday number (Mon=0 .. Sun=6), a range "0-4" or a list "0,2,4", e.g.
"0-4 08:00-17:00; 5 09:00-12:00".
Times are local to settings.clinic_timezone (an IANA name such as "America/Los_Angeles").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.settings import Settings

_WINDOW = re.compile(
    r"^(?P<days>[0-6](?:\s*[-,]\s*[0-6])*)\s+"
    r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})$"
)
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ZONE_LABELS = {
    "America/Los_Angeles": "Pacific time",
    "America/Vancouver": "Pacific time",
    "America/Denver": "Mountain time",
    "America/Boise": "Mountain time",
    "America/Phoenix": "Arizona time",
    "America/Chicago": "Central time",
    "America/New_York": "Eastern time",
    "America/Detroit": "Eastern time",
    "America/Toronto": "Eastern time",
    "America/Anchorage": "Alaska time",
    "Pacific/Honolulu": "Hawaii time",
}

# Sentences while the clinic is open, by urgency.
_OPEN_TEXT = {
    "emergency": "Clinic staff will also call you back as soon as they can.",
    "urgent": "A nurse will call you back within 1 hour.",
    "routine": "The care team will answer by the end of the next business day.",
}


@dataclass(frozen=True)
class Window:
    days: frozenset[int]
    opens: time
    closes: time


def _clock(text: str, spec: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"clinic hours {spec!r}: {text!r} is not a time of day")
    return time(hours, minutes)


def _days(text: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        lo, hi = int(first), int(last or first)
        if lo > hi:
            raise ValueError(f"clinic hours {spec!r}: day range {part!r} runs backwards")
        days.update(range(lo, hi + 1))
    return frozenset(days)


@lru_cache(maxsize=16)
def parse_hours(spec: str) -> tuple[Window, ...]:
    """Parse settings.clinic_hours; raises ValueError naming the bad part."""
    windows = []
    for chunk in filter(None, (c.strip() for c in spec.split(";"))):
        match = _WINDOW.match(chunk)
        if not match:
            raise ValueError(f"clinic hours {spec!r}: expected 'DAYS HH:MM-HH:MM' (Mon=0..Sun=6), got {chunk!r}")
        opens, closes = _clock(match["open"], spec), _clock(match["close"], spec)
        if closes <= opens:
            raise ValueError(f"clinic hours {spec!r}: closing time must be after opening time")
        windows.append(Window(_days(match["days"], spec), opens, closes))
    return tuple(windows)


def _local(now: datetime, settings: Settings) -> datetime:
    aware = now if now.tzinfo else now.replace(tzinfo=timezone.utc)  # naive means UTC
    return aware.astimezone(ZoneInfo(settings.clinic_timezone))


def is_open(now: datetime, settings: Settings) -> bool:
    """Whether the clinic is open at this moment (naive datetimes are taken as UTC)."""
    local = _local(now, settings)
    return any(
        local.weekday() in w.days and w.opens <= local.time() < w.closes for w in parse_hours(settings.clinic_hours)
    )


def next_opening(now: datetime, settings: Settings) -> datetime | None:
    """The next opening time after now, in clinic-local time (None if hours are empty)."""
    local = _local(now, settings)
    windows = parse_hours(settings.clinic_hours)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        starts = sorted(datetime.combine(day, w.opens, tzinfo=local.tzinfo) for w in windows if day.weekday() in w.days)
        for start in starts:
            if start > local:
                return start
    return None


def _open_spans(start: datetime, settings: Settings, days: int) -> list[tuple[datetime, datetime]]:
    """Open hours (UTC, merged where windows overlap) from the start of start's local day, for ``days`` days."""
    local = _local(start, settings)
    windows = parse_hours(settings.clinic_hours)
    spans: list[tuple[datetime, datetime]] = []
    for offset in range(days):
        day = local.date() + timedelta(days=offset)
        todays = sorted(
            (datetime.combine(day, w.opens, tzinfo=local.tzinfo), datetime.combine(day, w.closes, tzinfo=local.tzinfo))
            for w in windows
            if day.weekday() in w.days
        )
        for opens, closes in todays:
            a, b = opens.astimezone(timezone.utc), closes.astimezone(timezone.utc)
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            else:
                spans.append((a, b))
    return spans


def add_open_time(start: datetime, seconds: float, settings: Settings) -> datetime | None:
    """The moment ``seconds`` of opening hours after start (UTC); None when the clinic has no hours."""
    remaining = timedelta(seconds=seconds)
    begin = _local(start, settings).astimezone(timezone.utc)
    days = 8 + int(seconds // 3600) * 7  # at least one open hour a week if there are any hours at all
    for opens, closes in _open_spans(start, settings, days):
        a = max(opens, begin)
        if closes <= a:
            continue
        if remaining <= closes - a:
            return a + remaining
        remaining -= closes - a
    return None


def end_of_next_business_day(start: datetime, settings: Settings) -> datetime | None:
    """Closing time (UTC) of the first open day after start's local day; None when the clinic has no hours."""
    first_day = _local(start, settings).date() + timedelta(days=1)
    for opens, _ in _open_spans(start, settings, 9):
        if _local(opens, settings).date() >= first_day:
            return max(closes for _, closes in _open_spans(opens, settings, 1))
    return None


def timezone_label(name: str) -> str:
    """A readable zone name: "Pacific time", or "Berlin time" for zones without a common name."""
    return _ZONE_LABELS.get(name) or f"{name.rsplit('/', 1)[-1].replace('_', ' ')} time"


def _time_text(t: datetime) -> str:
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def response_time_text(urgency: str, now: datetime, settings: Settings) -> str:
    """One plain sentence saying when staff will answer a handoff of this urgency."""
    if urgency not in _OPEN_TEXT:
        raise ValueError(f"urgency must be one of {sorted(_OPEN_TEXT)}, not {urgency!r}")
    if is_open(now, settings):
        return _OPEN_TEXT[urgency]
    opening = next_opening(now, settings)
    if opening is None:
        return "The clinic is closed now; staff will answer as soon as they can."
    days_ahead = (opening.date() - _local(now, settings).date()).days
    when = {0: "today", 1: "tomorrow"}.get(days_ahead, f"on {_DAY_NAMES[opening.weekday()]}")
    return (
        f"The clinic is closed now; staff will answer when it opens at {_time_text(opening)} "
        f"{when} ({timezone_label(settings.clinic_timezone)})."
    )
