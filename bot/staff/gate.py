"""Who is calling the staff app: the API's check (sets ``request.ctx.staff``) and ``GET /staff/api/me``.

Three ways in, judged in this order:

1. ``Authorization: Bearer <STAFF_TOKEN>``: role machine (reads, never acts). A request with an Authorization
   header is judged by it alone: a wrong one is 401 even with a good cookie.
2. STAFF_AUTH=proxy (single sign-on): the STAFF_PROXY_HEADER header names the user, honoured only on a connection
   from an address in STAFF_TRUSTED_PROXIES (from any other address the header is ignored). The user must have an
   account that is not disabled (403 otherwise); role and name come from it.
3. Otherwise the session cookie set at sign-in (bot/staff/pages.py), whose account is read again on every request,
   so a disabled or deleted account's session ends at once.

Browser requests (2 and 3) that change state must pass the CSRF check (bot/staff/auth.py). A request that sends
``X-Staff-Background: 1`` (the inbox's timed refresh) does not slide the session's idle time.
"""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from bot.handoff.store import HandoffStore
from bot.settings import Settings
from bot.staff.accounts import Account, get_account, normalize_username
from bot.staff.auth import SAFE_METHODS, StaffIdentity, bearer_ok, csrf_ok, staff_of
from bot.staff.sessions import COOKIE, SessionStore

BACKGROUND_HEADER = "X-Staff-Background"
MACHINE = StaffIdentity("machine", "Machine access", "machine")


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _store(request: Request) -> HandoffStore:
    store: HandoffStore = request.app.ctx.store
    return store


def _sessions(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.ctx.sessions
    return sessions


def trusted_peer(request: Request, settings: Settings) -> bool:
    """The connection comes straight from a configured proxy (the socket's address, never a forwarded one)."""
    try:
        peer = ip_address(request.ip)
    except ValueError:
        return False
    return any(peer in network for network in settings.trusted_proxies)


def proxy_username(request: Request, settings: Settings) -> str | None:
    """The user the trusted proxy names, or None (not proxy mode, not from a trusted address, or no header)."""
    if settings.staff_auth != "proxy" or not trusted_peer(request, settings):
        return None
    value = request.headers.get(settings.staff_proxy_header)
    return value if value and value.strip() else None


async def _active(request: Request, username: str) -> Account | None:
    account = await asyncio.to_thread(get_account, _store(request), username)
    return None if account is None or account.disabled else account


async def browser_identity(request: Request, settings: Settings) -> tuple[StaffIdentity, str] | None:
    """The signed-in person of a browser request and how ("proxy" or "session"), or None.

    Refused (403) when a trusted proxy names a user without an active account.
    """
    if settings.staff_auth == "proxy":
        named = proxy_username(request, settings)
        if named is None:
            return None
        try:
            account = await _active(request, normalize_username(named))
        except ValueError:
            account = None
        if account is None:
            raise Refused(403, "no_account", "Your sign-on is not linked to an active staff account.")
        return account.identity(), "proxy"
    session_id = request.cookies.get(COOKIE) or ""
    slide = request.headers.get(BACKGROUND_HEADER) != "1"
    session = _sessions(request).get(session_id, slide=slide)
    if session is None:
        return None
    account = await _active(request, session.subject)
    if account is None:
        _sessions(request).revoke(session_id)
        return None
    return account.identity(), "session"


async def authenticate(request: Request, settings: Settings) -> StaffIdentity:
    """The API's check: sets and returns ``request.ctx.staff``; Refused (401/403) otherwise."""
    if "authorization" in request.headers:
        if not bearer_ok(request, settings.staff_token.get_secret_value()):
            raise Refused(401, "unauthorized", "A valid staff sign-in or token is required.")
        request.ctx.staff, request.ctx.staff_via = MACHINE, "token"
        return MACHINE
    found = await browser_identity(request, settings)
    if found is None:
        raise Refused(401, "unauthorized", "A valid staff sign-in or token is required.")
    if request.method not in SAFE_METHODS and not csrf_ok(request):
        raise Refused(403, "csrf", "Cross-site request refused.")
    request.ctx.staff, request.ctx.staff_via = found
    return found[0]


def with_me_route(api: Blueprint) -> Blueprint:
    """Add ``GET /me`` (who is signed in, for the pages' header) to the staff API blueprint and return it."""

    async def me(request: Request) -> HTTPResponse:
        staff = staff_of(request)
        via = getattr(request.ctx, "staff_via", "")
        return json_response({"username": staff.username, "name": staff.name, "role": staff.role, "via": via})

    api.add_route(me, "/me", methods=["GET"], name="staff_me")
    return api
