"""SMS opt-outs, kept across restarts and shared by replicas: SQLite file, or PostgreSQL when DATABASE_URL is set.

Keyed by the hashed phone number (the raw number is never stored). Opt-outs are a compliance record: they are
not subject to the conversation retention purge. The same store remembers each delivered message (its
MessageSid, and Twilio's idempotency token) for SMS_REPLAY_TTL so a replayed or retried request is not a new turn;
entries older than that are pruned whenever a message arrives.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from bot.rasa_server.settings import ChannelSettings

log = logging.getLogger(__name__)

_CREATE = "CREATE TABLE IF NOT EXISTS sms_optout (number_hash TEXT PRIMARY KEY, opted_out_at TEXT NOT NULL)"
_CREATE_SEEN = "CREATE TABLE IF NOT EXISTS sms_seen (message_key TEXT PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL)"
_PRUNE = "DELETE FROM sms_seen WHERE seen_at < {}"
_REMEMBER = "INSERT INTO sms_seen (message_key, seen_at) VALUES ({0}, {0}) ON CONFLICT (message_key) DO NOTHING"


class OptOutBackend(Protocol):
    def is_opted_out(self, key: str) -> bool: ...

    def opt_out(self, key: str) -> bool:
        """Record the opt-out; True when the number was not opted out before."""
        ...

    def opt_in(self, key: str) -> bool:
        """Remove the opt-out; True when the number was opted out."""
        ...

    def first_delivery(self, keys: list[str], now: float, ttl: float) -> bool:
        """Remember the message keys (pruning entries older than `ttl`); True when none of them was seen."""
        ...


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class SqliteOptOuts:
    """One small table in a SQLite file; several processes on one host can share the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        if not self._ready:
            conn.execute(_CREATE)
            conn.execute(_CREATE_SEEN)
            self._ready = True
        return conn

    def is_opted_out(self, key: str) -> bool:
        conn = self._connect()
        try:
            return conn.execute("SELECT 1 FROM sms_optout WHERE number_hash = ?", (key,)).fetchone() is not None
        finally:
            conn.close()

    def opt_out(self, key: str) -> bool:
        conn = self._connect()
        try:
            cur = conn.execute(
                "INSERT INTO sms_optout (number_hash, opted_out_at) VALUES (?, ?) ON CONFLICT (number_hash) DO NOTHING",
                (key, _now()),
            )
            return cur.rowcount == 1
        finally:
            conn.close()

    def opt_in(self, key: str) -> bool:
        conn = self._connect()
        try:
            return conn.execute("DELETE FROM sms_optout WHERE number_hash = ?", (key,)).rowcount > 0
        finally:
            conn.close()

    def first_delivery(self, keys: list[str], now: float, ttl: float) -> bool:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_PRUNE.format("?"), (now - ttl,))
            new = [conn.execute(_REMEMBER.format("?"), (k, now)).rowcount for k in keys]
            conn.execute("COMMIT")
            return all(n == 1 for n in new)
        finally:
            conn.close()


class PostgresOptOuts:
    """The same table in PostgreSQL (psycopg2, in the Rasa venv), for several hosts."""

    def __init__(self, url: str, connect_timeout: int = 5) -> None:
        self.url = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)
        self.connect_timeout = connect_timeout
        self._ready = False

    def _run(self, sql: str, args: tuple[Any, ...]) -> Any:
        return self._run_all([(sql, args)])[-1]

    def _run_all(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Each statement's first row (queries) or row count, in one transaction."""
        import psycopg2  # only in the Rasa venv; imported when PostgreSQL is actually used

        conn = psycopg2.connect(self.url, connect_timeout=self.connect_timeout)
        try:
            if not self._ready:
                conn.autocommit = True
                with conn.cursor() as cur:
                    for create in (_CREATE, _CREATE_SEEN):
                        try:
                            cur.execute(create)
                        except psycopg2.IntegrityError:  # another replica created it at the same moment
                            pass
                self._ready = True
            conn.autocommit = False
            results = []
            with conn.cursor() as cur:
                for sql, args in statements:
                    cur.execute(sql, args)
                    results.append(cur.fetchone() if cur.description else cur.rowcount)
            conn.commit()
            return results
        finally:
            conn.close()

    def is_opted_out(self, key: str) -> bool:
        return self._run("SELECT 1 FROM sms_optout WHERE number_hash = %s", (key,)) is not None

    def opt_out(self, key: str) -> bool:
        sql = "INSERT INTO sms_optout (number_hash, opted_out_at) VALUES (%s, %s) ON CONFLICT (number_hash) DO NOTHING"
        return bool(self._run(sql, (key, _now())) == 1)

    def opt_in(self, key: str) -> bool:
        return bool(self._run("DELETE FROM sms_optout WHERE number_hash = %s", (key,)))

    def first_delivery(self, keys: list[str], now: float, ttl: float) -> bool:
        inserts = [(_REMEMBER.format("%s"), (k, now)) for k in keys]
        counts = self._run_all([(_PRUNE.format("%s"), (now - ttl,)), *inserts])
        return all(n == 1 for n in counts[1:])


class OptOuts:
    """Async access to a backend. If the backend fails, opt-outs made meanwhile are still honoured by this process."""

    def __init__(self, backend: OptOutBackend) -> None:
        self.backend = backend
        self._unsaved: set[str] = set()
        self._seen: dict[str, float] = {}  # message keys seen while the store was down

    async def is_opted_out(self, key: str) -> bool:
        try:
            return key in self._unsaved or await asyncio.to_thread(self.backend.is_opted_out, key)
        except Exception as exc:
            log.error("opt-out store unavailable (%s); using this process's record", type(exc).__name__)
            return key in self._unsaved

    async def opt_out(self, key: str) -> bool:
        try:
            newly = await asyncio.to_thread(self.backend.opt_out, key)
        except Exception as exc:
            log.error("opt-out store unavailable (%s); opt-out kept in memory only", type(exc).__name__)
            newly = key not in self._unsaved
            self._unsaved.add(key)
            return newly
        if key in self._unsaved:
            self._unsaved.discard(key)
            return False
        return bool(newly)

    async def first_delivery(self, keys: list[str], ttl: float) -> bool:
        """True unless a message with one of these keys was delivered within `ttl` seconds (a replay or retry)."""
        now = time.time()
        try:
            return bool(await asyncio.to_thread(self.backend.first_delivery, keys, now, ttl))
        except Exception as exc:
            log.error("replay store unavailable (%s); using this process's record", type(exc).__name__)
        self._seen = {k: t for k, t in self._seen.items() if t >= now - ttl}
        new = not any(k in self._seen for k in keys)
        self._seen.update(dict.fromkeys(keys, now))
        return new

    async def opt_in(self, key: str) -> bool:
        was_unsaved = key in self._unsaved
        self._unsaved.discard(key)
        try:
            return await asyncio.to_thread(self.backend.opt_in, key) or was_unsaved
        except Exception as exc:
            log.error("opt-out store unavailable (%s); opt-in not saved", type(exc).__name__)
            return was_unsaved


def backend_from_settings(settings: ChannelSettings) -> OptOutBackend:
    """PostgreSQL when DATABASE_URL is set, else the SQLite file SMS_OPTOUT_DB (relative paths: from the repo)."""
    if settings.database_url:
        return PostgresOptOuts(settings.database_url)
    return SqliteOptOuts(settings.sms_optout_db)


def backend_from_env(environ: Mapping[str, str] | None = None) -> OptOutBackend:
    return backend_from_settings(ChannelSettings.from_env(environ))
