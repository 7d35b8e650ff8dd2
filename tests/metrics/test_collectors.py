"""The metrics module and the staff app's store collector, on a fake store and on a real SQLite store."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.constants import ROOT
from bot.handoff.sqlite import SqliteHandoffStore
from bot.handoff.store import HandoffStore
from bot.settings import child_environ
from bot.staff.metrics import StoreCollector

NOW = datetime(2025, 3, 4, 18, 0, tzinfo=timezone.utc)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class FakeStore(HandoffStore):
    def __init__(self, backlog: tuple[int, datetime | None], tickets: dict[str, tuple[int, datetime]]) -> None:
        super().__init__()
        self.backlog, self.tickets, self.down = backlog, tickets, False

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        if self.down:
            raise ConnectionError("down")
        return self.backlog

    def open_ticket_stats(self) -> dict[str, tuple[int, datetime]]:
        return self.tickets


def collected(store: HandoffStore | None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(StoreCollector(lambda: store, clock=lambda: NOW))
    return samples(registry)


def test_the_collector_reports_backlog_ages_and_open_tickets_per_urgency() -> None:
    store = FakeStore((3, NOW - timedelta(minutes=12)), {"urgent": (2, NOW - timedelta(hours=2))})
    got = collected(store)
    assert got[("bot_handoff_store_up", ())] == 1
    assert got[("bot_outbox_backlog", ())] == 3
    assert got[("bot_outbox_oldest_age_seconds", ())] == 720
    assert got[("bot_open_tickets", (("urgency", "urgent"),))] == 2
    assert got[("bot_open_ticket_oldest_age_seconds", (("urgency", "urgent"),))] == 7200
    assert got[("bot_open_tickets", (("urgency", "emergency"),))] == 0  # every urgency, so alerts see a value
    assert got[("bot_open_ticket_oldest_age_seconds", (("urgency", "routine"),))] == 0
    assert got[("bot_spool_bytes", ())] == 0


def test_a_store_that_is_down_or_not_open_yet_reports_down_without_failing_the_scrape() -> None:
    store = FakeStore((0, None), {})
    store.down = True
    assert collected(store)[("bot_handoff_store_up", ())] == 0
    assert collected(None) == {("bot_handoff_store_up", ()): 0}


def test_a_real_store_counts_only_open_tickets_and_unsent_notifications(tmp_path: Path) -> None:
    clock = [NOW - timedelta(hours=3)]
    store = SqliteHandoffStore(tmp_path / "h.sqlite", clock=lambda: clock[0])
    first = store.create_ticket("c1", "rest", "urgent", "fever", "text", [])
    clock[0] = NOW - timedelta(hours=1)
    store.create_ticket("c2", "web", "routine", "dose", "text", [])
    store.claim(first.id, "nurse")
    assert store.open_ticket_stats() == {"routine": (1, NOW - timedelta(hours=1))}
    assert store.outbox_backlog() == (2, NOW - timedelta(hours=3))
    (item, *_) = store.claim_outbox(NOW)
    store.mark_sent(item, NOW)
    assert store.outbox_backlog()[0] == 1


def test_turn_labels_stay_a_fixed_set() -> None:
    before = metrics.TURNS.labels("other", "other")._value.get()
    metrics.count_turn("sender-1234", "a kind nobody knows")
    assert metrics.TURNS.labels("other", "other")._value.get() == before + 1
    handoffs = metrics.HANDOFFS.labels("urgent")._value.get()
    metrics.count_turn("rest", "handoff", "urgent")
    assert metrics.HANDOFFS.labels("urgent")._value.get() == handoffs + 1


def test_timed_observes_also_when_the_block_raises() -> None:
    before = stage_count("safety")
    with pytest.raises(RuntimeError), metrics.timed("safety"):
        raise RuntimeError
    assert stage_count("safety") == before + 1


def stage_count(stage: str) -> float:
    return samples(REGISTRY).get(("bot_stage_seconds_count", (("stage", stage),)), 0.0)


def test_the_multiprocess_registry_sums_every_workers_counts(tmp_path: Path) -> None:
    script = "from bot import metrics; metrics.count_turn('web', 'answer'); metrics.REFUSED_CALLS.inc()"
    env = child_environ(PROMETHEUS_MULTIPROC_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    for _worker in range(2):  # two processes, as two Sanic workers
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    got = samples(metrics.serving_registry(tmp_path))
    assert got[("bot_turns_total", (("channel", "web"), ("kind", "answer")))] == 2
    assert got[("bot_refused_calls_total", ())] == 2
