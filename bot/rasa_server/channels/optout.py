"""SMS opt-outs, kept across restarts and shared by replicas: SQLite file, or PostgreSQL when DATABASE_URL is set.

Keyed by the hashed phone number (the raw number is never stored). Opt-outs are a compliance record: they are
not subject to the conversation retention purge.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from bot.rasa_server.settings import ChannelSettings

log = logging.getLogger(__name__)

_CREATE = "CREATE TABLE IF NOT EXISTS sms_optout (number_hash TEXT PRIMARY KEY, opted_out_at TEXT NOT NULL)"


class OptOutBackend(Protocol):
    def is_opted_out(self, key: str) -> bool: ...

    def opt_out(self, key: str) -> bool:
        """Record the opt-out; True when the number was not opted out before."""
        ...

    def opt_in(self, key: str) -> bool:
        """Remove the opt-out; True when the number was opted out."""
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


class PostgresOptOuts:
    """The same table in PostgreSQL (psycopg2, in the Rasa venv), for several hosts."""

    def __init__(self, url: str, connect_timeout: int = 5) -> None:
        self.url = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)
        self.connect_timeout = connect_timeout
        self._ready = False

    def _run(self, sql: str, args: tuple[Any, ...]) -> Any:
        import psycopg2  # only in the Rasa venv; imported when PostgreSQL is actually used

        conn = psycopg2.connect(self.url, connect_timeout=self.connect_timeout)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                if not self._ready:
                    try:
                        cur.execute(_CREATE)
                    except psycopg2.IntegrityError:  # another replica created it at the same moment
                        pass
                    self._ready = True
                cur.execute(sql, args)
                return cur.fetchone() if cur.description else cur.rowcount
        finally:
            conn.close()

    def is_opted_out(self, key: str) -> bool:
        return self._run("SELECT 1 FROM sms_optout WHERE number_hash = %s", (key,)) is not None

    def opt_out(self, key: str) -> bool:
        sql = "INSERT INTO sms_optout (number_hash, opted_out_at) VALUES (%s, %s) ON CONFLICT (number_hash) DO NOTHING"
        return bool(self._run(sql, (key, _now())) == 1)

    def opt_in(self, key: str) -> bool:
        return bool(self._run("DELETE FROM sms_optout WHERE number_hash = %s", (key,)))


class OptOuts:
    """Async access to a backend. If the backend fails, opt-outs made meanwhile are still honoured by this process."""

    def __init__(self, backend: OptOutBackend) -> None:
        self.backend = backend
        self._unsaved: set[str] = set()

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
