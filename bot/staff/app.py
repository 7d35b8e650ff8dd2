"""The staff inbox app: pages at /staff (bot/staff/pages.py) and a JSON API at /staff/api.

The API takes a Bearer token (machines) or the inbox page's session cookie (bot/staff/auth.py,
bot/staff/sessions.py). No /staff URL may carry a credential in its query string: such requests
are refused with 400 before any route runs (and the query string is never logged).

Mounting more pages on the same server (the demo patient portal at "/", widget files): build
them as Sanic blueprints in their own module and pass them in, e.g.
``create_app(settings, extra_blueprints=[portal_blueprint])``. Their routes get the same security
headers but not the staff page's CSP or the API's token check.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

from sanic import Blueprint, Request, Sanic
from sanic.config import Config
from sanic.exceptions import SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse
from sanic.response import json as json_response

from bot import metrics
from bot.handoff.models import STATUS_FILTERS, InvalidTransition, StoreUnavailable, TicketNotFound
from bot.handoff.outbox import WorkerHandle, start_worker
from bot.handoff.store import HandoffStore, open_store
from bot.rasa_server.logfmt import HEADER as REQUEST_ID_HEADER
from bot.rasa_server.logfmt import current_request_id, new_request_id
from bot.settings import Settings
from bot.staff.auth import SAFE_METHODS, StaffIdentity, bearer_ok, cookie_session, csrf_ok, url_credential
from bot.staff.gaps import gaps_page_blueprint, with_gap_routes
from bot.staff.metrics import StoreCollector
from bot.staff.pages import CSP, STATIC_DIR, page_blueprint
from bot.staff.replies import with_reply_routes
from bot.staff.sessions import SessionStore

__all__ = ["CSP", "STATIC_DIR", "StaffApp", "api_blueprint", "create_app"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
_TICKET_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_app_numbers = itertools.count(1)
T = TypeVar("T")
StaffApp = Sanic[Config, SimpleNamespace]


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return json_response({"error": code, "message": message}, status=status)


def _ticket_id(raw: str) -> str:
    if not _TICKET_ID.match(raw):
        raise TicketNotFound(raw)
    return raw


def _json_body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise SanicException("request body is not valid JSON", status_code=400) from None
    if not isinstance(data, dict):
        raise SanicException("request body must be a JSON object", status_code=400)
    return data


def api_blueprint(settings: Settings) -> Blueprint:
    """The JSON API; every route requires ``Authorization: Bearer <STAFF_TOKEN>`` or a session cookie.

    With the cookie, POSTs also need the CSRF header (bot/staff/auth.py); a request that sends an
    Authorization header is judged by it alone.
    """
    bp = Blueprint("staff_api", url_prefix="/staff/api")

    def store_of(request: Request) -> HandoffStore:
        store: HandoffStore = request.app.ctx.store
        return store

    async def call(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    @bp.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if "authorization" in request.headers:
            if bearer_ok(request, settings.staff_token.get_secret_value()):
                request.ctx.staff = StaffIdentity("machine", "Machine access", "machine")
                return None
        elif (session := cookie_session(request, request.app.ctx.sessions)) is not None:
            if request.method in SAFE_METHODS or csrf_ok(request):
                request.ctx.staff = StaffIdentity(session.subject, session.subject, "admin")
                return None
            return _error(403, "csrf", "Cross-site request refused.")
        metrics.REFUSED_STAFF.inc()
        response = _error(401, "unauthorized", "A valid staff token is required.")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @bp.get("/tickets")
    async def list_tickets(request: Request) -> HTTPResponse:
        status = request.args.get("status", "open")
        if status == "all":
            wanted: str | None = None
        elif status in STATUS_FILTERS:
            wanted = status
        else:
            choices = ", ".join([*STATUS_FILTERS, "all"])
            return _error(400, "bad_status", f"status must be one of: {choices}")
        tickets = await call(store_of(request).list_tickets, wanted)
        return json_response([t.to_dict() for t in tickets])

    @bp.post("/tickets/<ticket_id:str>/claim")
    async def claim(request: Request, ticket_id: str) -> HTTPResponse:
        staff = _json_body(request).get("staff")
        if not isinstance(staff, str) or not staff.strip():
            return _error(400, "bad_request", 'Send {"staff": "<your name>"} to claim a ticket.')
        ticket = await call(store_of(request).claim, _ticket_id(ticket_id), staff)
        log.info("ticket %s claimed", ticket.id)
        return json_response(ticket.to_dict())

    @bp.post("/tickets/<ticket_id:str>/resolve")
    async def resolve(request: Request, ticket_id: str) -> HTTPResponse:
        ticket = await call(store_of(request).resolve, _ticket_id(ticket_id))
        log.info("ticket %s resolved", ticket.id)
        return json_response(ticket.to_dict())

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
    """
    app: StaffApp = Sanic(f"staff_inbox_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.store = store
    app.ctx.worker = None
    app.ctx.sessions = SessionStore()

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
    app.blueprint(with_reply_routes(with_gap_routes(api_blueprint(settings)), settings))
    app.blueprint(gaps_page_blueprint(STATIC_DIR, CSP))
    for bp in extra_blueprints:
        app.blueprint(bp)

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    @app.before_server_start
    async def open_resources(app: StaffApp) -> None:
        if not settings.staff_token:
            log.warning("STAFF_TOKEN is not set: the staff API refuses every request")
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
