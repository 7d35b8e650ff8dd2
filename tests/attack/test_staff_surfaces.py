"""An outsider's probe of the running staff app (`python -m bot.staff`), over plain HTTP only.

What an attacker on the network could try: credentials in URLs, weak session cookies, the API without
credentials, guessing passwords (the lockout answers 429 for real and made-up names alike), the machine token
acting on tickets, spoofing the single sign-on header, path traversal on the static files, framing and script
injection (CSP), and odd methods or oversized input meant to crash the server. The answers must be refusals
(4xx), never a 5xx.
"""

from __future__ import annotations

import re
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests.staff.staff_support import Staff, StaffServer, add_staff, start_server, stop_server

pytestmark = pytest.mark.integration

COOKIE = "staff_session"  # what the browser sees; an outsider learns it from Set-Cookie


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffServer]:
    staff = start_server(tmp_path_factory.mktemp("attack"), secrets.token_urlsafe(24))
    yield staff
    stop_server(staff.process)


def raw(server: StaffServer, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (requests would normalise `..` and percent-encoding away)."""
    host = urlsplit(server.base_url)
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while len(data) < 256 * 1024 and (chunk := sock.recv(65536)):  # the server closes after answering
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def form(staff: Staff) -> dict[str, str]:
    return {"username": staff.username, "password": staff.password, "totp": staff.code()}


def login(server: StaffServer) -> requests.Response:
    return requests.post(
        f"{server.base_url}/staff/login", data=form(add_staff(server)), allow_redirects=False, timeout=5
    )


def test_the_login_form_posts_and_no_credential_ever_lands_in_a_url(server: StaffServer) -> None:
    page = requests.get(f"{server.base_url}/staff", timeout=5).text
    forms = re.findall(r"<form\b[^>]*>", page, re.I)
    assert forms and all(re.search(r'method="post"', form, re.I) for form in forms)
    session = requests.Session()
    staff = add_staff(server)
    response = session.post(f"{server.base_url}/staff/login", data=form(staff), timeout=5)
    assert response.status_code == 200 and "staff.js" in response.text  # followed the 303 to the inbox
    urls = (
        [r.url for r in response.history] + [response.url] + [r.headers.get("Location", "") for r in response.history]
    )
    assert all(staff.password not in unquote(url) for url in urls)
    assert staff.password not in server.log_text() and server.token not in server.log_text()


@pytest.mark.parametrize(
    "query", ["token={token}", "Token={token}", "token=", "access_token={token}", "a=1&token={token}"]
)
def test_a_token_in_the_query_string_is_refused_and_gives_no_session(server: StaffServer, query: str) -> None:
    for path in ("/staff", "/staff/api/tickets", "/staff/static/staff.js"):
        url = f"{server.base_url}{path}?{query.replace('{token}', server.token)}"
        response = requests.get(url, allow_redirects=False, timeout=5)
        assert response.status_code == 400, url
        assert "Set-Cookie" not in response.headers and server.token not in response.text
    assert server.token not in server.log_text()


def test_the_session_cookie_is_httponly_strict_scoped_and_not_the_token(server: StaffServer) -> None:
    response = login(server)
    assert response.status_code == 303
    header = response.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
    assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/staff"
    value = response.cookies[COOKIE]
    assert server.token not in value and len(value) >= 32
    assert login(server).cookies[COOKIE] != value  # random: a new one each login


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/staff/api/tickets"),
        ("GET", "/staff/api/tickets?status=all"),
        ("POST", "/staff/api/tickets/T1/claim"),
        ("POST", "/staff/api/tickets/T1/resolve"),
    ],
)
def test_the_api_without_credentials_is_401(server: StaffServer, method: str, path: str) -> None:
    forged = [{}, {COOKIE: "x" * 43}, {COOKIE: server.token}, {"session": server.token}]
    for cookies in forged:
        response = requests.request(method, server.base_url + path, cookies=cookies, json={"staff": "x"}, timeout=5)
        assert response.status_code == 401, cookies
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/staff/static/../app.py",
        "/staff/static/%2e%2e/app.py",
        "/staff/static/%2E%2E%2Fapp.py",
        "/staff/static/..%2f..%2fsettings.py",
        "/staff/static/..%5capp.py",
        "/staff/static/....//app.py",
        "/staff/static/%252e%252e/app.py",
        "/staff/static//etc/passwd",
        "/staff/static/%2fetc%2fpasswd",
        "/staff/static/../../../../../../etc/passwd",
        "/staff/static/staff.js%00.py",
        "/staff/static/",
    ],
)
def test_static_files_cannot_be_escaped(server: StaffServer, path: str) -> None:
    status, data = raw(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert 400 <= status < 500, (path, status)
    body = data.split(b"\r\n\r\n", 1)[-1]
    assert b"root:" not in body and b"import" not in body and b"def " not in body


def test_pages_send_a_strict_csp_and_no_sniffing(server: StaffServer) -> None:
    cookies = login(server).cookies
    for url, jar in ((f"{server.base_url}/staff", None), (f"{server.base_url}/staff", cookies)):
        response = requests.get(url, cookies=jar, timeout=5)
        csp = response.headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"):
            assert directive in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in requests.get(f"{server.base_url}/staff/static/staff.js", timeout=5).headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/staff/login"),
        ("GET", "/staff/logout"),
        ("PUT", "/staff"),
        ("DELETE", "/staff"),
        ("PATCH", "/staff/login"),
        ("POST", "/staff/static/staff.js"),
        ("DELETE", "/staff/api/tickets"),
        ("PUT", "/staff/api/tickets/T1/claim"),
        ("TRACE", "/staff"),
        ("BREW", "/staff"),
    ],
)
def test_wrong_methods_are_4xx(server: StaffServer, method: str, path: str) -> None:
    status, _ = raw(
        server, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    assert 400 <= status < 500, (method, path, status)


def test_oversized_and_malformed_input_is_4xx(server: StaffServer) -> None:
    base = server.base_url
    big = "t" * 300_000
    session = requests.Session()
    session.post(f"{base}/staff/login", data=form(add_staff(server)), timeout=5)
    probes = [
        requests.post(f"{base}/staff/login", data={"token": big}, timeout=10),
        requests.post(f"{base}/staff/login", data=b"token=%ZZ%%&&==", timeout=5),
        requests.post(
            f"{base}/staff/login",
            data=b"--x\r\nContent-Disposition: form-data\r\n\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
            timeout=5,
        ),
        requests.post(f"{base}/staff/login", json=form(add_staff(server)), timeout=5),
        requests.get(f"{base}/staff", headers={"Cookie": f"{COOKIE}={'a' * 7000}"}, timeout=5),
        requests.get(f"{base}/staff/api/tickets", headers={"X-Filler": "a" * 20_000}, timeout=5),
        session.post(f"{base}/staff/api/tickets/T1/claim", data=big, headers={"X-Staff-CSRF": "1"}, timeout=10),
        session.post(f"{base}/staff/api/tickets/T1/claim", data=b"\xff{", headers={"X-Staff-CSRF": "1"}, timeout=5),
    ]
    for response in probes:
        assert 400 <= response.status_code < 500 or response.status_code == 200, response.status_code
    assert probes[0].status_code == 413 and probes[6].status_code == 413
    assert probes[3].status_code == 401  # JSON is not the form: no session from it
    status, _ = raw(server, b"POST /staff/login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
    assert status == 413
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    assert "Traceback" not in server.log_text()


def test_password_guessing_is_locked_out_with_429_for_real_and_made_up_names(server: StaffServer) -> None:
    real = add_staff(server)
    for username in (real.username, "made-up-name"):
        statuses = []
        for n in range(8):
            guess = {"username": username, "password": f"guess-number-{n}", "totp": "123456"}
            response = requests.post(f"{server.base_url}/staff/login", data=guess, allow_redirects=False, timeout=10)
            statuses.append(response.status_code)
            assert "Set-Cookie" not in response.headers
        assert statuses == [401] * 5 + [429] * 3, statuses  # STAFF_LOCKOUT_FAILURES defaults to 5
        assert 1 <= int(response.headers["Retry-After"]) <= 900
    right = requests.post(f"{server.base_url}/staff/login", data=form(real), allow_redirects=False, timeout=10)
    assert right.status_code == 429  # the right password too, until the lockout ends
    assert "guess-number" not in server.log_text()


def test_the_machine_token_cannot_act_and_a_sso_header_means_nothing_here(server: StaffServer) -> None:
    ticket = server.store().create_ticket("attack-1", "rest", "urgent", "fever", "hot", [])
    bearer = {"Authorization": f"Bearer {server.token}"}
    for action in ("claim", "resolve"):
        response = requests.post(f"{server.base_url}/staff/api/tickets/{ticket.id}/{action}", headers=bearer, timeout=5)
        assert response.status_code == 403
    admin = add_staff(server, "admin")
    spoof = {"X-Forwarded-User": admin.username, "X-Forwarded-For": "127.0.0.1"}
    assert requests.get(f"{server.base_url}/staff/api/me", headers=spoof, timeout=5).status_code == 401
    assert requests.get(f"{server.base_url}/staff/api/audit", headers=bearer, timeout=5).status_code == 403
    assert server.store().get_ticket(ticket.id).status == "open"
