"""The whole local stack (action server, staff inbox, Rasa) on free ports, once per test session."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests

from bot.ops.ports import free_port
from bot.ops.stack import Ports, Stack
from bot.sealing import new_key
from tests.fake_twilio import FakeTwilio

STAFF_TOKEN = "e2e-staff-machine-token-0123456789abcdef"  # machine access: reads only
TWILIO_TOKEN = "e2e-twilio-auth-token"
REST_KEY = "e2e-rest-api-key-0123456789abcdef"  # the REST channel is behind a key, as in production


@pytest.fixture(scope="session")
def twilio() -> Iterator[FakeTwilio]:
    """The fake Twilio Messages endpoint the stack's staff app sends replies to (TWILIO_API_BASE)."""
    fake = FakeTwilio(auth_token=TWILIO_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, twilio: FakeTwilio) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    env = {
        **twilio.env(),  # the same auth token as the SMS channel's, as with a real Twilio account
        "DATA_ENCRYPTION_KEY": new_key(),
        "STAFF_TOKEN": STAFF_TOKEN,
        "HANDOFF_DB_PATH": str(tmp / "handoff.sqlite"),
        "TRACKER_DB": str(tmp / "tracker.db"),
        "DATABASE_URL": "",
        "STAFF_WEBHOOK_URL": "",
        "CLINIC_PHONE": "555-0100",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SMS_OPTOUT_DB": str(tmp / "optout.sqlite"),
        "REST_API_KEY": REST_KEY,
        "WEB_JWT_SECRET": secrets.token_urlsafe(32),  # the demo portal signs its patients in, as a real portal
    }
    stack = Stack(ports=Ports(free_port(), free_port(), free_port()), env=env, log_dir=tmp / "log")
    try:
        stack.start(timeout=300)
        yield stack
    finally:
        stack.stop()


@dataclass(frozen=True)
class StaffLogin:
    """A staff account made with `python -m bot.staff.accounts add` (what `make staff-add` runs) on the stack."""

    username: str
    name: str
    password: str
    secret: str

    def code(self) -> str:
        return pyotp.TOTP(self.secret).at(time.time())


def add_staff(stack: Stack, role: str = "clinician", name: str = "Nurse Kim") -> StaffLogin:
    username = f"{role}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(16)
    done = stack.run_tool("bot.staff.accounts", "add", username, "--name", name, "--role", role, stdin=password + "\n")
    assert done.returncode == 0, done.stderr
    uri = next(line for line in done.stdout.splitlines() if line.startswith("otpauth://"))
    return StaffLogin(username, name, password, parse_qs(urlsplit(uri).query)["secret"][0])


class Chat:
    """One conversation through the REST channel."""

    def __init__(self, stack: Stack) -> None:
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.sender = f"e2e-{uuid.uuid4().hex[:10]}"
        self.headers = stack.rest_headers()

    def send(self, text: str) -> list[dict[str, Any]]:
        resp = requests.post(self.url, json={"sender": self.sender, "message": text}, headers=self.headers, timeout=60)
        assert resp.status_code == 200, resp.text
        return resp.json()


def customs(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if "custom" in m]


def text_of(messages: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text") or "" for m in messages)


@pytest.fixture
def chat(stack: Stack) -> Chat:
    return Chat(stack)
