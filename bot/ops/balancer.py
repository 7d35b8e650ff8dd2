"""A small round-robin HTTP reverse proxy in front of several Rasa replicas (local multi-replica runs).

`python -m bot.ops.balancer` listens on BALANCER_HOST:BALANCER_PORT (default 127.0.0.1:5005) and forwards GET, POST,
HEAD and OPTIONS to the replicas in RASA_REPLICAS (comma-separated base URLs), taking turns.

Failover: a replica that refuses the connection (stopped, restarting, not yet up) is skipped for COOLDOWN seconds and
the request goes to the next one. A request that reached a replica is never sent a second time (the turn may already
be in the conversation), so a replica that fails mid-request gets the fallback for the webhook and a 502 otherwise.
When no replica can take POST /webhooks/rest/webhook the person still gets a 200 with the clinic phone and 911
guidance (the same reply contract as the REST channel's fallback: a text, then a custom message with kind "abstain");
other paths get a 502 JSON error.

Logs carry replica URLs and error types only, never message text.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from bot.constants import DEFAULT_CLINIC_PHONE
from bot.rasa_server.fallback import fallback_messages
from bot.settings import Settings, configure_logging, get_settings, parse_urls

log = logging.getLogger(__name__)

WEBHOOK = "/webhooks/rest/webhook"
METHODS = ["GET", "POST", "HEAD", "OPTIONS"]
IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}
MAX_BODY = 1024 * 1024
# BALANCER_TIMEOUT: longer than the channels' own reply deadline (REST_TURN_TIMEOUT / WEB_TURN_TIMEOUT, 30 s),
# so theirs wins.
DEFAULT_TIMEOUT: float = Settings.model_fields["balancer_timeout"].default
DEFAULT_COOLDOWN: float = Settings.model_fields["balancer_cooldown"].default
# Shorter than Rasa's (Sanic's) keep-alive timeout of 5 s, so an idle connection is never reused as it closes.
KEEPALIVE_EXPIRY = 2.0
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
}
_app_numbers = itertools.count(1)


@dataclass
class Replica:
    url: str
    down_until: float = 0.0
    failures: int = 0


class Pool:
    """Round-robin order over the replicas; ones that refused a connection recently go last."""

    def __init__(
        self, urls: Sequence[str], cooldown: float = DEFAULT_COOLDOWN, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not urls:
            raise ValueError("at least one replica URL is needed")
        self.replicas = [Replica(u.rstrip("/")) for u in urls]
        self.cooldown = cooldown
        self.clock = clock
        self._next = itertools.count()
        self._lock = threading.Lock()

    def order(self) -> list[Replica]:
        """Every replica once, starting at the next in turn; those cooling down after a failure come last."""
        with self._lock:
            start = next(self._next) % len(self.replicas)
        rotated = self.replicas[start:] + self.replicas[:start]
        now = self.clock()
        return [r for r in rotated if r.down_until <= now] + [r for r in rotated if r.down_until > now]

    def mark_down(self, replica: Replica) -> None:
        replica.failures += 1
        replica.down_until = self.clock() + self.cooldown

    def mark_up(self, replica: Replica) -> None:
        replica.failures = 0
        replica.down_until = 0.0

    def status(self) -> list[dict[str, Any]]:
        now = self.clock()
        return [{"url": r.url, "up": r.down_until <= now, "failures": r.failures} for r in self.replicas]


def _forward_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    peer = request.ip or ""
    prior = request.headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{prior}, {peer}" if prior else peer
    return headers


def _fallback(clinic_phone: str, reason: str) -> HTTPResponse:
    return json_response(fallback_messages(clinic_phone, reason), status=200)


def _bad_gateway(message: str) -> HTTPResponse:
    return json_response({"error": "bad_gateway", "message": message}, status=502)


def create_app(
    upstreams: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cooldown: float = DEFAULT_COOLDOWN,
    clinic_phone: str = DEFAULT_CLINIC_PHONE,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Sanic[Any, Any]:
    """The proxy app (nothing connects until the server starts).

    transport: an httpx transport for tests (default: real connections with keep-alive).
    """
    pool = Pool(upstreams, cooldown)
    app: Sanic[Any, Any] = Sanic(f"balancer_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.pool = pool
    app.ctx.client = None

    @app.before_server_start
    async def open_client(app: Sanic[Any, Any]) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=KEEPALIVE_EXPIRY)
        app.ctx.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=2.0), limits=limits, transport=transport, follow_redirects=False
        )

    @app.after_server_stop
    async def close_client(app: Sanic[Any, Any]) -> None:
        if app.ctx.client is not None:
            await app.ctx.client.aclose()

    @app.get("/balancer/health")
    async def health(request: Request) -> HTTPResponse:
        replicas = pool.status()
        return json_response({"status": "ok", "replicas": replicas, "up": sum(r["up"] for r in replicas)})

    async def proxy(request: Request, path: str = "") -> HTTPResponse:
        client: httpx.AsyncClient = request.app.ctx.client
        target_path = "/" + path
        query = f"?{request.query_string}" if request.query_string else ""
        is_webhook = request.method == "POST" and target_path.rstrip("/") == WEBHOOK
        headers = _forward_headers(request)
        body = request.body or b""
        for replica in pool.order():
            upstream = client.build_request(
                request.method, f"{replica.url}{target_path}{query}", headers=headers, content=body
            )
            try:
                resp = await client.send(upstream)
                content = await resp.aread()
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never reached this replica: safe to try the next one.
                pool.mark_down(replica)
                log.warning("replica %s unreachable (%s); trying the next", replica.url, type(exc).__name__)
                continue
            except httpx.HTTPError as exc:
                pool.mark_down(replica)
                log.error("replica %s failed mid-request (%s)", replica.url, type(exc).__name__)
                if request.method in IDEMPOTENT:
                    continue
                if is_webhook:
                    return _fallback(
                        clinic_phone, "timeout" if isinstance(exc, httpx.TimeoutException) else "unavailable"
                    )
                return _bad_gateway("The bot server failed while handling the request.")
            pool.mark_up(replica)
            if is_webhook and resp.status_code >= 500:
                log.error("replica %s answered HTTP %d; sending the fallback", replica.url, resp.status_code)
                return _fallback(clinic_phone, "unavailable")
            out_headers = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
            return HTTPResponse(content, status=resp.status_code, headers=out_headers)
        log.error("no replica reachable for %s %s", request.method, target_path)
        if is_webhook:
            return _fallback(clinic_phone, "unavailable")
        return _bad_gateway("No bot server is reachable right now.")

    app.add_route(proxy, "/", methods=METHODS, name="proxy_root")
    app.add_route(proxy, "/<path:path>", methods=METHODS, name="proxy_path")
    return app


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Round-robin proxy in front of Rasa replicas.")
    parser.add_argument("--host", default=settings.balancer_host)
    parser.add_argument("--port", type=int, default=settings.balancer_port)
    parser.add_argument("--replica", action="append", default=[], help="replica base URL (repeatable)")
    args = parser.parse_args(argv)
    configure_logging(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request, with its URL
    try:
        upstreams = parse_urls(",".join(args.replica)) or settings.replica_urls
    except ValueError as exc:
        parser.error(f"--replica: {exc}")
    if not upstreams:
        parser.error("no replicas: set RASA_REPLICAS or pass --replica")
    app = create_app(
        upstreams,
        timeout=settings.balancer_timeout,
        cooldown=settings.balancer_cooldown,
        clinic_phone=settings.clinic_phone,
    )
    log.info("balancing %d replica(s) on %s:%d", len(upstreams), args.host, args.port)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
