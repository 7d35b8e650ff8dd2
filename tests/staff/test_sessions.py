from __future__ import annotations

from sanic.response import HTTPResponse

from bot.staff.sessions import COOKIE, SessionStore, clear_session_cookie, set_session_cookie


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_after_the_idle_time_and_each_request_slides_it() -> None:
    clock = Clock()
    store = SessionStore(idle=60, absolute=3600, clock=clock)
    sid = store.create("ann", "Ann Lee", "clinician")
    session = store.get(sid)
    assert session is not None and (session.subject, session.name, session.role) == ("ann", "Ann Lee", "clinician")
    for _ in range(5):
        clock.now += 59
        assert store.get(sid) is not None  # each request renews the idle time
    clock.now += 60
    assert store.get(sid) is None and len(store) == 0


def test_a_background_refresh_does_not_keep_an_idle_session_alive() -> None:
    clock = Clock()
    store = SessionStore(idle=60, clock=clock)
    sid = store.create("ann")
    clock.now += 59
    assert store.get(sid, slide=False) is not None
    clock.now += 1
    assert store.get(sid, slide=False) is None


def test_an_active_session_still_ends_at_the_absolute_limit() -> None:
    clock = Clock()
    store = SessionStore(idle=900, absolute=8 * 3600, clock=clock)
    sid = store.create("ann")
    for _ in range(8 * 6 - 1):
        clock.now += 600
        assert store.get(sid) is not None
    clock.now += 600
    assert store.get(sid) is None


def test_unknown_revoked_and_oversized_ids_find_nothing() -> None:
    store = SessionStore()
    sid = store.create("staff")
    other = store.create("staff")
    assert sid != other and len(sid) >= 40
    store.revoke(sid)
    assert store.get(sid) is None and store.get(other) is not None
    for bad in ("", "x", "a" * 500, other[:-1]):
        assert store.get(bad) is None


def test_the_store_is_bounded_and_forgets_expired_sessions_first() -> None:
    clock = Clock()
    store = SessionStore(idle=10, clock=clock, max_sessions=3)
    old = store.create("a")
    clock.now += 11
    ids = [store.create(str(n)) for n in range(3)]
    assert store.get(old) is None and len(store) == 3
    newest = store.create("late")
    assert len(store) == 3 and store.get(ids[0]) is None and store.get(newest) is not None


def test_cookie_flags() -> None:
    response = HTTPResponse()
    set_session_cookie(response, "abc", secure=True, max_age=600)
    header = str(response.headers["Set-Cookie"])
    assert header.startswith(f"{COOKIE}=abc")
    for flag in ("Path=/staff", "HttpOnly", "SameSite=Strict", "Secure", "Max-Age=600"):
        assert flag in header
    cleared = HTTPResponse()
    clear_session_cookie(cleared, secure=False)
    assert "Max-Age=0" in str(cleared.headers["Set-Cookie"]) and "Secure" not in str(cleared.headers["Set-Cookie"])
