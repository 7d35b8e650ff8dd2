"""Staff browser sessions: a random id in an HttpOnly cookie; the session itself stays in this process.

The cookie never carries the staff token, only an unguessable id that this process maps to a session.
Sessions live in memory (the staff app is one process), so a restart logs everyone out. The subject is
"staff" for the shared STAFF_TOKEN; per-person accounts can store the person's name there instead.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sanic.response import BaseHTTPResponse

COOKIE = "staff_session"
COOKIE_PATH = "/staff"
SESSION_TTL = 8 * 3600  # seconds: one clinic shift
MAX_SESSIONS = 10_000  # the oldest go first past this, so repeated logins cannot grow memory without bound


@dataclass(frozen=True)
class Session:
    subject: str
    expires_at: float


def _key(session_id: str) -> str:
    # Kept hashed: the store (a memory dump, a debugger) never holds a usable cookie value.
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        ttl: float = SESSION_TTL,
        clock: Callable[[], float] = time.monotonic,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max = max_sessions
        self._sessions: dict[str, Session] = {}

    def create(self, subject: str) -> str:
        """A new session for `subject`; returns the id the cookie carries."""
        now = self._clock()
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires_at > now}
        while len(self._sessions) >= self._max:
            del self._sessions[next(iter(self._sessions))]
        session_id = secrets.token_urlsafe(32)
        self._sessions[_key(session_id)] = Session(subject, now + self.ttl)
        return session_id

    def get(self, session_id: str) -> Session | None:
        """The live session with this id, or None (unknown, revoked or expired)."""
        if not session_id or len(session_id) > 128:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            del self._sessions[key]
            return None
        return session

    def revoke(self, session_id: str) -> None:
        self._sessions.pop(_key(session_id), None)

    def __len__(self) -> int:
        return len(self._sessions)


def set_session_cookie(response: BaseHTTPResponse, session_id: str, *, secure: bool, max_age: int) -> None:
    response.add_cookie(
        COOKIE,
        session_id,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=secure,
        max_age=max_age,
    )


def clear_session_cookie(response: BaseHTTPResponse, *, secure: bool) -> None:
    response.add_cookie(COOKIE, "", path=COOKIE_PATH, httponly=True, samesite="Strict", secure=secure, max_age=0)
