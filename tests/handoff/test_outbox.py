from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import bot.handoff.outbox as outbox
from bot.handoff.models import OutboxItem, StoreUnavailable, Ticket, utcnow
from bot.handoff.outbox import (
    WebhookError,
    backoff_delay,
    build_payload,
    deliver_pending,
    http_post,
    start_worker,
)
from bot.handoff.postgres import PostgresHandoffStore
from bot.handoff.sqlite import SqliteHandoffStore
from bot.handoff.store import HandoffStore
from bot.ops.ports import free_port
from bot.settings import Settings

MESSAGE = "my daughter is burning up, call me at 555-867-5309"


class Receiver:
    """A local staff webhook that can be told to fail."""

    def __init__(self) -> None:
        self.fail = True
        self.attempts = 0
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.url = ""

    def ticket_ids(self) -> list[str]:
        with self.lock:
            return [p["ticket_id"] for p in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.attempts += 1
                fail = state.fail
                if not fail:
                    state.received.append(json.loads(body))
            self.send_response(500 if fail else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


StoreFactory = Callable[[], HandoffStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Builds store objects sharing one database (as separate workers would)."""
    if request.param == "sqlite":
        return lambda: SqliteHandoffStore(tmp_path / "handoff.sqlite")
    url = request.getfixturevalue("pg_url")
    return lambda: PostgresHandoffStore(url, tmp_path / "spool.sqlite")


def settings_for(url: str) -> Settings:
    return Settings.from_env().replace(staff_webhook_url=url)


def create(store: HandoffStore, n: int, urgency: str = "urgent") -> list[Ticket]:
    return [
        store.create_ticket(
            f"conv-{i}",
            "sms",
            urgency,
            "fever on methotrexate",
            MESSAGE,
            [{"role": "user", "text": MESSAGE}],
        )
        for i in range(n)
    ]


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_delay(30) == 300.0
    assert backoff_delay(3, base=0.01, cap=1.0) == pytest.approx(0.04)


def test_payload_is_a_slack_line_without_message_text_or_phone_numbers() -> None:
    item = OutboxItem(
        id="x:new",
        ticket_id="AbC-123_xyz",
        attempts=0,
        lease_token="t",
        urgency="urgent",
        reason="fever <on> methotrexate, callback 555 867 5309",
        channel="sms",
    )
    payload = build_payload(item)
    assert set(payload) == {"text", "ticket_id", "urgency"}
    assert (payload["ticket_id"], payload["urgency"]) == ("AbC-123_xyz", "urgent")
    text = payload["text"]
    assert "\n" not in text and "URGENT" in text and "AbC-123_xyz" in text
    assert "fever &lt;on&gt; methotrexate" in text
    assert "867" not in text and "[number]" in text


def test_failed_delivery_backs_off_then_sends_each_notification_once(
    make_store: StoreFactory, receiver: Receiver
) -> None:
    store = make_store()
    tickets = create(store, 3)
    t0 = utcnow()
    assert deliver_pending(store, http_post, t0, url=receiver.url) == 0
    assert receiver.attempts == 3
    assert store.outbox_counts() == {"pending": 3, "sent": 0}

    # Not due yet (first retry waits 2 s): nothing is attempted.
    assert deliver_pending(store, http_post, t0 + timedelta(seconds=1), url=receiver.url) == 0
    assert receiver.attempts == 3
    assert deliver_pending(store, http_post, t0 + timedelta(seconds=3), url=receiver.url) == 0
    assert receiver.attempts == 6  # second failure: next retry 4 s later

    receiver.fail = False
    assert deliver_pending(store, http_post, t0 + timedelta(seconds=5), url=receiver.url) == 0
    assert deliver_pending(store, http_post, t0 + timedelta(seconds=8), url=receiver.url) == 3
    assert deliver_pending(store, http_post, t0 + timedelta(hours=1), url=receiver.url) == 0
    assert sorted(receiver.ticket_ids()) == sorted(t.id for t in tickets)
    assert store.outbox_counts() == {"pending": 0, "sent": 3}
    for payload in receiver.received:
        assert "burning" not in payload["text"] and "555" not in payload["text"]


def test_worker_delivers_each_notification_exactly_once_after_webhook_recovers(
    make_store: StoreFactory, receiver: Receiver
) -> None:
    store = make_store()
    worker = start_worker(store, settings_for(receiver.url), interval=0.02, base_delay=0.05, max_delay=0.2)
    try:
        tickets = create(store, 4)
        wait_for(lambda: receiver.attempts >= 8)  # every row failed at least twice
        assert receiver.received == []
        receiver.fail = False
        wait_for(lambda: len(receiver.received) >= 4)
        wait_for(lambda: store.outbox_counts()["pending"] == 0)
        attempts = receiver.attempts
        more = create(store, 1)
        wait_for(lambda: receiver.attempts == attempts + 1)
    finally:
        worker.stop()
    assert not worker.thread.is_alive()
    assert sorted(receiver.ticket_ids()) == sorted(t.id for t in tickets + more)
    assert store.outbox_counts() == {"pending": 0, "sent": 5}


def test_two_workers_never_send_the_same_notification(make_store: StoreFactory, receiver: Receiver) -> None:
    receiver.fail = False
    tickets = create(make_store(), 25)
    workers = [start_worker(make_store(), settings_for(receiver.url), interval=0.01) for _ in range(2)]
    try:
        wait_for(lambda: make_store().outbox_counts()["pending"] == 0)
    finally:
        for worker in workers:
            worker.stop()
    ids = receiver.ticket_ids()
    assert len(ids) == 25 and sorted(ids) == sorted(t.id for t in tickets)


def test_a_leased_row_is_not_claimed_again_until_the_lease_expires(
    make_store: StoreFactory,
) -> None:
    first, second = make_store(), make_store()
    create(first, 2)
    now = utcnow()
    claimed = first.claim_outbox(now, limit=10, lease_seconds=60)
    assert len(claimed) == 2
    assert second.claim_outbox(now, limit=10) == []
    again = second.claim_outbox(now + timedelta(seconds=61), limit=10)
    assert sorted(i.id for i in again) == sorted(i.id for i in claimed)
    # The first worker lost its lease: it cannot mark the row, the new holder can.
    assert not first.mark_sent(claimed[0], now)
    assert second.mark_sent(next(i for i in again if i.id == claimed[0].id), now)


def test_without_webhook_url_rows_stay_pending_and_it_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_no_url_warned", False)
    store = SqliteHandoffStore(tmp_path / "h.sqlite")
    create(store, 2)
    posts: list[Any] = []
    with caplog.at_level(logging.WARNING, logger="bot.handoff.outbox"):
        for _ in range(3):
            assert deliver_pending(store, lambda u, p: posts.append(p), url="") == 0
    assert posts == []
    assert store.outbox_counts() == {"pending": 2, "sent": 0}
    assert len([r for r in caplog.records if "STAFF_WEBHOOK_URL" in r.getMessage()]) == 1


def test_http_post_raises_on_error_status(receiver: Receiver) -> None:
    with pytest.raises(WebhookError) as info:
        http_post(receiver.url, {"text": "x"})
    assert info.value.status == 500
    receiver.fail = False
    http_post(receiver.url, {"text": "x"})
    assert receiver.received == [{"text": "x"}]


def test_failure_logs_never_contain_the_webhook_url_or_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteHandoffStore(tmp_path / "h.sqlite")
    create(store, 1)
    secret_url = f"http://127.0.0.1:{free_port()}/services/T000/SECRET"
    with caplog.at_level(logging.DEBUG):
        assert deliver_pending(store, http_post, url=secret_url) == 0
    assert caplog.records
    # the message's number and words, not "555" alone: a random port such as 55511 is in urllib3's debug line
    leaks = ("SECRET", "555-867-5309", "555 867 5309", "burning")
    assert not [r.getMessage() for r in caplog.records if any(leak in r.getMessage() for leak in leaks)]
    assert store.outbox_counts() == {"pending": 1, "sent": 0}


@pytest.mark.integration
def test_tickets_made_while_postgres_is_down_reach_the_store_and_staff_once(
    tmp_path: Path, pg_url: str, receiver: Receiver
) -> None:
    spool = tmp_path / "spool.sqlite"
    down = PostgresHandoffStore(f"postgresql://postgres@127.0.0.1:{free_port()}/test", spool)
    tickets = create(down, 3, "emergency")
    receiver.fail = False

    # While PostgreSQL is down, a worker cycle fails cleanly and the spool keeps the tickets.
    with pytest.raises(StoreUnavailable):
        down.flush_spool()
    with pytest.raises(StoreUnavailable):
        deliver_pending(down, http_post, url=receiver.url)
    assert receiver.attempts == 0

    up = PostgresHandoffStore(pg_url, spool)
    worker = start_worker(up, settings_for(receiver.url), interval=0.02)
    try:
        wait_for(lambda: len(receiver.received) >= 3)
        wait_for(lambda: up.outbox_counts() == {"pending": 0, "sent": 3})
    finally:
        worker.stop()
    assert sorted(receiver.ticket_ids()) == sorted(t.id for t in tickets)
    assert sorted(t.id for t in up.list_tickets("open")) == sorted(t.id for t in tickets)
    assert up.flush_spool() == 0
