"""Builds the one Assistant a process uses, with real models and stores. Called lazily, warmed at start."""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache, partial

from bot import metrics
from bot.conversation.assistant import Assistant
from bot.conversation.gaps import GapRecorder
from bot.conversation.types import Reply, Turn
from bot.knowledge.loader import default_knowledge_base
from bot.settings import get_settings

log = logging.getLogger(__name__)


class RecordingAssistant(Assistant):
    """The assistant, with each abstention counted as a content gap (bot.conversation.gaps) and each turn in
    the metrics (bot.metrics: reply kind, handoff urgency, time to respond)."""

    gaps: GapRecorder | None = None

    def respond(self, turn: Turn) -> Reply:
        with metrics.timed("respond"):
            reply = super().respond(turn)
        metrics.count_turn(turn.channel, reply.kind, reply.data.get("urgency"))
        if self.gaps is not None:
            self.gaps(turn, reply)
        return reply


@lru_cache(maxsize=1)
def get_assistant() -> Assistant:
    from bot.conversation.aspects import AspectModel
    from bot.conversation.timed import TimedRetriever, TimedScreen
    from bot.encoder import get_encoder
    from bot.handoff import clinic_hours
    from bot.handoff.gaps import record_gap
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
    assistant = RecordingAssistant(kb, settings, names, screen, retriever, store, response_time, aspects=aspects)
    assistant.gaps = GapRecorder(partial(record_gap, store))
    return assistant


def warm_up() -> None:
    """Load models and embed the knowledge base once, before the first message."""
    assistant = get_assistant()
    assistant.safety.warm_up()  # type: ignore[attr-defined]
    assistant.retriever.warm_up()  # type: ignore[union-attr]
    assistant.aspects.warm_up()  # type: ignore[union-attr]
    assistant.names.find("methotrexate")
    log.info("assistant ready: %d medicines", len(assistant.kb.drugs))
