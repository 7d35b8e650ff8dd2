"""The assistant's input and output (Turn, Reply) and the small interfaces it depends on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.knowledge.loader import FactRef

if TYPE_CHECKING:
    from bot.conversation.reading import Embedding, Reading, Vectors


class Mention(Protocol):
    @property
    def drug_id(self) -> str: ...
    @property
    def surface(self) -> str: ...
    @property
    def start_char(self) -> int: ...
    @property
    def end_char(self) -> int: ...


class NameFinder(Protocol):
    def find(self, text: str) -> Sequence[Mention]: ...


class Verdict(Protocol):
    @property
    def category(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def hotline(self) -> str | None: ...


class Screen(Protocol):
    def screen(
        self,
        reading: Reading,
        *,
        intent: str | None,
        confidence: float,
        drugs: Sequence[str],
        context_drug: str | None = None,
    ) -> Verdict | None: ...


class Ticket(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def reply_channel(self) -> str | None: ...


class TicketStore(Protocol):
    def create_ticket(
        self,
        conversation_id: str,
        channel: str,
        urgency: str,
        reason: str,
        message: str,
        transcript: list[dict[str, str]],
        contact: tuple[str, str] | None = None,
    ) -> Ticket: ...

    def add_message(self, ticket_id: str, text: str) -> None: ...

    def add_contact(self, ticket_id: str, contact: tuple[str, str]) -> bool: ...

    def open_ticket_for(self, conversation_id: str) -> Ticket | None: ...


class Hit(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def ref(self) -> FactRef: ...


class Searcher(Protocol):
    def search(
        self, question: str, drugs: Sequence[str] = (), top_k: int = 3, vectors: Vectors | None = None
    ) -> Sequence[Hit]: ...


@dataclass(frozen=True)
class Turn:
    """What the assistant needs to know about one user message and the conversation so far."""

    text: str
    conversation_id: str = "anonymous"
    channel: str = "rest"
    intent: str | None = None
    confidence: float = 0.0
    intent_ranking: tuple[tuple[str, float], ...] = ()  # the NLU's ranking of intents, most likely first
    entity_drugs: tuple[str, ...] = ()
    slot_drug: str | None = None
    slot_topic: str | None = None
    slot_ticket: str | None = None
    first_turn: bool = False
    transcript: tuple[dict[str, str], ...] = ()
    slot_more: str | None = None  # SMS: the rest of the last answer, sent on "MORE"
    slot_choices: tuple[str, ...] = ()  # SMS: payloads of the numbered choices last offered
    slot_pending_erase: bool = False  # the bot asked "delete this conversation?"
    embedding: Embedding | None = None  # the Rasa server's sentence vector of the masked text, if sent
    reply_to: str | None = None  # SMS: the sender's number, sealed by the channel (bot/sealing.py)


@dataclass
class Reply:
    """Texts to send, the custom message of the reply contract, buttons and slot updates."""

    kind: str
    texts: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    buttons: list[dict[str, str]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def custom(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.data}
