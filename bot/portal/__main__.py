"""`python -m bot.portal`: the demo portal alone on PORTAL_HOST:PORTAL_PORT (default 127.0.0.1:8001).

`make run` serves the same blueprint from the staff app on :8000; this is for working on the widget and for tests.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

from bot.portal import portal_blueprint
from bot.settings import get_settings


def main() -> None:
    app = Sanic("demo_portal")
    settings = get_settings()
    app.blueprint(portal_blueprint(settings))

    @app.on_response
    async def security_headers(request: Request, response: BaseHTTPResponse) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")

    app.run(host=settings.portal_host, port=settings.portal_port, single_process=True, motd=False, access_log=False)


if __name__ == "__main__":
    main()
