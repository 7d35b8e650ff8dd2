"""App-wide guards for the Rasa server, installed by our channels' blueprints when Rasa registers them.

Rasa's `configure_app` adds `GET /` answering "Hello from Rasa: <version>", which tells anyone what to attack;
it gets an empty 404 here. Sanic's request size limit (100 MB by default) is lowered so nobody can make the
server buffer huge bodies; the channels check their own, smaller caps.
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

MAX_REQUEST_BYTES = 1024 * 1024
# Rasa's informative routes ("/" always; /version and /status with its HTTP API), without trailing slashes.
HIDDEN_PATHS = frozenset({"", "/version", "/status"})
_INSTALLED = "eczema_guards_installed"


async def hide_rasa(request: Request) -> HTTPResponse | None:
    if request.path.rstrip("/") in HIDDEN_PATHS:
        return response.empty(status=404)
    return None


def install(app: Any) -> None:
    """Install the guards on `app` once, however many channels ask."""
    if getattr(app.ctx, _INSTALLED, False):
        return
    setattr(app.ctx, _INSTALLED, True)
    app.register_middleware(hide_rasa, "request")
    if app.config.REQUEST_MAX_SIZE > MAX_REQUEST_BYTES:
        app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES


class GuardedBlueprint(Blueprint):
    """A channel blueprint that installs the app-wide guards on the app it is registered with."""

    def register(self, app: Any, options: Any) -> Any:
        install(app)
        return super().register(app, options)
