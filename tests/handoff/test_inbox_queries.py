"""The inbox's queries on SQLite and PostgreSQL: action order, filters, keyset paging with true counts, detail,
notes and reassigning."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff.inbox import (
    MAX_NOTE,
    Filters,
    UnknownStaff,
    add_note,
    decode_cursor,
    encode_cursor,
    list_page,
    reassign,
    ticket_detail,
)
from bot.handoff.models import InvalidTransition, Ticket, TicketNotFound
from bot.handoff.store import HandoffStore
from bot.settings import Settings

MESSAGE = "my son has a fever of 39C on methotrexate"


class Clock:
    """Moves one second per reading, so creation order is deterministic."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)  # Monday 09:00 in Los Angeles

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({})


def ticket(store: HandoffStore, urgency: str = "routine", channel: str = "rest", n: int = 0) -> Ticket:
    transcript = [{"role": "user", "text": MESSAGE}]
    return store.create_ticket(f"conv-{n}", channel, urgency, f"reason {n}", MESSAGE, transcript)


def ids(page_tickets: list[dict[str, object]]) -> list[object]:
    return [t["id"] for t in page_tickets]


def every_page(store: HandoffStore, settings: Settings, filters: Filters, limit: int) -> list[dict[str, object]]:
    found, cursor = [], None
    while True:
        page = list_page(store, settings, filters, cursor, limit)
        found += page.tickets
        cursor = page.next_cursor
        if cursor is None:
            return found


def test_with_600_open_tickets_a_new_urgent_one_is_first_and_the_counts_are_true(
    store: HandoffStore, settings: Settings
) -> None:
    with store._tx() as c:  # 600 routine tickets, one statement each but one transaction: fast on both backends
        for n in range(600):
            t = store._new_ticket(f"bulk-{n}", "sms" if n % 3 == 0 else "rest", "routine", "r", MESSAGE, [])
            store._insert_ticket(c, t, enqueue=False)
    urgent = ticket(store, "urgent", n=601)
    page = list_page(store, settings, Filters(status="active"))
    assert page.tickets[0]["id"] == urgent.id
    assert len(page.tickets) == 50 and page.next_cursor is not None
    assert page.counts == {
        "total": 601,
        "by_urgency": {"emergency": 0, "urgent": 1, "routine": 600},
        "by_status": {"open": 601, "claimed": 0, "resolved": 0},
    }
    everything = every_page(store, settings, Filters(status="active"), limit=200)
    assert len(everything) == 601 and len(set(ids(everything))) == 601
    created = [t["created_at"] for t in everything[1:]]
    assert created == sorted(created)  # the routine ones oldest first
    sms = list_page(store, settings, Filters(status="open", channel="sms"), limit=10)
    assert sms.counts["total"] == 200 and len(sms.tickets) == 10  # the count is the filter's, not the page's


def test_what_needs_action_comes_first(store: HandoffStore, settings: Settings) -> None:
    old_routine = ticket(store, "routine", n=1)
    claimed_emergency = ticket(store, "emergency", n=2)
    new_routine = ticket(store, "routine", n=3)
    urgent = ticket(store, "urgent", n=4)
    emergency = ticket(store, "emergency", n=5)
    resolved = ticket(store, "emergency", n=6)
    store.claim(claimed_emergency.id, "nurse")
    store.resolve(resolved.id)
    page = list_page(store, settings, Filters(status=None))
    assert ids(page.tickets) == [
        emergency.id,
        urgent.id,
        old_routine.id,
        new_routine.id,
        claimed_emergency.id,
        resolved.id,
    ]
    assert ids(list_page(store, settings, Filters(status="open")).tickets) == [
        emergency.id,
        urgent.id,
        old_routine.id,
        new_routine.id,
    ]


def test_filters_and_their_counts(store: HandoffStore, settings: Settings, clock: Clock) -> None:
    old = ticket(store, "routine", "sms", n=1)
    clock.now += timedelta(hours=5)
    web_urgent = ticket(store, "urgent", "web", n=2)
    emergency = ticket(store, "emergency", "rest", n=3)
    store.claim(emergency.id, "kim")
    clock.now += timedelta(hours=1)

    def got(**filters: object) -> tuple[list[object], int]:
        page = list_page(store, settings, Filters(**filters))  # type: ignore[arg-type]
        assert page.counts["total"] == len(page.tickets)
        return ids(page.tickets), page.counts["total"]

    assert got(status="active", urgencies=("urgent", "emergency")) == ([web_urgent.id, emergency.id], 2)
    assert got(status="active", channel="sms") == ([old.id], 1)
    assert got(status="active", older_than_hours=3) == ([old.id], 1)
    assert got(status="active", newer_than_hours=3) == ([web_urgent.id, emergency.id], 2)
    assert got(status="active", assigned="unassigned") == ([web_urgent.id, old.id], 2)
    assert got(status="active", assigned="kim") == ([emergency.id], 1)
    assert got(status="claimed") == ([emergency.id], 1)
    counts = list_page(store, settings, Filters(status="active", newer_than_hours=3)).counts
    assert counts["by_urgency"] == {"emergency": 1, "urgent": 1, "routine": 0}
    assert counts["by_status"] == {"open": 1, "claimed": 1, "resolved": 0}


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "pending"},
        {"urgencies": ("urgent", "soon")},
        {"channel": "SMS; DROP TABLE"},
        {"older_than_hours": -1},
        {"newer_than_hours": float("nan")},
        {"assigned": "x" * 101},
    ],
)
def test_bad_filters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Filters(**bad)  # type: ignore[arg-type]


def test_a_cursor_keeps_its_place_when_tickets_arrive_and_bad_ones_are_refused(
    store: HandoffStore, settings: Settings
) -> None:
    first = [ticket(store, "routine", n=n) for n in range(5)]
    page = list_page(store, settings, Filters(), limit=3)
    assert ids(page.tickets) == [t.id for t in first[:3]] and page.next_cursor
    newcomer = ticket(store, "emergency", n=9)  # goes to the top, not into the next page
    rest = list_page(store, settings, Filters(), page.next_cursor, limit=3)
    assert ids(rest.tickets) == [t.id for t in first[3:]] and rest.next_cursor is None
    assert rest.counts["total"] == 6
    assert list_page(store, settings, Filters(), limit=1).tickets[0]["id"] == newcomer.id
    key = decode_cursor(page.next_cursor)
    assert encode_cursor(key) == page.next_cursor
    for bad in ("nope", "e30", encode_cursor((9, 0, key[2], "x")), encode_cursor((0, 0, key[2], "../x")), "A" * 400):
        with pytest.raises(ValueError, match="cursor"):
            list_page(store, settings, Filters(), bad)
    for limit in (0, 201):
        with pytest.raises(ValueError, match="limit"):
            list_page(store, settings, Filters(), limit=limit)


def test_summaries_carry_no_message_text(store: HandoffStore, settings: Settings) -> None:
    made = ticket(store, "urgent", n=1)
    store.add_message(made.id, "also vomiting")
    summary = list_page(store, settings, Filters()).tickets[0]
    assert set(summary) >= {
        "id", "urgency", "status", "channel", "reason", "created_at", "claimed_by",
        "waited_seconds", "target_seconds", "overdue", "first_action_at", "reply_channel",
    }  # fmt: skip
    text = json.dumps(summary)
    assert "39C" not in text and "vomiting" not in text and "transcript" not in summary


def test_timing_in_the_list_follows_the_clock(store: HandoffStore, settings: Settings, clock: Clock) -> None:
    emergency = ticket(store, "emergency", n=1)
    fresh = list_page(store, settings, Filters()).tickets[0]
    assert fresh["target_seconds"] == 15 * 60 and fresh["overdue"] is False and fresh["first_action_at"] is None
    clock.now += timedelta(minutes=20)
    late = list_page(store, settings, Filters()).tickets[0]
    assert late["overdue"] is True and 20 * 60 <= int(late["waited_seconds"]) <= 20 * 60 + 5
    store.claim(emergency.id, "kim")
    clock.now += timedelta(hours=3)
    claimed = list_page(store, settings, Filters(status="claimed")).tickets[0]
    assert claimed["first_action_at"] == claimed["claimed_at"]
    assert int(claimed["waited_seconds"]) < 21 * 60  # the clock stopped at the claim


def test_detail_has_notes_replies_the_way_back_and_the_first_action(
    store: HandoffStore, settings: Settings, clock: Clock
) -> None:
    made = ticket(store, "urgent", "sms", n=1)
    clock.now += timedelta(minutes=10)
    with store._tx() as c:
        c.run(
            "INSERT INTO ticket_contacts (ticket_id, kind, secret, created_at) VALUES (?, 'sms', 'sealed', ?)",
            (made.id, made.created_at),
        )
        c.run(
            "INSERT INTO ticket_replies (id, ticket_id, conversation_id, channel, staff, text, status, created_at) "
            "VALUES ('r1', ?, 'conv-1', 'sms', 'kim', 'We will call you', 'sent', ?)",
            (made.id, clock()),
        )
    clock.now += timedelta(minutes=10)
    note = add_note(store, made.id, "lee", "  left a voicemail  ")
    store.claim(made.id, "lee")
    detail = ticket_detail(store, settings, made.id)
    assert detail["message"] == MESSAGE and detail["transcript"][0]["text"] == MESSAGE
    assert detail["reply_channel"] == "sms"
    assert [(r["staff"], r["text"], r["status"]) for r in detail["replies"]] == [("kim", "We will call you", "sent")]
    assert [(n["staff"], n["text"]) for n in detail["notes"]] == [("lee", "left a voicemail")]
    assert note["text"] == "left a voicemail"
    assert detail["first_action_at"] == detail["replies"][0]["created_at"]  # the reply came before note and claim
    assert 600 <= detail["waited_seconds"] <= 610 and detail["overdue"] is False
    assert list_page(store, settings, Filters(status="claimed")).tickets[0]["reply_channel"] == "sms"
    with pytest.raises(TicketNotFound):
        ticket_detail(store, settings, "missing")


def test_a_note_bumps_the_ticket_and_is_checked(store: HandoffStore, settings: Settings) -> None:
    made = ticket(store, n=1)
    add_note(store, made.id, "kim", "called back")
    assert store.get_ticket(made.id).updated_at > made.updated_at
    assert list_page(store, settings, Filters()).tickets[0]["first_action_at"] is not None
    for bad in ("", "   ", None, 42, "x" * (MAX_NOTE + 1)):
        with pytest.raises(ValueError):
            add_note(store, made.id, "kim", bad)
    with pytest.raises(TicketNotFound):
        add_note(store, "missing", "kim", "text")
    store.resolve(made.id)
    add_note(store, made.id, "kim", "closing note")  # notes may follow the resolution
    assert len(ticket_detail(store, settings, made.id)["notes"]) == 2


def add_account(store: HandoffStore, username: str, disabled: bool = False) -> None:
    with store._tx() as c:
        c.run(
            "INSERT INTO staff_accounts (username, display_name, role, password_hash, totp_secret, disabled, "
            "created_at) VALUES (?, ?, 'staff', 'x', 'x', ?, ?)",
            (username, username.title(), int(disabled), store.clock()),
        )


def test_reassign_claims_for_an_active_account_only(store: HandoffStore) -> None:
    made = ticket(store, n=1)
    with pytest.raises(UnknownStaff):
        reassign(store, made.id, "anyone")  # not even with no accounts at all
    add_account(store, "lee")
    add_account(store, "kim")
    add_account(store, "gone", disabled=True)
    changed, before = reassign(store, made.id, " Lee ")  # usernames are case-insensitive, as at sign-in
    assert (changed.status, changed.claimed_by, before) == ("claimed", "lee", None)
    claimed_at = changed.claimed_at
    changed, before = reassign(store, made.id, "kim")
    assert (changed.claimed_by, before, changed.claimed_at) == ("kim", "lee", claimed_at)
    for name in ("gone", "nobody"):
        with pytest.raises(UnknownStaff):
            reassign(store, made.id, name)
    with pytest.raises(ValueError):
        reassign(store, made.id, "  ")
    store.resolve(made.id)
    with pytest.raises(InvalidTransition):
        reassign(store, made.id, "kim")
    with pytest.raises(TicketNotFound):
        reassign(store, "missing", "kim")
