"""Staff accounts in the handoff store (table ``staff_accounts``): create, update, disable, reset the second factor.

Passwords are argon2id hashes (argon2-cffi's PasswordHasher; a hash made with older parameters is replaced at the
next sign-in, bot/staff/signin.py). Each account has a TOTP secret (pyotp) for its authenticator app, stored sealed
with DATA_ENCRYPTION_KEY (bot/sealing.py) when the key is set, as "fernet:<token>", else as "plain:<secret>" (local
runs only: the staff app refuses to start beyond loopback without the key, bot/staff/preflight.py). A plain secret is
sealed at the account's next sign-in once the key is set. Every change is recorded in the audit trail.

Command line (the password is read from stdin, or asked for twice at a terminal)::

    python -m bot.staff.accounts add <username> --name "Ann Lee" --role staff|clinician|admin
    python -m bot.staff.accounts update <username> [--name ...] [--role ...] [--password] [--enable]
    python -m bot.staff.accounts list | disable <username> | reset-totp <username>

``add`` and ``reset-totp`` print the otpauth:// URI to scan into an authenticator app.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
from argon2 import PasswordHasher

from bot.handoff import audit
from bot.handoff.store import HandoffStore, as_utc, open_store, opt_utc
from bot.sealing import Sealer, SealError
from bot.settings import Settings, SettingsError, get_settings
from bot.staff.auth import StaffIdentity
from bot.staff.preflight import is_loopback
from bot.staff.roles import HUMAN_ROLES

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_NAME = 100
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,99}$")
_SEALED, _PLAIN = "fernet:", "plain:"
ACCOUNT_COLS = "username, display_name, role, disabled, failed_logins, locked_until, created_at"


class AccountError(ValueError):
    """A bad username, password, name or role, or no such account (the message says which)."""


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime

    def identity(self) -> StaffIdentity:
        return StaffIdentity(self.username, self.display_name, self.role)

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "name": self.display_name,
            "role": self.role,
            "disabled": self.disabled,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "created_at": self.created_at.isoformat(),
        }


def account_of(row: tuple[Any, ...]) -> Account:
    return Account(row[0], row[1], row[2], bool(row[3]), int(row[4]), opt_utc(row[5]), as_utc(row[6]))


def normalize_username(raw: str) -> str:
    """Usernames are case-insensitive (stored in lower case): letters, digits and . _ @ + - (an email works)."""
    name = raw.strip().lower() if isinstance(raw, str) else ""
    if not _USERNAME.match(name):
        raise AccountError("a username is 1-100 letters, digits or . _ @ + -, starting with a letter or digit")
    return name


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")


def _display_name(raw: str) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise AccountError(f"a display name is 1-{MAX_NAME} printable characters")
    return name


def _role(raw: str) -> str:
    if raw not in HUMAN_ROLES:
        raise AccountError(f"the role must be one of {', '.join(HUMAN_ROLES)}")
    return raw


def totp_sealer(settings: Settings) -> Sealer | None:
    """The sealer for TOTP secrets, or None when DATA_ENCRYPTION_KEY is unset (SealError if it is malformed)."""
    keys = settings.data_encryption_key.get_secret_value()
    return Sealer(keys) if keys else None


def seal_totp(secret: str, sealer: Sealer | None) -> str:
    return _SEALED + sealer.seal(secret) if sealer else _PLAIN + secret


def open_totp(stored: str, sealer: Sealer | None) -> str:
    """The TOTP secret; SealError when it is sealed and the key is missing or wrong."""
    if stored.startswith(_PLAIN):
        return stored.removeprefix(_PLAIN)
    if sealer is None:
        raise SealError("a TOTP secret is sealed but DATA_ENCRYPTION_KEY is not set")
    return sealer.open(stored.removeprefix(_SEALED))


def is_sealed(stored: str) -> bool:
    return stored.startswith(_SEALED)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def get_account(store: HandoffStore, username: str) -> Account | None:
    with store._tx(write=False) as c:
        rows = c.rows(f"SELECT {ACCOUNT_COLS} FROM staff_accounts WHERE username = ?", (username,))  # nosec B608
    return account_of(rows[0]) if rows else None


def list_accounts(store: HandoffStore) -> list[Account]:
    with store._tx(write=False) as c:
        rows = c.rows(f"SELECT {ACCOUNT_COLS} FROM staff_accounts ORDER BY username")  # nosec B608  # fixed columns
    return [account_of(r) for r in rows]


def create_account(
    store: HandoffStore,
    username: str,
    display_name: str,
    role: str,
    password: str,
    *,
    sealer: Sealer | None,
    actor: str = "cli",
    remote: str | None = None,
    hasher: PasswordHasher | None = None,
) -> str:
    """Create an account; returns its new TOTP secret (show it once, as a provisioning URI)."""
    name, shown, role = normalize_username(username), _display_name(display_name), _role(role)
    check_password(password)
    secret = pyotp.random_base32()
    password_hash = (hasher or PasswordHasher()).hash(password)
    with store._tx() as c:
        if c.rows("SELECT 1 FROM staff_accounts WHERE username = ?", (name,)):
            raise AccountError(f"an account named {name!r} already exists")
        c.run(
            "INSERT INTO staff_accounts (username, display_name, role, password_hash, totp_secret, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, shown, role, password_hash, seal_totp(secret, sealer), store.clock()),
        )
    audit.record(store, actor, "account_create", remote=remote, detail=f"account={name} role={role}")
    return secret


def update_account(
    store: HandoffStore,
    username: str,
    *,
    display_name: str | None = None,
    role: str | None = None,
    password: str | None = None,
    disabled: bool | None = None,
    actor: str = "cli",
    remote: str | None = None,
    hasher: PasswordHasher | None = None,
) -> Account:
    """Change what is given; a new password or enabling the account also clears a lockout."""
    name = normalize_username(username)
    sets: list[str] = []
    params: list[Any] = []
    changed: list[str] = []
    if display_name is not None:
        sets.append("display_name = ?")
        params.append(_display_name(display_name))
        changed.append("name")
    if role is not None:
        sets.append("role = ?")
        params.append(_role(role))
        changed.append(f"role={role}")
    if password is not None:
        check_password(password)
        sets += ["password_hash = ?", "failed_logins = 0", "locked_until = NULL"]
        params.append((hasher or PasswordHasher()).hash(password))
        changed.append("password")
    if disabled is not None:
        sets.append("disabled = ?")
        params.append(1 if disabled else 0)
        if not disabled:
            sets += ["failed_logins = 0", "locked_until = NULL"]
        changed.append("disabled" if disabled else "enabled")
    if not sets:
        raise AccountError("nothing to change")
    with store._tx() as c:
        # Column names above are fixed strings; every value is a bound parameter.
        if not c.run(f"UPDATE staff_accounts SET {', '.join(sets)} WHERE username = ?", [*params, name]):  # nosec B608
            raise AccountError(f"no account named {name!r}")
    audit.record(store, actor, "account_update", remote=remote, detail=f"account={name} {' '.join(changed)}")
    account = get_account(store, name)
    if account is None:
        raise AccountError(f"no account named {name!r}")  # deleted meanwhile
    return account


def reset_totp(
    store: HandoffStore, username: str, *, sealer: Sealer | None, actor: str = "cli", remote: str | None = None
) -> str:
    """A new TOTP secret (the old authenticator entry stops working); returns it."""
    name = normalize_username(username)
    secret = pyotp.random_base32()
    with store._tx() as c:
        changed = c.run(
            "UPDATE staff_accounts SET totp_secret = ?, last_totp_step = 0 WHERE username = ?",
            (seal_totp(secret, sealer), name),
        )
    if not changed:
        raise AccountError(f"no account named {name!r}")
    audit.record(store, actor, "account_update", remote=remote, detail=f"account={name} totp_reset")
    return secret


# -- command line ------------------------------------------------------------------------------------------------


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Again: ") != first:
            raise AccountError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.staff.accounts", description="Manage staff accounts.")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account (password from stdin); prints the TOTP setup URI")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=HUMAN_ROLES)
    update = sub.add_parser("update", help="change an account's name, role or password, or enable it again")
    update.add_argument("username")
    update.add_argument("--name")
    update.add_argument("--role", choices=HUMAN_ROLES)
    update.add_argument("--password", action="store_true", help="read a new password from stdin")
    update.add_argument("--enable", action="store_true", help="enable a disabled account (clears a lockout)")
    sub.add_parser("list", help="list the accounts")
    for command, text in (("disable", "disable an account (its sessions stop at once)"), ("reset-totp", "new TOTP")):
        sub.add_parser(command, help=text).add_argument("username")
    return parser


def _print_uri(secret: str, username: str, settings: Settings) -> None:
    print("Scan this into the authenticator app (it holds the secret: show it to no one else):")
    print(provisioning_uri(secret, normalize_username(username), settings.clinic_name))


def run(argv: list[str] | None, settings: Settings) -> int:
    args = _parser().parse_args(argv)
    store = open_store(settings)
    sealer = totp_sealer(settings)
    if args.command in ("add", "reset-totp") and sealer is None:
        if not is_loopback(settings.staff_host):
            raise AccountError("DATA_ENCRYPTION_KEY is required where STAFF_HOST is not a loopback address")
        print("note: DATA_ENCRYPTION_KEY is not set, so the TOTP secret is stored unsealed", file=sys.stderr)
    if args.command == "add":
        secret = create_account(store, args.username, args.name, args.role, _read_password(), sealer=sealer)
        print(f"created {normalize_username(args.username)} ({args.role})")
        _print_uri(secret, args.username, settings)
    elif args.command == "update":
        password = _read_password() if args.password else None
        account = update_account(
            store, args.username, display_name=args.name, role=args.role, password=password,
            disabled=False if args.enable else None,
        )  # fmt: skip
        print(f"updated {account.username}")
    elif args.command == "disable":
        print(f"disabled {update_account(store, args.username, disabled=True).username}")
    elif args.command == "reset-totp":
        _print_uri(reset_totp(store, args.username, sealer=sealer), args.username, settings)
    else:
        for a in list_accounts(store):
            state = (
                "disabled" if a.disabled else ("locked" if a.locked_until and a.locked_until > store.clock() else "")
            )
            print(f"{a.username}\t{a.role}\t{a.display_name}\t{state}".rstrip())
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv, get_settings())
    except (AccountError, SealError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
