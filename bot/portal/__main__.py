"""`python -m bot.portal`: the demo portal alone on PORTAL_HOST:PORTAL_PORT (default 127.0.0.1:8001).

`make run` serves the same blueprint from the staff app on :8000; this is for working on the widget and for tests.
"""

from __future__ import annotations

import os

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

from bot.portal import portal_blueprint
from bot.settings import Settings


def main() -> None:
    app = Sanic("demo_portal")
    app.blueprint(portal_blueprint(Settings.from_env()))

    @app.on_response
    async def security_headers(request: Request, response: BaseHTTPResponse) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")

    host = os.environ.get("PORTAL_HOST", "127.0.0.1")
    port = int(os.environ.get("PORTAL_PORT", "8001"))
    app.run(host=host, port=port, single_process=True, motd=False, access_log=False)


if __name__ == "__main__":
    main()
