"""The staff inbox app: pages at /staff (bot/staff/pages.py) and a JSON API at /staff/api.

The API takes a signed-in account's session cookie, the identity header of a trusted single sign-on proxy, or the
Bearer STAFF_TOKEN (machine access: reads only); bot/staff/gate.py decides who is calling. No /staff URL may carry a
credential in its query string: such requests are refused with 400 before any route runs (and the query string is
never logged). The app refuses to start with unsafe settings (bot/staff/preflight.py).

Mounting more pages on the same server (the demo patient portal at "/", widget files): build
them as Sanic blueprints in their own module and pass them in, e.g.
``create_app(settings, extra_blueprints=[portal_blueprint])``. Their routes get the same security
headers but not the staff page's CSP or the API's token check.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

from sanic import Blueprint, Request, Sanic
from sanic.config import Config
from sanic.exceptions import Forbidden, SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse
from sanic.response import json as json_response

from bot import metrics
from bot.handoff.inbox import ticket_detail
from bot.handoff.models import InvalidTransition, StoreUnavailable, TicketNotFound
from bot.handoff.outbox import WorkerHandle, start_worker
from bot.handoff.store import HandoffStore, open_store
from bot.rasa_server.logfmt import HEADER as REQUEST_ID_HEADER
from bot.rasa_server.logfmt import current_request_id, new_request_id
from bot.settings import Settings
from bot.staff.accounts import totp_sealer
from bot.staff.audit_view import audit_page_blueprint, with_audit_routes
from bot.staff.auth import staff_of, url_credential
from bot.staff.dashboard import dashboard_page_blueprint, with_dashboard_routes
from bot.staff.gaps import gaps_page_blueprint, with_gap_routes
from bot.staff.gate import Refused, authenticate, with_me_route
from bot.staff.http import audited, json_body
from bot.staff.http import error as _error
from bot.staff.http import ticket_id as _ticket_id
from bot.staff.inbox import with_inbox_routes
from bot.staff.metrics import StoreCollector
from bot.staff.pages import CSP, STATIC_DIR, page_blueprint
from bot.staff.preflight import check as preflight_check
from bot.staff.replies import with_reply_routes
from bot.staff.roles import ACT, require
from bot.staff.sessions import SessionStore
from bot.staff.signin import Lockout, UnknownNames

__all__ = ["CSP", "STATIC_DIR", "StaffApp", "api_blueprint", "create_app"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
_app_numbers = itertools.count(1)
T = TypeVar("T")
StaffApp = Sanic[Config, SimpleNamespace]


def api_blueprint(settings: Settings) -> Blueprint:
    """The JSON API; every route requires a signed-in caller (bot/staff/gate.py sets ``request.ctx.staff``)."""
    bp = Blueprint("staff_api", url_prefix="/staff/api")

    def store_of(request: Request) -> HandoffStore:
        store: HandoffStore = request.app.ctx.store
        return store

    async def call(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    @bp.on_request
    async def require_staff(request: Request) -> HTTPResponse | None:
        try:
            await authenticate(request, settings)
        except Refused as refused:
            metrics.REFUSED_STAFF.inc()
            response = _error(refused.status, refused.code, refused.message)
            if refused.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return None

    @bp.post("/tickets/<ticket_id:str>/claim")
    async def claim(request: Request, ticket_id: str) -> HTTPResponse:
        require(request, ACT)
        json_body(request)  # a body is optional; "claimed by" is the signed-in account, never a field
        ticket = await call(store_of(request).claim, _ticket_id(ticket_id), staff_of(request).username)
        await audited(request, "claim", ticket.id)
        log.info("ticket %s claimed", ticket.id)
        return json_response(await call(ticket_detail, store_of(request), settings, ticket.id))

    @bp.post("/tickets/<ticket_id:str>/resolve")
    async def resolve(request: Request, ticket_id: str) -> HTTPResponse:
        require(request, ACT)
        ticket = await call(store_of(request).resolve, _ticket_id(ticket_id))
        await audited(request, "resolve", ticket.id)
        log.info("ticket %s resolved", ticket.id)
        return json_response(await call(ticket_detail, store_of(request), settings, ticket.id))

    return bp


def create_app(
    settings: Settings,
    *,
    store: HandoffStore | None = None,
    extra_blueprints: Sequence[Blueprint] = (),
    run_outbox_worker: bool = False,
    cookie_secure: bool | None = None,
    serve_metrics: bool = False,
) -> StaffApp:
    """Build the staff inbox app (nothing starts until the server does).

    store: defaults to open_store(settings), opened when the server starts.
    extra_blueprints: more routes on the same server (e.g. the patient portal at "/").
    run_outbox_worker: also deliver staff notifications from this process (``python -m bot.staff``).
    cookie_secure: the session cookie's Secure flag; None (default) sets it on requests that came over TLS.
    serve_metrics: serve Prometheus metrics (with the store's, read per scrape) on METRICS_HOST:STAFF_METRICS_PORT.
    Raises bot.staff.preflight.StaffConfigError for unsafe settings (a short STAFF_TOKEN, no DATA_ENCRYPTION_KEY beyond
    loopback, proxy mode without trusted proxies).
    """
    preflight_check(settings)
    app: StaffApp = Sanic(f"staff_inbox_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.store = store
    app.ctx.worker = None
    app.ctx.sessions = SessionStore(idle=settings.staff_session_idle_seconds)
    app.ctx.lockout = Lockout(settings.staff_lockout_failures, settings.staff_lockout_seconds)
    app.ctx.unknown_names = UnknownNames()
    app.ctx.sealer = totp_sealer(settings)

    @app.on_request
    async def set_request_id(request: Request) -> None:
        request.ctx.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        current_request_id.set(request.ctx.request_id)  # this request's task: its log lines carry the id

    @app.on_request
    async def refuse_url_credentials(request: Request) -> HTTPResponse | None:
        if (request.path == "/staff" or request.path.startswith("/staff/")) and url_credential(request):
            return _error(400, "credential_in_url", "Credentials are never accepted in a URL; log in with the form.")
        return None

    app.blueprint(page_blueprint(settings, cookie_secure=cookie_secure))
    api = with_dashboard_routes(with_inbox_routes(with_gap_routes(api_blueprint(settings)), settings), settings)
    app.blueprint(with_reply_routes(with_audit_routes(with_me_route(api)), settings))
    app.blueprint(gaps_page_blueprint(STATIC_DIR, CSP))
    app.blueprint(audit_page_blueprint(STATIC_DIR, CSP))
    app.blueprint(dashboard_page_blueprint(settings))
    for bp in extra_blueprints:
        app.blueprint(bp)

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    @app.before_server_start
    async def open_resources(app: StaffApp) -> None:
        if not settings.staff_token:
            log.warning("STAFF_TOKEN is not set: no machine (Bearer) access to the staff API")
        if app.ctx.store is None:
            app.ctx.store = await asyncio.to_thread(open_store, settings)
        if run_outbox_worker:
            app.ctx.worker = start_worker(app.ctx.store, settings)
        if serve_metrics:
            collector = StoreCollector(lambda: app.ctx.store)
            registry = metrics.serving_registry(settings.prometheus_multiproc_dir, [collector])
            metrics.start_server(settings.metrics_host, settings.staff_metrics_port, registry)

    @app.after_server_stop
    async def close_resources(app: StaffApp) -> None:
        worker: WorkerHandle | None = app.ctx.worker
        if worker is not None:
            await asyncio.to_thread(worker.stop)

    @app.middleware("response")
    async def security_headers(request: Request, response: BaseHTTPResponse) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request_id := getattr(request.ctx, "request_id", None):
            response.headers[REQUEST_ID_HEADER] = request_id
        if request.path == "/staff" or request.path.startswith("/staff/"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            # Not "no-referrer": with it Chromium sends `Origin: null` on the page's own form posts, and
            # the login and logout forms need a real Origin to tell them from another site's.
            response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/staff/api"):
            response.headers["Cache-Control"] = "no-store"

    @app.exception(TicketNotFound)
    async def not_found(request: Request, exc: Exception) -> HTTPResponse:
        return _error(404, "not_found", "No ticket with that id.")

    @app.exception(InvalidTransition)
    async def conflict(request: Request, exc: Exception) -> HTTPResponse:
        return _error(409, "conflict", str(exc))

    @app.exception(StoreUnavailable)
    async def unavailable(request: Request, exc: Exception) -> HTTPResponse:
        return _error(503, "store_unavailable", "The ticket store is unreachable; retry shortly.")

    @app.exception(ValueError)
    async def bad_value(request: Request, exc: Exception) -> HTTPResponse:
        return _error(400, "bad_request", str(exc))

    @app.exception(Forbidden)
    async def forbidden(request: Request, exc: Exception) -> HTTPResponse:
        return _error(403, "forbidden", str(exc))

    @app.exception(SanicException)
    async def http_error(request: Request, exc: Exception) -> HTTPResponse:
        status = int(getattr(exc, "status_code", 500) or 500)
        message = str(exc) if status < 500 else "Internal error."
        return _error(status, "http_error", message)

    @app.exception(Exception)
    async def internal(request: Request, exc: Exception) -> HTTPResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.path)
        return _error(500, "internal", "Internal error.")

    return app
