"""Prometheus metrics of the Rasa server's channels, served on their own internal port (RASA_METRICS_PORT).

The channels' port (5005) is public, so these are never a route on it: each Rasa process starts a small
metrics HTTP server on METRICS_HOST:RASA_METRICS_PORT (0: none) when the REST channel is built. Labels are
low-cardinality: the channel name, a reply kind and a failure cause, never a sender id or any text.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import Counter, Histogram, start_http_server

from bot.constants import METRIC_CHANNELS, REPLY_KINDS
from bot.rasa_server.settings import ChannelSettings

log = logging.getLogger(__name__)

FALLBACK_CAUSES = ("timeout", "error", "no_reply")

CHANNEL_TURNS = Counter(
    "bot_channel_turns_total",
    "Turns a channel answered, by reply kind (fallback: the clinic-phone reply).",
    ["channel", "kind"],
)
FALLBACKS = Counter(
    "bot_fallback_replies_total",
    "Turns answered with the fallback reply because the bot gave none: timeout, error or no_reply.",
    ["channel", "cause"],
)
TURN_SECONDS = Histogram(
    "bot_channel_turn_seconds",
    "Seconds from a message reaching a channel to the bot's reply.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)
REFUSED = Counter("bot_refused_requests_total", "Requests refused for a missing or wrong credential.", ["channel"])

_server_started = False


def _channel(name: str) -> str:
    return name if name in METRIC_CHANNELS else "other"


def reply_kind(messages: list[dict[str, Any]]) -> str:
    """The kind of the turn's reply (from its custom message), "other" for an unknown one."""
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("kind"):
            kind = str(custom["kind"])
            return kind if kind in REPLY_KINDS else "other"
    return "other"


def count_turn(channel: str, messages: list[dict[str, Any]], cause: str | None, seconds: float) -> None:
    """One turn: its reply kind, or the fallback and its cause (None: the bot replied)."""
    name = _channel(channel)
    TURN_SECONDS.labels(name).observe(seconds)
    if cause is None:
        CHANNEL_TURNS.labels(name, reply_kind(messages)).inc()
        return
    CHANNEL_TURNS.labels(name, "fallback").inc()
    FALLBACKS.labels(name, cause if cause in FALLBACK_CAUSES else "error").inc()


def count_refused(channel: str) -> None:
    REFUSED.labels(_channel(channel)).inc()


def start_server(settings: ChannelSettings | None = None) -> bool:
    """Serve this process's metrics on METRICS_HOST:RASA_METRICS_PORT once; False when off or the port is taken."""
    global _server_started
    if _server_started:
        return True
    settings = settings or ChannelSettings.from_env()
    if not settings.metrics_port:
        return False
    try:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as exc:  # the bot must still answer without its metrics
        log.error("metrics server not started on port %d: %s", settings.metrics_port, type(exc).__name__)
        return False
    _server_started = True
    log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
    return True
