"""The conversation logic: safety first, then an answer from the knowledge base, or an honest "I don't know".

Plain Python that tests call without Rasa; the Rasa action only turns a tracker into a Turn and a Reply into
messages and slot events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

from bot.constants import ANSWER_INTENT_CONFIDENCE as INTENT_CONFIDENCE
from bot.conversation import answers, replies, sms
from bot.conversation.answers import Answer, display_name
from bot.conversation.aspects import (
    Aspect,
    AspectReader,
    asked_first,
    asked_part,
    aspect_data,
    best_covered,
    facts_naming,
    named_aspect,
    named_term,
    names_one_medicine_twice,
)
from bot.conversation.handoffs import Handoffs
from bot.conversation.reading import Reading, read
from bot.conversation.topics import TopicWeights, reranked, weighed_topics
from bot.conversation.types import NameFinder, Reply, Screen, Searcher, TicketStore, Turn
from bot.conversation.understanding import (
    CHITCHAT_INTENTS,
    DEFAULT_GENERAL_TOPIC,
    GENERAL_INTENT,
    SAFETY_FIRST,
    TOPIC_INTENTS,
    asks_for_a_list,
    class_topic,
    classes_in_text,
    general_topic_in_text,
    has_content,
    only_names,
    sounds_like_comparison,
    speaks_of_medicines,
    topic_alternatives,
    topics_in_text,
    which_question,
    yes_or_no,
)
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import DRUG_TOPICS, GENERAL
from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 2000
BUTTON_PAYLOAD = re.compile(r'/inform_drug\{"drug":\s*"[a-z_]+"\}')
# Retrieval score needed to answer without a confident intent; calibrated on tests/eval by `make calibrate`
# (docs/calibration.md).
RETRIEVAL_THRESHOLD = 0.5
# Within one named medicine the medicine is already right, so a lower score will do (docs/calibration.md).
DRUG_THRESHOLD = 0.3
# The aspect model's probability for its best class, a covered topic, to pick the fact of a named medicine when
# nothing else names the topic (below it, retrieval within the medicine picks).
GUESS_FLOOR = 0.3
# A topic intent this confident is taken when the aspect model's best class is its topic (two readers agree).
HINT_CONFIDENCE = 0.3
# What a class of medicines is, and how it works, is said by the class's general fact, not its members' facts.
CLASS_FACT_TOPICS = ("what_is", "mechanism")
# How much better a medicine's fact must score than the threshold to override a general-topic intent.
GENERAL_MARGIN = 0.1
# A general-topic intent needs a general fact at least this close (off-topic questions score below 0.2, real
# general questions above 0.6 on the evaluation set) unless the wording names the topic.
GENERAL_FLOOR = 0.4


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
        aspects: AspectReader | None = None,
        topic_weights: TopicWeights | None = None,
    ) -> None:
        self.kb = kb
        self.settings = settings
        self.names = names
        self.safety = screen
        self.retriever = retriever
        self.store = store
        self.response_time = response_time
        self.clock = clock
        self.aspects = aspects
        self.topic_weights = topic_weights
        self.handoffs = Handoffs(store, settings, response_time, clock, self._say)

    def _say(self, name: str, turn: Turn, **values: str) -> str:
        return replies.render(name, self.settings, turn.channel, **values)

    # The entry point --------------------------------------------------------------------------------------------

    def respond(self, turn: Turn) -> Reply:
        if turn.channel == "sms":
            turn, more = sms.shortcut(turn)
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

    def _respond(self, turn: Turn) -> Reply:
        text = " ".join(turn.text.split())
        # Only the button payloads the bot offers skip the name matcher and the safety screen; anything else
        # typed with a leading "/" is screened like any message.
        is_payload = bool(BUTTON_PAYLOAD.fullmatch(text))
        if not text:
            return Reply("chitchat", [self._say("empty", turn)])
        if len(text) > MAX_INPUT_CHARS:
            return Reply("abstain", [self._say("too_long", turn)])
        # A call-back number leaves the text here: nothing downstream (ticket, follow-up) sees it in clear.
        callback = self.handoffs.way_back.callback(turn, text)
        text = callback.text
        reading = read(text, None if is_payload else self.names, turn.embedding)
        known = [d for d in reading.known if d in self.kb.drugs]
        drugs = known or [d for d in turn.entity_drugs if d in self.kb.drugs and d != GENERAL]

        if turn.slot_pending_erase:
            answer = yes_or_no(text, turn.intent)
            if answer is not None:
                name = "erased" if answer else "erase_cancelled"
                return Reply(name if answer else "chitchat", [self._say(name, turn)], slots={"pending_erase": False})
        if turn.intent == "delete_my_data" and turn.confidence >= INTENT_CONFIDENCE:
            buttons = [{"title": "Yes, delete", "payload": "/affirm"}, {"title": "No, keep it", "payload": "/deny"}]
            return Reply("chitchat", [self._say("erase_confirm", turn)], {"confirm": "erase"}, buttons,
                         slots={"pending_erase": True})  # fmt: skip

        ticket = self.handoffs.open_ticket(turn)
        if not is_payload:
            verdict = self.safety.screen(
                reading, intent=turn.intent, confidence=turn.confidence, drugs=drugs, context_drug=turn.slot_drug
            )
            if verdict is not None:
                return self.handoffs.handoff(turn, callback, verdict, ticket)
        if ticket is None:
            return self._answer(self._question(turn, reading, drugs))
        saved = self.handoffs.keep_contact(turn, ticket, callback)
        if saved and (only := self.handoffs.answer_only_the_number(turn, ticket, callback, saved)):
            return only
        reply = self._answer(self._question(turn, reading, drugs))
        self.handoffs.follow_up(ticket, text)
        reply.texts.append(saved or self.handoffs.reminder(turn, ticket))
        return reply

    # Answers -------------------------------------------------------------------------------------------------

    def _question(self, turn: Turn, reading: Reading, drugs: list[str]) -> _Question:
        drugs = asked_first(reading, drugs)
        intent = turn.intent if turn.confidence >= INTENT_CONFIDENCE or self._confirmed(turn, reading) else None
        named = [topic_alternatives(t) for t in reading.topics]
        topics = self._topics(intent, named, turn)
        drug = drugs[0] if drugs else turn.slot_drug if (topics or intent == "inform_drug") else None
        return _Question(turn, reading, intent, drugs, bool(named), topics, drug if drug in self.kb.drugs else None)

    def _weighed(self, q: _Question) -> _Question:
        """A question about one medicine's topic: the topics the readers' evidence weighs highest."""
        if not (q.drug and self.topic_weights and self.aspects) or q.intent == "inform_drug":
            return q
        if only_names(q.reading.wording):
            return q  # "Dupixent?": what it is
        topics = weighed_topics(q.turn, q.reading, q.drug, self.topic_weights, self.aspects, self.retriever)
        return dataclasses.replace(q, topics_named=True, topics=topics)

    def _confirmed(self, turn: Turn, reading: Reading) -> bool:
        """A topic intent below the confidence needed, that the aspect model independently rates its best class."""
        topics = TOPIC_INTENTS.get(turn.intent or "")
        if topics is None or self.aspects is None or turn.confidence < HINT_CONFIDENCE:
            return False
        return self.aspects.guess(reading).aspect in topics

    def _answer(self, q: _Question) -> Reply:
        """The first step with a reply answers; the order is the policy. The readers' evidence on the topic is
        weighed only for the steps that answer a medicine's topic."""
        early = (
            self._small_talk,
            self._unknown_medicine,
            self._named_aspect,
            self._answerability,
            self._which,
            self._class_question,
            self._general_question,
        )
        late = (
            self._comparison,
            self._topic_answer,
            self._within_medicine,
            self._clarify_bare_topic,
            self._from_retrieval,
        )
        reply = _first_reply(early, q) or _first_reply(late, self._weighed(q))
        if reply is not None:
            return reply
        return self._clarify(q.turn, q.topics[0][0]) if q.topics else self._abstain(q.turn, "abstain")

    def _small_talk(self, q: _Question) -> Reply | None:
        if q.drugs:
            return None
        if q.intent in CHITCHAT_INTENTS:
            return Reply("chitchat", [self._say(CHITCHAT_INTENTS[q.intent], q.turn)])
        if q.intent == "out_of_scope":
            return self._abstain(q.turn, "out_of_scope")
        return None

    def _unknown_medicine(self, q: _Question) -> Reply | None:
        """Never answer about a medicine the knowledge base doesn't cover, nor how it relates to one it does."""
        # a medicine the named medicine's own facts mention ("birth control" for mycophenolate) is not unknown
        named = " ".join(f.text for d in q.drugs for f in self.kb.drugs[d].facts).lower()
        unknown = [m for m in q.reading.unknown if m.surface.lower() not in named]
        if not unknown:
            return None
        return self._abstain(q.turn, "unknown_medicine", medicine=unknown[0].surface)

    def _named_aspect(self, q: _Question) -> Reply | None:
        """Wording that names an aspect the handouts never cover ("how much does it cost")."""
        aspect = named_aspect(q.reading.text)
        if aspect is not None and self._covered_topic_rather(q, aspect.id):
            aspect = None
        if aspect is None and names_one_medicine_twice(q.reading.text, q.reading.mentions):
            aspect = aspect_data().aspects.get("brand_generic")
        return self._uncovered(q, self._asked_drug(q), aspect) if aspect else None

    def _covered_topic_rather(self, q: _Question, aspect: str) -> bool:
        """The aspect model rates a covered topic above the uncovered aspect whose word the question uses: a topic
        the question names as well ("does it come as a pill or is it needles"), or its best class when it is
        confident of it ("something you swallow or a needle thing")."""
        if self.aspects is None:
            return False
        if self._confident_topic(q) is not None:
            return True
        scores = self.aspects.guess(q.reading).scores
        named = topics_in_text(asked_part(q.reading.wording))
        return any(scores.get(t, 0.0) > scores.get(aspect, 0.0) for t in named)

    def _answerability(self, q: _Question) -> Reply | None:
        """Answer about a medicine only what its facts cover: an uncovered aspect the model recognises, or an
        organ or symptom none of its facts names, gets an honest "the handouts don't cover that"."""
        drug = self._asked_drug(q)
        if drug is None or self.aspects is None:
            return None
        guess = self.aspects.guess(q.reading)
        data = aspect_data()
        aspect = data.aspects.get(guess.aspect)
        if aspect is not None and guess.score >= data.threshold:
            return self._uncovered(q, drug, aspect)
        term = named_term(q.reading.wording)
        if term is None or (len(q.drugs) > 1 and sounds_like_comparison(q.reading.wording)):
            return None
        naming = facts_naming(self.kb, drug, term)
        medicine = display_name(self.kb.drugs[drug])
        if not naming:
            return self._abstain(q.turn, "not_mentioned", drug, term.kind, term=term.id, medicine=medicine)
        topic = max((fact.topic for _, fact in naming), key=lambda t: guess.scores.get(t, 0.0))
        wanted = [(topic,)]
        if guess.aspect in DRUG_TOPICS and guess.scores.get(topic, 0.0) < guess.score:
            # the term may be named beside the question ("how does it work? I thought it was a cancer drug"):
            # the fact that names it, then the one the question most likely asks for; that one first when the
            # model is as sure of it as it must be of an uncovered aspect ("WHAT IS IT ORIGINALLY FOR. ONLY
            # KIDNEY TRANSPLANT PEOPLE TAKE IT")
            asked = (guess.aspect,)
            wanted = [asked, *wanted] if guess.score >= data.threshold else [*wanted, asked]
        found = answers.topic_answer(self.kb, drug, wanted)
        return self._reply_answer(found) if found else None

    def _confident_topic(self, q: _Question) -> str | None:
        """The knowledge-base topic the aspect model is confident the question asks about, if any."""
        if self.aspects is None:
            return None
        guess = self.aspects.guess(q.reading)
        return guess.aspect if guess.aspect in DRUG_TOPICS and guess.score >= GUESS_FLOOR else None

    def _guessed(self, q: _Question, drug: str) -> Answer | None:
        """The medicine's fact on the topic the aspect model is confident the question asks about."""
        topic = self._confident_topic(q)
        return answers.topic_answer(self.kb, drug, [topic_alternatives(topic)]) if topic else None

    def _asked_drug(self, q: _Question) -> str | None:
        """The medicine a question is about: named, else carried over from the conversation."""
        drug = q.drug or (q.drugs[0] if q.drugs else None) or q.turn.slot_drug
        return drug if drug in self.kb.drugs and drug != GENERAL else None

    def _uncovered(self, q: _Question, drug: str | None, aspect: Aspect) -> Reply:
        """An aspect the handouts don't cover; one a topic's fact covers for some medicines (how often) is
        answered by that fact when it does, else partly: what the handouts do say, clearly as that."""
        medicine = display_name(self.kb.drugs[drug]) if drug else None
        subject = aspect.named(medicine)
        if drug and aspect.partial_of and aspect.covered_when:
            found = answers.topic_answer(self.kb, drug, [(aspect.partial_of,)])
            if found and aspect.covered_when.search(" ".join(found.texts)):
                return self._reply_answer(found)
            if found:
                fact = " ".join(found.texts)
                reply = self._abstain(q.turn, "partial", drug, aspect.id, subject=subject, fact=fact)
                reply.data.update(topic=found.topic, sources=found.sources, facts=found.fact_keys)
                return reply
        return self._abstain(q.turn, "not_covered", drug, aspect.id, subject=subject)

    def _which(self, q: _Question) -> Reply | None:
        """ "Which medicines are pills?": answered from the medicines' attributes."""
        wording = q.reading.wording
        attribute = which_question(wording)
        if attribute and not q.drugs and (q.turn.intent == "ask_which" or asks_for_a_list(wording)):
            found = answers.which(self.kb, attribute)
            if found:
                return self._reply_answer(found)
        return None

    def _class_question(self, q: _Question) -> Reply | None:
        """One class and one topic ("how long do people stay on immune suppressing medicines", "are biologics
        shots"): the members' facts on it side by side. What a class is, or how it works, is the class's general
        fact (answered later), and so is a topic the class's own name implies ("immune" in "immune suppressants")."""
        named = [] if q.drugs else classes_in_text(q.reading.wording)
        if len(named) != 1:
            return None
        drug_class, words = named[0]
        rest = q.reading.wording.replace(words, " ")
        topics = [*topics_in_text(rest), *TOPIC_INTENTS.get(q.intent or "", ())]
        topic = topics[0] if topics else self._confident_topic(q)
        if topic is None or topic in CLASS_FACT_TOPICS or topic == class_topic(drug_class):
            return None
        wanted = topic_alternatives(topic)
        members = [d.id for d in self.kb.medicines() if d.drug_class == drug_class]
        members = [d for d in members if answers.find_fact(self.kb, d, wanted)]
        found = answers.compare(self.kb, members, [wanted]) if members else None
        return self._reply_answer(found) if found else None

    def _general_question(self, q: _Question) -> Reply | None:
        return self._general(q) if q.intent == GENERAL_INTENT and not q.drugs else None

    def _comparison(self, q: _Question) -> Reply | None:
        if len(q.drugs) < 2 or not (q.intent == "ask_compare" or sounds_like_comparison(q.reading.wording)):
            return None
        found = answers.compare(self.kb, q.drugs[:3], q.topics[:2] or [topic_alternatives(self._likely_topic(q))])
        return self._reply_answer(found) if found else None

    def _likely_topic(self, q: _Question) -> str:
        """The covered topic the aspect model rates most likely ("what it is" without the model)."""
        if self.aspects is None:
            return "what_is"
        return best_covered(self.aspects.guess(q.reading).scores, DRUG_TOPICS) or "what_is"

    def _topic_answer(self, q: _Question) -> Reply | None:
        """A medicine and a topic: that fact, or an honest "no information on that topic"."""
        if not (q.drug and q.topics):
            return None
        topics = q.topics
        if not q.topics_named and q.intent in TOPIC_INTENTS:
            topics = reranked(q.reading, q.drug, topics, self.retriever)
        found = answers.topic_answer(self.kb, q.drug, topics)
        if found:
            return self._reply_answer(found)
        label = answers.TOPIC_LABELS.get(topics[0][0], "that")
        medicine = display_name(self.kb.drugs[q.drug])
        return self._abstain(q.turn, "no_fact", q.drug, topics[0][0], topic=label, medicine=medicine)

    def _within_medicine(self, q: _Question) -> Reply | None:
        """A medicine without a topic: the closest of its facts, else what it is."""
        if not q.drug:
            return None
        hit = (
            None
            if only_names(q.reading.wording)
            else self._guessed(q, q.drug) or self._retrieve(q, [q.drug], DRUG_THRESHOLD)
        )
        found = hit or answers.topic_answer(self.kb, q.drug, [("what_is",)])
        return self._reply_answer(found) if found else None

    def _clarify_bare_topic(self, q: _Question) -> Reply | None:
        """ "What are the side effects?" with no medicine: ask which one."""
        return self._clarify(q.turn, q.topics[0][0]) if q.topics and not has_content(q.reading.wording) else None

    def _from_retrieval(self, q: _Question) -> Reply | None:
        wording = q.reading.wording
        if not q.drugs and not speaks_of_medicines(wording) and general_topic_in_text(wording) is None:
            return None  # nothing in it is about the medicines ("atopic vs contact dermatitis")
        hit = self._retrieve(q, [], RETRIEVAL_THRESHOLD)
        return self._reply_answer(hit) if hit is not None else None

    def _abstain(
        self, turn: Turn, reason: str, drug: str | None = None, aspect: str | None = None, **values: str
    ) -> Reply:
        """The abstain reply; ``drug`` and ``aspect`` (what was asked, when known) let content gaps be counted."""
        data = {"reason": reason, "drug": drug, "aspect": aspect}
        return Reply("abstain", [self._say(reason, turn, **values)], data, slots={"drug": drug} if drug else {})

    def _topics(self, intent: str | None, named: list[tuple[str, ...]], turn: Turn) -> list[tuple[str, ...]]:
        """Wanted topics, each as alternatives: named in the text, else from the intent, else carried over."""
        from_intent = TOPIC_INTENTS.get(intent or "")
        if from_intent and from_intent not in named and len(named) < 2:
            named = [from_intent, *named]
        # The boxed warning, pregnancy and interactions are said first; then the intent's topic, since the intent
        # read the whole question ("how often are labs drawn" asks for labs); then the order of the words.
        named = sorted(named, key=lambda t: (t[0] not in SAFETY_FIRST, t != from_intent))
        if not named and intent == "inform_drug" and turn.slot_topic:
            return [topic_alternatives(turn.slot_topic)]
        return named

    def _general(self, q: _Question) -> Reply:
        """A general-topic answer: the topic named in the wording, else the closest general fact; a clearly
        better fact about one medicine wins over both."""
        text, vectors = q.reading.masked, q.reading.vectors
        hits = self.retriever.search(text, top_k=1, vectors=vectors) if self.retriever else []
        if hits and hits[0].ref.drug.id != GENERAL and hits[0].score >= RETRIEVAL_THRESHOLD + GENERAL_MARGIN:
            ref = hits[0].ref
            found = answers.topic_answer(self.kb, ref.drug.id, [(ref.fact.topic,)])
            if found:
                return self._reply_answer(found)
        topic = general_topic_in_text(q.reading.wording)
        if topic is None and not speaks_of_medicines(q.reading.wording):
            return self._abstain(q.turn, "abstain")  # "does dairy cause eczema flares": not about the medicines
        if topic is None and self.retriever is not None:
            general = self.retriever.search(text, drugs=[GENERAL], top_k=1, vectors=vectors)
            if not general or general[0].score < GENERAL_FLOOR:
                return self._abstain(q.turn, "abstain")  # the classifier's "general" guess has nothing behind it
            topic = general[0].ref.fact.topic
        found = answers.topic_answer(self.kb, GENERAL, [(topic or DEFAULT_GENERAL_TOPIC,)])
        if found is None:
            raise LookupError(f"general topic {topic} has no fact")
        return self._reply_answer(found)

    def _retrieve(self, q: _Question, drugs: list[str], threshold: float) -> Answer | None:
        if self.retriever is None:
            return None
        hits = self.retriever.search(q.reading.masked, drugs=drugs, top_k=1, vectors=q.reading.vectors)
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


def _first_reply(steps: tuple[Callable[[_Question], Reply | None], ...], q: _Question) -> Reply | None:
    """The reply of the first step that has one; the order is the policy."""
    return next((reply for step in steps if (reply := step(q)) is not None), None)


@dataclasses.dataclass(frozen=True)
class _Question:
    """What the answer steps know about the message: the turn, its reading, the trusted intent, the medicines
    named (or carried by the NLU), the wanted topics and the medicine the answer is about."""

    turn: Turn
    reading: Reading
    intent: str | None  # None below INTENT_CONFIDENCE
    drugs: list[str]
    topics_named: bool  # the wording names a topic, or the readers' evidence was weighed: no reranking then
    topics: list[tuple[str, ...]]
    drug: str | None
