"""Runs the rasa-sdk action server with the assistant warmed before it accepts requests.

`python -m bot.action_server` (port from ACTION_PORT, default 5055; host from SANIC_HOST, default 127.0.0.1).
"""

from __future__ import annotations

import logging
from functools import partial

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.worker.loader import AppLoader

from bot.settings import configure_logging, get_settings

log = logging.getLogger(__name__)


async def _warm_up(app: Sanic) -> None:
    from bot.conversation.service import warm_up

    warm_up()


def build_app(actions_package: str = "actions") -> Sanic:
    """The action server app for one worker process (Sanic re-creates it in each worker)."""
    executor = ActionExecutor()
    executor.register_package(actions_package)
    app = create_app(executor, cors_origins=[])
    app.register_listener(_warm_up, "before_server_start")
    return app


def main() -> None:
    settings = get_settings()  # validated before anything starts
    configure_logging(settings)
    host, port, workers = settings.sanic_host, settings.action_port, settings.action_workers
    if workers == 1:
        build_app("actions").run(host=host, port=port, single_process=True, access_log=False, motd=False)
        return
    # Each worker warms up before it acknowledges, which can take longer than Sanic's fixed 30 s start-up
    # deadline (Sanic 25 ignores SANIC_WORKER_ACK_TIMEOUT); the threshold is in tenths of a second.
    from sanic.worker.manager import WorkerManager

    WorkerManager.THRESHOLD = 3000
    loader = AppLoader(factory=partial(build_app, "actions"))
    app = loader.load()
    app.prepare(host=host, port=port, workers=workers, access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
