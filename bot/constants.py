"""Constants both processes share: the Rasa server (Python 3.10) and the action server and tools (3.11).

Standard library only, and nothing here reads the environment (that is bot/settings.py and
bot/rasa_server/settings.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal

ROOT: Final = Path(__file__).resolve().parent.parent

DEFAULT_CLINIC_NAME: Final = "the eczema clinic"
DEFAULT_CLINIC_PHONE: Final = "555-0100"

# --- urgency of a handoff ---------------------------------------------------------------------------------------

Urgency = Literal["emergency", "urgent", "routine"]
URGENCIES: Final[tuple[Urgency, ...]] = ("emergency", "urgent", "routine")  # most urgent first
# Higher is more urgent: routine 0, urgent 1, emergency 2.
URGENCY_RANK: Final[Mapping[str, int]] = MappingProxyType({name: rank for rank, name in enumerate(reversed(URGENCIES))})

# --- NLU intent confidence --------------------------------------------------------------------------------------
# Three decisions, three thresholds (a wrong escalation costs staff time, a wrong topic only a worse answer):
# below ANSWER_INTENT_CONFIDENCE an answer intent is only a hint and retrieval picks the fact (and "delete my
# data" is not acted on); a safety intent (symptom, dose change, ...) escalates to staff from
# SAFETY_INTENT_CONFIDENCE; the emergency intent alone, without a red-flag phrase, from EMERGENCY_INTENT_CONFIDENCE.
ANSWER_INTENT_CONFIDENCE: Final = 0.6
SAFETY_INTENT_CONFIDENCE: Final = 0.7
EMERGENCY_INTENT_CONFIDENCE: Final = 0.8

# --- SMS ------------------------------------------------------------------------------------------------------------

SMS_LIMIT: Final = 306  # two concatenated GSM-7 segments of 153 septets
# Ends the first part of a long answer; the person replies MORE for the rest (kept in the sms_more slot).
SMS_MORE: Final = " Reply MORE for more."
# Buttons become "Reply 1 for ..., 2 for ..."; the assistant maps the digit back (its `choices` slot holds
# at most this many payloads), and five names still leave room for the question in two segments.
SMS_MAX_CHOICES: Final = 5
# The message-metadata key under which the SMS channel passes the sender's number, sealed (bot/sealing.py), to the
# action server: the ticket's way back for a staff reply. Never the number itself.
REPLY_TO_METADATA: Final = "reply_to"

# --- Metrics --------------------------------------------------------------------------------------------------------

# The reply contract's kinds (README); metrics label a turn with one of these, or "other".
REPLY_KINDS: Final = frozenset({"answer", "clarify", "abstain", "chitchat", "handoff", "erased", "continuation"})
METRIC_CHANNELS: Final = frozenset({"rest", "web", "sms"})

# The word that stands for a medicine name in what the encoders see (the intent classifier masks the `drug`
# entities, the action server the names it matches), so both sides encode the same text.
NAME_MASK: Final = "medicine"
