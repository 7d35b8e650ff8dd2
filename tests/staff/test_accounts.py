"""Staff accounts: argon2 hashes, TOTP secrets sealed at rest, updates, and the command line."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from argon2 import PasswordHasher
from asgi_support import PASSWORD, Clock

from bot.handoff.audit import entries
from bot.handoff.sqlite import SqliteHandoffStore
from bot.sealing import Sealer, SealError, new_key
from bot.settings import Settings
from bot.staff import accounts
from bot.staff.accounts import (
    AccountError,
    create_account,
    get_account,
    list_accounts,
    open_totp,
    reset_totp,
    update_account,
)
from bot.staff.signin import Lockout, UnknownNames, sign_in


@pytest.fixture
def store(tmp_path: Path) -> SqliteHandoffStore:
    return SqliteHandoffStore(tmp_path / "handoff.sqlite", clock=Clock())


def stored(store: SqliteHandoffStore, username: str) -> tuple[str, str]:
    with sqlite3.connect(store.path) as conn:
        row = conn.execute(
            "SELECT password_hash, totp_secret FROM staff_accounts WHERE username = ?", (username,)
        ).fetchone()
    return row[0], row[1]


def test_a_new_account_keeps_an_argon2id_hash_and_a_sealed_totp_secret(store: SqliteHandoffStore) -> None:
    sealer = Sealer(new_key())
    secret = create_account(store, " Ann.Lee@Clinic.org ", "Ann  Lee", "clinician", PASSWORD, sealer=sealer)
    account = get_account(store, "ann.lee@clinic.org")
    assert account is not None and (account.display_name, account.role) == ("Ann Lee", "clinician")
    password_hash, totp = stored(store, "ann.lee@clinic.org")
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash
    assert PasswordHasher().verify(password_hash, PASSWORD)
    assert secret not in totp and totp.startswith("fernet:")
    assert open_totp(totp, sealer) == secret
    with pytest.raises(SealError):
        open_totp(totp, None)  # without the key the secret cannot be read
    with pytest.raises(SealError):
        open_totp(totp, Sealer(new_key()))
    raw = store.path.read_bytes() + Path(f"{store.path}-wal").read_bytes()
    assert secret.encode() not in raw and PASSWORD.encode() not in raw


def test_without_a_key_the_secret_is_stored_plain_and_sealed_at_the_next_sign_in(store: SqliteHandoffStore) -> None:
    secret = create_account(store, "bo", "Bo", "staff", PASSWORD, sealer=None)
    assert stored(store, "bo")[1] == f"plain:{secret}"
    sealer = Sealer(new_key())
    code = pyotp.TOTP(secret).at(store.clock())
    result = sign_in(store, "bo", PASSWORD, code, policy=Lockout(), unknown=UnknownNames(), sealer=sealer)
    assert result.account is not None
    now_stored = stored(store, "bo")[1]
    assert now_stored.startswith("fernet:") and open_totp(now_stored, sealer) == secret


@pytest.mark.parametrize(
    ("username", "name", "role", "password", "problem"),
    [
        ("", "Ann", "staff", PASSWORD, "username"),
        ("-ann", "Ann", "staff", PASSWORD, "username"),
        ("ann lee", "Ann", "staff", PASSWORD, "username"),
        ("a" * 101, "Ann", "staff", PASSWORD, "username"),
        ("ann", "", "staff", PASSWORD, "display name"),
        ("ann", "Ann\x00", "staff", PASSWORD, "display name"),
        ("ann", "Ann", "machine", PASSWORD, "role"),
        ("ann", "Ann", "root", PASSWORD, "role"),
        ("ann", "Ann", "staff", "short-pass1", "12"),
        ("ann", "Ann", "staff", "x" * 1025, "12"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(
    store: SqliteHandoffStore, username: str, name: str, role: str, password: str, problem: str
) -> None:
    with pytest.raises(AccountError, match=problem):
        create_account(store, username, name, role, password, sealer=None)
    assert list_accounts(store) == []


def test_a_username_is_taken_once_whatever_its_case(store: SqliteHandoffStore) -> None:
    create_account(store, "ann", "Ann", "staff", PASSWORD, sealer=None)
    with pytest.raises(AccountError, match="already exists"):
        create_account(store, "ANN", "Other Ann", "admin", PASSWORD, sealer=None)
    assert [(a.username, a.role) for a in list_accounts(store)] == [("ann", "staff")]


def test_updates_disable_and_reset_are_audited(store: SqliteHandoffStore) -> None:
    old_secret = create_account(store, "ann", "Ann", "staff", PASSWORD, sealer=None, actor="cli")
    assert update_account(store, "ann", role="clinician", display_name="Ann Lee").role == "clinician"
    assert update_account(store, "ann", disabled=True).disabled
    assert not update_account(store, "ann", disabled=False).disabled
    new_secret = reset_totp(store, "ann", sealer=None)
    assert new_secret != old_secret and stored(store, "ann")[1] == f"plain:{new_secret}"
    update_account(store, "ann", password="another long passphrase")
    assert PasswordHasher().verify(stored(store, "ann")[0], "another long passphrase")
    with pytest.raises(AccountError, match="no account"):
        update_account(store, "nobody", role="staff")
    with pytest.raises(AccountError, match="nothing to change"):
        update_account(store, "ann")
    log = [(e.actor, e.action, e.detail) for e in reversed(entries(store))]
    assert log[0] == ("cli", "account_create", "account=ann role=staff")
    assert [a for _, a, _ in log[1:]] == ["account_update"] * 5
    assert [d for *_, d in log[1:]] == [
        "account=ann name role=clinician",
        "account=ann disabled",
        "account=ann enabled",
        "account=ann totp_reset",
        "account=ann password",
    ]
    assert not [d for *_, d in log if "another long" in d or PASSWORD in d]


def test_a_hash_made_with_older_parameters_is_replaced_at_sign_in(store: SqliteHandoffStore) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    secret = create_account(store, "ann", "Ann", "staff", PASSWORD, sealer=None, hasher=weak)
    old_hash = stored(store, "ann")[0]
    assert "m=8192,t=1" in old_hash
    code = pyotp.TOTP(secret).at(store.clock())
    assert sign_in(store, "ann", PASSWORD, code, policy=Lockout(), unknown=UnknownNames(), sealer=None).account
    new_hash = stored(store, "ann")[0]
    assert new_hash != old_hash and not PasswordHasher().check_needs_rehash(new_hash)
    assert PasswordHasher().verify(new_hash, PASSWORD)


def cli(monkeypatch: pytest.MonkeyPatch, settings: Settings, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        return accounts.run(argv, settings)
    except AccountError as exc:
        print(f"error: {exc}")
        return 2


def test_the_command_line_adds_lists_disables_and_resets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = new_key()
    settings = Settings.from_env({}, handoff_db_path=tmp_path / "h.sqlite", data_encryption_key=key)
    assert cli(monkeypatch, settings, ["add", "Ann", "--name", "Ann Lee", "--role", "admin"], PASSWORD + "\n") == 0
    out = capsys.readouterr().out
    uri = next(line for line in out.splitlines() if line.startswith("otpauth://"))
    parts = urlsplit(uri)
    assert parts.netloc == "totp" and parts.path.endswith(":ann")
    secret = parse_qs(parts.query)["secret"][0]
    store = SqliteHandoffStore(tmp_path / "h.sqlite")
    assert open_totp(stored(store, "ann")[1], Sealer(key)) == secret
    assert PasswordHasher().verify(stored(store, "ann")[0], PASSWORD)

    assert cli(monkeypatch, settings, ["add", "bo", "--name", "Bo", "--role", "staff"], "too short\n") == 2
    assert "12 to 1024 characters" in capsys.readouterr().out
    assert get_account(store, "bo") is None
    assert cli(monkeypatch, settings, ["disable", "ann"]) == 0
    assert cli(monkeypatch, settings, ["list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ann\tadmin\tAnn Lee\tdisabled"
    assert cli(monkeypatch, settings, ["reset-totp", "ann"]) == 0
    new_uri = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("otpauth://"))
    assert parse_qs(urlsplit(new_uri).query)["secret"][0] != secret
    assert cli(monkeypatch, settings, ["update", "ann", "--enable", "--role", "staff"]) == 0
    account = get_account(store, "ann")
    assert account is not None and not account.disabled and account.role == "staff"


def test_beyond_loopback_the_command_line_needs_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env({}, handoff_db_path=tmp_path / "h.sqlite", staff_host="0.0.0.0")  # nosec B104
    assert cli(monkeypatch, settings, ["add", "bo", "--name", "Bo", "--role", "staff"], PASSWORD + "\n") == 2
    assert "DATA_ENCRYPTION_KEY" in capsys.readouterr().out
    assert list_accounts(SqliteHandoffStore(tmp_path / "h.sqlite")) == []


def test_the_command_line_refuses_a_short_password_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    monkeypatch.setattr(accounts, "get_settings", lambda: Settings.from_env({}, handoff_db_path=tmp_path / "h.sqlite"))
    assert accounts.main(["add", "bo", "--name", "Bo", "--role", "staff"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "error: a password must be 12 to 1024 characters long"
    assert list_accounts(SqliteHandoffStore(tmp_path / "h.sqlite")) == []
