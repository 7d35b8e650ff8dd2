"""The SMS opt-out store: SQLite and PostgreSQL backends, and the in-memory fallback when the store is down."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from bot.ops.ports import free_port
from bot.rasa_server.channels.optout import OptOutBackend, OptOuts, PostgresOptOuts, SqliteOptOuts, backend_from_env

PG_BASE = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema per test in the test database (PostgreSQL runs on 127.0.0.1 in CI)."""
    schema = f"optout_{secrets.token_hex(4)}"
    conn = psycopg2.connect(PG_BASE)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_BASE}{'&' if '?' in PG_BASE else '?'}options=-csearch_path%3D{schema}"
    finally:
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> OptOutBackend:
    if request.param == "sqlite":
        return SqliteOptOuts(tmp_path / "var" / "optout.sqlite")
    return PostgresOptOuts(request.getfixturevalue("pg_url"))


def test_opt_out_is_recorded_once_and_opt_in_removes_it(backend: OptOutBackend) -> None:
    assert not backend.is_opted_out("sms:a")
    assert backend.opt_out("sms:a") is True
    assert backend.opt_out("sms:a") is False
    assert backend.is_opted_out("sms:a") and not backend.is_opted_out("sms:b")
    assert backend.opt_in("sms:a") is True
    assert backend.opt_in("sms:a") is False
    assert not backend.is_opted_out("sms:a")


def test_a_second_process_sees_the_opt_out(backend: OptOutBackend, tmp_path: Path) -> None:
    backend.opt_out("sms:shared")
    other = SqliteOptOuts(backend.path) if isinstance(backend, SqliteOptOuts) else PostgresOptOuts(backend.url)

    assert other.is_opted_out("sms:shared")


def test_when_the_store_is_down_an_opt_out_is_still_honoured_by_this_process() -> None:
    down = OptOuts(PostgresOptOuts(f"postgresql://postgres@127.0.0.1:{free_port()}/test", connect_timeout=1))

    async def scenario() -> tuple[bool, bool, bool, bool]:
        first = await down.opt_out("sms:x")
        again = await down.opt_out("sms:x")
        blocked = await down.is_opted_out("sms:x")
        other = await down.is_opted_out("sms:y")
        return first, again, blocked, other

    assert asyncio.run(scenario()) == (True, False, True, False)


def test_backend_from_env_picks_postgres_when_database_url_is_set(tmp_path: Path) -> None:
    pg = backend_from_env({"DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert isinstance(pg, PostgresOptOuts) and pg.url == "postgresql://u@h/db"
    sqlite = backend_from_env({"SMS_OPTOUT_DB": str(tmp_path / "o.sqlite")})
    assert isinstance(sqlite, SqliteOptOuts) and sqlite.path == tmp_path / "o.sqlite"
    default = backend_from_env({})
    assert isinstance(default, SqliteOptOuts) and default.path.parts[-2:] == ("var", "sms_optout.sqlite")


def test_a_message_is_a_first_delivery_once_until_it_is_pruned(backend: OptOutBackend) -> None:
    day = 86400.0
    assert backend.first_delivery(["sid:SM1"], 1000.0, day) is True
    assert backend.first_delivery(["sid:SM1"], 1000.0 + day - 1, day) is False  # remembered for the whole TTL
    assert backend.first_delivery(["sid:SM2", "token:t"], 1000.0, day) is True
    assert backend.first_delivery(["sid:SM3", "token:t"], 1000.0, day) is False  # a retry: same token
    assert backend.first_delivery(["sid:SM1"], 1000.0 + 3 * day, day) is True  # pruned after the TTL


def test_a_second_process_sees_the_delivery(backend: OptOutBackend) -> None:
    backend.first_delivery(["sid:shared"], 5.0, 86400.0)
    other = SqliteOptOuts(backend.path) if isinstance(backend, SqliteOptOuts) else PostgresOptOuts(backend.url)

    assert other.first_delivery(["sid:shared"], 6.0, 86400.0) is False


def test_when_the_store_is_down_this_process_still_refuses_a_replay() -> None:
    down = OptOuts(PostgresOptOuts(f"postgresql://postgres@127.0.0.1:{free_port()}/test", connect_timeout=1))

    async def scenario() -> tuple[bool, bool, bool]:
        return (
            await down.first_delivery(["sid:a"], 86400.0),
            await down.first_delivery(["sid:a"], 86400.0),
            await down.first_delivery(["sid:b"], 86400.0),
        )

    assert asyncio.run(scenario()) == (True, False, True)
