"""Test helpers (main venv): the demo portal (`python -m bot.portal`) and a fake bot that answers like the web
channel, on two different origins so the widget's cross-origin requests are exercised."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import requests

ROOT = Path(__file__).resolve().parents[2]
URL = "/webhooks/web/webhook"
MTX_SOURCE = "Clinic handout - MTX Monitoring"


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def fake_reply(text: str) -> list[dict[str, Any]]:
    """Canned turns shaped like the reply contract (not medical content: the real bot is tested elsewhere)."""
    low = text.lower()
    if "breath" in low:
        return [
            {"text": "This could be an emergency. Call 911 now."},
            {
                "custom": {
                    "kind": "handoff",
                    "ticket_id": "T-9",
                    "urgency": "emergency",
                    "hotline": "911",
                    "clinic_phone": "555-0100",
                }
            },
        ]
    if "fever" in low:
        return [
            {"text": "I've sent your message to the care team."},
            {
                "custom": {
                    "kind": "handoff",
                    "ticket_id": "T-7",
                    "urgency": "urgent",
                    "hotline": None,
                    "clinic_phone": "555-0100",
                }
            },
        ]
    if low.startswith("/inform_drug") or "methotrexate" in low:
        return [
            {"text": "Here is what the clinic handout says about methotrexate monitoring."},
            {
                "custom": {
                    "kind": "answer",
                    "drug": "methotrexate",
                    "topic": "monitoring",
                    "sources": [MTX_SOURCE],
                    "facts": [],
                }
            },
        ]
    if "labs" in low:
        return [
            {
                "text": "Which medicine do you mean?",
                "buttons": [
                    {"title": "Methotrexate", "payload": '/inform_drug{"drug":"methotrexate"}'},
                    {"title": "Dupilumab", "payload": '/inform_drug{"drug":"dupilumab"}'},
                ],
            },
            {"custom": {"kind": "clarify", "topic": "monitoring"}},
        ]
    return [{"text": f"You said: {text}"}, {"custom": {"kind": "chitchat"}}]


@dataclass
class FakeBot:
    """Issues anonymous sessions (or checks JWTs when jwt_secret is set) and records (sender, text) per turn."""

    allowed_origin: str
    jwt_secret: str = ""
    url: str = ""
    turns: list[tuple[str, str]] = field(default_factory=list)
    issued: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)  # "slow" turns wait for it

    def handle(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if data.get("message") == "crash":
            return 500, {"error": "internal"}
        if data.get("message") == "slow":
            self.release.wait(20)
        if self.jwt_secret:
            try:
                sender = jwt.decode(str(data.get("token")), self.jwt_secret, algorithms=["HS256"])["sub"]
            except jwt.InvalidTokenError:
                return 401, {"error": "token_invalid", "message": "Please sign in again."}
            session = None
        else:
            session = data.get("session")
            with self.lock:
                if session is None:
                    session = f"fake-session-{len(self.issued) + 1}"
                    self.issued.add(session)
                elif session not in self.issued:
                    return 401, {"error": "session_invalid", "message": "This chat session is not valid."}
            sender = session
        text = data.get("message")
        if not isinstance(text, str) or not text.strip():
            return 400, {"error": "message_empty", "message": "The message is empty."}
        with self.lock:
            self.turns.append((sender, text))
        return 200, {"session": session, "messages": fake_reply(text)}

    def senders(self) -> list[str]:
        with self.lock:
            return [s for s, _ in self.turns]

    def texts(self) -> list[str]:
        with self.lock:
            return [t for _, t in self.turns]


def serve_fake_bot(bot: FakeBot) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _cors(self) -> None:
            if self.headers.get("Origin") == bot.allowed_origin:
                self.send_header("Access-Control-Allow-Origin", bot.allowed_origin)
                self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Vary", "Origin")

        def do_OPTIONS(self) -> None:  # noqa: N802
            self.send_response(204)
            self._cors()
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != URL:
                status, payload = 404, {"error": "not_found", "message": "No such path."}
            else:
                status, payload = bot.handle(json.loads(body))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    bot.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@dataclass
class Portal:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path


def start_portal(port: int, bot_url: str, log_path: Path, jwt_secret: str = "") -> Portal:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PORTAL_HOST": "127.0.0.1",
        "PORTAL_PORT": str(port),
        "WIDGET_BOT_URL": bot_url,
        "WEB_JWT_SECRET": jwt_secret,
        "CLINIC_PHONE": "555-0100",
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.portal"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    portal = Portal(f"http://127.0.0.1:{port}", process, log_path)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"portal exited:\n{log_path.read_text(errors='replace')}")
        try:
            return requests.get(portal.url + "/widget/widget.js", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(up, timeout=60, what="the demo portal to start")
    except BaseException:
        stop_portal(portal)
        raise
    return portal


def stop_portal(portal: Portal) -> None:
    if portal.process.poll() is None:
        portal.process.send_signal(signal.SIGINT)
        try:
            portal.process.wait(15)
        except subprocess.TimeoutExpired:
            portal.process.kill()
            portal.process.wait(5)
