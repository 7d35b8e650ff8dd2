from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from bot.assistant import Assistant
from bot.knowledge.loader import KnowledgeBase, default_knowledge_base
from bot.settings import Settings


@dataclass(frozen=True)
class FakeMention:
    drug_id: str
    surface: str


class ExactNames:
    """Exact, case-insensitive name lookup: enough for tests of the conversation logic."""

    def __init__(self, kb: KnowledgeBase, unknown: Sequence[str] = ("tacrolimus", "protopic")) -> None:
        self.names = {n.lower(): d for d, names in kb.names().items() for n in names}
        self.names |= {u: f"unknown:{u}" for u in unknown}

    def find(self, text: str) -> list[FakeMention]:
        spans: list[tuple[int, int]] = []
        found: list[tuple[int, FakeMention]] = []
        for name, drug in sorted(self.names.items(), key=lambda kv: -len(kv[0])):
            for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
                if any(s < match.end() and match.start() < e for s, e in spans):
                    continue
                spans.append(match.span())
                found.append((match.start(), FakeMention(drug, match.group(0))))
        return [m for _, m in sorted(found, key=lambda x: x[0])]


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

    def screen(self, text, *, intent, confidence, drugs, context_drug=None):  # noqa: ANN001
        return next((v for word, v in self.triggers.items() if word in text.lower()), None)


@dataclass
class FakeTicket:
    id: str
    urgency: str
    status: str = "open"
    conversation_id: str = ""
    messages: list[str] = field(default_factory=list)


class MemoryStore:
    def __init__(self, fail: bool = False) -> None:
        self.tickets: dict[str, FakeTicket] = {}
        self.fail = fail
        self._ids = itertools.count(1)

    def create_ticket(self, conversation_id, channel, urgency, reason, message, transcript):  # noqa: ANN001
        if self.fail:
            raise ConnectionError("store down")
        ticket = FakeTicket(f"T{next(self._ids)}", urgency, conversation_id=conversation_id, messages=[message])
        self.tickets[ticket.id] = ticket
        return ticket

    def add_message(self, ticket_id: str, text: str) -> None:
        self.tickets[ticket_id].messages.append(text)

    def open_ticket_for(self, conversation_id: str) -> FakeTicket | None:
        mine = [t for t in self.tickets.values() if t.conversation_id == conversation_id and t.status != "resolved"]
        return mine[-1] if mine else None


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


@pytest.fixture
def settings(tmp_path) -> Settings:  # noqa: ANN001
    return dataclasses.replace(Settings.from_env(), clinic_phone="555-0199", handoff_db_path=tmp_path / "h.sqlite")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def make_assistant(kb, settings, store, screen=None, retriever=None) -> Assistant:  # noqa: ANN001
    return Assistant(
        kb,
        settings,
        ExactNames(kb),
        screen or KeywordScreen(),
        retriever,
        store,
        response_time=lambda urgency, now: f"[{urgency} reply time]",
        clock=lambda: dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.timezone.utc),
    )


@pytest.fixture
def assistant(kb, settings, store) -> Assistant:  # noqa: ANN001
    return make_assistant(kb, settings, store)
