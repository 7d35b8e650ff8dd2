"""Content gaps: how often a medicine's aspect was asked and the knowledge base had no answer.

Counts per day in the ``content_gaps`` table of the handoff store (same SQLite file or PostgreSQL database as the
tickets; DDL in ``bot.handoff.schema``): day, medicine id, aspect, the abstention's reason and a count. No message
text is kept. Unknown medicine or aspect is stored as "" (the table's key can't hold NULL on both backends).
Rows go with the tickets' retention (``HandoffStore.purge``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.handoff.store import HandoffStore

DEFAULT_DAYS = 90
_UPSERT = (
    "INSERT INTO content_gaps (day, drug, aspect, reason, count) VALUES (?, ?, ?, ?, 1) "
    "ON CONFLICT (day, drug, aspect, reason) DO UPDATE SET count = content_gaps.count + 1"
)


@dataclass(frozen=True)
class Gap:
    """One abstention: what was asked (medicine id and aspect id, either unknown) and why it wasn't answered."""

    drug: str | None
    aspect: str | None
    reason: str


@dataclass(frozen=True)
class GapCount:
    drug: str | None
    aspect: str | None
    reason: str
    count: int

    def to_dict(self) -> dict[str, str | int | None]:
        return {"drug": self.drug, "aspect": self.aspect, "reason": self.reason, "count": self.count}


def record_gap(store: HandoffStore, gap: Gap, day: date | None = None) -> None:
    """Count one abstention on ``day`` (default: the store clock's day, UTC)."""
    when = day or store.clock().date()
    with store._tx() as c:
        c.run(_UPSERT, (when.isoformat(), gap.drug or "", gap.aspect or "", gap.reason))


def top_gaps(store: HandoffStore, days: int = DEFAULT_DAYS, limit: int = 200) -> list[GapCount]:
    """Counts over the last ``days`` days (today included), most asked first."""
    if days < 1:
        raise ValueError("days must be >= 1")
    since = (store.clock().date() - timedelta(days=days - 1)).isoformat()
    with store._tx(write=False) as c:
        rows = c.rows(
            "SELECT drug, aspect, reason, SUM(count) AS n FROM content_gaps WHERE day >= ? "
            "GROUP BY drug, aspect, reason ORDER BY n DESC, drug, aspect, reason LIMIT ?",
            (since, int(limit)),
        )
    return [GapCount(r[0] or None, r[1] or None, str(r[2]), int(r[3])) for r in rows]


def by_medicine(counts: list[GapCount]) -> list[tuple[str | None, int, list[GapCount]]]:
    """Counts grouped per medicine (None = no medicine named), the most asked medicine first."""
    groups: dict[str | None, list[GapCount]] = {}
    for count in counts:
        groups.setdefault(count.drug, []).append(count)
    totals = [(drug, sum(c.count for c in rows), rows) for drug, rows in groups.items()]
    return sorted(totals, key=lambda t: (-t[1], t[0] or "~"))
