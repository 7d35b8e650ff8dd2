"""The SMS opt-outs, read by the staff app before it texts anyone: a number that sent STOP gets no reply.

The Rasa SMS channel keeps them (bot/rasa_server/channels/optout.py) keyed by the number's keyed hash, the same
``sms_sender_id`` (bot/rasa_server/channels/identity.py) with SMS_ID_SECRET, or TWILIO_AUTH_TOKEN when unset; for an
SMS ticket it is also the conversation id. So the staff app needs the same settings as the channel: SMS_OPTOUT_DB
(SQLite) or DATABASE_URL (PostgreSQL: the ``sms_optout`` table beside the tickets). It only reads, and fails
closed: when the list can't be read, nothing is sent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.handoff.store import HandoffStore
from bot.rasa_server.channels.identity import sms_sender_id
from bot.settings import Settings


class OptOutsUnavailable(RuntimeError):
    """The opt-out list could not be read."""


def optout_key(number: str, settings: Settings) -> str:
    secret = settings.sms_id_secret.get_secret_value() or settings.twilio_auth_token.get_secret_value()
    if not secret:
        raise OptOutsUnavailable("neither SMS_ID_SECRET nor TWILIO_AUTH_TOKEN is set")
    return sms_sender_id(number, secret)


def _sqlite_has(path: Path, key: str) -> bool:
    if not path.exists():
        return False  # the channel has never recorded an opt-out
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sms_optout'").fetchone()
            if table is None:
                return False
            return conn.execute("SELECT 1 FROM sms_optout WHERE number_hash = ?", (key,)).fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise OptOutsUnavailable(f"the opt-out file could not be read ({type(exc).__name__})") from None


def _postgres_has(store: HandoffStore, key: str) -> bool:
    try:
        with store._tx(write=False) as c:
            if c.rows("SELECT to_regclass('sms_optout')") in ([], [(None,)]):
                return False
            return bool(c.rows("SELECT 1 FROM sms_optout WHERE number_hash = ?", (key,)))
    except Exception as exc:
        raise OptOutsUnavailable(f"the opt-out table could not be read ({type(exc).__name__})") from None


def is_opted_out(number: str, settings: Settings, store: HandoffStore) -> bool:
    """True when the number opted out of the SMS line (blocking); OptOutsUnavailable when that can't be known."""
    key = optout_key(number, settings)
    if settings.database_url.get_secret_value():
        return _postgres_has(store, key)
    return _sqlite_has(settings.sms_optout_db, key)
