"""The staff app in this process over ASGI (httpx), with an injected clock for the store, TOTP and sessions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pyotp
from sanic import Sanic

from bot.handoff.sqlite import SqliteHandoffStore
from bot.settings import Settings
from bot.staff.accounts import create_account, totp_sealer
from bot.staff.app import StaffApp, create_app
from bot.staff.sessions import SessionStore

PASSWORD = "correct horse battery staple"
TOKEN = "m" * 40
ORIGIN = "http://staff"


class Clock:
    """A clock that moves only when told: datetimes for the store and TOTP, seconds for the sessions."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 17, 0, 5, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Harness:
    def __init__(self, tmp: Path, **settings: Any) -> None:
        Sanic.test_mode = True  # several apps start in one process (Sanic's TouchUp would rewrite its code twice)
        self.clock = Clock()
        self.store = SqliteHandoffStore(tmp / "handoff.sqlite", clock=self.clock)
        self.settings = Settings.from_env({}, handoff_db_path=tmp / "handoff.sqlite", staff_token=TOKEN, **settings)
        self.app: StaffApp = create_app(self.settings, store=self.store)
        self.app.ctx.sessions = SessionStore(idle=self.settings.staff_session_idle_seconds, clock=self.clock.seconds)
        self.secrets: dict[str, str] = {}

    def add(self, username: str, role: str = "staff", name: str | None = None) -> str:
        secret = create_account(
            self.store, username, name or username.title(), role, PASSWORD, sealer=totp_sealer(self.settings)
        )
        self.secrets[username] = secret
        return secret

    def code(self, username: str, steps: int = 0) -> str:
        return pyotp.TOTP(self.secrets[username]).at(self.clock.now, counter_offset=steps)

    def run(self, body: Callable[[httpx.AsyncClient], Awaitable[None]], client: str = "127.0.0.1") -> None:
        asyncio.run(self._serve(body, client))

    async def _serve(self, body: Callable[[httpx.AsyncClient], Awaitable[None]], client: str) -> None:
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(
            self.app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put)  # type: ignore[arg-type]
        )
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        try:
            transport = httpx.ASGITransport(app=self.app, client=(client, 40000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as c:
                await body(c)
        finally:
            await inbox.put({"type": "lifespan.shutdown"})
            await outbox.get()
            await lifespan


async def log_in(c: httpx.AsyncClient, username: str, password: str, code: str) -> httpx.Response:
    return await c.post(
        "/staff/login",
        data={"username": username, "password": password, "totp": code},
        headers={"Origin": ORIGIN},
    )


CSRF = {"X-Staff-CSRF": "1", "Origin": ORIGIN}
