"""How conversations end, per day, for the dashboard: answered, abstained, handed off or fallback. Counts only.

The action server records one row per (UTC day, outcome, conversation) in ``conversation_outcomes``: the
conversation as a SHA-256 hash of its id (the id itself, e.g. the channel's sender id, is never stored), no text.
A conversation that had several outcomes in a day counts once, under the one that most needs attention
(``OUTCOMES`` order): a handoff, else a fallback, else an abstention, else an answer. Rows go with the tickets'
retention (``HandoffStore.purge``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import date, timedelta

from bot.handoff.store import HandoffStore

log = logging.getLogger(__name__)

OUTCOMES = ("handed_off", "fallback", "abstained", "answered")  # precedence: first wins within a day
# Each reply kind (bot.constants.REPLY_KINDS) mapped explicitly; None: not an outcome of the conversation (a
# greeting, a "which medicine?" question, the rest of an SMS answer after "MORE" - already counted - or an erasure).
KIND_OUTCOMES: dict[str, str | None] = {
    "answer": "answered",
    "abstain": "abstained",
    "handoff": "handed_off",
    "clarify": None,
    "chitchat": None,
    "continuation": None,
    "erased": None,
}
# The assistant raised: the channel sends its fallback reply (the clinic phone) instead.
FALLBACK = "fallback"
_RANK = "CASE outcome " + " ".join(f"WHEN '{o}' THEN {i}" for i, o in enumerate(OUTCOMES)) + " END"


def conversation_hash(conversation_id: str) -> str:
    return hashlib.sha256(f"conversation:{conversation_id}".encode()).hexdigest()


def outcome_of(kind: str) -> str | None:
    """The outcome a reply kind stands for (None: none)."""
    if kind not in KIND_OUTCOMES:
        log.warning("reply kind %r has no conversation outcome (bot/handoff/outcomes.py KIND_OUTCOMES)", kind)
        return None
    return KIND_OUTCOMES[kind]


def record_outcome(store: HandoffStore, conversation_id: str, outcome: str, day: date | None = None) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    when = (day or store.clock().date()).isoformat()
    with store._tx() as c:
        c.run(
            "INSERT INTO conversation_outcomes (day, outcome, conversation) VALUES (?, ?, ?) "
            "ON CONFLICT (day, outcome, conversation) DO NOTHING",
            (when, outcome, conversation_hash(conversation_id)),
        )


def outcomes_per_day(store: HandoffStore, days: int) -> dict[str, dict[str, int]]:
    """{day: {outcome: conversations}} for the last ``days`` UTC days (today included), every day and outcome."""
    if days < 1:
        raise ValueError("days must be >= 1")
    today = store.clock().date()
    since = today - timedelta(days=days - 1)
    with store._tx(write=False) as c:
        rows = c.rows(
            "SELECT day, r, COUNT(*) FROM (SELECT day, conversation, MIN(" + _RANK + ") AS r "  # nosec B608  # fixed SQL
            "FROM conversation_outcomes WHERE day >= ? AND day <= ? GROUP BY day, conversation) q GROUP BY day, r",
            (since.isoformat(), today.isoformat()),
        )
    table = {(since + timedelta(days=i)).isoformat(): dict.fromkeys(OUTCOMES, 0) for i in range(days)}
    for day, rank, n in rows:
        table[str(day)][OUTCOMES[int(rank)]] = int(n)
    return table


class OutcomeRecorder:
    """Calls ``record(conversation_id, outcome, day)`` (e.g. ``functools.partial(record_outcome, store)``) once per
    conversation, outcome and day seen by this process; a failure is logged, never raised."""

    def __init__(
        self, record: Callable[[str, str, date], None], clock: Callable[[], date], remember: int = 50_000
    ) -> None:
        self._record = record
        self._clock = clock
        self._seen: set[tuple[str, str, str]] = set()
        self._remember = remember

    def __call__(self, conversation_id: str, outcome: str | None) -> None:
        if outcome is None:
            return
        try:
            day = self._clock()
            key = (day.isoformat(), outcome, conversation_id)
            if key in self._seen:
                return
            self._record(conversation_id, outcome, day)
            if len(self._seen) >= self._remember:
                self._seen.clear()
            self._seen.add(key)
        except Exception:  # a dashboard count is never worth a failed reply
            log.exception("could not record a conversation outcome")
