"""The handoff store on both backends (PostgreSQL runs in the integration tests); each module gives its `clock`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from bot.handoff.postgres import PostgresHandoffStore
from bot.handoff.sqlite import SqliteHandoffStore
from bot.handoff.store import HandoffStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: Callable[[], datetime]) -> HandoffStore:
    if request.param == "sqlite":
        return SqliteHandoffStore(tmp_path / "handoff.sqlite", clock=clock)
    return PostgresHandoffStore(request.getfixturevalue("pg_url"), tmp_path / "spool.sqlite", clock=clock)
