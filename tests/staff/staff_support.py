"""Helpers for the staff inbox tests: a real `python -m bot.staff` server on a random port."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyotp
import requests

from bot.handoff.sqlite import SqliteHandoffStore
from bot.ops.ports import free_port
from bot.staff.accounts import create_account

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Webhook:
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ticket_ids(self) -> list[str]:
        with self.lock:
            return [p.get("ticket_id", "") for p in self.received]


@dataclass
class StaffServer:
    base_url: str
    token: str
    db_path: Path
    log_path: Path
    webhook: Webhook
    process: subprocess.Popen[bytes]

    def store(self) -> SqliteHandoffStore:
        return SqliteHandoffStore(self.db_path)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass(frozen=True)
class Staff:
    """An account made for a test: what its owner would type (the code comes from the TOTP secret)."""

    username: str
    password: str
    secret: str
    role: str

    def code(self, steps: int = 0) -> str:
        """The authenticator's code now (`steps` 30-second steps ahead: a code is accepted once, one step early)."""
        return pyotp.TOTP(self.secret).at(time.time(), counter_offset=steps)


def add_staff(server: StaffServer, role: str = "admin", name: str = "Nurse Kim") -> Staff:
    """A new account in the server's database (a new one each time: a TOTP code signs in only once)."""
    username = f"{role}-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    secret = create_account(server.store(), username, name, role, password, sealer=None, actor="test")
    return Staff(username, password, secret, role)


def log_in(server: StaffServer, staff: Staff | None = None, role: str = "admin") -> requests.Session:
    """A requests session signed in through the form (it holds the session cookie), as a new account by default."""
    staff = staff or add_staff(server, role)
    session = requests.Session()
    response = session.post(
        f"{server.base_url}/staff/login",
        data={"username": staff.username, "password": staff.password, "totp": staff.code()},
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 303, response.text
    return session


def csrf(server: StaffServer) -> dict[str, str]:
    """What the inbox page's own script sends with a POST."""
    return {"X-Staff-CSRF": "1", "Origin": server.base_url}


def acting_session(server: StaffServer, staff: Staff | None = None, role: str = "staff") -> requests.Session:
    """A signed-in session (as `staff`, or a new account of `role`) that sends the CSRF headers on every request, as
    the inbox page's script does (it may act)."""
    session = log_in(server, staff, role)
    session.headers.update(csrf(server))
    return session


def wait_until(condition: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start_server(
    tmp: Path, token: str, webhook: Webhook | None = None, env: dict[str, str] | None = None
) -> StaffServer:
    webhook = webhook or Webhook()
    port = free_port()
    db_path = tmp / "handoff.sqlite"
    log_path = tmp / "server.log"
    env = {
        **os.environ,
        "STAFF_HOST": "127.0.0.1",
        "STAFF_PORT": str(port),
        "STAFF_TOKEN": token,
        "STAFF_WEBHOOK_URL": webhook.url,
        "HANDOFF_DB_PATH": str(db_path),
        "DATABASE_URL": "",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.staff"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"staff server exited:\n{log_path.read_text(errors='replace')}")
        try:
            return requests.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # a busy machine may answer slowly at first
            return False

    try:
        wait_until(healthy, timeout=60, what="the staff server to start")
    except BaseException:
        stop_server(process)
        raise
    return StaffServer(base_url, token, db_path, log_path, webhook, process)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def serve_webhook() -> tuple[Webhook, ThreadingHTTPServer]:
    state = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.received.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    return state, server
