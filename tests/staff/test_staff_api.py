from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from staff_support import StaffServer, acting_session, add_staff, log_in, start_server, stop_server, wait_until

from bot.handoff.models import Ticket
from bot.staff.app import STATIC_DIR

pytestmark = pytest.mark.integration

REASON = "fever on methotrexate"
MESSAGE = "my son is 39C since last night <script>alert(1)</script> call 555-867-5309"


def auth(server: StaffServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def new_ticket(server: StaffServer, urgency: str = "urgent", reason: str = REASON) -> Ticket:
    return server.store().create_ticket(
        f"conv-{secrets.token_hex(4)}",
        "rest",
        urgency,
        reason,
        MESSAGE,
        [
            {"role": "user", "text": "hi"},
            {"role": "bot", "text": "Hello!"},
            {"role": "user", "text": MESSAGE},
        ],
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic c3RhZmY6c3RhZmY="},
        {"Authorization": "token"},
    ],
    ids=["missing", "wrong", "empty", "basic", "no-scheme"],
)
def test_api_refuses_without_a_valid_token_and_shows_no_ticket(
    staff_server: StaffServer, headers: dict[str, str]
) -> None:
    ticket = new_ticket(staff_server)
    base = staff_server.base_url
    responses = [
        requests.get(f"{base}/staff/api/tickets", headers=headers, timeout=5),
        requests.get(f"{base}/staff/api/tickets?status=all", headers=headers, timeout=5),
        requests.post(
            f"{base}/staff/api/tickets/{ticket.id}/claim",
            json={"staff": "x"},
            headers=headers,
            timeout=5,
        ),
        requests.post(f"{base}/staff/api/tickets/{ticket.id}/resolve", headers=headers, timeout=5),
    ]
    for response in responses:
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        for secret in (ticket.id, REASON, "39C", "555-867"):
            assert secret not in response.text
    assert staff_server.store().get_ticket(ticket.id).status == "open"


def test_api_lists_open_tickets_by_urgency_and_shows_one_with_transcript_and_follow_ups(
    staff_server: StaffServer,
) -> None:
    routine = new_ticket(staff_server, "routine", "missed dose")
    emergency = new_ticket(staff_server, "emergency", "trouble breathing")
    staff_server.store().add_message(routine.id, "also: took it 2h late")
    response = requests.get(
        f"{staff_server.base_url}/staff/api/tickets?status=open&limit=200",
        headers=auth(staff_server),
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    listed = response.json()["tickets"]
    order = [t["id"] for t in listed]
    assert order.index(emergency.id) < order.index(routine.id)
    assert [t["urgency"] for t in listed] == sorted(
        (t["urgency"] for t in listed), key=["emergency", "urgent", "routine"].index
    )
    assert response.json()["counts"]["total"] == len(listed)
    assert "39C" not in response.text and "took it 2h late" not in response.text  # summaries carry no text
    got = requests.get(f"{staff_server.base_url}/staff/api/tickets/{routine.id}", headers=auth(staff_server), timeout=5)
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    detail = got.json()
    assert detail["transcript"][2] == {"role": "user", "text": MESSAGE}
    assert [f["text"] for f in detail["follow_ups"]] == ["also: took it 2h late"]
    assert detail["reason"] == "missed dose" and detail["channel"] == "rest" and detail["status"] == "open"


def ids_of(session: requests.Session, url: str) -> list[str]:
    response = session.get(url, timeout=5)
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["tickets"]]


def test_claim_then_resolve_as_the_logged_in_person(staff_server: StaffServer) -> None:
    ticket = new_ticket(staff_server)
    base = f"{staff_server.base_url}/staff/api/tickets"
    kim = add_staff(staff_server, "clinician")
    nurse, doctor = acting_session(staff_server, kim), acting_session(staff_server, role="staff")
    machine = requests.post(f"{base}/{ticket.id}/claim", headers=auth(staff_server), timeout=5)
    assert machine.status_code == 403 and machine.json()["error"] == "forbidden"  # the token names no person
    claimed = nurse.post(f"{base}/{ticket.id}/claim", json={"staff": "Dr Lee"}, timeout=5)
    assert claimed.status_code == 200
    assert (claimed.json()["status"], claimed.json()["claimed_by"]) == ("claimed", kim.username)  # never the body's
    assert claimed.json()["first_action_at"] == claimed.json()["claimed_at"]
    other = doctor.post(f"{base}/{ticket.id}/claim", timeout=5)
    assert other.status_code == 409 and kim.username in other.json()["message"]
    assert ticket.id not in ids_of(nurse, f"{base}?limit=200")
    assert ticket.id in ids_of(nurse, f"{base}?status=active&limit=200")

    resolved = nurse.post(f"{base}/{ticket.id}/resolve", timeout=5)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert nurse.post(f"{base}/{ticket.id}/resolve", timeout=5).status_code == 409
    machine_reader = requests.Session()
    machine_reader.headers.update(auth(staff_server))
    assert ticket.id not in ids_of(machine_reader, f"{base}?status=active&limit=200")  # the token may read
    assert staff_server.store().get_ticket(ticket.id).status == "resolved"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/staff/api/tickets/{id}/claim", {"data": "{not json"}, 400),
        ("post", "/staff/api/tickets/{id}/claim", {"data": b"\xff\xfe\x00"}, 400),
        ("post", "/staff/api/tickets/{id}/claim", {"json": ["Ann"]}, 400),
        ("post", "/staff/api/tickets/{id}/claim", {"json": "Ann"}, 400),
        ("post", "/staff/api/tickets/unknown-id/claim", {"json": {}}, 404),
        ("post", "/staff/api/tickets/{id}/notes", {"data": "{not json"}, 400),
        ("post", "/staff/api/tickets/{id}/notes", {"data": b"\xff\xfe\x00"}, 400),
        ("post", "/staff/api/tickets/{id}/notes", {"json": ["Ann"]}, 400),
        ("post", "/staff/api/tickets/{id}/notes", {"json": {"text": "   "}}, 400),
        ("post", "/staff/api/tickets/{id}/notes", {"json": {"text": 42}}, 400),
        ("post", "/staff/api/tickets/{id}/notes", {"json": {"text": "x" * 4001}}, 400),
        ("post", "/staff/api/tickets/{id}/notes", {}, 400),
        ("post", "/staff/api/tickets/{id}/reassign", {"json": {"to": ""}}, 400),
        ("post", "/staff/api/tickets/{id}/reassign", {"json": {"to": "x" * 101}}, 400),
        ("post", "/staff/api/tickets/unknown-id/resolve", {}, 404),
        ("post", "/staff/api/tickets/unknown-id/notes", {"json": {"text": "hi"}}, 404),
        ("post", "/staff/api/tickets/unknown-id/reassign", {"json": {"to": "kim"}}, 404),
        ("get", "/staff/api/tickets/unknown-id", {}, 404),
        ("post", "/staff/api/tickets/..%2F..%2Fetc/resolve", {}, 404),
        ("post", "/staff/api/tickets/" + "a" * 200 + "/resolve", {}, 404),
        ("get", "/staff/api/tickets?status=pending", {}, 400),
        ("get", "/staff/api/tickets?urgency=urgent,soon", {}, 400),
        ("get", "/staff/api/tickets?limit=0", {}, 400),
        ("get", "/staff/api/tickets?limit=201", {}, 400),
        ("get", "/staff/api/tickets?limit=ten", {}, 400),
        ("get", "/staff/api/tickets?older_than=a%20day", {}, 400),
        ("get", "/staff/api/tickets?newer_than=inf", {}, 400),
        ("get", "/staff/api/tickets?channel=%3Cscript%3E", {}, 400),
        ("get", "/staff/api/tickets?cursor=not-a-cursor", {}, 400),
        ("get", "/staff/api/tickets/{id}/claim", {}, 405),
        ("post", "/staff/api/tickets/{id}/resolve", {"data": "x" * 200_000}, 413),
        ("get", "/staff/api/nothing-here", {}, 404),
    ],
)
def test_bad_requests_get_a_4xx_json_error(
    staff_server: StaffServer, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    ticket = new_ticket(staff_server)
    url = staff_server.base_url + path.replace("{id}", ticket.id)
    response = acting_session(staff_server).request(method, url, timeout=5, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert requests.get(f"{staff_server.base_url}/healthz", timeout=5).status_code == 200


def test_pages_send_csp_and_have_no_inline_script(staff_server: StaffServer) -> None:
    login_page = requests.get(f"{staff_server.base_url}/staff", timeout=5)
    inbox_page = log_in(staff_server).get(f"{staff_server.base_url}/staff", timeout=5)
    for response in (login_page, inbox_page):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.headers["Cache-Control"].startswith("no-store")
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        html = response.text
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I)
        assert all("src=" in attrs and not body.strip() for attrs, body in scripts)
        assert not re.search(r"\son[a-z]+\s*=", html, re.I)
    for label in ("Username", "Password", "Authentication code", "Log in"):
        assert label in login_page.text
    assert 'autocomplete="one-time-code"' in login_page.text and "token" not in login_page.text.lower()
    assert re.search(r'<form[^>]*method="post"[^>]*action="/staff/login"', login_page.text)
    assert "<script" not in login_page.text  # logging in needs no JavaScript
    assert "staff.js" in inbox_page.text and 'action="/staff/logout"' in inbox_page.text
    for asset, kind in (("staff.js", "javascript"), ("staff.css", "text/css")):
        got = requests.get(f"{staff_server.base_url}/staff/static/{asset}", timeout=5)
        assert got.status_code == 200 and kind in got.headers["Content-Type"]
    assert requests.get(f"{staff_server.base_url}/staff/static/../app.py", timeout=5).status_code == 404


def test_scripts_never_write_html_from_data() -> None:
    for script in ("staff.js", "me.js", "audit.js"):
        source = (STATIC_DIR / script).read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source), script


def test_healthz(staff_server: StaffServer) -> None:
    response = requests.get(f"{staff_server.base_url}/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_every_response_carries_a_request_id_a_valid_incoming_one_kept(staff_server: StaffServer) -> None:
    fresh = requests.get(f"{staff_server.base_url}/healthz", timeout=5).headers.get("X-Request-ID")
    again = requests.get(f"{staff_server.base_url}/healthz", timeout=5).headers.get("X-Request-ID")
    assert fresh and again and fresh != again and re.fullmatch(r"[0-9a-f]{32}", fresh)
    kept = requests.get(f"{staff_server.base_url}/healthz", headers={"X-Request-ID": "edge-42"}, timeout=5)
    assert kept.headers["X-Request-ID"] == "edge-42"
    bad = requests.get(f"{staff_server.base_url}/staff/api/tickets", headers={"X-Request-ID": "a b<"}, timeout=5)
    assert bad.status_code == 401 and re.fullmatch(r"[0-9a-f]{32}", bad.headers["X-Request-ID"])


def test_server_runs_the_outbox_worker_and_notifies_staff_once(staff_server: StaffServer) -> None:
    ticket = new_ticket(staff_server, "emergency", "child swallowed pills")
    wait_until(lambda: ticket.id in staff_server.webhook.ticket_ids(), what="the notification")
    wait_until(lambda: staff_server.store().outbox_counts()["pending"] == 0, what="all rows sent")
    assert staff_server.webhook.ticket_ids().count(ticket.id) == 1
    payload = next(p for p in staff_server.webhook.received if p["ticket_id"] == ticket.id)
    assert payload["urgency"] == "emergency" and "39C" not in payload["text"]


def test_server_logs_no_message_text_or_token(staff_server: StaffServer) -> None:
    new_ticket(staff_server)
    requests.get(f"{staff_server.base_url}/staff/api/tickets", headers=auth(staff_server), timeout=5)
    log = staff_server.log_text()
    assert staff_server.token not in log and "39C" not in log and "555-867" not in log


@pytest.fixture(scope="module")
def tokenless_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffServer]:
    server = start_server(tmp_path_factory.mktemp("tokenless"), token="")
    yield server
    stop_server(server.process)


def test_without_staff_token_no_bearer_is_accepted_but_accounts_sign_in(tokenless_server: StaffServer) -> None:
    ticket = new_ticket(tokenless_server)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        response = requests.get(f"{tokenless_server.base_url}/staff/api/tickets", headers=headers, timeout=5)
        assert response.status_code == 401 and ticket.id not in response.text
    assert re.search(r"WARNING.*STAFF_TOKEN", tokenless_server.log_text())
    signed_in = log_in(tokenless_server).get(f"{tokenless_server.base_url}/staff/api/tickets", timeout=5)
    assert signed_in.status_code == 200 and ticket.id in signed_in.text


def test_static_dir_has_the_page_files() -> None:
    names = {p.name for p in Path(STATIC_DIR).iterdir()}
    assert names >= {"login.html", "inbox.html", "staff.js", "staff.css", "me.js", "audit.html", "audit.js"}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"STAFF_TOKEN": "x" * 31}, "STAFF_TOKEN"),
        ({"STAFF_HOST": "0.0.0.0", "DATA_ENCRYPTION_KEY": ""}, "DATA_ENCRYPTION_KEY"),
    ],  # nosec B104
)
def test_the_server_refuses_to_start_with_unsafe_settings(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    full = {**os.environ, "HANDOFF_DB_PATH": str(tmp_path / "h.sqlite"), "DATABASE_URL": "", "STAFF_PORT": "1", **env}
    done = subprocess.run(
        [sys.executable, "-m", "bot.staff"],
        cwd=STATIC_DIR.parents[2],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"error: the staff app will not start: {variable}: " in done.stderr and "Traceback" not in done.stderr
    assert "x" * 31 not in done.stderr
