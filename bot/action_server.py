"""Runs the rasa-sdk action server with the assistant warmed before it accepts requests.

`python -m bot.action_server` (port from ACTION_PORT, default 5055; host from SANIC_HOST, default 127.0.0.1).

Only Rasa may call it: every route but /health needs the X-Action-Token header carrying ACTION_SERVER_TOKEN
(endpoints.yml sends it). Refused calls get a 401 and are counted (bot_refused_calls_total) and logged at WARNING,
without their bodies.
Prometheus metrics of every worker are served by the main process on METRICS_HOST:ACTION_METRICS_PORT
(bot/metrics.py), not on the action port.
Without a token the server starts only on a loopback address (and then accepts every call); on any other
address it refuses to start.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys
from functools import partial

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json
from sanic.worker.loader import AppLoader

from bot import metrics
from bot.private_files import use_private_umask
from bot.settings import Settings, configure_logging, get_settings

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Action-Token"  # nosec B105 - the header's name, not a secret
OPEN_PATHS = frozenset({"/health"})


async def _warm_up(app: Sanic) -> None:
    from bot.conversation.service import warm_up

    warm_up()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def require_token(app: Sanic, token: str) -> None:
    """Refuse (401) every call to `app` but /health that does not carry `token` in the X-Action-Token header."""
    expected = token.encode()
    app.ctx.refused_calls = 0

    async def check_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(TOKEN_HEADER, "").encode()
        if hmac.compare_digest(given, expected):
            return None
        app.ctx.refused_calls += 1
        metrics.REFUSED_CALLS.inc()
        # Never the body, the headers, the token or the (caller-chosen) path.
        log.warning("refused a call without a valid %s header (%d so far)", TOKEN_HEADER, app.ctx.refused_calls)
        return json({"error": "unauthorized"}, status=401)

    app.register_middleware(check_token, "request")


def build_app(actions_package: str = "actions", token: str | None = None) -> Sanic:
    """The action server app for one worker process (Sanic re-creates it in each worker).

    `token` defaults to ACTION_SERVER_TOKEN; empty: every call is accepted (main() allows that on loopback only).
    """
    executor = ActionExecutor()
    executor.register_package(actions_package)
    app = create_app(executor, cors_origins=[])
    app.register_listener(_warm_up, "before_server_start")
    token = get_settings().action_server_token.get_secret_value() if token is None else token
    if token:
        require_token(app, token)
    return app


def check_token_setting(settings: Settings) -> str | None:
    """Why the server must not start with these settings (no token off loopback), or None."""
    if settings.action_server_token.get_secret_value() or is_loopback(settings.sanic_host):
        return None
    return f"ACTION_SERVER_TOKEN must be set when the action server listens on {settings.sanic_host}"


def main() -> None:
    use_private_umask()
    settings = get_settings()  # validated before anything starts
    configure_logging(settings)
    if problem := check_token_setting(settings):
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    if not settings.action_server_token.get_secret_value():
        log.warning("ACTION_SERVER_TOKEN is not set: any local process can call the action server")
    host, port, workers = settings.sanic_host, settings.action_port, settings.action_workers
    registry = metrics.serving_registry(settings.prometheus_multiproc_dir)
    metrics.start_server(settings.metrics_host, settings.action_metrics_port, registry)
    if workers == 1:
        build_app("actions").run(host=host, port=port, single_process=True, access_log=False, motd=False)
        return
    # Each worker warms up before it acknowledges, which can take longer than Sanic's fixed 30 s start-up
    # deadline (Sanic 25 ignores SANIC_WORKER_ACK_TIMEOUT); the threshold is in tenths of a second.
    from sanic.worker.manager import WorkerManager

    WorkerManager.THRESHOLD = 3000
    loader = AppLoader(factory=partial(build_app, "actions"))
    app = loader.load()
    app.prepare(host=host, port=port, workers=workers, access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
