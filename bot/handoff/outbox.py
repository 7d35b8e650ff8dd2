"""Durable staff notifications: deliver the handoff outbox to the staff webhook.

Each ticket's notification row is written with the ticket (``bot.handoff.store``). Workers lease due
rows, POST a short summary, and mark the row sent; a failure only schedules a retry with exponential
backoff, so a webhook or network outage loses nothing. Leases keep two workers from sending the
same row. A crash between a successful POST and marking the row sent can still repeat that one POST
after the lease expires, so the payload carries ``ticket_id`` for the receiver to de-duplicate on.

The summary names urgency, reason and ticket id only, never the person's words or phone numbers.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.handoff.models import OutboxItem, StoreUnavailable, utcnow
from bot.handoff.store import HandoffStore

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

Post = Callable[[str, dict[str, Any]], None]

BASE_DELAY = 2.0  # seconds before the first retry; doubles per failed attempt
MAX_DELAY = 300.0
POST_TIMEOUT = 5.0
BATCH = 10
# Longer than a whole batch of timed-out POSTs, so a live worker never loses its lease mid-batch.
LEASE_SECONDS = BATCH * POST_TIMEOUT * 2 + 20

_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_no_url_warned = False


class WebhookError(RuntimeError):
    def __init__(self, status: int) -> None:
        super().__init__(f"webhook answered HTTP {status}")
        self.status = status


def http_post(url: str, payload: dict[str, Any]) -> None:
    """POST JSON to the webhook; raise on a network error or a non-2xx answer."""
    import requests

    resp = requests.post(url, json=payload, timeout=POST_TIMEOUT)
    if not 200 <= resp.status_code < 300:
        raise WebhookError(resp.status_code)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_text(item: OutboxItem) -> str:
    """One Slack-compatible line: urgency, reason, ticket id (reason is scrubbed of numbers)."""
    reason = _PHONE.sub("[number]", " ".join(item.reason.split()))[:160] or "not given"
    return (
        f"[{item.urgency.upper()}] New patient handoff ({item.channel}): {_slack_escape(reason)}"
        f" - ticket {item.ticket_id}. Open the staff inbox to respond."
    )


def build_payload(item: OutboxItem) -> dict[str, Any]:
    return {"text": summary_text(item), "ticket_id": item.ticket_id, "urgency": item.urgency}


def backoff_delay(attempts: int, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait after the attempts-th failure: base, 2*base, 4*base, ... capped."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def _describe(exc: Exception) -> str:
    # Never the exception text: it can contain the webhook URL, which is a secret for Slack.
    if isinstance(exc, WebhookError):
        return f"HTTP {exc.status}"
    return type(exc).__name__


def _warn_no_url() -> None:
    global _no_url_warned
    if not _no_url_warned:
        _no_url_warned = True
        log.warning("STAFF_WEBHOOK_URL is not set: staff notifications stay queued until it is")


def deliver_pending(
    store: HandoffStore,
    post: Post,
    now: datetime | None = None,
    *,
    url: str,
    base_delay: float = BASE_DELAY,
    max_delay: float = MAX_DELAY,
    batch: int = BATCH,
    max_batches: int = 20,
) -> int:
    """Send due notifications once each; returns how many were delivered.

    now: the clock used for due times and backoff (tests pass a fake one).
    """
    if not url:
        _warn_no_url()
        return 0
    now = now or utcnow()
    sent = 0
    for _ in range(max_batches):
        items = store.claim_outbox(now, limit=batch, lease_seconds=LEASE_SECONDS)
        for item in items:
            try:
                post(url, build_payload(item))
            except Exception as exc:  # any failure: retry later, never drop
                attempts = item.attempts + 1
                delay = backoff_delay(attempts, base_delay, max_delay)
                store.mark_failed(item, now + timedelta(seconds=delay), _describe(exc))
                log.warning(
                    "staff notification for ticket %s failed (attempt %d, %s); retry in %.1fs",
                    item.ticket_id,
                    attempts,
                    _describe(exc),
                    delay,
                )
                continue
            if store.mark_sent(item, now):
                sent += 1
                log.info("staff notified of ticket %s", item.ticket_id)
            else:
                log.warning("lease on ticket %s notification expired while sending", item.ticket_id)
        if len(items) < batch:
            break
    return sent


def run_worker(
    store: HandoffStore,
    settings: Settings,
    stop_event: threading.Event,
    *,
    post: Post = http_post,
    interval: float = 1.0,
    base_delay: float = BASE_DELAY,
    max_delay: float = MAX_DELAY,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Until stop_event is set: move spooled tickets into the store, deliver due notifications."""
    url = settings.staff_webhook_url.get_secret_value()
    if not url:
        _warn_no_url()
    store_down = False
    while not stop_event.is_set():
        try:
            store.flush_spool()
            deliver_pending(store, post, clock(), url=url, base_delay=base_delay, max_delay=max_delay)
            if store_down:
                log.info("handoff store reachable again")
            store_down = False
        except StoreUnavailable:
            if not store_down:
                log.warning("handoff store unreachable; notifications wait until it is back")
            store_down = True
        except Exception:
            log.exception("outbox worker cycle failed")
        stop_event.wait(interval)


@dataclass
class WorkerHandle:
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def start_worker(store: HandoffStore, settings: Settings, **options: Any) -> WorkerHandle:
    """Run run_worker in a daemon thread; call .stop() on shutdown."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(store, settings, stop_event),
        kwargs=options,
        name="handoff-outbox",
        daemon=True,
    )
    thread.start()
    return WorkerHandle(thread, stop_event)
