"""Helpers for the production-profile tests: a throwaway PostgreSQL database, a Redis key space, a staff webhook."""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import requests
from psycopg import sql

from bot.ops.stack import Stack

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call `check` until it returns something other than None/False, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# -- PostgreSQL --------------------------------------------------------------------------------------------


@dataclass
class PgDatabase:
    """A database of its own on the machine's PostgreSQL, dropped by drop()."""

    name: str = field(default_factory=lambda: f"eczema_test_{secrets.token_hex(5)}")

    def url(self, port: int = PG_PORT) -> str:
        return f"postgresql://{PG_USER}@{PG_HOST}:{port}/{self.name}"

    def create(self) -> None:
        with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(), connect_timeout=5) as conn:
            return [tuple(r) for r in conn.execute(query, params).fetchall()]  # type: ignore[arg-type]

    def table_exists(self, table: str) -> bool:
        return bool(self.rows("SELECT to_regclass(%s) IS NOT NULL", (table,))[0][0])

    @staticmethod
    def _admin_url() -> str:
        return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"


# -- Redis (a few RESP commands over a socket; the test venv has no redis client) ---------------------------


def _encode(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def reply(self) -> Any:
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(f"redis error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"unexpected redis reply {line!r}")


def redis_command(db: int, *args: str) -> Any:
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=5) as sock:
        reader = _Reader(sock)
        sock.sendall(_encode("SELECT", str(db)) + _encode(*args))
        reader.reply()
        return reader.reply()


def redis_delete_prefix(db: int, prefix: str) -> None:
    keys = redis_command(db, "KEYS", f"{prefix}:*") or []
    if keys:
        redis_command(db, "DEL", *keys)


_MONITOR_LINE = re.compile(r'^\d+\.\d+ \[(\d+) ([^\]]+)\] "(\w+)" "([^"]*)"')


class RedisMonitor:
    """MONITOR: every command the server runs, as (db, client address, command, first argument)."""

    def __init__(self) -> None:
        self.sock = socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=5)
        self.reader = _Reader(self.sock)
        self.sock.sendall(_encode("MONITOR"))
        if self.reader.reply() != "OK":
            raise RuntimeError("MONITOR was refused")

    def wait_for(self, match: Callable[[int, str, str, str], bool], timeout: float) -> list[tuple[int, str, str, str]]:
        """Read commands until one matches; returns every matching command seen up to then."""
        deadline = time.monotonic() + timeout
        seen: list[tuple[int, str, str, str]] = []
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                line = self.reader.line().decode(errors="replace")
            except TimeoutError:
                break
            found = _MONITOR_LINE.match(line.lstrip("+"))
            if not found:
                continue
            command = (int(found[1]), found[2], found[3].upper(), found[4])
            if match(*command):
                seen.append(command)
                return seen
        raise AssertionError("the expected Redis command was not seen before the deadline")

    def drain(self, match: Callable[[int, str, str, str], bool], quiet: float = 0.5) -> list[tuple[int, str, str, str]]:
        """Matching commands until none arrives for `quiet` seconds."""
        seen: list[tuple[int, str, str, str]] = []
        self.sock.settimeout(quiet)
        while True:
            try:
                line = self.reader.line().decode(errors="replace")
            except TimeoutError:
                return seen
            found = _MONITOR_LINE.match(line.lstrip("+"))
            if found and match(int(found[1]), found[2], found[3].upper(), found[4]):
                seen.append((int(found[1]), found[2], found[3].upper(), found[4]))

    def close(self) -> None:
        self.sock.close()


# -- staff webhook ----------------------------------------------------------------------------------------


class WebhookSink:
    """A local HTTP endpoint standing in for the staff chat webhook; keeps every JSON payload posted to it."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    payload = {"invalid": True}
                with sink._lock:
                    sink.payloads.append(payload)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def for_ticket(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.payloads if p.get("ticket_id") == ticket_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- conversations ----------------------------------------------------------------------------------------


REST_KEY = "prod-rest-api-key-0123456789abcdef"  # the prod stack's REST_API_KEY (tests/prod/conftest.py)


class Chat:
    """One conversation through the REST channel; `base_url` can differ per turn (a replica or nginx)."""

    def __init__(
        self, base_url: str, sender: str | None = None, key: str = REST_KEY, verify: str | bool = True
    ) -> None:
        self.base_url = base_url
        self.verify = verify  # the entry point's self-signed certificate (Stack.tls_verify)
        self.sender = sender or f"prod-{uuid.uuid4().hex[:12]}"
        self.headers = {"Authorization": f"Bearer {key}"}

    def send(self, text: str, base_url: str | None = None) -> list[dict[str, Any]]:
        url = f"{base_url or self.base_url}/webhooks/rest/webhook"
        resp = requests.post(
            url, json={"sender": self.sender, "message": text}, headers=self.headers, timeout=90, verify=self.verify
        )
        assert resp.status_code == 200, (url, resp.status_code, resp.text[:500])
        messages = resp.json()
        assert isinstance(messages, list), messages
        return messages


def customs(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]


def is_fallback(messages: list[dict[str, Any]]) -> bool:
    """The guaranteed fallback reply (action server or Rasa failed), not a real answer."""
    return any(c.get("kind") == "abstain" and c.get("reason") in ("unavailable", "timeout") for c in customs(messages))


def text_of(messages: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text") or "" for m in messages)


@dataclass
class ProdEnv:
    stack: Stack
    db: PgDatabase
    redis_db: int
    redis_prefix: str
    webhook: WebhookSink
    handoff_db_path: Path

    @property
    def spool_path(self) -> Path:
        return self.handoff_db_path.with_name(f"{self.handoff_db_path.stem}-spool.sqlite")
