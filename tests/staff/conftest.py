"""Fixtures for the staff inbox tests (helpers live in staff_support.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from staff_support import StaffServer, Webhook, serve_webhook, start_server, stop_server


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    state, server = serve_webhook()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[StaffServer]:
    server = start_server(tmp_path_factory.mktemp("staff"), secrets.token_urlsafe(24), webhook)
    yield server
    stop_server(server.process)
