from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from bot.conversation.assistant import Assistant
from bot.knowledge.loader import KnowledgeBase, default_knowledge_base
from bot.nlp.names import NameMatcher
from bot.settings import Settings, get_settings

pytest_plugins = ["tests.browser", "tests.fake_twilio"]  # Playwright fixtures; the fake Twilio endpoint
# bot/rasa_server runs on Python 3.10 with Rasa; its tests run there (`make channels`), not in this environment.
collect_ignore = ["rasa_server"]


@dataclass(frozen=True)
class FakeVerdict:
    category: str
    urgency: str
    reason: str
    hotline: str | None = None


class KeywordScreen:
    """Escalates messages containing a configured trigger word; the real screen is tested on its own."""

    def __init__(self, triggers: dict[str, FakeVerdict] | None = None) -> None:
        self.triggers = triggers or {}

    def screen(self, reading, *, intent, confidence, drugs, context_drug=None):  # noqa: ANN001
        return next((v for word, v in self.triggers.items() if word in reading.text.lower()), None)


@dataclass
class FakeTicket:
    id: str
    urgency: str
    status: str = "open"
    conversation_id: str = ""
    messages: list[str] = field(default_factory=list)
    transcript: list[dict[str, str]] = field(default_factory=list)
    contact: tuple[str, str] | None = None

    @property
    def reply_channel(self) -> str | None:
        if self.contact:
            return self.contact[0]
        return "web" if self.conversation_id.startswith("web:") else None


class MemoryStore:
    def __init__(self, fail: bool = False) -> None:
        self.tickets: dict[str, FakeTicket] = {}
        self.fail = fail
        self._ids = itertools.count(1)

    def create_ticket(self, conversation_id, channel, urgency, reason, message, transcript, contact=None):  # noqa: ANN001
        if self.fail:
            raise ConnectionError("store down")
        ticket = FakeTicket(
            f"T{next(self._ids)}", urgency, conversation_id=conversation_id, messages=[message],
            transcript=list(transcript), contact=contact,
        )  # fmt: skip
        self.tickets[ticket.id] = ticket
        return ticket

    def add_contact(self, ticket_id: str, contact: tuple[str, str]) -> bool:
        ticket = self.tickets[ticket_id]
        if ticket.contact is not None:
            return False
        ticket.contact = contact
        return True

    def add_message(self, ticket_id: str, text: str) -> None:
        self.tickets[ticket_id].messages.append(text)

    def open_ticket_for(self, conversation_id: str) -> FakeTicket | None:
        mine = [t for t in self.tickets.values() if t.conversation_id == conversation_id and t.status != "resolved"]
        return mine[-1] if mine else None


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """get_settings() is cached per process; each test reads the environment it set up."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


@pytest.fixture
def settings(tmp_path) -> Settings:  # noqa: ANN001
    return Settings.from_env().replace(clinic_phone="555-0199", handoff_db_path=tmp_path / "h.sqlite")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@functools.cache
def name_matcher() -> NameMatcher:
    return NameMatcher(default_knowledge_base().names())


def make_assistant(kb, settings, store, screen=None, retriever=None) -> Assistant:  # noqa: ANN001
    return Assistant(
        kb,
        settings,
        name_matcher(),
        screen or KeywordScreen(),
        retriever,
        store,
        response_time=lambda urgency, now: f"[{urgency} reply time]",
        clock=lambda: dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.timezone.utc),
    )


@pytest.fixture
def assistant(kb, settings, store) -> Assistant:  # noqa: ANN001
    return make_assistant(kb, settings, store)


PG_BASE = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL test database, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_BASE}{'&' if '?' in PG_BASE else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
