"""Records each abstention (a question the handouts don't answer) as a content gap for the clinicians.

What is recorded is the medicine id and the aspect asked, never the message. Abstain replies that carry
``custom.drug`` / ``custom.aspect`` are taken at their word (null included); otherwise the medicine comes from the
reply's slots or the NLU's drug entity, and the aspect from a confident topic intent.
Recording never changes or breaks the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.constants import ANSWER_INTENT_CONFIDENCE
from bot.conversation.types import Reply, Turn
from bot.conversation.understanding import TOPIC_INTENTS
from bot.handoff.gaps import Gap

log = logging.getLogger(__name__)


def gap_of(turn: Turn, reply: Reply) -> Gap | None:
    """The content gap an abstain reply stands for; None for any other reply."""
    if reply.kind != "abstain":
        return None
    custom: dict[str, Any] = reply.custom
    reason = str(custom.get("reason") or "abstain")
    if "drug" in custom:
        drug = custom["drug"]
    else:
        drug = reply.slots.get("drug") or next(iter(turn.entity_drugs), None)
    if "aspect" in custom:
        aspect = custom["aspect"]
    elif turn.intent in TOPIC_INTENTS and turn.confidence >= ANSWER_INTENT_CONFIDENCE:
        aspect = TOPIC_INTENTS[turn.intent][0]
    else:
        aspect = None
    return Gap(drug=str(drug) if drug else None, aspect=str(aspect) if aspect else None, reason=reason)


class GapRecorder:
    """Calls ``record`` (e.g. ``functools.partial(record_gap, store)``) once per abstain reply."""

    def __init__(self, record: Callable[[Gap], None]) -> None:
        self._record = record

    def __call__(self, turn: Turn, reply: Reply) -> None:
        try:
            gap = gap_of(turn, reply)
            if gap is not None:
                self._record(gap)
        except Exception:  # a content-gap count is never worth a failed reply
            log.exception("could not record a content gap")
