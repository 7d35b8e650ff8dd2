"""The channels' hardened surfaces in a real Rasa/sanic app (Rasa venv): conversation ids stay in their channel,
the REST key, malformed bodies (a 4xx with a clear code, never a 500), the hidden version banner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa_support import PORTAL, RasaServer, echo, serve

from bot.rasa_server.channels.bodies import BadBody, parse_form
from bot.rasa_server.channels.rest import SafeRestInput
from bot.rasa_server.channels.web import WebInput

REST = "/webhooks/rest/webhook"
WEB = "/webhooks/web/webhook"
KEY = "rest-key-for-tests-0123456789abcdef"


@pytest.fixture(scope="module")
def stack_module() -> Iterator[RasaServer]:
    """The REST channel (behind a key) and the web channel together, as `rasa run` mounts them."""
    with serve([SafeRestInput(turn_timeout=2.0, api_key=KEY), WebInput(allowed_origins=[PORTAL])]) as server:
        yield server


@pytest.fixture
def server(stack_module: RasaServer) -> RasaServer:
    stack_module.agent.reply = echo
    stack_module.agent.received.clear()
    return stack_module


def rest(server: RasaServer, payload: object, key: str | None = KEY) -> tuple[int, object]:
    resp = server.post_json(REST, payload, {"Authorization": f"Bearer {key}"} if key else {})
    return resp.status, resp.json()


# ---- conversation ids belong to their channel ----


def test_a_web_session_id_is_refused_on_rest_and_its_conversation_is_not_continued(server: RasaServer) -> None:
    first = server.post_json(WEB, {"message": "is dupixent ok for my son"})
    web_sender = server.agent.received[0].sender_id
    assert first.status == 200 and web_sender.startswith("web-")

    status, body = rest(server, {"sender": web_sender, "message": "what medicine did I ask about?"})

    assert status == 400 and isinstance(body, dict) and body["error"] == "sender_reserved"
    assert len(server.agent.received) == 1


@pytest.mark.parametrize(
    "sender",
    ["web-abcdefghijklmnopqrstuvwx", "web:patient-42", "sms:0123456789abcdef0123456789abcdef", "SMS:x", " web-x"],
)
def test_ids_in_another_channels_namespace_are_refused_on_rest(server: RasaServer, sender: str) -> None:
    status, body = rest(server, {"sender": sender, "message": "hi"})

    assert status == 400 and isinstance(body, dict) and body["error"] == "sender_reserved" and body["message"]
    assert server.agent.received == []


@pytest.mark.parametrize("sender", ["eval-123-abcd", "e2e-0a1b2c", "bench-x", "me", "prod-1234", "websocket-fan"])
def test_the_tools_senders_still_work_on_rest(server: RasaServer, sender: str) -> None:
    status, _ = rest(server, {"sender": sender, "message": "hi"})

    assert status == 200 and server.agent.received[0].sender_id == sender


# ---- the REST key ----


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}, {"X-Api-Key": KEY[:-1]}],
    ids=["none", "wrong", "not-bearer", "truncated"],
)
def test_rest_without_the_key_gets_401_and_no_turn(server: RasaServer, headers: dict[str, str]) -> None:
    resp = server.post_json(REST, {"sender": "p1", "message": "hi"}, headers)

    assert resp.status == 401 and resp.json()["error"] == "unauthorized" and resp.json()["message"]
    assert server.agent.received == []


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {KEY}"}, {"X-Api-Key": KEY}], ids=["bearer", "x-api"])
def test_rest_with_the_key_answers(server: RasaServer, headers: dict[str, str]) -> None:
    resp = server.post_json(REST, {"sender": "p1", "message": "hi"}, headers)

    assert resp.status == 200 and resp.json()[0]["text"] == "You said: hi"


def test_the_rest_health_check_needs_no_key(server: RasaServer) -> None:
    assert server.request("GET", "/webhooks/rest/").status == 200


# ---- malformed bodies: a 4xx with a clear code on REST and web, never a 500 ----

NESTED = 20_000
BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("empty", b"", 400, "empty_body"),
    ("not-json", b"hello there", 400, "invalid_json"),
    ("truncated", b'{"sender": "a", "message": "hi"', 400, "invalid_json"),
    ("nested-arrays", b"[" * NESTED + b"]" * NESTED, 400, "invalid_json"),
    ("nested-objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400, "invalid_json"),
    (
        "nested-in-a-field",
        b'{"sender": "a", "message": "hi", "x": ' + b"[" * NESTED + b"]" * NESTED + b"}",
        400,
        "invalid_json",
    ),
    ("5000-digit-int", b'{"sender": "a", "message": "hi", "n": ' + b"9" * 5000 + b"}", 400, "invalid_number"),
    ("5000-digit-sender", b'{"sender": ' + b"1" * 5000 + b', "message": "hi"}', 400, "invalid_number"),
    ("long-float", b'{"sender": "a", "message": "hi", "n": 0.' + b"1" * 5000 + b"}", 400, "invalid_number"),
    ("overflowing-float", b'{"sender": "a", "message": "hi", "n": 1e999}', 400, "invalid_number"),
    ("nan", b'{"sender": "a", "message": "hi", "n": NaN}', 400, "invalid_number"),
    ("infinity", b'{"sender": "a", "message": "hi", "n": -Infinity}', 400, "invalid_number"),
    ("invalid-utf8", b'{"sender": "a", "message": "caf\xe9"}', 400, "invalid_utf8"),
    ("utf16", '{"sender": "a", "message": "hi"}'.encode("utf-16"), 400, "invalid_utf8"),
    ("utf8-bom", b'\xef\xbb\xbf{"sender": "a", "message": "hi"}', 400, "invalid_json"),
    ("duplicate-key", b'{"sender": "a", "message": "hi", "message": "other"}', 400, "duplicate_key"),
    ("array", b'["hi"]', 400, "invalid_body"),
    ("string", b'"hi"', 400, "invalid_body"),
    ("null", b"null", 400, "invalid_body"),
    ("number", b"5", 400, "invalid_body"),
    ("message-list", b'{"sender": "a", "message": ["hi"]}', 400, "message_missing"),
    ("message-object", b'{"sender": "a", "message": {"text": "hi"}}', 400, "message_missing"),
    ("message-lone-surrogate", b'{"sender": "a", "message": "hi \\ud800"}', 400, "invalid_text"),
    ("message-nul", b'{"sender": "a", "message": "hi\\u0000"}', 400, "control_characters"),
    ("too-large", b'{"sender": "a", "message": "' + b"a" * 70_000 + b'"}', 413, "body_too_large"),
]
REST_ONLY: list[tuple[str, bytes, int, str]] = [
    ("sender-number", b'{"sender": 5, "message": "hi"}', 400, "invalid_sender"),
    ("sender-list", b'{"sender": ["a"], "message": "hi"}', 400, "invalid_sender"),
    ("sender-null", b'{"sender": null, "message": "hi"}', 400, "invalid_sender"),
    ("sender-control", b'{"sender": "a\\u0000b", "message": "hi"}', 400, "invalid_sender"),
    ("sender-too-long", b'{"sender": "' + b"a" * 200 + b'", "message": "hi"}', 400, "invalid_sender"),
]
WEB_ONLY: list[tuple[str, bytes, int, str]] = [
    ("session-number", b'{"message": "hi", "session": 5}', 401, "session_invalid"),
    ("session-list", b'{"message": "hi", "session": ["v1"]}', 401, "session_invalid"),
]


def _ids(rows: list[tuple[str, bytes, int, str]]) -> list[str]:
    return [r[0] for r in rows]


@pytest.mark.parametrize(("name", "body", "status", "code"), BAD_BODIES + REST_ONLY, ids=_ids(BAD_BODIES + REST_ONLY))
def test_bad_rest_bodies_get_a_clear_4xx(server: RasaServer, name: str, body: bytes, status: int, code: str) -> None:
    resp = server.post_json(REST, body, {"Authorization": f"Bearer {KEY}"})

    assert (resp.status, resp.json()["error"]) == (status, code) and resp.json()["message"]
    assert server.agent.received == []


@pytest.mark.parametrize(("name", "body", "status", "code"), BAD_BODIES + WEB_ONLY, ids=_ids(BAD_BODIES + WEB_ONLY))
def test_bad_web_bodies_get_a_clear_4xx(server: RasaServer, name: str, body: bytes, status: int, code: str) -> None:
    resp = server.request("POST", WEB, body, {"Content-Type": "application/json", "Origin": PORTAL})

    assert (resp.status, resp.json()["error"]) == (status, code) and resp.json()["message"]
    assert resp.headers["Access-Control-Allow-Origin"] == PORTAL
    assert server.agent.received == []


@pytest.mark.parametrize("path", [REST, WEB])
def test_a_body_over_the_servers_limit_is_refused_without_a_500(server: RasaServer, path: str) -> None:
    status = server.post_oversized(path, b'{"message": "' + b"a" * (2 * 1024 * 1024) + b'"}')

    assert status == 413
    assert server.agent.received == []


BAD_FORMS: list[tuple[str, bytes, str]] = [
    ("invalid-utf8", b"Body=caf\xe9&From=%2B1555", "invalid_utf8"),
    ("percent-encoded-invalid-utf8", b"Body=caf%E9&From=%2B1555", "invalid_utf8"),
    ("too-many-fields", b"&".join(b"f%d=1" % i for i in range(300)), "invalid_form"),
    ("too-large", b"Body=" + b"a" * 70_000, "body_too_large"),
]


@pytest.mark.parametrize(("name", "body", "code"), BAD_FORMS, ids=[f[0] for f in BAD_FORMS])
def test_the_sms_form_parser_refuses_bad_forms(name: str, body: bytes, code: str) -> None:
    with pytest.raises(BadBody) as err:
        parse_form(body)
    assert err.value.code == code and err.value.status in (400, 413)


def test_the_sms_form_parser_keeps_repeated_and_blank_fields() -> None:
    fields = parse_form(b"Body=&MediaUrl=a&MediaUrl=b&From=%2B15551234567")
    assert fields == {"Body": [""], "MediaUrl": ["a", "b"], "From": ["+15551234567"]}
    assert fields.getall("MediaUrl") == ["a", "b"]


# ---- no version banner ----


@pytest.mark.parametrize("path", ["/", "/version", "/status"])
def test_rasa_does_not_say_what_it_is(server: RasaServer, path: str) -> None:
    resp = server.request("GET", path)

    assert resp.status == 404 and resp.body == b""
    assert "rasa" not in str(dict(resp.headers)).lower()
