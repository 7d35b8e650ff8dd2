"""The staff pages: /staff (the login form, or the inbox for a logged-in browser), login and logout.

Logging in is a plain HTML form POST, so it works the same with or without JavaScript and the token
never appears in a URL: /staff/login checks the token, starts a session (cookie) and redirects (303)
to /staff. Logout is a form POST too. Both refuse requests another site's page sends.
"""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse, html, redirect
from sanic.response import file as file_response

from bot.settings import Settings
from bot.staff.auth import cookie_session, over_tls, same_origin, token_matches
from bot.staff.sessions import COOKIE, SessionStore, clear_session_cookie, set_session_cookie

STATIC_DIR = Path(__file__).resolve().parent / "static"
CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
# login.html carries the error message hidden; a failed login is answered with it shown.
_ERROR_HIDDEN = 'role="alert" hidden>'
_ERROR_SHOWN = 'role="alert">'


def _sessions(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.ctx.sessions
    return sessions


def _secure(request: Request, cookie_secure: bool | None) -> bool:
    return over_tls(request) if cookie_secure is None else cookie_secure


def _refused() -> HTTPResponse:
    return html("<!doctype html><title>Refused</title><p>Cross-site request refused.</p>", status=403)


def login_failed_page() -> str:
    page = (STATIC_DIR / "login.html").read_text(encoding="utf-8")
    if _ERROR_HIDDEN not in page:
        raise RuntimeError("login.html lost its hidden error message")
    return page.replace(_ERROR_HIDDEN, _ERROR_SHOWN, 1)


def page_blueprint(settings: Settings, *, cookie_secure: bool | None = None) -> Blueprint:
    """cookie_secure: the session cookie's Secure flag; None sets it when the browser came over TLS."""
    bp = Blueprint("staff_page")

    @bp.get("/staff")
    async def page(request: Request) -> HTTPResponse:
        name = "inbox.html" if cookie_session(request, _sessions(request)) else "login.html"
        return await file_response(STATIC_DIR / name, headers={"Content-Security-Policy": CSP}, no_store=True)

    @bp.post("/staff/login")
    async def login(request: Request) -> HTTPResponse:
        if not same_origin(request):
            return _refused()
        given = (request.form.get("token") or "").strip() if request.form else ""
        if not token_matches(given, settings.staff_token.get_secret_value()):
            headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
            return html(login_failed_page(), status=401, headers=headers)
        sessions = _sessions(request)
        old = request.cookies.get(COOKIE)
        if old:
            sessions.revoke(old)  # a fresh id on every login: no session fixation
        response = redirect("/staff", status=303)
        secure = _secure(request, cookie_secure)
        set_session_cookie(response, sessions.create("staff"), secure=secure, max_age=int(sessions.ttl))
        return response

    @bp.post("/staff/logout")
    async def logout(request: Request) -> HTTPResponse:
        if not same_origin(request):
            return _refused()
        session_id = request.cookies.get(COOKIE)
        if session_id:
            _sessions(request).revoke(session_id)
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
