"""Response targets: how soon a ticket of each urgency should get a first staff action, and whether it did.

settings.response_targets: ``urgency=target`` pairs separated by commas, one for every urgency, e.g.
"emergency=15m,urgent=1bh,routine=nbd". A target is ``Nm`` (minutes) or ``Nh`` (hours) of clock time, ``Nbh``
(hours the clinic is open, settings.clinic_hours) or ``nbd`` (the end of the next business day: the closing time of
the first open day after the day the ticket came in, clinic-local). Without any clinic hours, business hours count
as clock hours and ``nbd`` is the end of the next calendar day.

A ticket's clock stops at its first staff action (a claim, note or reply) or, failing that, when it was resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.constants import URGENCIES
from bot.handoff import clinic_hours

if TYPE_CHECKING:
    from bot.settings import Settings

_TARGET = re.compile(r"^(?:(?P<amount>\d{1,4})(?P<unit>m|h|bh)|(?P<nbd>nbd))$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "bh": 3600}
_UNIT_NAMES = {"m": "minute", "h": "hour", "bh": "business hour"}


@dataclass(frozen=True)
class Target:
    unit: str  # m, h, bh or nbd
    amount: int = 0

    @property
    def label(self) -> str:
        if self.unit == "nbd":
            return "end of next business day"
        name = _UNIT_NAMES[self.unit]
        return f"{self.amount} {name}{'' if self.amount == 1 else 's'}"


@dataclass(frozen=True)
class Timing:
    """How a ticket stands against its target (seconds are whole; due_at in UTC)."""

    waited_seconds: int
    target_seconds: int
    due_at: datetime
    overdue: bool


@lru_cache(maxsize=16)
def parse_targets(spec: str) -> dict[str, Target]:
    """Parse settings.response_targets; ValueError names the bad part."""
    targets: dict[str, Target] = {}
    for chunk in filter(None, (c.strip() for c in spec.split(","))):
        urgency, sep, value = (part.strip() for part in chunk.partition("="))
        if not sep or urgency not in URGENCIES:
            raise ValueError(
                f"response targets {spec!r}: expected urgency=target with one of {URGENCIES}, got {chunk!r}"
            )
        match = _TARGET.match(value.lower())
        if not match:
            raise ValueError(f"response targets {spec!r}: {value!r} is not Nm, Nh, Nbh or nbd")
        if match["nbd"]:
            targets[urgency] = Target("nbd")
        elif int(match["amount"]) < 1:
            raise ValueError(f"response targets {spec!r}: {value!r} must be at least 1")
        else:
            targets[urgency] = Target(match["unit"], int(match["amount"]))
    missing = [u for u in URGENCIES if u not in targets]
    if missing:
        raise ValueError(f"response targets {spec!r}: no target for {', '.join(missing)}")
    return targets


def target_for(urgency: str, settings: Settings) -> Target:
    targets = parse_targets(settings.response_targets)
    if urgency not in targets:
        raise ValueError(f"urgency must be one of {URGENCIES}, not {urgency!r}")
    return targets[urgency]


def due_at(urgency: str, created_at: datetime, settings: Settings) -> datetime:
    """When a ticket of this urgency created at ``created_at`` should have had its first staff action (UTC)."""
    target = target_for(urgency, settings)
    utc = created_at.astimezone(ZoneInfo("UTC"))
    if target.unit in ("m", "h"):
        return utc + timedelta(seconds=target.amount * _UNIT_SECONDS[target.unit])
    if target.unit == "bh":
        seconds = target.amount * _UNIT_SECONDS["bh"]
        found = clinic_hours.add_open_time(created_at, seconds, settings)
        return found if found is not None else utc + timedelta(seconds=seconds)
    found = clinic_hours.end_of_next_business_day(created_at, settings)
    if found is not None:
        return found
    local = created_at.astimezone(ZoneInfo(settings.clinic_timezone))
    return datetime.combine(local.date() + timedelta(days=2), time(0), tzinfo=local.tzinfo).astimezone(ZoneInfo("UTC"))


def timing(
    urgency: str,
    created_at: datetime,
    now: datetime,
    settings: Settings,
    first_action_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> Timing:
    """Waited (until the first action, else the resolution, else now) against the urgency's target."""
    stops = [t for t in (first_action_at, resolved_at) if t is not None]
    stop = min(stops) if stops else now
    due = due_at(urgency, created_at, settings)
    return Timing(
        waited_seconds=max(0, int((stop - created_at).total_seconds())),
        target_seconds=max(0, int((due - created_at).total_seconds())),
        due_at=due,
        overdue=stop > due,
    )
