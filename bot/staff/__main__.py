"""`python -m bot.staff`: the staff inbox and outbox worker on STAFF_HOST:STAFF_PORT, metrics on STAFF_METRICS_PORT.

Defaults: 127.0.0.1:8000.
"""

from __future__ import annotations

from bot.portal import portal_blueprint
from bot.private_files import use_private_umask
from bot.settings import configure_logging, get_settings
from bot.staff.app import create_app
from bot.staff.preflight import StaffConfigError


def main() -> None:
    use_private_umask()  # the handoff store and its spool: readable by this user only
    settings = get_settings()
    configure_logging(settings)
    try:
        app = create_app(
            settings,
            run_outbox_worker=True,
            serve_metrics=True,
            extra_blueprints=[portal_blueprint(settings, messages=True)],
        )
    except StaffConfigError as exc:
        raise SystemExit(f"error: the staff app will not start: {exc}") from None
    app.run(host=settings.staff_host, port=settings.staff_port, single_process=True, motd=False, access_log=False)


if __name__ == "__main__":
    main()
