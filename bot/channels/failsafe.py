"""A reply for every message, even when the action server is down, slow or failing.

Rasa logs a failing custom action and sends nothing back; these helpers wrap a channel's call into Rasa so the
person always gets the clinic phone and emergency guidance instead of silence or a 500.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

REPLY_TIMEOUT = float(os.environ.get("REPLY_TIMEOUT_SECONDS", "20"))
MAX_MESSAGE_CHARS = 4000


def fallback_messages(reason: str = "unavailable") -> list[dict[str, Any]]:
    phone = os.environ.get("CLINIC_PHONE", "555-0100")
    text = (
        "Sorry, I can't answer right now. For questions about your medicines call the clinic at "
        f"{phone}. In an emergency, call 911."
    )
    return [{"text": text}, {"custom": {"kind": "abstain", "reason": reason, "clinic_phone": phone}}]


def too_long_messages() -> list[dict[str, Any]]:
    text = f"That message is too long for me (over {MAX_MESSAGE_CHARS} characters). Please ask one short question."
    return [{"text": text}, {"custom": {"kind": "abstain", "reason": "too_long"}}]


def clean_text(text: str) -> str:
    """Drop control characters (keeping newlines and tabs as spaces)."""
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


async def reply_safely(
    handle: Callable[[], Awaitable[Any]], collected: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Run the message through Rasa; fall back when it fails, times out or produced no reply contract."""
    try:
        await asyncio.wait_for(handle(), timeout=REPLY_TIMEOUT)
    except asyncio.TimeoutError:
        log.error("reply timed out after %.0fs; sending the fallback", REPLY_TIMEOUT)
        return [*collected(), *fallback_messages("timeout")]
    except Exception:  # any failure inside Rasa must still give the person a reply
        log.exception("message handling failed; sending the fallback")
        return [*collected(), *fallback_messages()]
    messages = collected()
    if not any(isinstance(m.get("custom"), dict) and m["custom"].get("kind") for m in messages):
        log.error("no reply from the action server; sending the fallback")
        return [*messages, *fallback_messages()]
    return messages
