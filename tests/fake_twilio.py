"""A local fake of Twilio's Messages endpoint, for tests of SMS replies (registered in tests/conftest.py).

    POST /2010-04-01/Accounts/<AccountSid>/Messages.json   (form: To, From, Body; HTTP Basic sid:token)

It checks the Basic credentials against its account sid and token (and that the URL names that account): 401 with
Twilio's error 20003 otherwise. Every request is recorded (to, from, body, whether auth was right), and an accepted
one is answered 201 with a Twilio-like message resource and a fresh ``SM...`` sid. ``refuse_next(code, status)``
makes the next request fail the way Twilio refuses one (e.g. 21610, the number unsubscribed).

A threaded server on 127.0.0.1 and a free port, so another process can use it: start it in the test, then give the
process under test ``fake.env()`` (TWILIO_API_BASE=fake.base_url, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
TWILIO_FROM_NUMBER). The ``fake_twilio`` fixture does the starting and stopping.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")


@dataclass(frozen=True)
class SentMessage:
    to: str
    from_: str
    body: str
    auth_ok: bool
    account_sid: str  # the account the URL named
    sid: str | None  # the sid answered, None when refused


@dataclass
class FakeTwilio:
    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    from_number: str = "+15550009999"
    requests: list[SentMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _refusals: list[tuple[int, int]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Twilio server is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The settings a process under test needs to send through this fake."""
        return {
            "TWILIO_API_BASE": self.base_url,
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM_NUMBER": self.from_number,
        }

    def refuse_next(self, code: int = 21610, status: int = 400) -> None:
        with self._lock:
            self._refusals.append((code, status))

    def received(self) -> list[SentMessage]:
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._refusals.clear()

    def start(self) -> FakeTwilio:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _auth_ok(self, header: str, url_sid: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token) \
            and url_sid == self.account_sid  # fmt: skip

    def _handle(self, path: str, auth: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        match = _PATH.match(path)
        if match is None:
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        url_sid = match.group(1)
        auth_ok = self._auth_ok(auth, url_sid)
        to, from_, body = (form.get(name, [""])[0] for name in ("To", "From", "Body"))
        with self._lock:
            refusal = self._refusals.pop(0) if auth_ok and self._refusals else None
            sid = "SM" + secrets.token_hex(16) if auth_ok and refusal is None else None
            self.requests.append(SentMessage(to, from_, body, auth_ok, url_sid, sid))
        if not auth_ok:
            return 401, {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                         "status": 401}  # fmt: skip
        if refusal is not None:
            code, status = refusal
            return status, {"code": code, "message": f"Refused by the fake ({code})", "status": status}
        return 201, {
            "sid": sid,
            "account_sid": url_sid,
            "to": to,
            "from": from_,
            "body": body,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{url_sid}/Messages/{sid}.json",
        }


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True)
            status, payload = fake._handle(self.path, self.headers.get("Authorization") or "", form)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()
