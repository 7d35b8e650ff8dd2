"""The optional portal webhook: tells the patient portal a care-team reply is waiting in a signed-in chat.

POST PORTAL_WEBHOOK_URL with ``{"ticket_id": ..., "event": "care_team_reply"}`` (never the text), signed with
PORTAL_WEBHOOK_SECRET: ``X-Portal-Timestamp: <unix seconds>`` and ``X-Portal-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>">``, so the portal can check it came from the clinic and is fresh. It runs in the background:
a failure is logged (no ticket text) and never holds up or undoes the reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time

from bot.settings import Settings

log = logging.getLogger(__name__)

EVENT = "care_team_reply"
TIMEOUT = 5.0
_pending: set[asyncio.Task[None]] = set()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post(url: str, secret: str, ticket_id: str, now: float | None = None) -> int:
    """Send one notification (blocking); the HTTP status, or an exception for a network failure."""
    import requests

    body = json.dumps({"ticket_id": ticket_id, "event": EVENT}, separators=(",", ":")).encode()
    timestamp = str(int(time.time() if now is None else now))
    headers = {
        "Content-Type": "application/json",
        "X-Portal-Timestamp": timestamp,
        "X-Portal-Signature": signature(secret, timestamp, body),
    }
    return requests.post(url, data=body, headers=headers, timeout=TIMEOUT).status_code


async def _notify(url: str, secret: str, ticket_id: str) -> None:
    try:
        status = await asyncio.to_thread(post, url, secret, ticket_id)
    except Exception as exc:
        log.warning("portal webhook for ticket %s failed: %s", ticket_id, type(exc).__name__)
        return
    if not 200 <= status < 300:
        log.warning("portal webhook for ticket %s answered HTTP %d", ticket_id, status)


def notify_soon(settings: Settings, ticket_id: str) -> None:
    """Start the notification in the background (call it from the event loop); nothing when not configured."""
    url = settings.portal_webhook_url.get_secret_value()
    if not url:
        return
    secret = settings.portal_webhook_secret.get_secret_value()
    if not secret:
        log.warning("PORTAL_WEBHOOK_URL is set without PORTAL_WEBHOOK_SECRET: the portal is not notified")
        return
    task = asyncio.get_running_loop().create_task(_notify(url, secret, ticket_id))
    _pending.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_pending.discard)
