from __future__ import annotations

from sanic.response import HTTPResponse

from bot.staff.sessions import COOKIE, SessionStore, clear_session_cookie, set_session_cookie


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_until_its_ttl_and_not_after() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, clock=clock)
    sid = store.create("staff")
    assert store.get(sid) is not None and store.get(sid).subject == "staff"  # type: ignore[union-attr]
    clock.now += 59
    assert store.get(sid) is not None
    clock.now += 1
    assert store.get(sid) is None and len(store) == 0


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
    store = SessionStore(ttl=10, clock=clock, max_sessions=3)
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
