"""The staff app's scrape-time metrics: the handoff store's outbox, open tickets and spool, read per scrape.

Served with the process's other metrics on METRICS_HOST:STAFF_METRICS_PORT (bot/metrics.py), not on the
staff port. Ages are in seconds; an urgency without open tickets reports 0 tickets and age 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.constants import URGENCIES
from bot.handoff.models import utcnow
from bot.handoff.store import HandoffStore

log = logging.getLogger(__name__)


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def spool_bytes(store: HandoffStore) -> int:
    """Size of the local SQLite spool the PostgreSQL store writes to while the database is down (0: none)."""
    path = getattr(store, "spool_path", None)
    if not isinstance(path, Path):
        return 0
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


class StoreCollector(Collector):
    """Collects the store's state when Prometheus scrapes; `store_of` returns None until the store is open."""

    def __init__(self, store_of: Callable[[], HandoffStore | None], clock: Callable[[], datetime] = utcnow) -> None:
        self.store_of = store_of
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("bot_handoff_store_up", "1 when the handoff store answered this scrape.")
        store = self.store_of()
        if store is None:
            up.add_metric([], 0)
            yield up
            return
        try:
            backlog, oldest = store.outbox_backlog()
            tickets = store.open_ticket_stats()
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: the handoff store did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            yield self._spool(store)
            return
        now = self.clock()
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("bot_outbox_backlog", "Staff notifications not yet delivered.", value=backlog)
        yield GaugeMetricFamily(
            "bot_outbox_oldest_age_seconds",
            "Age of the oldest undelivered staff notification.",
            value=_age(now, oldest),
        )
        count = GaugeMetricFamily("bot_open_tickets", "Open (unclaimed) handoff tickets.", labels=["urgency"])
        age = GaugeMetricFamily(
            "bot_open_ticket_oldest_age_seconds", "Age of the oldest open (unclaimed) ticket.", labels=["urgency"]
        )
        for urgency in URGENCIES:
            n, created = tickets.get(urgency, (0, None))
            count.add_metric([urgency], n)
            age.add_metric([urgency], _age(now, created))
        yield count
        yield age
        yield self._spool(store)

    @staticmethod
    def _spool(store: HandoffStore) -> Metric:
        return GaugeMetricFamily(
            "bot_spool_bytes", "Bytes of the local ticket spool (PostgreSQL down).", value=spool_bytes(store)
        )
