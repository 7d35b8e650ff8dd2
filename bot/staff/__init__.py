"""Staff inbox: a small Sanic app where clinic staff see, claim and resolve handoff tickets."""

from __future__ import annotations

from bot.staff.app import create_app

__all__ = ["create_app"]
