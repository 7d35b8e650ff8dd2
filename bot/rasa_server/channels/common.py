"""What the web and SMS channels share: running one bot turn safely and checking incoming text."""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sqlalchemy import text

from bot.rasa_server import logfmt, metrics
from bot.rasa_server.fallback import fallback_messages, fallback_text

log = logging.getLogger(__name__)

__all__ = ["fallback_messages", "fallback_text"]

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
MAX_MESSAGE_CHARS = 2000
_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


class BadText(ValueError):
    """Incoming text the bot must not see; the message says why, in words a person understands."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def clean_text(raw: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The user's message as one trimmed line, or BadText (empty, too long, control characters)."""
    if not isinstance(raw, str):
        raise BadText("message_missing", 'Send your question as text in the "message" field.')
    if any(unicodedata.category(ch) == "Cs" for ch in raw):
        raise BadText("invalid_text", "The message contains characters that are not valid text.")
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in raw):
        raise BadText("control_characters", "The message contains control characters. Please type plain text.")
    text = " ".join(raw.split())
    if not text:
        raise BadText("message_empty", "The message is empty. Please type a question.")
    if len(text) > limit:
        raise BadText("message_too_long", f"The message is too long. Please keep it under {limit:,} characters.")
    return text


async def run_turn(
    on_new_message: OnNewMessage,
    text: str,
    sender_id: str,
    channel: str,
    timeout: float,
    request_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Send one message to the bot and return what it said (what it managed to say if it failed or timed out).

    The turn gets a request id (`request_id`, e.g. the X-Request-ID header, if valid; else a fresh one): in the
    message metadata, which Rasa passes to the action server, and in this turn's log lines.
    Counts the turn (bot/rasa_server/metrics.py): its reply kind, or the fallback the caller adds and why.
    `metadata`: more for the action server (the SMS channel's sealed way back to the sender).
    """
    rid = logfmt.new_request_id(request_id)
    collector = CollectingOutputChannel()
    message = UserMessage(
        text, collector, sender_id, input_channel=channel, metadata={**(metadata or {}), logfmt.METADATA_KEY: rid}
    )
    started, cause = time.monotonic(), None
    with logfmt.request_id_scope(rid):
        try:
            await asyncio.wait_for(on_new_message(message), timeout=timeout)
        except asyncio.TimeoutError:
            cause = "timeout"
            log.error("%s turn %s timed out after %.0fs", channel, rid, timeout)
        except Exception as exc:  # the caller adds the fallback reply; never a 5xx
            cause = "error"
            log.error("%s turn %s failed: %s", channel, rid, type(exc).__name__)
            log.debug("turn failure", exc_info=True)
    messages = list(collector.messages)
    if cause is None and not has_reply(messages):
        cause = "no_reply"  # e.g. the action server is down: Rasa logs it and says nothing
    metrics.count_turn(channel, messages, cause if not has_reply(messages) else None, time.monotonic() - started)
    return messages


def has_reply(messages: list[dict[str, Any]]) -> bool:
    """True when the turn produced the reply contract: text and a custom message with a kind."""
    return any(m.get("text") for m in messages) and any(
        isinstance(m.get("custom"), dict) and m["custom"].get("kind") for m in messages
    )


def erase_requested(messages: list[dict[str, Any]]) -> bool:
    """The assistant confirmed a "delete my data" request in this turn."""
    return any(isinstance(m.get("custom"), dict) and m["custom"].get("kind") == "erased" for m in messages)


def erase_conversation(tracker_store: Any, sender_id: str) -> None:
    """Delete a conversation from Rasa's tracker store, after its last turn was saved (Rasa has no API for it)."""
    store = getattr(tracker_store, "_tracker_store", tracker_store)  # FailSafeTrackerStore wraps the real one
    if hasattr(store, "session_scope") and hasattr(store, "SQLEvent"):
        with store.session_scope() as session:
            session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender_id).delete()
            session.commit()
            if session.get_bind().dialect.name == "sqlite":
                _truncate_wal(session)
    elif isinstance(getattr(store, "store", None), dict):
        store.store.pop(sender_id, None)
    else:
        log.error("cannot erase a conversation from %s", type(store).__name__)
        return
    log.info("conversation erased on request")


def _truncate_wal(session: Any) -> None:
    """Copy the write-ahead log into the database and empty it: until then the WAL holds the erased text.

    The rows themselves are zeroed by secure_delete (bot/rasa_server/tracker_store.py). On PostgreSQL a deleted row
    stays in the table's file until VACUUM reuses the space (README, Privacy).
    """
    busy, _frames, _done = session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    if busy:  # another connection is reading: the next erase or `make purge` truncates it
        log.warning("the tracker store's write-ahead log could not be truncated after an erase")


async def finish_turn(app: Any, sender_id: str, messages: list[dict[str, Any]]) -> None:
    """Work a channel does once a turn's reply is known: erase the conversation when the person asked."""
    if not erase_requested(messages):
        return
    try:
        erase_conversation(app.ctx.agent.tracker_store, sender_id)
    except Exception:  # the reply still goes out; the failure is for the on-call engineer
        log.exception("erasing a conversation failed")
