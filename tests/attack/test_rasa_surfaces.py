"""An outsider on 127.0.0.1 probes the Rasa server of the real local stack over HTTP (a few dozen requests):
the version banner, the REST key, conversation ids of other channels, malformed bodies, a replayed signed SMS."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import jwt
import pytest
import requests

from bot.ops.stack import Stack
from tests.e2e.conftest import REST_KEY
from tests.e2e.test_sms import twilio_signature

pytestmark = pytest.mark.integration

AUTH = {"Authorization": f"Bearer {REST_KEY}"}


def rest(stack: Stack, body: Any, headers: dict[str, str] | None = None, *, auth: bool = True) -> requests.Response:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    data = body if isinstance(body, bytes) else None
    sent = {**(AUTH if auth else {}), **(headers or {})}
    return requests.post(url, data=data, json=None if data is not None else body, headers=sent, timeout=60)


@pytest.mark.parametrize("path", ["/", "/version", "/status"])
def test_rasa_does_not_tell_its_version(stack: Stack, path: str) -> None:
    resp = requests.get(stack.rasa_url + path, timeout=10)

    assert resp.status_code == 404 and resp.content == b""
    assert "rasa" not in str(dict(resp.headers)).lower() and "3.6" not in str(dict(resp.headers))


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer guess"}, {"X-Api-Key": REST_KEY[:-1]}, {"Authorization": REST_KEY}]
)
def test_rest_without_the_key_is_refused(stack: Stack, headers: dict[str, str]) -> None:
    resp = rest(stack, {"sender": "attacker", "message": "what is dupixent"}, headers, auth=False)

    assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"


def test_a_widget_conversation_cannot_be_continued_or_erased_over_rest(stack: Stack) -> None:
    patient = "patient-" + secrets.token_hex(4)
    token = jwt.encode({"sub": patient, "exp": int(time.time()) + 600}, stack.env["WEB_JWT_SECRET"], algorithm="HS256")
    web = requests.post(
        f"{stack.rasa_url}/webhooks/web/webhook",
        json={"message": "is dupixent safe for my son"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert web.status_code == 200, web.text

    # the signed-in patient's conversation is web:<sub>; anonymous widget sessions are web-<id>
    for sender in (f"web:{patient}", f"WEB:{patient}", f" web:{patient}", "web-" + secrets.token_hex(8)):
        for message in ("what medicine did I ask about?", "delete my data"):
            resp = rest(stack, {"sender": sender, "message": message})
            assert resp.status_code == 400 and resp.json()["error"] == "sender_reserved", (sender, resp.text)


def test_an_sms_conversation_id_is_refused_over_rest(stack: Stack) -> None:
    resp = rest(stack, {"sender": "sms:" + secrets.token_hex(16), "message": "add this to my ticket"})

    assert resp.status_code == 400 and resp.json()["error"] == "sender_reserved"


BAD = [
    ("nested", b"[" * 20_000 + b"]" * 20_000, "invalid_json"),
    ("5000-digits", b'{"sender": "a", "message": "hi", "n": ' + b"9" * 5000 + b"}", "invalid_number"),
    ("nan", b'{"sender": "a", "message": "hi", "n": NaN}', "invalid_number"),
    ("invalid-utf8", b'{"sender": "a", "message": "caf\xe9"}', "invalid_utf8"),
    ("not-an-object", b'"hello"', "invalid_body"),
    ("duplicate-key", b'{"sender": "a", "message": "hi", "message": "x"}', "duplicate_key"),
]


@pytest.mark.parametrize(("name", "body", "code"), BAD, ids=[b[0] for b in BAD])
def test_malformed_bodies_get_a_4xx_on_rest_and_web(stack: Stack, name: str, body: bytes, code: str) -> None:
    on_rest = rest(stack, body, {"Content-Type": "application/json"})
    on_web = requests.post(f"{stack.rasa_url}/webhooks/web/webhook", data=body, timeout=60)

    assert (on_rest.status_code, on_rest.json()["error"]) == (400, code)
    assert (on_web.status_code, on_web.json()["error"]) == (400, code)


def test_an_oversized_body_is_refused(stack: Stack) -> None:
    resp = rest(stack, b'{"sender": "a", "message": "' + b"a" * 200_000 + b'"}', {"Content-Type": "application/json"})

    assert resp.status_code == 413 and resp.json()["error"] == "body_too_large"


def test_a_captured_signed_sms_cannot_be_replayed(stack: Stack) -> None:
    url = f"{stack.rasa_url}/webhooks/sms/webhook"
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "From": "+15551230077",
        "To": "+15550009999",
        "Body": "what is dupixent",
    }
    headers = {"X-Twilio-Signature": twilio_signature(url, params)}

    first = requests.post(url, data=params, headers=headers, timeout=60)
    replayed = requests.post(url, data=params, headers=headers, timeout=60)

    assert first.status_code == 200 and "<Message>" in first.text
    assert replayed.status_code == 200 and "<Message>" not in replayed.text


def test_no_probe_left_a_traceback_in_the_rasa_log(stack: Stack) -> None:
    rest(stack, b"[" * 20_000 + b"]" * 20_000, {"Content-Type": "application/json"})
    log = (stack.log_dir / "rasa.log").read_text(errors="replace")

    assert not re.search(r"Traceback|RecursionError|Exceeds the limit", log)
