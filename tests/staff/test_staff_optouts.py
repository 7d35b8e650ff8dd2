"""The staff app reads the SMS channel's opt-outs (same key derivation, same stores) and fails closed."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bot.handoff.postgres import PostgresHandoffStore
from bot.handoff.sqlite import SqliteHandoffStore
from bot.rasa_server.channels.identity import sms_sender_id
from bot.rasa_server.channels.optout import SqliteOptOuts
from bot.settings import Settings
from bot.staff.optouts import OptOutsUnavailable, is_opted_out

NUMBER = "+15558675309"


def test_sqlite_opt_outs_by_the_channels_key(tmp_path: Path) -> None:
    path = tmp_path / "optout.sqlite"
    settings = Settings.from_env({"SMS_OPTOUT_DB": str(path), "TWILIO_AUTH_TOKEN": "tok"})
    store = SqliteHandoffStore(tmp_path / "h.sqlite")
    assert is_opted_out(NUMBER, settings, store) is False  # no file yet: nobody opted out
    SqliteOptOuts(path).opt_out(sms_sender_id(NUMBER, "tok"))  # the key without SMS_ID_SECRET is the auth token
    assert is_opted_out(NUMBER, settings, store) is True
    assert is_opted_out("+15550001111", settings, store) is False
    keyed = settings.replace(sms_id_secret="other-secret")
    assert is_opted_out(NUMBER, keyed, store) is False  # another key: another hash
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(OptOutsUnavailable):
        is_opted_out(NUMBER, settings, store)


def test_without_a_key_nothing_can_be_checked(tmp_path: Path) -> None:
    with pytest.raises(OptOutsUnavailable):
        is_opted_out(
            NUMBER, Settings.from_env({"SMS_OPTOUT_DB": str(tmp_path / "o")}), SqliteHandoffStore(tmp_path / "h")
        )


@pytest.mark.integration
def test_postgres_opt_outs_beside_the_tickets(tmp_path: Path, pg_url: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": pg_url, "SMS_ID_SECRET": "sid"})
    store = PostgresHandoffStore(pg_url, tmp_path / "spool.sqlite")
    assert is_opted_out(NUMBER, settings, store) is False  # the table does not exist yet
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as the channel's PostgresOptOuts creates it
        conn.execute("CREATE TABLE sms_optout (number_hash TEXT PRIMARY KEY, opted_out_at TEXT NOT NULL)")
        conn.execute("INSERT INTO sms_optout VALUES (%s, 'now')", (sms_sender_id(NUMBER, "sid"),))
    assert is_opted_out(NUMBER, settings, store) is True
    down = PostgresHandoffStore("postgresql://postgres@127.0.0.1:1/test", tmp_path / "spool2.sqlite")
    with pytest.raises(OptOutsUnavailable):
        is_opted_out(NUMBER, settings, down)
