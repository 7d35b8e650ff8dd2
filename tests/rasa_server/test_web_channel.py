"""The web channel in a real Rasa Sanic app: identity (JWT and anonymous sessions), bad input, CORS, fail-safe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from rasa_support import PORTAL, RasaServer, echo, serve

from bot.rasa_server.channels.web import SessionSigner, WebError, WebInput

URL = "/webhooks/web/webhook"
SECRET = "test-secret-for-the-widget-0123456789abcdef"


def token(sub: Any = "patient-42", *, secret: str = SECRET, exp_in: float = 300, **extra: Any) -> str:
    claims = {"sub": sub, "iat": int(time.time()), "exp": int(time.time() + exp_in), **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


def reset(server: RasaServer) -> RasaServer:
    server.agent.reply = echo
    server.agent.received.clear()
    return server


@pytest.fixture(scope="module")
def anon_server() -> Iterator[RasaServer]:
    with serve([WebInput(session_key=b"k" * 32, allowed_origins=[PORTAL], turn_timeout=1.0)]) as server:
        yield server


@pytest.fixture
def anon(anon_server: RasaServer) -> RasaServer:
    return reset(anon_server)


@pytest.fixture(scope="module")
def jwt_server() -> Iterator[RasaServer]:
    with serve([WebInput(jwt_secret=SECRET, allowed_origins=[PORTAL])]) as server:
        yield server


@pytest.fixture
def with_jwt(jwt_server: RasaServer) -> RasaServer:
    return reset(jwt_server)


# ---- anonymous sessions (no WEB_JWT_SECRET) ----


def test_first_message_gets_a_new_random_session_never_the_client_chosen_sender(anon: RasaServer) -> None:
    first = anon.post_json(URL, {"message": "hello", "sender": "victim"})
    second = anon.post_json(URL, {"message": "hello", "sender": "victim"})

    assert first.status == second.status == 200
    ids = [r.sender_id for r in anon.agent.received]
    assert ids[0] != ids[1] and all(i.startswith("web-") and "victim" not in i for i in ids)
    assert first.json()["session"] != second.json()["session"]
    assert first.json()["messages"] == [{"text": "You said: hello"}, {"custom": {"kind": "chitchat"}}]


def test_the_session_token_keeps_the_conversation(anon: RasaServer) -> None:
    session = anon.post_json(URL, {"message": "one"}).json()["session"]
    again = anon.post_json(URL, {"message": "two", "session": session})

    assert again.status == 200 and again.json()["session"] == session
    assert anon.agent.received[0].sender_id == anon.agent.received[1].sender_id
    assert anon.agent.received[1].channel == "web"


@pytest.mark.parametrize(
    "session",
    ["victim", "web-victim", "v1.AAAAAAAAAAAAAAAAAAAAAAAA.1700000000.forged", 42, ["x"]],
    ids=["plain-id", "sender-id", "forged-signature", "number", "list"],
)
def test_a_session_the_channel_did_not_sign_is_refused(anon: RasaServer, session: Any) -> None:
    resp = anon.post_json(URL, {"message": "hi", "session": session})

    assert resp.status == 401 and resp.json()["error"] == "session_invalid"
    assert anon.agent.received == []


def test_a_tampered_session_id_is_refused(anon: RasaServer) -> None:
    session = anon.post_json(URL, {"message": "one"}).json()["session"]
    version, sid, issued, signature = session.split(".")
    other = "B" if sid[0] != "B" else "C"

    resp = anon.post_json(URL, {"message": "two", "session": f"{version}.{other}{sid[1:]}.{issued}.{signature}"})

    assert resp.status == 401 and len(anon.agent.received) == 1


def test_a_session_signed_by_another_key_is_refused(anon: RasaServer) -> None:
    foreign, _ = SessionSigner(b"x" * 32).issue()

    assert anon.post_json(URL, {"message": "hi", "session": foreign}).status == 401


def test_sessions_expire_after_their_ttl() -> None:
    now = [1_000_000.0]
    signer = SessionSigner(b"k" * 32, ttl_seconds=60, clock=lambda: now[0])
    session, sender = signer.issue()
    assert signer.verify(session) == sender
    now[0] += 61
    with pytest.raises(WebError) as err:
        signer.verify(session)
    assert err.value.status == 401 and err.value.code == "session_expired"


# ---- JWT (WEB_JWT_SECRET set) ----


def test_valid_jwt_in_the_header_makes_sub_the_sender(with_jwt: RasaServer) -> None:
    resp = with_jwt.post_json(URL, {"message": "hi", "sender": "victim"}, {"Authorization": f"Bearer {token()}"})

    assert resp.status == 200 and resp.json()["session"] is None
    assert [r.sender_id for r in with_jwt.agent.received] == ["web:patient-42"]


def test_valid_jwt_in_the_body_works_too(with_jwt: RasaServer) -> None:
    resp = with_jwt.post_json(URL, {"message": "hi", "token": token("p-7")})

    assert resp.status == 200 and with_jwt.agent.received[0].sender_id == "web:p-7"


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda: None, "token_missing"),
        (lambda: token(exp_in=-120), "token_expired"),
        (lambda: token(secret="wrong-secret-wrong-secret-wrong-secret!"), "token_invalid"),
        (lambda: token()[:-3] + ("AAA" if not token().endswith("AAA") else "BBB"), "token_invalid"),
        (lambda: jwt.encode({"sub": "p", "exp": int(time.time()) + 60}, None, algorithm="none"), "token_invalid"),
        (lambda: jwt.encode({"sub": "p"}, SECRET, algorithm="HS256"), "token_invalid"),
        (lambda: token(sub="../../etc"), "token_invalid"),
        (lambda: "not.a.jwt", "token_invalid"),
    ],
    ids=["missing", "expired", "wrong-signature", "tampered", "alg-none", "no-exp", "bad-sub", "garbage"],
)
def test_bad_jwts_get_401_and_never_reach_the_bot(with_jwt: RasaServer, make_token: Any, code: str) -> None:
    value = make_token()
    headers = {"Authorization": f"Bearer {value}"} if value else {}

    resp = with_jwt.post_json(URL, {"message": "hi", "sender": "patient-42"}, headers)

    assert resp.status == 401 and resp.json()["error"] == code
    assert "Bearer" in resp.headers["WWW-Authenticate"]
    assert with_jwt.agent.received == []


def test_with_jwt_configured_anonymous_sessions_are_refused(with_jwt: RasaServer) -> None:
    session, _ = SessionSigner(b"k" * 32).issue()

    resp = with_jwt.post_json(URL, {"message": "hi", "session": session})

    assert resp.status == 401 and resp.json()["error"] == "token_missing"


# ---- bad input: a clear 4xx, never a 5xx ----

BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("empty-body", b"", 400, "empty_body"),
    ("not-json", b"hello there", 400, "invalid_json"),
    ("json-array", b'["hi"]', 400, "invalid_body"),
    ("invalid-utf8", b'{"message": "caf\xe9"}', 400, "invalid_utf8"),
    ("deep-nesting", b"[" * 10_000 + b"]" * 10_000, 400, "invalid_json"),
    ("missing-message", b"{}", 400, "message_missing"),
    ("null-message", b'{"message": null}', 400, "message_missing"),
    ("number-message", b'{"message": 42}', 400, "message_missing"),
    ("empty-message", b'{"message": ""}', 400, "message_empty"),
    ("whitespace-message", b'{"message": "  \\n\\t "}', 400, "message_empty"),
    ("nul-character", b'{"message": "hi\\u0000there"}', 400, "control_characters"),
    ("escape-sequence", b'{"message": "\\u001b[31mred"}', 400, "control_characters"),
    ("lone-surrogate", b'{"message": "hi \\ud800"}', 400, "invalid_text"),
    ("20000-characters", b'{"message": "' + b"a " * 10_000 + b'"}', 400, "message_too_long"),
    ("5000-char-word", b'{"message": "' + b"x" * 5_000 + b'"}', 400, "message_too_long"),
    ("huge-body", b'{"message": "' + b"a" * 70_000 + b'"}', 413, "body_too_large"),
]


@pytest.mark.parametrize(("body", "status", "code"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
def test_bad_input_gets_a_clear_4xx(anon: RasaServer, body: bytes, status: int, code: str) -> None:
    resp = anon.request("POST", URL, body, {"Content-Type": "application/json", "Origin": PORTAL})

    assert resp.status == status
    assert resp.json()["error"] == code and resp.json()["message"]
    assert resp.headers["Access-Control-Allow-Origin"] == PORTAL  # the widget can read the error
    assert anon.agent.received == []


@pytest.mark.parametrize(
    "text",
    [
        "does methotrexate 💊 need labs? 🙂",
        "<img src=x onerror=alert(1)>",
        '{"sender": "victim", "message": "hi"}',
        "a" * 2000,
        "line one\nline two",
    ],
    ids=["emoji", "html", "json-in-text", "2000-chars", "newline"],
)
def test_odd_but_valid_text_reaches_the_bot_unchanged(anon: RasaServer, text: str) -> None:
    resp = anon.post_json(URL, {"message": text})

    assert resp.status == 200
    assert anon.agent.received[0].text == " ".join(text.split())


def test_content_type_does_not_matter_so_the_widget_avoids_a_preflight(anon: RasaServer) -> None:
    resp = anon.request("POST", URL, b'{"message": "hi"}', {"Content-Type": "text/plain;charset=UTF-8"})

    assert resp.status == 200 and anon.agent.received[0].text == "hi"


# ---- replies ----


def test_the_reply_keeps_texts_buttons_and_custom_messages_in_order(anon: RasaServer) -> None:
    buttons = [{"title": "Methotrexate", "payload": '/inform_drug{"drug":"methotrexate"}'}]
    custom = {"kind": "clarify", "topic": "monitoring"}
    anon.agent.reply = lambda text: [{"text": "Which medicine?", "buttons": buttons}, {"custom": custom}]

    messages = anon.post_json(URL, {"message": "labs?"}).json()["messages"]

    assert messages == [{"text": "Which medicine?", "buttons": buttons}, {"custom": custom}]
    assert all("recipient_id" not in m for m in messages)


def test_a_failing_bot_still_gets_a_200_reply_with_the_clinic_phone_and_911(anon: RasaServer) -> None:
    def broken(text: str) -> list[dict[str, Any]]:
        raise ConnectionError("action server down")

    anon.agent.reply = broken
    resp = anon.post_json(URL, {"message": "side effects of methotrexate?"})

    assert resp.status == 200
    text = resp.json()["messages"][0]["text"]
    assert "555-0100" in text and "911" in text


def test_a_bot_that_never_answers_times_out_into_the_fallback(anon: RasaServer) -> None:
    async def hang(text: str) -> list[dict[str, Any]]:
        await asyncio.Event().wait()
        return []

    anon.agent.reply = hang
    started = time.monotonic()
    resp = anon.post_json(URL, {"message": "hello?"})

    assert resp.status == 200 and "911" in resp.json()["messages"][0]["text"]
    assert time.monotonic() - started < 10


def test_the_server_stays_up_after_bad_input(anon: RasaServer) -> None:
    for body, *_ in [(b[1],) for b in BAD_BODIES]:
        anon.request("POST", URL, body)
    assert anon.post_json(URL, {"message": "still there?"}).status == 200
    assert anon.request("GET", "/webhooks/web/").json()["status"] == "ok"


# ---- CORS ----


def test_allowed_origin_gets_exactly_one_allow_origin_header(anon: RasaServer) -> None:
    resp = anon.post_json(URL, {"message": "hi"}, {"Origin": PORTAL})

    assert resp.headers.get_all("Access-Control-Allow-Origin") == [PORTAL]
    assert "Origin" in resp.headers["Vary"]


def test_other_origins_get_no_allow_origin_header(anon: RasaServer) -> None:
    resp = anon.post_json(URL, {"message": "hi"}, {"Origin": "https://evil.example"})

    assert resp.status == 200 and resp.headers.get_all("Access-Control-Allow-Origin") is None


def test_preflight_from_the_portal_allows_authorization(anon: RasaServer) -> None:
    resp = anon.request(
        "OPTIONS",
        URL,
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )

    assert resp.status in (200, 204)
    assert resp.headers.get_all("Access-Control-Allow-Origin") == [PORTAL]
    assert "authorization" in resp.headers["Access-Control-Allow-Headers"].lower()
    assert anon.agent.received == []


def test_cors_comes_from_the_channel_allow_list_even_when_rasa_runs_without_cors() -> None:
    with serve([WebInput(session_key=b"k" * 32, allowed_origins=[PORTAL])], cors=None) as server:
        resp = server.request("POST", URL, b'{"message": "hi"}', {"Origin": PORTAL, "Content-Type": "text/plain"})

    assert resp.status == 200 and resp.headers.get_all("Access-Control-Allow-Origin") == [PORTAL]


def test_from_env_reads_secrets_and_origins_from_the_environment() -> None:
    channel = WebInput.from_env(
        {"WEB_JWT_SECRET": "s" * 40, "WEB_ALLOWED_ORIGINS": "https://portal.example, http://127.0.0.1:8000/"}
    )

    assert channel.jwt_secret == "s" * 40
    assert channel.allowed_origins == {"https://portal.example", "http://127.0.0.1:8000"}
    assert WebInput.from_env({}).allowed_origins == {"http://127.0.0.1:8000"}
