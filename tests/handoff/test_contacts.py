"""The way back stored with a ticket (ticket_contacts) and the staff replies (ticket_replies), on both backends."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.handoff import replies
from bot.handoff.contacts import contact_of
from bot.handoff.models import TicketNotFound
from bot.handoff.postgres import PostgresHandoffStore
from bot.handoff.sqlite import SqliteHandoffStore
from bot.handoff.store import HandoffStore
from bot.sealing import Sealer, new_key

NUMBER = "+15558675309"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(new_key())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def handoff_store(request: pytest.FixtureRequest, tmp_path: Path) -> HandoffStore:
    if request.param == "sqlite":
        return SqliteHandoffStore(tmp_path / "handoff.sqlite", clock=Clock())
    return PostgresHandoffStore(request.getfixturevalue("pg_url"), tmp_path / "spool.sqlite", clock=Clock())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sms_ticket(store: HandoffStore, sealed: str, conversation: str = "sms:abc"):  # noqa: ANN201
    return store.create_ticket(conversation, "sms", "urgent", "fever", "fever on mtx", [], contact=("sms", sealed))


def test_a_ticket_is_created_with_its_sealed_contact(handoff_store: HandoffStore, sealer: Sealer) -> None:
    sealed = sealer.seal(NUMBER)
    ticket = sms_ticket(handoff_store, sealed)
    assert ticket.reply_channel == "sms" and handoff_store.get_ticket(ticket.id) == ticket
    stored = contact_of(handoff_store, ticket.id)
    assert stored is not None and stored.kind == "sms" and sealer.open(stored.secret) == NUMBER
    assert ticket.to_dict()["reply_channel"] == "sms" and ticket.to_dict()["replies"] == []


@pytest.mark.parametrize("contact", [("fax", "x"), ("sms", ""), ("sms", "  ")])
def test_a_bad_contact_is_refused_and_nothing_is_stored(handoff_store: HandoffStore, contact) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="contact"):
        handoff_store.create_ticket("c", "sms", "urgent", "r", "m", [], contact=contact)
    assert handoff_store.list_tickets(None) == []


def test_reply_channels_per_conversation(handoff_store: HandoffStore) -> None:
    web = handoff_store.create_ticket("web:patient-1", "web", "routine", "r", "m", [])
    anonymous = handoff_store.create_ticket("web-abcdef", "web", "routine", "r", "m", [])
    rest = handoff_store.create_ticket("rest-1", "rest", "routine", "r", "m", [])
    assert [handoff_store.get_ticket(t.id).reply_channel for t in (web, anonymous, rest)] == ["web", None, None]


def test_a_contact_is_added_once_to_a_ticket_without_one(handoff_store: HandoffStore, sealer: Sealer) -> None:
    ticket = handoff_store.create_ticket("web-abcdef", "web", "urgent", "r", "m", [])
    first, second = sealer.seal(NUMBER), sealer.seal("+15550001111")
    assert handoff_store.add_contact(ticket.id, ("sms", first)) is True
    assert handoff_store.add_contact(ticket.id, ("sms", second)) is False
    assert contact_of(handoff_store, ticket.id).secret == first  # type: ignore[union-attr]
    assert handoff_store.get_ticket(ticket.id).reply_channel == "sms"
    with pytest.raises(TicketNotFound):
        handoff_store.add_contact("nope", ("sms", first))


def test_replies_are_kept_with_the_ticket_and_read_by_the_widget(handoff_store: HandoffStore) -> None:
    ticket = handoff_store.create_ticket("web:patient-1", "web", "urgent", "r", "m", [])
    other = handoff_store.create_ticket("web:patient-2", "web", "urgent", "r", "m", [])
    one = replies.add_reply(handoff_store, ticket, channel="web", staff="nurse.kim", text="Call us.",
                            status="delivered-to-widget")  # fmt: skip
    two = replies.add_reply(handoff_store, ticket, channel="web", staff="dr.lee", text="Also: rest.",
                            status="delivered-to-widget")  # fmt: skip
    replies.add_reply(handoff_store, other, channel="web", staff="dr.lee", text="Other", status="delivered-to-widget")
    loaded = handoff_store.get_ticket(ticket.id)
    assert [r.text for r in loaded.replies] == ["Call us.", "Also: rest."] and loaded.updated_at == two.created_at
    assert [r.id for r in replies.widget_replies(handoff_store, "web:patient-1")] == [one.id, two.id]
    assert replies.mark_read(handoff_store, "web:patient-1", [one.id]) == 1
    assert replies.mark_read(handoff_store, "web:patient-1", [one.id, "not-mine"]) == 0
    assert [r.read_at is None for r in replies.widget_replies(handoff_store, "web:patient-1")] == [False, True]
    assert replies.mark_read(handoff_store, "web:patient-1") == 1
    assert replies.widget_replies(handoff_store, "web:patient-2")[0].read_at is None  # another person's
    with pytest.raises(ValueError, match="status"):
        replies.add_reply(handoff_store, ticket, channel="sms", staff="x", text="t", status="maybe")


def test_the_number_is_never_in_the_sqlite_file_and_its_seal_goes_with_the_purge(
    tmp_path: Path, sealer: Sealer
) -> None:
    clock = Clock()
    path = tmp_path / "handoff.sqlite"
    store = SqliteHandoffStore(path, clock=clock)
    sealed = sealer.seal(NUMBER)
    ticket = sms_ticket(store, sealed)
    replies.add_reply(store, ticket, channel="sms", staff="nurse.kim", text="Please call us", status="sent",
                      provider_id="SM123")  # fmt: skip

    def raw() -> bytes:
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())

    assert sealed.encode() in raw()
    for form in (NUMBER, NUMBER[1:], NUMBER[2:], "867-5309", "8675309"):
        assert form.encode() not in raw()
    clock.now += timedelta(days=100)
    assert store.purge(90) == 1
    assert contact_of(store, ticket.id) is None
    assert sealed.encode() not in raw() and b"Please call us" not in raw()


@pytest.mark.integration
def test_a_spooled_ticket_keeps_its_contact_when_it_moves_to_postgres(
    tmp_path: Path, pg_url: str, sealer: Sealer
) -> None:
    spool = tmp_path / "spool.sqlite"
    down = PostgresHandoffStore(f"postgresql://postgres@127.0.0.1:{closed_port()}/test", spool)
    with_contact = sms_ticket(down, sealer.seal(NUMBER))
    later = down.create_ticket("sms:def", "sms", "routine", "r", "m", [])
    assert down.add_contact(later.id, ("sms", sealer.seal("+15550001111"))) is True  # spooled too
    up = PostgresHandoffStore(pg_url, spool)
    assert up.flush_spool() == 2
    assert sealer.open(contact_of(up, with_contact.id).secret) == NUMBER  # type: ignore[union-attr]
    assert up.get_ticket(later.id).reply_channel == "sms"
    assert contact_of(up._spool(), with_contact.id) is None  # moved, not copied
