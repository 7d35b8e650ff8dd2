"""The staff pages: /staff (the sign-in form, or the inbox for a signed-in browser), sign-in and sign-out.

Signing in is a plain HTML form POST (username, password, TOTP code), so it works the same with or without
JavaScript and nothing secret appears in a URL: /staff/login checks the account (bot/staff/signin.py), starts a
session (cookie) and redirects (303) to /staff. A wrong sign-in is answered 401 with the form again; a locked name
429 with Retry-After. Logout is a form POST too. Both refuse requests another site's page sends. Each sign-in,
failed sign-in and sign-out is recorded in the audit trail: a failed one names the account only when the name is
an account's (what someone typed as a username may be their password), never with the password or code.

With STAFF_AUTH=proxy there is no form: the proxy signs people in (bot/staff/gate.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sanic import Blueprint, Request
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse, html, redirect
from sanic.response import file as file_response

from bot.handoff import audit
from bot.handoff.store import HandoffStore
from bot.settings import Settings
from bot.staff.accounts import normalize_username
from bot.staff.auth import client_address, over_tls, same_origin
from bot.staff.gate import Refused, browser_identity
from bot.staff.sessions import COOKIE, SessionStore, clear_session_cookie, set_session_cookie
from bot.staff.signin import sign_in

STATIC_DIR = Path(__file__).resolve().parent / "static"
CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
# login.html carries its error messages hidden; a failed sign-in is answered with the right one shown.
ERRORS = {
    "rejected": 'id="login-error" class="error" role="alert" hidden>',
    "locked": 'id="login-locked" class="error" role="alert" hidden>',
}
_SSO = (
    "<!doctype html><html lang=en><title>Staff inbox</title><main><h1>Staff inbox</h1>"
    "<p>Sign in through the clinic's single sign-on to use the staff inbox.</p></main></html>"
)
_NO_ACCOUNT = (
    "<!doctype html><html lang=en><title>Staff inbox</title><main><h1>Staff inbox</h1>"
    "<p>Your sign-on is not linked to an active staff account. Ask an administrator.</p></main></html>"
)
_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}


def _sessions(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.ctx.sessions
    return sessions


def _store(request: Request) -> HandoffStore:
    store: HandoffStore = request.app.ctx.store
    return store


def _secure(request: Request, cookie_secure: bool | None) -> bool:
    return over_tls(request) if cookie_secure is None else cookie_secure


def _refused() -> HTTPResponse:
    return html("<!doctype html><title>Refused</title><p>Cross-site request refused.</p>", status=403)


def login_page(error: str) -> str:
    """login.html with the error message `error` ("rejected" or "locked") shown."""
    page = (STATIC_DIR / "login.html").read_text(encoding="utf-8")
    hidden = ERRORS[error]
    if hidden not in page:
        raise RuntimeError(f"login.html lost its hidden {error!r} message")
    return page.replace(hidden, hidden.replace(" hidden>", ">"), 1)


def _field(request: Request, name: str) -> str:
    value = request.form.get(name) if request.form else None
    return value if isinstance(value, str) else ""


def _actor(typed: str, known: bool) -> str:
    if not known:
        return "(unknown)"
    try:
        return normalize_username(typed)
    except ValueError:
        return "(unknown)"


def page_blueprint(settings: Settings, *, cookie_secure: bool | None = None) -> Blueprint:
    """cookie_secure: the session cookie's Secure flag; None sets it when the browser came over TLS."""
    bp = Blueprint("staff_page")
    proxy = settings.staff_auth == "proxy"

    async def record(request: Request, actor: str, action: str, detail: str = "") -> None:
        await asyncio.to_thread(
            audit.record, _store(request), actor, action, remote=client_address(request), detail=detail
        )

    @bp.get("/staff")
    async def page(request: Request) -> HTTPResponse:
        try:
            found = await browser_identity(request, settings)
        except Refused:
            return html(_NO_ACCOUNT, status=403, headers=_HEADERS)
        if found is None and proxy:
            return html(_SSO, status=401, headers=_HEADERS)
        name = "inbox.html" if found else "login.html"
        return await file_response(STATIC_DIR / name, headers={"Content-Security-Policy": CSP}, no_store=True)

    @bp.post("/staff/login")
    async def login(request: Request) -> HTTPResponse:
        if proxy:
            return html(_SSO, status=404, headers=_HEADERS)
        if not same_origin(request):
            return _refused()
        username = _field(request, "username")
        ctx = request.app.ctx
        result = await asyncio.to_thread(
            sign_in,
            _store(request),
            username,
            _field(request, "password"),
            _field(request, "totp"),
            policy=ctx.lockout,
            unknown=ctx.unknown_names,
            sealer=ctx.sealer,
        )
        if result.account is None:
            await record(request, _actor(username, result.known), "login_failed", f"reason={result.reason}")
            if result.retry_after:
                headers = {**_HEADERS, "Retry-After": str(result.retry_after)}
                return html(login_page("locked"), status=429, headers=headers)
            return html(login_page("rejected"), status=401, headers=_HEADERS)
        account = result.account
        sessions = _sessions(request)
        old = request.cookies.get(COOKIE)
        if old:
            sessions.revoke(old)  # a fresh id on every sign-in: no session fixation
        session_id = sessions.create(account.username, account.display_name, account.role)
        await record(request, account.username, "login", f"role={account.role}")
        response = redirect("/staff", status=303)
        secure = _secure(request, cookie_secure)
        set_session_cookie(response, session_id, secure=secure, max_age=int(sessions.absolute))
        return response

    @bp.post("/staff/logout")
    async def logout(request: Request) -> HTTPResponse:
        if not same_origin(request):
            return _refused()
        session_id = request.cookies.get(COOKIE)
        if session_id:
            session = _sessions(request).get(session_id, slide=False)
            _sessions(request).revoke(session_id)
            if session is not None:
                await record(request, session.subject, "logout")
        response = redirect("/staff", status=303)
        clear_session_cookie(response, secure=_secure(request, cookie_secure))
        return response

    # Only the page's own assets, by exact name: nothing else under (or above) the folder is reachable.
    assets = {p.name: p for p in STATIC_DIR.iterdir() if p.suffix in (".js", ".css")}

    @bp.get("/staff/static/<name:str>")
    async def asset(request: Request, name: str) -> HTTPResponse:
        path = assets.get(name)
        if path is None:
            raise NotFound("No such file.")
        return await file_response(path, request_headers=request.headers, headers={"Cache-Control": "no-cache"})

    return bp
