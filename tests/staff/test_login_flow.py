"""Signing in to the staff app with an account (in-process over ASGI, with an injected clock)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_support import CSRF, PASSWORD, TOKEN, Harness, log_in

from bot.handoff.audit import entries
from bot.settings import Settings, SettingsError
from bot.staff.accounts import update_account
from bot.staff.app import create_app
from bot.staff.preflight import StaffConfigError
from bot.staff.sessions import COOKIE

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_a_right_sign_in_starts_a_session_named_after_the_account_and_is_audited(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("ann", "clinician", "Ann Lee")

    async def body(c: httpx.AsyncClient) -> None:
        response = await log_in(c, "Ann", PASSWORD, h.code("ann"))
        assert response.status_code == 303 and response.headers["location"] == "/staff"
        cookie = response.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=Strict", "Path=/staff", "Max-Age=28800"):
            assert flag in cookie
        assert PASSWORD not in cookie
        page = await c.get("/staff")
        assert page.status_code == 200 and "staff.js" in page.text and 'id="signed-in"' in page.text
        me = await c.get("/staff/api/me")
        assert me.json() == {"username": "ann", "name": "Ann Lee", "role": "clinician", "via": "session"}

    h.run(body)
    (login,) = [e for e in entries(h.store) if e.action == "login"]
    assert (login.actor, login.remote, login.detail) == ("ann", "127.0.0.1", "role=clinician")


def test_failed_sign_ins_are_401_and_audited_without_the_typed_name_unless_it_is_an_account(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("ann")

    async def body(c: httpx.AsyncClient) -> None:
        attempts = [
            ("ann", "wrong password!!", h.code("ann")),
            ("ann", PASSWORD, "000000" if h.code("ann") != "000000" else "111111"),
            ("my-secret-passphrase", PASSWORD, h.code("ann")),
            ("", "", ""),
        ]
        for username, password, code in attempts:
            response = await log_in(c, username, password, code)
            assert response.status_code == 401
            assert (
                "was not accepted" in response.text and 'id="login-error" class="error" role="alert">' in response.text
            )
            assert COOKIE not in response.headers.get("set-cookie", "")
        assert (await c.get("/staff/api/me")).status_code == 401

    h.run(body)
    failed = [(e.actor, e.detail) for e in reversed(entries(h.store)) if e.action == "login_failed"]
    assert failed == [
        ("ann", "reason=password"),
        ("ann", "reason=totp"),
        ("(unknown)", "reason=unknown"),
        ("(unknown)", "reason=unknown"),
    ]
    assert not [e for e in entries(h.store) if "my-secret" in e.actor + e.detail or PASSWORD in e.detail]


def test_after_the_failures_sign_in_is_429_with_retry_after_for_the_lockout_period(tmp_path: Path) -> None:
    h = Harness(tmp_path, staff_lockout_failures=2, staff_lockout_seconds=300)
    h.add("ann")

    async def body(c: httpx.AsyncClient) -> None:
        for username in ("ann", "ghost"):
            for _ in range(2):
                assert (await log_in(c, username, "wrong password!!", "123456")).status_code == 401
            locked = await log_in(c, username, PASSWORD, h.code("ann"))
            assert locked.status_code == 429 and locked.headers["retry-after"] == "300"
            assert "Too many failed attempts" in locked.text and COOKIE not in locked.headers.get("set-cookie", "")
        h.clock.advance(seconds=299)
        assert (await log_in(c, "ann", PASSWORD, h.code("ann"))).headers["retry-after"] == "1"
        h.clock.advance(seconds=1)
        assert (await log_in(c, "ann", PASSWORD, h.code("ann"))).status_code == 303

    h.run(body)
    assert [e.detail for e in entries(h.store) if e.action == "login_failed"].count("reason=locked") == 3


def test_a_code_cannot_sign_in_twice(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("ann")

    async def body(c: httpx.AsyncClient) -> None:
        code = h.code("ann")
        assert (await log_in(c, "ann", PASSWORD, code)).status_code == 303
        other = httpx.AsyncClient(transport=c._transport, base_url=str(c.base_url))
        assert (await log_in(other, "ann", PASSWORD, code)).status_code == 401

    h.run(body)


def test_a_session_expires_after_the_idle_time_each_request_sliding_it(tmp_path: Path) -> None:
    h = Harness(tmp_path, staff_session_idle_seconds=120)
    h.add("ann")

    async def body(c: httpx.AsyncClient) -> None:
        assert (await log_in(c, "ann", PASSWORD, h.code("ann"))).status_code == 303
        for _ in range(3):
            h.clock.advance(seconds=119)
            assert (await c.get("/staff/api/me")).status_code == 200
        h.clock.advance(seconds=119)
        background = await c.get("/staff/api/tickets?status=active", headers={"X-Staff-Background": "1"})
        assert background.status_code == 200  # still within the idle time, but it does not slide it
        h.clock.advance(seconds=1)
        assert (await c.get("/staff/api/me")).status_code == 401
        page = await c.get("/staff")
        assert page.status_code == 200 and 'action="/staff/login"' in page.text

    h.run(body)


def test_a_disabled_accounts_session_stops_and_a_role_change_applies_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("ann", "admin")

    async def body(c: httpx.AsyncClient) -> None:
        assert (await log_in(c, "ann", PASSWORD, h.code("ann"))).status_code == 303
        assert (await c.get("/staff/api/audit")).status_code == 200
        update_account(h.store, "ann", role="staff")
        assert (await c.get("/staff/api/me")).json()["role"] == "staff"
        assert (await c.get("/staff/api/audit")).status_code == 403
        update_account(h.store, "ann", disabled=True)
        assert (await c.get("/staff/api/me")).status_code == 401
        update_account(h.store, "ann", disabled=False)
        assert (await c.get("/staff/api/me")).status_code == 401  # that session is gone for good

    h.run(body)


def test_claimed_by_is_the_signed_in_account_never_a_field(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("ann")
    ticket = h.store.create_ticket("c1", "rest", "urgent", "fever", "hot", [])

    async def body(c: httpx.AsyncClient) -> None:
        await log_in(c, "ann", PASSWORD, h.code("ann"))
        claimed = await c.post(f"/staff/api/tickets/{ticket.id}/claim", json={"staff": "Dr Somebody"}, headers=CSRF)
        assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "ann"
        bad = await c.post(f"/staff/api/tickets/{ticket.id}/claim", content=b"{nope", headers=CSRF)
        assert bad.status_code == 400

    h.run(body)


def test_the_staff_token_is_machine_access_reading_but_never_acting(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    ticket = h.store.create_ticket("c1", "rest", "urgent", "fever", "hot", [])

    async def body(c: httpx.AsyncClient) -> None:
        assert (await c.get("/staff/api/tickets", headers=BEARER)).status_code == 200
        assert (await c.get("/staff/api/me", headers=BEARER)).json()["role"] == "machine"
        for action in ("claim", "resolve"):
            response = await c.post(f"/staff/api/tickets/{ticket.id}/{action}", headers=BEARER)
            assert response.status_code == 403 and response.json()["error"] == "forbidden"
        assert (await c.get("/staff/api/audit", headers=BEARER)).status_code == 403
        form = await c.post("/staff/login", data={"token": TOKEN, "username": "machine", "password": TOKEN})
        assert form.status_code == 401  # the form does not take the token

    h.run(body)
    assert h.store.get_ticket(ticket.id).status == "open"


def test_logout_ends_the_session_and_is_audited(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("ann")

    async def body(c: httpx.AsyncClient) -> None:
        await log_in(c, "ann", PASSWORD, h.code("ann"))
        value = c.cookies[COOKIE]
        response = await c.post("/staff/logout", headers={"Origin": "http://staff"})
        assert response.status_code == 303 and "Max-Age=0" in response.headers["set-cookie"]
        c.cookies.set(COOKIE, value, domain="staff", path="/staff")
        assert (await c.get("/staff/api/me")).status_code == 401

    h.run(body)
    assert [e.action for e in reversed(entries(h.store))][-2:] == ["login", "logout"]


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"staff_token": "short-token-of-31-characters-xx"}, "STAFF_TOKEN"),
        ({"staff_host": "0.0.0.0"}, "DATA_ENCRYPTION_KEY"),  # nosec B104
        ({"data_encryption_key": "not-a-key"}, "DATA_ENCRYPTION_KEY"),
        ({"staff_auth": "proxy"}, "STAFF_TRUSTED_PROXIES"),
    ],
)
def test_unsafe_settings_stop_the_app_naming_the_variable(
    tmp_path: Path, values: dict[str, str], variable: str
) -> None:
    # a malformed key is refused by the settings themselves, the others when the app is built
    with pytest.raises((StaffConfigError, SettingsError), match=f"^{variable}: "):
        create_app(Settings.from_env({}, handoff_db_path=tmp_path / "h.sqlite", **values))
    create_app(Settings.from_env({}, handoff_db_path=tmp_path / "h.sqlite", staff_token="t" * 32))
