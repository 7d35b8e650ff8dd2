"""The SMS line end to end: requests signed the way Twilio signs them, against the real bot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from html import unescape

import pytest
import requests

from bot.ops.stack import Stack
from bot.rasa_server.channels.gsm7 import SMS_LIMIT, is_gsm7, septets
from tests.e2e.conftest import TWILIO_TOKEN

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
