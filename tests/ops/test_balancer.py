"""bot.ops.balancer in front of stand-in replicas: round robin, failover, a reply even when every replica is down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from bot.ops.ports import free_port
from bot.ops.stack import wait_for
from bot.settings import ROOT

pytestmark = pytest.mark.integration

CLINIC_PHONE = "555-0142"


class FakeReplica:
    """A stand-in Rasa replica. mode: "ok", "error" (HTTP 500) or "hang" (answers only when released)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mode = "ok"
        self.requests: list[tuple[str, str, bytes]] = []
        self.release = threading.Event()
        replica = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                replica.requests.append((self.command, self.path, body))
                if replica.mode == "hang":
                    replica.release.wait(30)
                status = 500 if replica.mode == "error" else 200
                payload = json.dumps([{"text": f"from {replica.name}"}, {"custom": {"kind": "answer"}}]).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("x-replica", replica.name)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _answer  # noqa: N815
            do_POST = _answer  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Balancer:
    def __init__(self, replicas: list[str], log_path: Any, timeout: float = 2.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CLINIC_PHONE": CLINIC_PHONE,
            "BALANCER_TIMEOUT": str(timeout),
            "BALANCER_COOLDOWN": "30",
        }
        self.log = open(log_path, "ab")
        argv = [sys.executable, "-m", "bot.ops.balancer", "--port", str(self.port)]
        for url in replicas:
            argv += ["--replica", url]
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for(f"{self.url}/balancer/health", 60, self.proc, log_path)
        except BaseException:
            self.close()
            raise

    def post(self, sender: str = "someone", message: str = "hello", **kwargs: Any) -> requests.Response:
        return requests.post(
            f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=30, **kwargs
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def replicas() -> Iterator[tuple[FakeReplica, FakeReplica]]:
    a, b = FakeReplica("A"), FakeReplica("B")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_round_robin_forwards_requests_unchanged(replicas: tuple[FakeReplica, FakeReplica], tmp_path: Any) -> None:
    a, b = replicas
    balancer = Balancer([a.url, b.url], tmp_path / "balancer.log")
    try:
        served = [balancer.post(sender=f"s{i}", message=f"question {i}").headers["x-replica"] for i in range(6)]
        health = requests.get(f"{balancer.url}/webhooks/rest/", timeout=10)
    finally:
        balancer.close()
    assert served.count("A") == 3 and served.count("B") == 3
    assert all(x != y for x, y in zip(served, served[1:], strict=False)), served
    assert health.status_code == 200
    bodies = [json.loads(body) for _, path, body in a.requests + b.requests if path == "/webhooks/rest/webhook"]
    assert sorted(body["message"] for body in bodies) == [f"question {i}" for i in range(6)]


def test_a_replica_that_is_down_is_skipped(replicas: tuple[FakeReplica, FakeReplica], tmp_path: Any) -> None:
    a, _ = replicas
    balancer = Balancer([closed_port_url(), a.url], tmp_path / "balancer.log")
    try:
        answers = [balancer.post(sender=f"s{i}") for i in range(4)]
        health = requests.get(f"{balancer.url}/balancer/health", timeout=10).json()
    finally:
        balancer.close()
    assert [r.status_code for r in answers] == [200] * 4
    assert [r.json()[0]["text"] for r in answers] == ["from A"] * 4
    assert len(a.requests) == 4  # each request reached a live replica exactly once
    assert health["up"] == 1


def test_every_replica_down_still_gets_the_clinic_phone_and_911(tmp_path: Any) -> None:
    balancer = Balancer([closed_port_url(), closed_port_url()], tmp_path / "balancer.log")
    try:
        webhook = balancer.post(message="what are the side effects of methotrexate?")
        other = requests.get(f"{balancer.url}/webhooks/rest/", timeout=10)
    finally:
        balancer.close()
    assert webhook.status_code == 200
    messages = webhook.json()
    text = " ".join(m.get("text") or "" for m in messages)
    assert CLINIC_PHONE in text and "911" in text
    assert any((m.get("custom") or {}).get("kind") == "abstain" for m in messages)
    assert other.status_code == 502 and other.json()["error"] == "bad_gateway"


def test_a_failing_or_hanging_replica_gives_the_fallback_not_an_error(
    replicas: tuple[FakeReplica, FakeReplica], tmp_path: Any
) -> None:
    a, b = replicas
    a.mode, b.mode = "error", "hang"
    balancer = Balancer([a.url, b.url], tmp_path / "balancer.log", timeout=1.0)
    try:
        first, second = balancer.post(sender="x"), balancer.post(sender="y")
    finally:
        b.release.set()
        balancer.close()
    for resp in (first, second):
        assert resp.status_code == 200
        assert "911" in resp.json()[0]["text"]
    reasons = sorted(m["custom"]["reason"] for r in (first, second) for m in r.json() if "custom" in m)
    assert reasons == ["timeout", "unavailable"]
    # A request that reached a replica is not sent again (the turn may already be in the conversation).
    assert len(a.requests) == 1 and len(b.requests) == 1


def test_an_oversized_body_is_refused_with_a_4xx(replicas: tuple[FakeReplica, FakeReplica], tmp_path: Any) -> None:
    a, b = replicas
    balancer = Balancer([a.url, b.url], tmp_path / "balancer.log")
    try:
        resp = requests.post(f"{balancer.url}/webhooks/rest/webhook", data=b"x" * (2 * 1024 * 1024), timeout=30)
        after = balancer.post()
    finally:
        balancer.close()
    assert resp.status_code == 413
    assert after.status_code == 200
