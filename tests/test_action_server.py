"""The action server takes calls from Rasa only: the X-Action-Token header, checked before any action runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from bot import action_server
from bot.action_server import TOKEN_HEADER, build_app, check_token_setting, is_loopback, require_token
from bot.settings import Settings

Sanic.test_mode = True  # several apps named "rasa_sdk" in one process
TOKEN = "a-test-token-of-enough-length"
CALL = {"next_action": "action_respond", "sender_id": "someone-else", "tracker": {}, "domain": {}, "version": "3.6.21"}


class Spy(ActionExecutor):
    """Records whether an action call got through to the executor."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    async def run(self, action_call: dict[str, Any]) -> None:  # type: ignore[override]
        self.calls.append(action_call)


Client = Callable[[httpx.AsyncClient], Awaitable[None]]


def serve(app: Sanic, body: Client) -> None:
    """Run `body` with an HTTP client of `app` (ASGI, with Sanic's start-up and shutdown)."""

    async def run() -> None:
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://actions") as c:
                await body(c)
        finally:
            await inbox.put({"type": "lifespan.shutdown"})
            await outbox.get()
            await lifespan

    asyncio.run(run())


def guarded_app() -> tuple[Sanic, Spy]:
    spy = Spy()
    app = create_app(spy, cors_origins=[])
    require_token(app, TOKEN)
    return app, spy


def test_calls_without_or_with_a_wrong_token_are_refused_before_any_action_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, spy = guarded_app()
    statuses: list[tuple[int, Any]] = []
    forged = {**CALL, "tracker": {"latest_message": {"text": "Nurse Joy: I will call you at 5 pm"}}}

    async def body(c: httpx.AsyncClient) -> None:
        for headers in ({}, {TOKEN_HEADER: "wrong"}, {TOKEN_HEADER: TOKEN[:-1]}, {TOKEN_HEADER: TOKEN + "x"}):
            resp = await c.post("/webhook", json=forged, headers=headers)
            statuses.append((resp.status_code, resp.json()))
        statuses.append(((await c.get("/actions")).status_code, None))

    with caplog.at_level(logging.WARNING, logger="bot.action_server"):
        serve(app, body)
    assert [s for s, _ in statuses] == [401] * 5
    assert statuses[0][1] == {"error": "unauthorized"}
    assert spy.calls == []
    assert app.ctx.refused_calls == 5
    refusals = [r for r in caplog.records if r.name == "bot.action_server"]
    assert len(refusals) == 5 and all(r.levelno == logging.WARNING for r in refusals)
    logged = caplog.text
    assert "Nurse" not in logged and "someone-else" not in logged and TOKEN[:8] not in logged


def test_the_right_token_reaches_the_action_and_health_stays_open() -> None:
    app, spy = guarded_app()
    statuses: list[int] = []

    async def body(c: httpx.AsyncClient) -> None:
        statuses.append((await c.post("/webhook", json=CALL, headers={TOKEN_HEADER: TOKEN})).status_code)
        statuses.append((await c.get("/health")).status_code)

    serve(app, body)
    assert statuses == [200, 200]
    assert [call["sender_id"] for call in spy.calls] == ["someone-else"]
    assert app.ctx.refused_calls == 0


def test_build_app_guards_with_the_token_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(action_server, "get_settings", lambda: Settings.from_env({"ACTION_SERVER_TOKEN": TOKEN}))
    monkeypatch.setattr(action_server, "_warm_up", _no_warm_up)
    app = build_app("actions")
    statuses: list[int] = []

    async def body(c: httpx.AsyncClient) -> None:
        statuses.append((await c.post("/webhook", json=CALL)).status_code)

    serve(app, body)
    assert statuses == [401]


async def _no_warm_up(app: Sanic) -> None:
    return None


@pytest.mark.parametrize(
    ("host", "token", "starts"),
    [
        ("127.0.0.1", "", True),
        ("::1", "", True),
        ("localhost", "", True),
        ("0.0.0.0", "", False),
        ("actions.internal", "", False),
        ("0.0.0.0", TOKEN, True),
    ],
)
def test_without_a_token_the_server_starts_on_loopback_only(host: str, token: str, starts: bool) -> None:
    settings = Settings.from_env({"SANIC_HOST": host, "ACTION_SERVER_TOKEN": token})
    problem = check_token_setting(settings)
    assert (problem is None) == starts
    if problem:
        assert "ACTION_SERVER_TOKEN" in problem
    assert is_loopback(host) == (host in ("127.0.0.1", "::1", "localhost"))


def test_a_short_token_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="ACTION_SERVER_TOKEN: must be at least 16") as err:
        Settings.from_env({"ACTION_SERVER_TOKEN": "short-secret"})
    assert "short-secret" not in str(err.value)
