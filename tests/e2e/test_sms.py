"""The SMS line end to end: requests signed the way Twilio signs them, against the real bot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from html import unescape
from pathlib import Path

import pytest
import requests

from bot.handoff.sqlite import SqliteHandoffStore
from bot.ops.stack import Stack
from bot.rasa_server.channels.gsm7 import SMS_LIMIT, is_gsm7, septets
from tests.e2e.conftest import TWILIO_TOKEN, add_staff
from tests.fake_twilio import FakeTwilio

pytestmark = pytest.mark.integration


def twilio_signature(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    """Twilio's scheme: HMAC-SHA1 over the URL followed by each POST field name and value, sorted by name."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def post(stack: Stack, params: dict[str, str], signature: str | None) -> requests.Response:
    url = f"{stack.rasa_url}/webhooks/sms/webhook"
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return requests.post(url, data=params, headers=headers, timeout=60)


def message_of(resp: requests.Response) -> str:
    match = re.search(r"<Message>(.*)</Message>", resp.text, re.S)
    return unescape(match.group(1)) if match else ""


def test_a_signed_question_gets_a_short_plain_answer(stack: Stack) -> None:
    params = {"From": "+15551230001", "To": "+15550009999", "Body": "what are the side effects of methotrexate?"}
    url = f"{stack.rasa_url}/webhooks/sms/webhook"
    resp = post(stack, params, twilio_signature(url, params))
    assert resp.status_code == 200 and "<Response>" in resp.text
    text = message_of(resp)
    assert "nausea" in text.lower() or "liver" in text.lower()
    assert septets(text) <= SMS_LIMIT == 306 and is_gsm7(text)


@pytest.mark.parametrize("tamper", ["unsigned", "changed_body", "changed_from"])
def test_unsigned_or_tampered_requests_get_403_and_no_reply(stack: Stack, tamper: str) -> None:
    params = {"From": "+15551230002", "To": "+15550009999", "Body": "what is dupixent"}
    url = f"{stack.rasa_url}/webhooks/sms/webhook"
    signature = twilio_signature(url, params)
    if tamper == "changed_body":
        params["Body"] = "what is methotrexate"
    elif tamper == "changed_from":
        params["From"] = "+15551239999"
    resp = post(stack, params, None if tamper == "unsigned" else signature)
    assert resp.status_code == 403 and "<Message>" not in resp.text


def _files(*paths: Path) -> bytes:
    found = [p for base in paths for p in (base, base.with_name(base.name + "-wal")) if p.is_file()]
    return b"".join(p.read_bytes() for p in found)


def test_an_sms_handoff_keeps_the_number_sealed_and_a_staff_reply_reaches_it_once(
    stack: Stack, twilio: FakeTwilio
) -> None:
    number = "+15551237766"
    params = {
        "From": number,
        "To": twilio.from_number,
        "Body": "my son has had a fever of 103 since last night on methotrexate",
    }
    url = f"{stack.rasa_url}/webhooks/sms/webhook"
    text = message_of(post(stack, params, twilio_signature(url, params)))
    assert "text you back at this number" in text and septets(text) <= SMS_LIMIT

    store = SqliteHandoffStore(Path(stack.env["HANDOFF_DB_PATH"]))
    (ticket,) = [t for t in store.list_tickets(None) if t.channel == "sms" and t.reply_channel == "sms"]
    stored = _files(Path(stack.env["HANDOFF_DB_PATH"]), Path(stack.env["TRACKER_DB"]))
    logs = b"".join(p.read_bytes() for p in stack.log_dir.glob("*.log"))
    for form in (number, number[1:], number[2:]):
        assert form.encode() not in stored and form.encode() not in logs

    twilio.clear()
    staff = requests.Session()
    who = add_staff(stack, "staff", "Nurse Ode")
    form = {"username": who.username, "password": who.password, "totp": who.code()}
    login = staff.post(f"{stack.staff_url}/staff/login", data=form, allow_redirects=False, timeout=10)
    assert login.status_code == 303
    resp = staff.post(
        f"{stack.staff_url}/staff/api/tickets/{ticket.id}/reply",
        json={"text": "This is the clinic: please call us now at 555-0100."},
        headers={"X-Staff-CSRF": "1"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    (sent,) = [m for m in twilio.received() if m.to == number]  # exactly one to this number
    assert sent.auth_ok and sent.from_ == twilio.from_number
    assert resp.json()["reply"]["provider_id"] == sent.sid
