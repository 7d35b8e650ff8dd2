"""Test helpers (Rasa venv): the channels registered in a real Rasa Sanic app, served on a random port, with a fake
agent in place of the trained model."""

from __future__ import annotations

import asyncio
import http.client
import inspect
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.run import configure_app
from sanic import Sanic

from bot.ops.ports import free_port
from bot.rasa_server.logfmt import current_request_id

Sanic.test_mode = True  # several apps named like Rasa's in one process

PORTAL = "http://127.0.0.1:8000"
Reply = Callable[[str], Any]


@dataclass
class Received:
    sender_id: str
    text: str
    channel: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    logged_request_id: str | None = None  # the id the turn's log lines carry


def echo(text: str) -> list[dict[str, Any]]:
    return [{"text": f"You said: {text}"}, {"custom": {"kind": "chitchat"}}]


@dataclass
class FakeAgent:
    """Stands in for rasa's Agent: records each message and sends the replies `reply(text)` returns."""

    reply: Reply = echo
    received: list[Received] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(
            Received(
                message.sender_id,
                message.text or "",
                message.input_channel,
                dict(message.metadata or {}),
                current_request_id.get(),
            )
        )
        result = self.reply(message.text or "")
        if inspect.isawaitable(result):
            result = await result
        for item in result:
            await message.output_channel.send_response(message.sender_id, dict(item))


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RasaServer:
    base_url: str
    agent: FakeAgent

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        parts = urlsplit(self.base_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def post_oversized(self, path: str, body: bytes) -> int:
        """The status for a JSON body over the server's limit. Sanic answers on the declared length and closes
        while a client is still sending (a reset that can lose its answer), so the body follows only if no answer
        came to the headers alone."""
        parts = urlsplit(self.base_url)
        head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
            sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
            sock.settimeout(5)
            try:
                first = sock.recv(65536)
            except TimeoutError:
                sock.settimeout(20)
                sock.sendall(body)
                first = sock.recv(65536)
        return int(first.split(b" ", 2)[1])

    def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})

    def post_form(self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> Response:
        body = urlencode(fields).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        )


@contextmanager
def serve(channels: list[InputChannel], cors: str | None = PORTAL) -> Iterator[RasaServer]:
    """The channels mounted the way `rasa run --cors <cors>` mounts them (without the HTTP API)."""
    agent = FakeAgent()
    port = free_port()
    ready = threading.Event()
    failed: list[BaseException] = []
    state: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def main() -> None:
            app = configure_app(input_channels=channels, cors=cors, enable_api=False, port=port)
            app.ctx.agent = agent
            server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
            await server.startup()
            await server.before_start()
            await server.after_start()
            stop = asyncio.Event()
            state["stop"] = lambda: loop.call_soon_threadsafe(stop.set)
            ready.set()
            await stop.wait()
            await server.before_stop()
            server.close()
            await asyncio.wait_for(server.wait_closed(), 10)
            await server.after_stop()

        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported to the test thread
            failed.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(30) or failed:
        raise RuntimeError(f"test Rasa server did not start: {failed!r}")
    try:
        yield RasaServer(f"http://127.0.0.1:{port}", agent)
    finally:
        state["stop"]()
        thread.join(15)
