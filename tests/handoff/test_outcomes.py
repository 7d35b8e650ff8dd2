"""Conversation outcomes per day (SQLite and PostgreSQL): the reply-kind mapping, one count per conversation,
no conversation id kept, the window and the retention."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.constants import REPLY_KINDS
from bot.handoff.outcomes import (
    KIND_OUTCOMES,
    OUTCOMES,
    OutcomeRecorder,
    conversation_hash,
    outcome_of,
    outcomes_per_day,
    record_outcome,
)
from bot.handoff.store import HandoffStore

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


def test_every_reply_kind_is_mapped_explicitly() -> None:
    assert set(KIND_OUTCOMES) == set(REPLY_KINDS)
    assert set(KIND_OUTCOMES.values()) <= {*OUTCOMES, None}
    assert [outcome_of(k) for k in ("answer", "abstain", "handoff")] == ["answered", "abstained", "handed_off"]
    assert [outcome_of(k) for k in ("clarify", "chitchat", "continuation", "erased")] == [None] * 4


def test_an_unknown_kind_is_no_outcome_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert outcome_of("brand_new_kind") is None
    assert "brand_new_kind" in caplog.text


def test_each_conversation_counts_once_a_day_under_its_most_serious_outcome(store: HandoffStore) -> None:
    for outcome in ("answered", "abstained", "answered"):
        record_outcome(store, "conv-a", outcome)  # answered and abstained: counted as abstained
    record_outcome(store, "conv-b", "answered")
    record_outcome(store, "conv-c", "answered")
    record_outcome(store, "conv-c", "handed_off")
    record_outcome(store, "conv-d", "fallback")
    record_outcome(store, "conv-d", "abstained")
    record_outcome(store, "conv-a", "answered", day=TODAY - timedelta(days=1))
    table = outcomes_per_day(store, 2)
    assert list(table) == [(TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat()]
    assert table[TODAY.isoformat()] == {"handed_off": 1, "fallback": 1, "abstained": 1, "answered": 1}
    assert table[(TODAY - timedelta(days=1)).isoformat()] == {
        "handed_off": 0, "fallback": 0, "abstained": 0, "answered": 1
    }  # fmt: skip
    with pytest.raises(ValueError):
        record_outcome(store, "conv-a", "happy")
    with pytest.raises(ValueError):
        outcomes_per_day(store, 0)


def test_only_a_hash_of_the_conversation_is_kept(store: HandoffStore) -> None:
    record_outcome(store, "sms:+15550100", "answered")
    with store._tx(write=False) as c:
        rows = c.rows("SELECT day, outcome, conversation FROM conversation_outcomes")
    assert rows == [(TODAY.isoformat(), "answered", conversation_hash("sms:+15550100"))]
    assert "5550100" not in repr(rows) and len(rows[0][2]) == 64


def test_the_window_ends_today_and_the_purge_takes_old_days(store: HandoffStore) -> None:
    record_outcome(store, "old", "answered", day=date(2026, 8, 1))
    record_outcome(store, "edge", "answered", day=TODAY - timedelta(days=90))
    record_outcome(store, "now", "answered")
    record_outcome(store, "future", "answered", day=TODAY + timedelta(days=1))
    assert sum(c["answered"] for c in outcomes_per_day(store, 91).values()) == 2
    store.purge(90)
    with store._tx(write=False) as c:
        kept = sorted(r[0] for r in c.rows("SELECT day FROM conversation_outcomes"))
    assert kept == sorted([(TODAY - timedelta(days=90)).isoformat(), TODAY.isoformat(), "2026-12-02"])


def test_the_recorder_writes_each_outcome_once_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[str, str, date]] = []
    recorder = OutcomeRecorder(lambda conv, outcome, day: calls.append((conv, outcome, day)), lambda: TODAY)
    for _ in range(3):
        recorder("conv-a", "answered")
    recorder("conv-a", None)
    recorder("conv-a", "handed_off")
    assert calls == [("conv-a", "answered", TODAY), ("conv-a", "handed_off", TODAY)]

    def broken(conv: str, outcome: str, day: date) -> None:
        raise OSError("disk full")

    OutcomeRecorder(broken, lambda: TODAY)("conv-a", "answered")
    assert "could not record a conversation outcome" in caplog.text
