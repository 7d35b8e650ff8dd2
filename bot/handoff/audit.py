"""The audit trail: who did what to which ticket, when and from where. Never any message text.

Rows go into ``audit_log`` in the same database as the tickets (DDL in ``bot.handoff.schema``). The app only
appends: nothing here updates a row, and the only delete is the retention purge (``purge_audit``), which keeps
``AUDIT_RETENTION_DAYS`` (six years by default, the HIPAA documentation norm). The database itself refuses to
change an entry: a trigger per backend (``bot.handoff.schema.APPEND_ONLY``, created with the schema by
bot/handoff/sqlite.py and postgres.py) aborts every UPDATE of ``audit_log`` (and, on PostgreSQL, a TRUNCATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.handoff.store import HandoffStore, as_utc

MAX_DETAIL = 200


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    ticket_id: str | None
    remote: str | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "ticket_id": self.ticket_id,
            "remote": self.remote,
            "detail": self.detail,
        }


def record(
    store: HandoffStore,
    actor: str,
    action: str,
    *,
    ticket_id: str | None = None,
    remote: str | None = None,
    detail: str = "",
) -> None:
    """Append one entry. ``detail`` is a short code or count (e.g. "role=admin"), never patient text."""
    with store._tx() as c:
        c.run(
            "INSERT INTO audit_log (at, actor, action, ticket_id, remote, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (store.clock(), actor[:100], action[:50], ticket_id, (remote or "")[:64] or None, detail[:MAX_DETAIL]),
        )


def entries(
    store: HandoffStore,
    *,
    ticket_id: str | None = None,
    actor: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; page with ``before_id`` (the last id of the previous page)."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("ticket_id", ticket_id), ("actor", actor)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before_id is not None:
        where.append("id < ?")
        params.append(int(before_id))
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    # The clause joins fixed column comparisons written above; every value is a bound parameter.
    sql = f"SELECT id, at, actor, action, ticket_id, remote, detail FROM audit_log {clause} ORDER BY id DESC LIMIT ?"  # nosec B608
    with store._tx(write=False) as c:
        rows = c.rows(sql, [*params, int(limit)])
    return [AuditEntry(int(r[0]), as_utc(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]


def purge_audit(store: HandoffStore, older_than_days: int) -> int:
    """The retention purge: delete entries older than ``older_than_days``."""
    if older_than_days < 1:
        raise ValueError("the audit retention must be at least one day")
    cutoff = store.clock() - timedelta(days=older_than_days)
    with store._tx() as c:
        return c.run("DELETE FROM audit_log WHERE at < ?", (cutoff,))
