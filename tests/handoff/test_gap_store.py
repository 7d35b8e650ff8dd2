"""Content-gap counts in the handoff store (SQLite and PostgreSQL) and their retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.handoff.gaps import Gap, GapCount, by_medicine, record_gap, top_gaps
from bot.handoff.store import HandoffStore

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


def test_abstentions_are_counted_per_medicine_aspect_and_reason(store: HandoffStore) -> None:
    for _ in range(3):
        record_gap(store, Gap("dupilumab", "costs and insurance", "not_covered"))
    record_gap(store, Gap("dupilumab", "pregnancy", "no_fact"))
    record_gap(store, Gap("dupilumab", "pregnancy", "no_fact"), day=TODAY - timedelta(days=1))
    record_gap(store, Gap(None, None, "out_of_scope"))
    counts = top_gaps(store)
    assert counts == [
        GapCount("dupilumab", "costs and insurance", "not_covered", 3),
        GapCount("dupilumab", "pregnancy", "no_fact", 2),  # summed over the days
        GapCount(None, None, "out_of_scope", 1),
    ]
    assert [(drug, total) for drug, total, _ in by_medicine(counts)] == [("dupilumab", 5), (None, 1)]


def test_the_window_counts_back_from_today(store: HandoffStore) -> None:
    record_gap(store, Gap("methotrexate", "alcohol", "not_covered"), day=TODAY - timedelta(days=29))
    record_gap(store, Gap("methotrexate", "vaccines", "not_covered"), day=TODAY - timedelta(days=30))
    assert [c.aspect for c in top_gaps(store, days=30)] == ["alcohol"]
    assert {c.aspect for c in top_gaps(store, days=31)} == {"alcohol", "vaccines"}
    with pytest.raises(ValueError):
        top_gaps(store, days=0)


def test_no_message_text_is_stored(store: HandoffStore) -> None:
    record_gap(store, Gap("cyclosporine", "diet and food", "not_covered"))
    with store._tx(write=False) as c:
        rows = c.rows("SELECT * FROM content_gaps")
    assert rows == [(TODAY.isoformat(), "cyclosporine", "diet and food", "not_covered", 1)]


def test_purge_removes_gap_rows_older_than_the_retention_with_the_tickets(store: HandoffStore) -> None:
    record_gap(store, Gap("upadacitinib", "alcohol", "not_covered"), day=date(2026, 8, 1))  # 122 days ago
    record_gap(store, Gap("upadacitinib", "travel", "not_covered"), day=TODAY - timedelta(days=90))
    record_gap(store, Gap("upadacitinib", "vaccines", "not_covered"))
    store.purge(90)
    assert {c.aspect for c in top_gaps(store, days=365)} == {"travel", "vaccines"}
    store.purge(0)
    assert [c.aspect for c in top_gaps(store, days=365)] == ["vaccines"]  # today's row is kept at 0 days
