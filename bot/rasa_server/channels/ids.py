"""Conversation ids belong to their channel: each channel forms its ids in its own namespace, and the REST
channel, the only one whose callers name the conversation, refuses ids in another channel's namespace."""

from __future__ import annotations

import unicodedata

from bot.rasa_server.channels.common import BadText
from bot.rasa_server.channels.identity import SMS, WEB_ANONYMOUS, WEB_SIGNED_IN

__all__ = ["RESERVED", "SMS", "WEB_ANONYMOUS", "WEB_SIGNED_IN", "rest_sender"]

RESERVED = (WEB_ANONYMOUS, WEB_SIGNED_IN, SMS)
MAX_SENDER_CHARS = 128


def rest_sender(raw: object) -> str:
    """A REST caller's sender id, or BadText: not a string, empty, too long, control characters, another channel's."""
    if not isinstance(raw, str) or not 0 < len(raw.strip()) <= MAX_SENDER_CHARS:
        message = f'"sender" must be a non-empty string of at most {MAX_SENDER_CHARS} characters.'
        raise BadText("invalid_sender", message)
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in raw):
        raise BadText("invalid_sender", '"sender" contains control characters.')
    if raw.strip().casefold().startswith(RESERVED):
        raise BadText("sender_reserved", '"sender" is in another channel\'s namespace (web-, web:, sms:).')
    return raw
