"""Staff browser sessions: a random id in an HttpOnly cookie; the session itself stays in this process.

The cookie carries only an unguessable id that this process maps to a session. Sessions live in memory (the staff
app is one process), so a restart logs everyone out. A session's subject is the account's username (with the role
and display name it had at sign-in; the API re-reads the account on every request, so a disabled account's session
stops working at once). A session ends after `idle` seconds without a request (each request slides it, except
background refreshes the page marks as such) and at most `absolute` seconds after sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sanic.response import BaseHTTPResponse

COOKIE = "staff_session"
COOKIE_PATH = "/staff"
IDLE_SECONDS = 900
ABSOLUTE_SECONDS = 8 * 3600  # one clinic shift, however active
MAX_SESSIONS = 10_000  # the oldest go first past this, so repeated logins cannot grow memory without bound


@dataclass(frozen=True)
class Session:
    subject: str
    name: str
    role: str
    started_at: float
    last_seen: float


def _key(session_id: str) -> str:
    # Kept hashed: the store (a memory dump, a debugger) never holds a usable cookie value.
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        idle: float = IDLE_SECONDS,
        absolute: float = ABSOLUTE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.idle = idle
        self.absolute = absolute
        self._clock = clock
        self._max = max_sessions
        self._sessions: dict[str, Session] = {}

    def _live(self, session: Session, now: float) -> bool:
        return now - session.last_seen < self.idle and now - session.started_at < self.absolute

    def create(self, subject: str, name: str = "", role: str = "") -> str:
        """A new session for `subject`; returns the id the cookie carries."""
        now = self._clock()
        self._sessions = {k: s for k, s in self._sessions.items() if self._live(s, now)}
        while len(self._sessions) >= self._max:
            del self._sessions[next(iter(self._sessions))]
        session_id = secrets.token_urlsafe(32)
        self._sessions[_key(session_id)] = Session(subject, name or subject, role, now, now)
        return session_id

    def get(self, session_id: str, *, slide: bool = True) -> Session | None:
        """The live session with this id, or None (unknown, revoked or expired); `slide` renews its idle time."""
        if not session_id or len(session_id) > 128:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self._clock()
        if not self._live(session, now):
            del self._sessions[key]
            return None
        if slide:
            session = self._sessions[key] = replace(session, last_seen=now)
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
