"""Prometheus metrics of the 3.11 processes (action server, staff app), each served on its own internal port.

Every process that counts something writes it through prometheus_client; with several Sanic workers the
library's multiprocess mode sums their values: PROMETHEUS_MULTIPROC_DIR (set per process by bot.ops.stack,
emptied before the process starts) holds one file per worker, and the metrics server of the process's main
process reads them all. The metrics port (ACTION_METRICS_PORT, STAFF_METRICS_PORT on METRICS_HOST; 0: off) is
never the public one. Labels are low-cardinality: channel, reply kind, urgency, stage; never an id or any text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bot.constants import METRIC_CHANNELS, REPLY_KINDS, URGENCIES

log = logging.getLogger(__name__)

STAGES = ("safety", "retrieval", "respond")

TURNS = Counter("bot_turns_total", "Turns the assistant answered, by channel and reply kind.", ["channel", "kind"])
HANDOFFS = Counter("bot_handoffs_total", "Handoff replies (a ticket or a follow-up on one), by urgency.", ["urgency"])
STAGE_SECONDS = Histogram(
    "bot_stage_seconds",
    "Seconds spent per turn in a stage: the safety screen, a retrieval search, the whole respond.",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REFUSED_CALLS = Counter("bot_refused_calls_total", "Action-server calls refused without a valid X-Action-Token.")
REFUSED_STAFF = Counter("bot_staff_refused_requests_total", "Staff API requests refused without a valid credential.")


def label(value: str | None, allowed: frozenset[str] | Sequence[str]) -> str:
    """`value` when it is one of `allowed`, else "other" (keeps label values a small fixed set)."""
    return value if value is not None and value in allowed else "other"


def count_turn(channel: str, kind: str, urgency: str | None = None) -> None:
    TURNS.labels(label(channel, METRIC_CHANNELS), label(kind, REPLY_KINDS)).inc()
    if kind == "handoff":
        HANDOFFS.labels(label(urgency, URGENCIES)).inc()


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Observe the seconds the block takes in bot_stage_seconds{stage}, also when it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)


def serving_registry(multiproc_dir: Path | None, collectors: Sequence[Collector] = ()) -> CollectorRegistry:
    """The registry a metrics server exposes: every worker's files in multiprocess mode, plus `collectors`."""
    if multiproc_dir is None:
        registry = REGISTRY
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(multiproc_dir))
    for collector in collectors:
        registry.register(collector)
    return registry


def start_server(host: str, port: int, registry: CollectorRegistry) -> bool:
    """Serve `registry` on host:port in a daemon thread; False when port is 0 or taken (the service still runs)."""
    if not port:
        return False
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.error("metrics server not started on port %d: %s", port, type(exc).__name__)
        return False
    log.info("metrics on http://%s:%d/metrics", host, port)
    return True
