"""Builds the one Assistant a process uses, with real models and stores. Called lazily, warmed at start."""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache, partial

from bot import metrics
from bot.conversation.assistant import Assistant
from bot.conversation.gaps import GapRecorder
from bot.conversation.types import Reply, Turn
from bot.handoff.outcomes import FALLBACK, OutcomeRecorder, outcome_of
from bot.knowledge.loader import default_knowledge_base
from bot.settings import get_settings

log = logging.getLogger(__name__)


class RecordingAssistant(Assistant):
    """The assistant, with each abstention counted as a content gap (bot.conversation.gaps), each conversation's
    outcome per day for the dashboard (bot.handoff.outcomes; an exception is a fallback, since the channel then
    sends its fallback reply) and each turn in the metrics (bot.metrics: reply kind, handoff urgency, time)."""

    gaps: GapRecorder | None = None
    outcomes: OutcomeRecorder | None = None

    def respond(self, turn: Turn) -> Reply:
        try:
            with metrics.timed("respond"):
                reply = super().respond(turn)
        except Exception:
            if self.outcomes is not None:
                self.outcomes(turn.conversation_id, FALLBACK)
            raise
        metrics.count_turn(turn.channel, reply.kind, reply.data.get("urgency"))
        if self.gaps is not None:
            self.gaps(turn, reply)
        if self.outcomes is not None:
            self.outcomes(turn.conversation_id, outcome_of(reply.kind))
        return reply


@lru_cache(maxsize=1)
def get_assistant() -> Assistant:
    from bot.conversation.aspects import AspectModel
    from bot.conversation.timed import TimedRetriever, TimedScreen
    from bot.conversation.topics import topic_weights
    from bot.encoder import get_encoder
    from bot.handoff import clinic_hours
    from bot.handoff.gaps import record_gap
    from bot.handoff.outcomes import record_outcome
    from bot.handoff.store import open_store
    from bot.nlp.names import NameMatcher

    settings = get_settings()
    kb = default_knowledge_base()
    encoder = get_encoder()
    names = NameMatcher(kb.names())
    screen = TimedScreen(encoder, kb.medicine_safety(), names=names)
    retriever = TimedRetriever(kb, encoder, settings.cache_dir / "kb-embeddings.npz")

    def response_time(urgency: str, now: dt.datetime) -> str:
        return clinic_hours.response_time_text(urgency, now, settings)

    store = open_store(settings)
    aspects = AspectModel(kb, encoder, names, settings.cache_dir / "aspect-embeddings.npz")
    assistant = RecordingAssistant(
        kb, settings, names, screen, retriever, store, response_time, aspects=aspects, topic_weights=topic_weights()
    )
    assistant.gaps = GapRecorder(partial(record_gap, store))
    assistant.outcomes = OutcomeRecorder(partial(record_outcome, store), lambda: store.clock().date())
    return assistant


def warm_up() -> None:
    """Load models and embed the knowledge base once, before the first message."""
    assistant = get_assistant()
    assistant.safety.warm_up()  # type: ignore[attr-defined]
    assistant.retriever.warm_up()  # type: ignore[union-attr]
    assistant.aspects.warm_up()  # type: ignore[union-attr]
    assistant.names.find("methotrexate")
    log.info("assistant ready: %d medicines", len(assistant.kb.drugs))
