"""What each staff role may do. The API's routes call `require(request, permission)` after the auth check.

Roles: staff and clinician work tickets; admin also manages accounts and reads the audit trail; machine is the
STAFF_TOKEN (scripts, monitoring): it reads, never acts on a ticket, since every action must name a person.
"""

from __future__ import annotations

from sanic import Request
from sanic.exceptions import Forbidden

from bot.staff.auth import staff_of

READ = "tickets.read"
ACT = "tickets.act"  # claim, resolve, reply, note, reassign
DASHBOARD = "dashboard.read"
AUDIT = "audit.read"  # view and export the audit trail
ACCOUNTS = "accounts.manage"

PERMISSIONS: dict[str, frozenset[str]] = {
    "staff": frozenset({READ, ACT, DASHBOARD}),
    "clinician": frozenset({READ, ACT, DASHBOARD}),
    "admin": frozenset({READ, ACT, DASHBOARD, AUDIT, ACCOUNTS}),
    "machine": frozenset({READ, DASHBOARD}),
}
HUMAN_ROLES = ("staff", "clinician", "admin")


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def require(request: Request, permission: str) -> None:
    """Forbidden (403) unless the caller's role grants `permission`."""
    if not allowed(staff_of(request).role, permission):
        raise Forbidden(f"Your role may not do this ({permission}).")
