"""nginx rendered from deploy/nginx/ in front of stand-in replicas: round robin, failover, a reply even when every
replica is down, limits, logs; and the template's fallback reply is bot/rasa_server/fallback.py's."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.ops.nginx import EntryConfig, ensure_certificate, nginx_argv, render_nginx_conf
from bot.ops.ports import free_port
from bot.ops.processes import wait_for
from bot.rasa_server.fallback import fallback_messages

CLINIC_PHONE = "555-0142"
REST = "/webhooks/rest/webhook"
WEB = "/webhooks/web/webhook"


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


class Entry:
    """nginx rendered from deploy/nginx/ in front of `replicas`, in the foreground under `tmp`."""

    def __init__(self, replicas: list[str], tmp: Path, tls: tuple[Path, Path], timeout: int = 2) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.verify = str(tls[0])
        self.access_log = tmp / "access.log"
        config = EntryConfig(self.port, replicas, CLINIC_PHONE, tls[0], tls[1], self.access_log, timeout)
        self.error_log = tmp / "nginx.log"
        render_nginx_conf(tmp / "nginx", config, self.error_log)
        self.proc = subprocess.Popen(nginx_argv(tmp / "nginx", error_log=self.error_log), stderr=subprocess.STDOUT)
        try:
            wait_for(f"{self.url}/healthz", 30, self.proc, self.error_log, self.verify)
        except BaseException:
            self.close()
            raise

    def post(self, sender: str = "someone", message: str = "hello", path: str = REST, **kw: Any) -> requests.Response:
        body = {"sender": sender, "message": message}
        return requests.post(f"{self.url}{path}", json=body, timeout=30, verify=self.verify, **kw)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", timeout=10, verify=self.verify)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    ensure_certificate(folder / "entry.crt", folder / "entry.key")
    return folder / "entry.crt", folder / "entry.key"


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


def _config(tmp: Path, phone: str) -> str:
    tls = (tmp / "c.crt", tmp / "c.key")
    render_nginx_conf(tmp, EntryConfig(5005, ["http://rasa-1:5005", "http://10.0.0.2:5005"], phone, *tls, tmp / "a"))
    return (tmp / "bot.conf").read_text()


def _canned_replies(conf: str) -> dict[str, Any]:
    replies = {}
    for name, body in re.findall(r"location @(\w+) \{[^}]*?return 200 '((?:[^'\\]|\\.)*)';", conf):
        replies[name] = json.loads(re.sub(r"\\(.)", r"\1", body))
    return replies


@pytest.mark.parametrize("phone", ["555-0142", "(555) 0142 'front desk'"])
def test_the_template_s_fallback_is_the_rest_channel_s(tmp_path: Path, phone: str) -> None:
    conf = _config(tmp_path, phone)
    assert _canned_replies(conf) == {
        "unavailable": fallback_messages(phone, "unavailable"),
        "timeout": fallback_messages(phone, "timeout"),
        # The widget channel's shape (bot/rasa_server/channels/web.py): {"session", "messages"}.
        "web_unavailable": {"session": None, "messages": fallback_messages(phone, "unavailable")},
        "web_timeout": {"session": None, "messages": fallback_messages(phone, "timeout")},
    }
    assert "server rasa-1:5005 max_fails=1 fail_timeout=10s;" in conf and "server 10.0.0.2:5005 " in conf
    assert "server_tokens off;" in conf and "$request_uri" not in conf and "Strict-Transport-Security" in conf
    assert not re.search(r"\$\{[A-Z]", conf)


def test_a_value_that_would_be_an_nginx_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\$"):
        _config(tmp_path, "$host")


@pytest.mark.integration
def test_round_robin_forwards_requests_unchanged(
    replicas: tuple[FakeReplica, FakeReplica], tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    a, b = replicas
    entry = Entry([a.url, b.url], tmp_path, tls)
    try:
        served = [entry.post(sender=f"s{i}", message=f"question {i}").headers["x-replica"] for i in range(6)]
        health = entry.get("/webhooks/rest/")
        root = entry.get("/")
    finally:
        entry.close()
    assert served.count("A") == 3 and served.count("B") == 3
    assert all(x != y for x, y in zip(served, served[1:], strict=False)), served
    assert health.status_code == 200
    assert health.headers["strict-transport-security"].startswith("max-age=")
    bodies = [json.loads(body) for _, path, body in a.requests + b.requests if path == REST]
    assert sorted(body["message"] for body in bodies) == [f"question {i}" for i in range(6)]
    # Nothing informative at /: no Rasa banner, no nginx version.
    assert root.status_code == 404 and "rasa" not in root.text.lower()
    assert not re.search(r"\d", root.headers.get("server", ""))
    assert all(path != "/" for _, path, _ in a.requests + b.requests)


@pytest.mark.integration
def test_a_replica_that_is_down_is_skipped(
    replicas: tuple[FakeReplica, FakeReplica], tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    a, _ = replicas
    entry = Entry([closed_port_url(), a.url], tmp_path, tls)
    try:
        answers = [entry.post(sender=f"s{i}") for i in range(4)]
    finally:
        entry.close()
    assert [r.status_code for r in answers] == [200] * 4
    assert [r.json()[0]["text"] for r in answers] == ["from A"] * 4
    assert len(a.requests) == 4  # each request reached a live replica exactly once


@pytest.mark.integration
@pytest.mark.parametrize("path", [REST, WEB])
def test_every_replica_down_still_gets_the_clinic_phone_and_911(
    tmp_path: Path, tls: tuple[Path, Path], path: str
) -> None:
    entry = Entry([closed_port_url(), closed_port_url()], tmp_path, tls)
    try:
        origin = {"Origin": "https://portal.example.org"}
        webhook = entry.post(message="what are the side effects of methotrexate?", path=path, headers=origin)
        other = entry.get("/webhooks/rest/")
    finally:
        entry.close()
    assert webhook.status_code == 200 and webhook.headers["content-type"].startswith("application/json")
    messages = webhook.json() if path == REST else webhook.json()["messages"]
    text = " ".join(m.get("text") or "" for m in messages)
    assert CLINIC_PHONE in text and "911" in text
    assert any((m.get("custom") or {}).get("kind") == "abstain" for m in messages)
    if path == WEB:  # the widget runs on the portal's origin
        assert webhook.headers["access-control-allow-origin"] == "https://portal.example.org"
    assert other.status_code == 502 and other.json()["error"] == "bad_gateway"


@pytest.mark.integration
def test_a_failing_or_hanging_replica_gives_the_fallback_not_an_error(
    replicas: tuple[FakeReplica, FakeReplica], tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    a, b = replicas
    a.mode, b.mode = "error", "hang"
    entry = Entry([a.url, b.url], tmp_path, tls, timeout=1)
    try:
        first, second = entry.post(sender="x"), entry.post(sender="y")
    finally:
        b.release.set()
        entry.close()
    for resp in (first, second):
        assert resp.status_code == 200
        assert "911" in resp.json()[0]["text"]
    reasons = sorted(m["custom"]["reason"] for r in (first, second) for m in r.json() if "custom" in m)
    assert reasons == ["timeout", "unavailable"]
    # A request that reached a replica is not sent again (the turn may already be in the conversation).
    assert len(a.requests) == 1 and len(b.requests) == 1


@pytest.mark.integration
def test_an_oversized_body_is_refused_with_a_4xx(
    replicas: tuple[FakeReplica, FakeReplica], tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    a, b = replicas
    entry = Entry([a.url, b.url], tmp_path, tls)
    try:
        resp = requests.post(f"{entry.url}{REST}", data=b"x" * (2 * 1024 * 1024), timeout=30, verify=entry.verify)
        after = entry.post()
    finally:
        entry.close()
    assert resp.status_code == 413
    assert after.status_code == 200
    assert len(a.requests) + len(b.requests) == 1  # the oversized body never reached a replica


@pytest.mark.integration
def test_the_access_log_has_no_query_string_or_body(
    replicas: tuple[FakeReplica, FakeReplica], tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    a, b = replicas
    entry = Entry([a.url, b.url], tmp_path, tls)
    try:
        entry.post(message="my son has a rash on his neck", path=f"{REST}?token=s3cr3t-query")
    finally:
        entry.close()
    log = entry.access_log.read_text()
    assert f"POST {REST}" in log
    assert "s3cr3t-query" not in log and "rash" not in log
