"""Signing in to the served staff inbox: form POST, session cookie, CSRF, logout, no credential in a URL."""

from __future__ import annotations

import secrets

import pytest
import requests
from staff_support import Staff, StaffServer, add_staff, log_in

from bot.staff.sessions import COOKIE

pytestmark = pytest.mark.integration

TICKETS = "/staff/api/tickets"


def claim_url(server: StaffServer) -> str:
    ticket = server.store().create_ticket(f"conv-{secrets.token_hex(4)}", "rest", "routine", "rash", "itchy", [])
    return f"{server.base_url}{TICKETS}/{ticket.id}/claim"


def form(staff: Staff, steps: int = 0) -> dict[str, str]:
    return {"username": staff.username, "password": staff.password, "totp": staff.code(steps)}


def test_login_sets_a_session_cookie_that_is_not_a_credential(staff_server: StaffServer) -> None:
    staff = add_staff(staff_server)
    response = requests.post(f"{staff_server.base_url}/staff/login", data=form(staff), allow_redirects=False, timeout=5)
    assert response.status_code == 303 and response.headers["Location"] == "/staff"
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/staff", "Max-Age="):
        assert flag in set_cookie
    assert "Secure" not in set_cookie  # plain HTTP here; over TLS the flag is set
    value = response.cookies[COOKIE]
    assert len(value) >= 32 and staff.password not in set_cookie and staff_server.token not in set_cookie


def test_behind_a_tls_proxy_the_cookie_is_secure(staff_server: StaffServer) -> None:
    host = staff_server.base_url.removeprefix("http://")
    response = requests.post(
        f"{staff_server.base_url}/staff/login",
        data=form(add_staff(staff_server)),
        headers={"Origin": f"https://{host}"},  # the page was https; the proxy speaks http to us
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 303 and "Secure" in response.headers["Set-Cookie"]


def test_the_cookie_opens_the_inbox_and_the_api(staff_server: StaffServer) -> None:
    session = log_in(staff_server)
    page = session.get(f"{staff_server.base_url}/staff", timeout=5)
    assert page.status_code == 200 and "staff.js" in page.text and 'name="password"' not in page.text
    assert session.get(f"{staff_server.base_url}{TICKETS}", timeout=5).status_code == 200
    me = session.get(f"{staff_server.base_url}/staff/api/me", timeout=5).json()
    assert me["role"] == "admin" and me["name"] == "Nurse Kim" and me["via"] == "session"


def test_a_wrong_sign_in_gets_the_form_again_with_an_error_and_no_cookie(staff_server: StaffServer) -> None:
    staff = add_staff(staff_server)
    wrong = [
        {**form(staff), "password": "wrong password!"},
        {**form(staff), "totp": "12345"},
        {"token": staff_server.token},
        {"username": staff.username},
        {},
    ]
    for data in wrong:
        response = requests.post(f"{staff_server.base_url}/staff/login", data=data, allow_redirects=False, timeout=5)
        assert response.status_code == 401
        assert 'id="login-error" class="error" role="alert">That username, password or code was not' in response.text
        assert COOKIE not in response.headers.get("Set-Cookie", "")


def test_cookie_posts_need_the_csrf_header_and_the_same_origin(staff_server: StaffServer) -> None:
    session = log_in(staff_server)
    own = staff_server.base_url
    url = claim_url(staff_server)
    refused = [
        {},
        {"X-Staff-CSRF": "0"},
        {"X-Staff-CSRF": "1", "Origin": "https://evil.example"},
        {"X-Staff-CSRF": "1", "Origin": "null"},
        {"X-Staff-CSRF": "1", "Sec-Fetch-Site": "cross-site"},
    ]
    for headers in refused:
        response = session.post(url, headers=headers, timeout=5)
        assert response.status_code == 403 and response.json()["error"] == "csrf", headers
    ok = session.post(url, json={"staff": "Ann"}, headers={"X-Staff-CSRF": "1", "Origin": own}, timeout=5)
    me = session.get(f"{own}/staff/api/me", timeout=5).json()["username"]
    assert ok.status_code == 200 and ok.json()["claimed_by"] == me  # the account, not the "staff" field


def test_the_token_is_machine_access_and_a_wrong_bearer_beats_a_cookie(staff_server: StaffServer) -> None:
    bearer = {"Authorization": f"Bearer {staff_server.token}"}
    assert requests.get(f"{staff_server.base_url}{TICKETS}", headers=bearer, timeout=5).status_code == 200
    # No CSRF check for a Bearer POST: it reaches the route, where the machine role may not act (every action names
    # a person).
    refused = requests.post(claim_url(staff_server), json={"staff": "Bo"}, headers=bearer, timeout=5)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert "tickets.act" in refused.json()["message"]
    session = log_in(staff_server)
    wrong = session.get(f"{staff_server.base_url}{TICKETS}", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


def test_cross_site_login_and_logout_forms_are_refused(staff_server: StaffServer) -> None:
    evil = {"Origin": "https://evil.example"}
    login = requests.post(
        f"{staff_server.base_url}/staff/login",
        data=form(add_staff(staff_server)),
        headers=evil,
        allow_redirects=False,
        timeout=5,
    )
    assert login.status_code == 403 and "Set-Cookie" not in login.headers
    session = log_in(staff_server)
    logout = session.post(f"{staff_server.base_url}/staff/logout", headers=evil, allow_redirects=False, timeout=5)
    assert logout.status_code == 403
    assert session.get(f"{staff_server.base_url}{TICKETS}", timeout=5).status_code == 200


def test_logout_ends_the_session_on_the_server_and_clears_the_cookie(staff_server: StaffServer) -> None:
    session = log_in(staff_server)
    value = session.cookies[COOKIE]
    response = session.post(f"{staff_server.base_url}/staff/logout", allow_redirects=False, timeout=5)
    assert response.status_code == 303 and response.headers["Location"] == "/staff"
    assert f"{COOKIE}=" in response.headers["Set-Cookie"] and "Max-Age=0" in response.headers["Set-Cookie"]
    replay = requests.get(f"{staff_server.base_url}{TICKETS}", cookies={COOKIE: value}, timeout=5)
    assert replay.status_code == 401  # the old id is dead even if a browser kept it


def test_each_login_gets_a_new_session_id(staff_server: StaffServer) -> None:
    staff = add_staff(staff_server)
    session = log_in(staff_server, staff)
    first = session.cookies[COOKIE]
    again = session.post(
        f"{staff_server.base_url}/staff/login", data=form(staff, steps=1), allow_redirects=False, timeout=5
    )
    assert again.status_code == 303 and again.cookies[COOKIE] != first
    assert requests.get(f"{staff_server.base_url}{TICKETS}", cookies={COOKIE: first}, timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/staff?token={token}"),
        ("get", "/staff?TOKEN={token}"),
        ("get", "/staff?token="),
        ("get", "/staff?token"),
        ("get", "/staff?x=1&access_token={token}"),
        ("get", "/staff/api/tickets?token={token}"),
        ("post", "/staff/login?token={token}"),
        ("get", "/staff/login?username=ann&password={token}&totp=123456"),
        ("get", "/staff/static/staff.css?token={token}"),
    ],
)
def test_a_credential_in_the_url_is_refused_and_never_logged(staff_server: StaffServer, method: str, path: str) -> None:
    url = staff_server.base_url + path.replace("{token}", staff_server.token)
    session = requests.Session()
    response = session.request(method, url, data={"token": staff_server.token}, allow_redirects=False, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "credential_in_url"
    assert COOKIE not in session.cookies and "Set-Cookie" not in response.headers
    assert staff_server.token not in response.text and staff_server.token not in staff_server.log_text()
