"""Staff replies over the real staff server: SMS through the fake Twilio endpoint, widget replies shown to the
signed-in person through /portal/messages, and every refusal a clear 4xx/5xx that sends nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from staff_support import StaffServer, log_in, start_server, stop_server, wait_until

from bot.handoff import audit
from bot.handoff.models import Ticket
from bot.portal.token import mint_widget_token
from bot.rasa_server.channels.identity import sms_sender_id
from bot.rasa_server.channels.optout import SqliteOptOuts
from bot.sealing import Sealer, new_key
from tests.fake_twilio import FakeTwilio

pytestmark = pytest.mark.integration

ID_SECRET = "id-secret-for-reply-tests"
JWT_SECRET = "reply-tests-jwt-secret-0123456789abcdef"
HOOK_SECRET = "portal-hook-secret"


@dataclass
class PortalHook:
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Setup:
    server: StaffServer
    twilio: FakeTwilio
    sealer: Sealer
    optouts: Path
    hook: PortalHook


def serve_hook() -> tuple[PortalHook, ThreadingHTTPServer]:
    hook = PortalHook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with hook.lock:
                hook.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/portal-hook"
    return hook, server


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("replies")
    twilio = FakeTwilio().start()
    hook, hook_server = serve_hook()
    key = new_key()
    env = {
        **twilio.env(),
        "DATA_ENCRYPTION_KEY": key,
        "SMS_ID_SECRET": ID_SECRET,
        "SMS_OPTOUT_DB": str(tmp / "optout.sqlite"),
        "WEB_JWT_SECRET": JWT_SECRET,
        "PORTAL_WEBHOOK_URL": hook.url,
        "PORTAL_WEBHOOK_SECRET": HOOK_SECRET,
    }
    server = start_server(tmp, secrets.token_urlsafe(24), env=env)
    try:
        yield Setup(server, twilio, Sealer(key), tmp / "optout.sqlite", hook)
    finally:
        stop_server(server.process)
        twilio.stop()
        hook_server.shutdown()
        hook_server.server_close()


@pytest.fixture
def env(setup: Setup) -> Setup:
    setup.twilio.clear()
    return setup


def _number() -> str:
    return f"+1555{secrets.randbelow(10**7):07d}"


def sms_ticket(s: Setup, number: str) -> Ticket:
    conversation = sms_sender_id(number, ID_SECRET)
    contact = ("sms", s.sealer.seal(number))
    return s.server.store().create_ticket(conversation, "sms", "urgent", "fever", "fever on mtx", [], contact=contact)


def reply(s: Setup, ticket_id: str, text: Any, session: requests.Session | None = None) -> requests.Response:
    client = session or log_in(s.server)
    return client.post(
        f"{s.server.base_url}/staff/api/tickets/{ticket_id}/reply",
        data=json.dumps({"text": text}),
        headers={"X-Staff-CSRF": "1", "Content-Type": "application/json"},
        timeout=30,
    )


def test_an_sms_reply_reaches_the_number_once_and_is_recorded_and_audited(env: Setup) -> None:
    number = _number()
    ticket = sms_ticket(env, number)
    text = "Hi, this is the clinic. Please stop the methotrexate and call us today at 555-0100."
    session = log_in(env.server)
    me = session.get(f"{env.server.base_url}/staff/api/me", timeout=5).json()["username"]
    resp = reply(env, ticket.id, text, session)
    assert resp.status_code == 200, resp.text
    (sent,) = env.twilio.received()
    assert sent.auth_ok and sent.account_sid == env.twilio.account_sid
    assert (sent.to, sent.from_, sent.body) == (number, env.twilio.from_number, text)
    body = resp.json()
    assert body["reply"]["status"] == "sent" and body["reply"]["provider_id"] == sent.sid
    assert body["reply"]["staff"] == me and body["reply"]["channel"] == "sms"
    assert body["ticket"]["reply_channel"] == "sms" and [r["text"] for r in body["ticket"]["replies"]] == [text]
    (entry,) = audit.entries(env.server.store(), ticket_id=ticket.id)
    assert (entry.actor, entry.action) == (me, "reply") and "status=sent" in entry.detail
    assert text not in entry.detail and number not in entry.detail
    logged = env.server.log_text()
    assert number not in logged and number[2:] not in logged and text not in logged


def test_curly_quotes_go_out_plain_and_what_sms_cannot_carry_is_refused(env: Setup) -> None:
    ticket = sms_ticket(env, _number())
    resp = reply(env, ticket.id, "It\u2019s fine \u2014 keep going")
    assert resp.status_code == 200 and env.twilio.received()[0].body == "It's fine - keep going"
    env.twilio.clear()
    too_long = reply(env, ticket.id, "word " * 70)
    emoji = reply(env, ticket.id, "Feel better \U0001f600")
    assert (
        too_long.status_code == 400 and too_long.json()["error"] == "too_long" and "306" in too_long.json()["message"]
    )
    assert emoji.status_code == 400 and emoji.json()["error"] == "not_gsm7"
    assert env.twilio.received() == []
    assert len(env.server.store().get_ticket(ticket.id).replies) == 1  # the refused ones were never sent


def test_an_opted_out_number_is_never_texted(env: Setup) -> None:
    number = _number()
    ticket = sms_ticket(env, number)
    SqliteOptOuts(env.optouts).opt_out(sms_sender_id(number, ID_SECRET))
    resp = reply(env, ticket.id, "Please call us.")
    assert resp.status_code == 409 and resp.json()["error"] == "opted_out"
    assert env.twilio.received() == [] and env.server.store().get_ticket(ticket.id).replies == []


def test_a_refused_send_is_kept_as_failed_and_answers_502(env: Setup) -> None:
    ticket = sms_ticket(env, _number())
    env.twilio.refuse_next(21610)
    resp = reply(env, ticket.id, "Please call us.")
    assert resp.status_code == 502 and resp.json()["error"] == "send_failed"
    assert resp.json()["reply"]["status"] == "failed" and resp.json()["reply"]["error"] == "21610"
    (kept,) = env.server.store().get_ticket(ticket.id).replies
    assert kept.status == "failed" and kept.text == "Please call us."
    (entry,) = audit.entries(env.server.store(), ticket_id=ticket.id)
    assert "status=failed" in entry.detail and "error=21610" in entry.detail


def test_no_way_back_machines_and_bad_requests_are_refused(env: Setup) -> None:
    store = env.server.store()
    anonymous = store.create_ticket("web-abcdefghijklmnop", "web", "urgent", "fever", "m", [])
    assert reply(env, anonymous.id, "Hello").json()["error"] == "no_way_back"
    assert reply(env, anonymous.id, "Hello").status_code == 409
    ticket = sms_ticket(env, _number())
    machine = requests.post(
        f"{env.server.base_url}/staff/api/tickets/{ticket.id}/reply",
        json={"text": "Hello"},
        headers={"Authorization": f"Bearer {env.server.token}"},
        timeout=10,
    )
    assert machine.status_code == 403
    assert reply(env, ticket.id, "  ").status_code == 400
    assert reply(env, ticket.id, 42).json()["error"] == "bad_request"
    assert reply(env, "no-such-ticket", "Hello").status_code == 404
    no_csrf = log_in(env.server).post(f"{env.server.base_url}/staff/api/tickets/{ticket.id}/reply",
                                      json={"text": "Hello"}, timeout=10)  # fmt: skip
    assert no_csrf.status_code == 403
    assert env.twilio.received() == [] and store.get_ticket(ticket.id).replies == []


def _bearer(sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_widget_token(JWT_SECRET, sub)}"}


def test_a_widget_reply_is_shown_to_that_signed_in_person_only_and_marked_read(env: Setup) -> None:
    sub = f"demo-{secrets.token_hex(8)}"
    ticket = env.server.store().create_ticket(f"web:{sub}", "web", "urgent", "fever", "fever on mtx", [])
    resp = reply(env, ticket.id, "We read your message: please come in tomorrow at 9.")
    assert resp.status_code == 200 and resp.json()["reply"]["status"] == "delivered-to-widget"
    assert env.twilio.received() == []

    url = f"{env.server.base_url}/portal/messages"
    mine = requests.get(url, headers=_bearer(sub), timeout=10).json()
    assert mine["unread"] == 1 and mine["messages"][0]["text"].startswith("We read your message")
    assert mine["messages"][0]["from"] == "care_team" and "staff" not in mine["messages"][0]
    assert requests.get(url, headers=_bearer("someone-else"), timeout=10).json() == {"messages": [], "unread": 0}
    for headers in ({}, {"Authorization": "Bearer nope"}, _bearer("x") | {"Authorization": "Basic eA=="}):
        refused = requests.get(url, headers=headers, timeout=10)
        assert refused.status_code == 401 and refused.json()["error"].startswith("token_")

    marked = requests.post(f"{url}/read", headers=_bearer(sub), json={"ids": [mine["messages"][0]["id"]]}, timeout=10)
    assert marked.json() == {"marked": 1}
    again = requests.get(url, headers=_bearer(sub), timeout=10).json()
    assert again["unread"] == 0 and again["messages"][0]["unread"] is False
    assert env.server.store().get_ticket(ticket.id).replies[0].read_at is not None
    bad = requests.post(f"{url}/read", headers=_bearer(sub), json={"ids": "all"}, timeout=10)
    assert bad.status_code == 400

    wait_until(lambda: bool(env.hook.received), timeout=10, what="the portal webhook")
    headers, body = env.hook.received[-1]
    assert json.loads(body) == {"ticket_id": ticket.id, "event": "care_team_reply"}
    expected = hmac.new(HOOK_SECRET.encode(), headers["x-portal-timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["x-portal-signature"] == f"sha256={expected.hexdigest()}"
    assert abs(int(headers["x-portal-timestamp"]) - time.time()) < 600


def test_the_portal_page_tells_the_widget_where_the_messages_are(env: Setup) -> None:
    page = requests.get(f"{env.server.base_url}/", timeout=10).text
    assert 'data-messages-url="/portal/messages"' in page and 'data-token-url="/portal/token"' in page
