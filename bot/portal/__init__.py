"""The demo patient portal (page at "/") and the chat widget files, as a Sanic blueprint for the staff app.

The page embeds the widget with one script tag and is served with a strict Content-Security-Policy (no inline
script; the only outside connection allowed is the bot). When WEB_JWT_SECRET is set, GET /portal/token mints the
short-lived JWT the widget sends, as a real portal would for its logged-in patient (see bot/portal/token.py).
Served by the staff app (``messages=True``), the page also tells the widget where the care team's replies are
(``data-messages-url``, bot/portal/messages.py): on this server, whatever origin the bot is on.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, json
from sanic.response import html as html_response

from bot.constants import DEFAULT_CLINIC_NAME
from bot.portal.messages import with_message_routes
from bot.portal.token import DEMO_COOKIE, demo_patient_cookie, demo_patient_id, mint_widget_token
from bot.settings import Settings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
PAGE = HERE / "index.html"


def bot_origin(bot_url: str) -> str:
    """scheme://host[:port] of the bot URL; ValueError for anything that is not a plain http(s) URL."""
    parts = urlsplit(bot_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in bot_url for c in " ;,'\"\r\n"):
        raise ValueError(f"WIDGET_BOT_URL must be an http(s) URL, got {bot_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(bot_url: str) -> str:
    """The demo page's CSP: scripts and styles only from this server, fetches only to here and the bot."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self' {bot_origin(bot_url)}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def widget_tag(
    bot_url: str, clinic_phone: str, token_url: str = "", src: str = "/widget/widget.js", messages_url: str = ""
) -> str:
    """The one script tag a portal page needs to embed the widget."""
    attrs = {"src": src, "data-bot-url": bot_url, "data-clinic-phone": clinic_phone}
    if token_url:
        attrs["data-token-url"] = token_url
    if messages_url:
        attrs["data-messages-url"] = messages_url
    rendered = " ".join(f'{name}="{html.escape(value, quote=True)}"' for name, value in attrs.items())
    return f"<script {rendered} defer></script>"


def render_page(
    bot_url: str,
    clinic_phone: str,
    clinic_name: str = DEFAULT_CLINIC_NAME,
    token_url: str = "",
    messages_url: str = "",
) -> str:
    """The demo portal page with the widget tag filled in (all values HTML-escaped)."""
    page = PAGE.read_text(encoding="utf-8")
    return page.replace("{{clinic_name}}", html.escape(clinic_name)).replace(
        "{{widget}}", widget_tag(bot_url, clinic_phone, token_url, messages_url=messages_url)
    )


def portal_blueprint(
    settings: Settings, *, bot_url: str | None = None, jwt_secret: str | None = None, messages: bool = False
) -> Blueprint:
    """Routes: "/" (demo portal page), /widget/widget.js, /widget/widget.css, /portal/portal.css, /portal/token,
    and with ``messages`` (a server with the handoff store: the staff app) /portal/messages and its /read.

    bot_url defaults to settings.widget_bot_url (WIDGET_BOT_URL); jwt_secret to settings.web_jwt_secret.
    """
    bot_url = (bot_url or settings.widget_bot_url).rstrip("/")
    secret = settings.web_jwt_secret.get_secret_value() if jwt_secret is None else jwt_secret
    ttl = settings.web_jwt_ttl
    messages_url = "/portal/messages" if messages and secret else ""
    token_url = "/portal/token" if secret else ""
    page = render_page(bot_url, settings.clinic_phone, settings.clinic_name, token_url, messages_url)
    page_headers = {"Content-Security-Policy": content_security_policy(bot_url), "Cache-Control": "no-cache"}
    bp = Blueprint("portal")
    if messages_url:
        with_message_routes(bp, secret)

    @bp.get("/")
    async def index(request: Request) -> HTTPResponse:
        return html_response(page, headers=page_headers)

    async def static(name: str, mime: str) -> HTTPResponse:
        return await file(STATIC / name, mime_type=mime, headers={"Cache-Control": "no-cache"})

    @bp.get("/widget/widget.js")
    async def widget_js(request: Request) -> HTTPResponse:
        return await static("widget.js", "text/javascript; charset=utf-8")

    @bp.get("/widget/widget.css")
    async def widget_css(request: Request) -> HTTPResponse:
        return await static("widget.css", "text/css; charset=utf-8")

    @bp.get("/portal/portal.css")
    async def portal_css(request: Request) -> HTTPResponse:
        return await static("portal.css", "text/css; charset=utf-8")

    @bp.get("/portal/token")
    async def token(request: Request) -> HTTPResponse:
        if not secret:
            return json({"error": "not_configured", "message": "WEB_JWT_SECRET is not set."}, status=404)
        # Stands in for the portal's own login session: a signed random id kept in an HttpOnly cookie.
        patient = demo_patient_id(secret, request.cookies.get(DEMO_COOKIE) or "")
        resp = json(
            {"token": mint_widget_token(secret, patient, ttl), "expires_in": ttl}, headers={"Cache-Control": "no-store"}
        )
        resp.add_cookie(
            DEMO_COOKIE,
            demo_patient_cookie(secret, patient),
            path="/portal",
            httponly=True,
            samesite="Strict",
            secure=request.scheme == "https",
        )
        return resp

    return bp
