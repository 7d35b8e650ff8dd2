"""The conversation logic: safety first, then an answer from the knowledge base, or an honest "I don't know".

Plain Python that tests call without Rasa; the Rasa action only turns a tracker into a Turn and a Reply into
messages and slot events.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bot.constants import ANSWER_INTENT_CONFIDENCE as INTENT_CONFIDENCE
from bot.constants import URGENCY_RANK
from bot.conversation import answers, replies, sms
from bot.conversation.answers import Answer, display_name
from bot.conversation.understanding import (
    CHITCHAT_INTENTS,
    DEFAULT_GENERAL_TOPIC,
    GENERAL_INTENT,
    TOPIC_INTENTS,
    asks_for_a_list,
    general_topic_in_text,
    sounds_like_comparison,
    topics_in_text,
    uncovered_subject,
    which_question,
)
from bot.knowledge.loader import FactRef, KnowledgeBase
from bot.knowledge.schema import GENERAL
from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 2000
BUTTON_PAYLOAD = re.compile(r'/inform_drug\{"drug":\s*"[a-z_]+"\}')
HOTLINE_REPLY = {
    "911": "handoff_emergency_911",
    "988": "handoff_emergency_988",
    "poison_control": "handoff_emergency_poison",
}
# Retrieval must beat the intent's own fact by this much to change the topic.
RERANK_MARGIN = 0.1
RERANK_FLOOR = 0.2
# Retrieval score needed to answer without a confident intent; calibrated on tests/eval by `make calibrate`
# (docs/calibration.md).
RETRIEVAL_THRESHOLD = 0.5
# Within one named medicine (names removed from the question) scores are lower; the medicine is already right.
DRUG_THRESHOLD = 0.3
# How much better a medicine's fact must score than the threshold to override a general-topic intent.
GENERAL_MARGIN = 0.1
# A general-topic intent needs a general fact at least this close (off-topic questions score below 0.2, real
# general questions above 0.6 on the evaluation set) unless the wording names the topic.
GENERAL_FLOOR = 0.4


# --- the small interfaces the assistant depends on -------------------------------------------------------


class Mention(Protocol):
    @property
    def drug_id(self) -> str: ...
    @property
    def surface(self) -> str: ...


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
        self, text: str, *, intent: str | None, confidence: float, drugs: Sequence[str], context_drug: str | None = None
    ) -> Verdict | None: ...


class Ticket(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def urgency(self) -> str: ...


class TicketStore(Protocol):
    def create_ticket(
        self,
        conversation_id: str,
        channel: str,
        urgency: str,
        reason: str,
        message: str,
        transcript: list[dict[str, str]],
    ) -> Ticket: ...

    def add_message(self, ticket_id: str, text: str) -> None: ...

    def open_ticket_for(self, conversation_id: str) -> Ticket | None: ...


class Hit(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def ref(self) -> FactRef: ...


class Searcher(Protocol):
    def search(self, question: str, drugs: Sequence[str] = (), top_k: int = 3) -> Sequence[Hit]: ...


# --- input and output ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """What the assistant needs to know about one user message and the conversation so far."""

    text: str
    conversation_id: str = "anonymous"
    channel: str = "rest"
    intent: str | None = None
    confidence: float = 0.0
    entity_drugs: tuple[str, ...] = ()
    slot_drug: str | None = None
    slot_topic: str | None = None
    slot_ticket: str | None = None
    first_turn: bool = False
    transcript: tuple[dict[str, str], ...] = ()
    slot_more: str | None = None  # SMS: the rest of the last answer, sent on "MORE"
    slot_choices: tuple[str, ...] = ()  # SMS: payloads of the numbered choices last offered
    slot_pending_erase: bool = False  # the bot asked "delete this conversation?"


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


# --- the assistant ----------------------------------------------------------------------------------------------


class Assistant:
    def __init__(
        self,
        kb: KnowledgeBase,
        settings: Settings,
        names: NameFinder,
        screen: Screen,
        retriever: Searcher | None,
        store: TicketStore,
        response_time: Callable[[str, dt.datetime], str],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
    ) -> None:
        self.kb = kb
        self.settings = settings
        self.names = names
        self.safety = screen
        self.retriever = retriever
        self.store = store
        self.response_time = response_time
        self.clock = clock

    def _say(self, name: str, turn: Turn, **values: str) -> str:
        return replies.render(name, self.settings, turn.channel, **values)

    # The entry point --------------------------------------------------------------------------------------------

    def respond(self, turn: Turn) -> Reply:
        if turn.channel == "sms":
            turn, more = self._sms_shortcut(turn)
            if more is not None:
                return more
        reply = self._respond(turn)
        if turn.slot_pending_erase:
            reply.slots.setdefault("pending_erase", False)
        if turn.first_turn:
            disclaimer = self._say("disclaimer", turn)
            # Emergency wording always comes first; the disclaimer follows it.
            if reply.kind == "handoff" and reply.data.get("urgency") == "emergency":
                reply.texts.append(disclaimer)
            else:
                reply.texts.insert(0, disclaimer)
        if turn.channel == "sms":
            short = sms.form(reply.texts, reply.buttons)
            reply.texts, reply.buttons = [short.text], []
            reply.slots.update(sms_more=short.more, choices=short.choices or None)
        return reply

    def _sms_shortcut(self, turn: Turn) -> tuple[Turn, Reply | None]:
        """SMS "MORE" sends the rest of the last answer; a digit picks one of the numbered choices."""
        word = turn.text.strip().upper()
        if word == "MORE" and turn.slot_more:
            first, rest = sms.split(turn.slot_more)
            return turn, Reply("continuation", [first], slots={"sms_more": rest})
        if word.isdigit() and 0 < int(word) <= len(turn.slot_choices):
            payload = turn.slot_choices[int(word) - 1]
            intent = re.match(r"/(\w+)", payload)
            drug = re.search(r'"drug":\s*"(\w+)"', payload)
            picked = replace(
                turn,
                text=payload,
                intent=intent.group(1) if intent else None,
                confidence=1.0,
                entity_drugs=(drug.group(1),) if drug else (),
            )
            return picked, None
        return turn, None

    def _respond(self, turn: Turn) -> Reply:
        text = " ".join(turn.text.split())
        # Only the button payloads the bot offers skip the name matcher and the safety screen; anything else
        # typed with a leading "/" is screened like any message.
        is_payload = bool(BUTTON_PAYLOAD.fullmatch(text))
        if not text:
            return Reply("chitchat", [self._say("empty", turn)])
        if len(text) > MAX_INPUT_CHARS:
            return Reply("abstain", [self._say("too_long", turn)])
        mentions = [] if is_payload else list(self.names.find(text))
        known = _unique([m.drug_id for m in mentions if m.drug_id in self.kb.drugs])
        unknown = [m.surface for m in mentions if m.drug_id.startswith("unknown:")]
        drugs = known or [d for d in turn.entity_drugs if d in self.kb.drugs and d != GENERAL]

        if turn.slot_pending_erase:
            answer = _yes_or_no(text, turn.intent)
            if answer is not None:
                name = "erased" if answer else "erase_cancelled"
                return Reply(name if answer else "chitchat", [self._say(name, turn)], slots={"pending_erase": False})
        if turn.intent == "delete_my_data" and turn.confidence >= INTENT_CONFIDENCE:
            buttons = [{"title": "Yes, delete", "payload": "/affirm"}, {"title": "No, keep it", "payload": "/deny"}]
            return Reply("chitchat", [self._say("erase_confirm", turn)], {"confirm": "erase"}, buttons,
                         slots={"pending_erase": True})  # fmt: skip

        ticket = self._open_ticket(turn)
        if not is_payload:
            verdict = self.safety.screen(
                text, intent=turn.intent, confidence=turn.confidence, drugs=drugs, context_drug=turn.slot_drug
            )
            if verdict is not None:
                return self._handoff(turn, text, verdict, ticket)
        reply = self._answer(turn, text, drugs, unknown)
        if ticket is not None:
            self._follow_up(ticket, text)
            reply.texts.append(self._say("handoff_reminder", turn))
        return reply

    # Safety and handoff ------------------------------------------------------------------------------------

    def _open_ticket(self, turn: Turn) -> Ticket | None:
        if not turn.slot_ticket:
            return None
        try:
            return self.store.open_ticket_for(turn.conversation_id)
        except Exception:  # the store being down must not stop the answer
            log.exception("handoff store unavailable while looking up an open ticket")
            return None

    def _follow_up(self, ticket: Ticket, text: str) -> None:
        try:
            self.store.add_message(ticket.id, text)
        except Exception:
            log.exception("could not add a follow-up to ticket %s", ticket.id)

    def _handoff(self, turn: Turn, text: str, verdict: Verdict, ticket: Ticket | None) -> Reply:
        now = self.clock()
        if ticket is not None and URGENCY_RANK[verdict.urgency] <= URGENCY_RANK[ticket.urgency]:
            self._follow_up(ticket, text)
            wording = self._say("handoff_followup", turn, response_time=self.response_time(ticket.urgency, now))
            return Reply("handoff", [wording], {"ticket_id": ticket.id, "urgency": ticket.urgency})
        ticket_id: str | None = None
        try:
            created = self.store.create_ticket(
                turn.conversation_id, turn.channel, verdict.urgency, verdict.reason, text, [*turn.transcript][-10:]
            )
            ticket_id = created.id
        except Exception:
            log.exception("handoff ticket could not be stored")
        if verdict.urgency == "emergency":
            wording = self._say(HOTLINE_REPLY.get(verdict.hotline or "911", "handoff_emergency_911"), turn)
        else:
            name = f"handoff_{verdict.urgency}"
            wording = self._say(name, turn, response_time=self.response_time(verdict.urgency, now))
        data = {
            "ticket_id": ticket_id,
            "urgency": verdict.urgency,
            "hotline": verdict.hotline,
            "clinic_phone": self.settings.clinic_phone,
        }
        return Reply("handoff", [wording], data, slots={"handoff_ticket": ticket_id})

    # Answers -------------------------------------------------------------------------------------------------

    def _answer(self, turn: Turn, text: str, drugs: list[str], unknown: list[str]) -> Reply:
        intent = turn.intent if turn.confidence >= INTENT_CONFIDENCE else None
        if intent in CHITCHAT_INTENTS and not drugs:
            return Reply("chitchat", [self._say(CHITCHAT_INTENTS[intent], turn)])
        if intent == "out_of_scope" and not drugs:
            return self._abstain(turn, "out_of_scope")
        if unknown:
            # Never answer about a medicine the knowledge base doesn't cover, nor how it relates to one it does.
            return self._abstain(turn, "unknown_medicine", medicine=unknown[0])
        subject = uncovered_subject(text)
        if subject:
            return self._abstain(turn, "not_covered", subject=subject)

        wording = self._without_names(text)
        attribute = which_question(wording)
        if attribute and not drugs and (turn.intent == "ask_which" or asks_for_a_list(wording)):
            found = answers.which(self.kb, attribute)
            if found:
                return self._reply_answer(found)
        if intent == GENERAL_INTENT and not drugs:
            return self._general(turn, text, wording)

        named = [_alternatives(t) for t in topics_in_text(wording)]
        topics = self._topics(intent, named, turn)
        if len(drugs) >= 2 and (intent == "ask_compare" or sounds_like_comparison(wording)):
            found = answers.compare(self.kb, drugs[:3], [t for group in topics for t in group] or ["what_is"])
            if found:
                return self._reply_answer(found)
        drug = drugs[0] if drugs else turn.slot_drug if (topics or intent == "inform_drug") else None
        if drug not in self.kb.drugs:
            drug = None

        if drug and topics:
            if not named and intent in TOPIC_INTENTS:
                topics = self._rerank(wording, drug, topics)
            found = answers.topic_answer(self.kb, drug, topics)
            if found:
                return self._reply_answer(found)
            label = answers.TOPIC_LABELS.get(topics[0][0], "that")
            reply = self._abstain(turn, "no_fact", topic=label, medicine=display_name(self.kb.drugs[drug]))
            reply.slots["drug"] = drug
            return reply
        if drug:
            hit = None if _only_names(wording) else self._retrieve(wording, [drug], DRUG_THRESHOLD)
            found = hit or answers.topic_answer(self.kb, drug, [("what_is",)])
            if found:
                return self._reply_answer(found)
        if topics and not _has_content(wording):
            return self._clarify(turn, topics[0][0])
        hit = self._retrieve(text, [], RETRIEVAL_THRESHOLD)
        if hit is not None:
            return self._reply_answer(hit)
        if topics:
            return self._clarify(turn, topics[0][0])
        return self._abstain(turn, "abstain")

    def _abstain(self, turn: Turn, reason: str, **values: str) -> Reply:
        return Reply("abstain", [self._say(reason, turn, **values)], {"reason": reason})

    def _without_names(self, text: str) -> str:
        """The text with medicine names blanked, so a name like "JAK pills" is not read as a topic word."""
        for mention in self.names.find(text):
            text = text.replace(mention.surface, " ")
        return " ".join(text.split())

    def _topics(self, intent: str | None, named: list[tuple[str, ...]], turn: Turn) -> list[tuple[str, ...]]:
        """Wanted topics, each as alternatives: named in the text, else from the intent, else carried over."""
        from_intent = TOPIC_INTENTS.get(intent or "")
        if from_intent and from_intent not in named and len(named) < 2:
            named = [from_intent, *named]
        if not named and intent == "inform_drug" and turn.slot_topic:
            return [_alternatives(turn.slot_topic)]
        return named

    def _rerank(self, text: str, drug: str, topics: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
        """Check the intent's topic against retrieval within the medicine; a clearly better fact wins."""
        if self.retriever is None:
            return topics
        hits = self.retriever.search(text, drugs=[drug], top_k=20)
        if not hits:
            return topics
        picked = max((h.score for h in hits if h.ref.fact.topic in topics[0]), default=0.0)
        best = hits[0]
        if best.ref.fact.topic not in topics[0] and best.score >= RERANK_FLOOR and best.score - picked >= RERANK_MARGIN:
            return [(best.ref.fact.topic,)]
        return topics

    def _general(self, turn: Turn, text: str, wording: str) -> Reply:
        """A general-topic answer: the topic named in the wording, else the closest general fact; a clearly
        better fact about one medicine wins over both."""
        hits = self.retriever.search(text, top_k=1) if self.retriever else []
        if hits and hits[0].ref.drug.id != GENERAL and hits[0].score >= RETRIEVAL_THRESHOLD + GENERAL_MARGIN:
            ref = hits[0].ref
            found = answers.topic_answer(self.kb, ref.drug.id, [(ref.fact.topic,)])
            if found:
                return self._reply_answer(found)
        topic = general_topic_in_text(wording)
        if topic is None and self.retriever is not None:
            general = self.retriever.search(text, drugs=[GENERAL], top_k=1)
            if not general or general[0].score < GENERAL_FLOOR:
                return self._abstain(turn, "abstain")  # the classifier's "general" guess has nothing behind it
            topic = general[0].ref.fact.topic
        found = answers.topic_answer(self.kb, GENERAL, [(topic or DEFAULT_GENERAL_TOPIC,)])
        if found is None:
            raise LookupError(f"general topic {topic} has no fact")
        return self._reply_answer(found)

    def _retrieve(self, text: str, drugs: list[str], threshold: float) -> Answer | None:
        if self.retriever is None:
            return None
        hits = self.retriever.search(text, drugs=drugs, top_k=1)
        if not hits or hits[0].score < threshold:
            return None
        ref = hits[0].ref
        return answers.topic_answer(self.kb, ref.drug.id, [(ref.fact.topic,)])

    def _clarify(self, turn: Turn, topic: str) -> Reply:
        buttons = [
            {"title": display_name(d), "payload": f'/inform_drug{{"drug":"{d.id}"}}'}
            for d in self.kb.medicines()
            if answers.find_fact(self.kb, d.id, (topic,))
        ]
        return Reply(
            "clarify", [self._say("clarify_drug", turn)], {"topic": topic}, buttons=buttons, slots={"topic": topic}
        )

    def _reply_answer(self, found: Answer) -> Reply:
        data = {"drug": found.drug, "topic": found.topic, "sources": found.sources, "facts": found.fact_keys}
        slots: dict[str, Any] = {"topic": found.topic}
        if found.drug:
            slots["drug"] = found.drug
        return Reply("answer", list(found.texts), data, slots=slots)


_YES = re.compile(r"^(?:y|yes|yeah|yep|ok|okay|sure|confirm|delete|delete it|yes,? delete( it)?)[.!]*$", re.I)
_NO = re.compile(r"^(?:n|no|nope|cancel|keep( it)?|no,? keep it|don'?t)[.!]*$", re.I)


def _yes_or_no(text: str, intent: str | None) -> bool | None:
    """The answer to a yes/no question, or None when the message is about something else."""
    if _YES.match(text) or intent == "affirm":
        return True
    if _NO.match(text) or intent == "deny":
        return False
    return None


def _alternatives(topic: str) -> tuple[str, ...]:
    """A topic with the fallbacks its intent allows (side effects -> boxed warnings)."""
    return next((alts for alts in TOPIC_INTENTS.values() if alts[0] == topic), (topic,))


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


# Words that carry no subject of their own in this domain; what is left after them and the topic words
# decides whether a topic-only question ("what are the side effects?") needs a clarifying question.
_FILLER = frozenset(
    "a an and any are be can could do does eczema for from have how i is it its it's me my of on or should "
    "tell the them there these they this to what when which who why will with you your about take taking "
    "work works working long fast often given there's".split()
)


def _has_content(text: str) -> bool:
    words = [w.strip("?.!,'\"") for w in text.lower().split()]
    return any(w and w not in _FILLER and not _is_topic_word(w) for w in words)


def _is_topic_word(word: str) -> bool:
    return bool(topics_in_text(word)) or word in {"side", "effects", "effect", "labs", "lab", "blood", "tests", "test"}


def _only_names(wording: str) -> bool:
    """True when, names aside, the message is only filler ("methotrexate?", "what about MTX")."""
    words = [w.strip("?.!,") for w in wording.lower().split()]
    return all(w in _FILLER for w in words if w)
