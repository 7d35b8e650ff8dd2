"""Signing in with an account: password (argon2), TOTP code (never the same time step twice) and a lockout.

Lockout: after STAFF_LOCKOUT_FAILURES failed attempts in a row, a username is locked for STAFF_LOCKOUT_SECONDS and
every attempt meanwhile is answered 429 without checking anything. Failures of a real account are counted in its
row (``failed_logins``, ``locked_until``: shared by processes, kept over restarts); failures of a name that has no
account are counted in a bounded in-memory map (``UnknownNames``), so a login form answers the same for both and
cannot be used to find which names exist (a dummy hash is verified too, so both take as long). An attempt is
counted before its password is checked, so parallel guesses cannot get more than the allowed number verified.

TOTP: a code is accepted for the current 30-second step or one step either side (valid_window=1); the step it
matched is stored and a code for that step or an earlier one is refused, so an observed code cannot be replayed.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.handoff.store import Cursor, HandoffStore, opt_utc
from bot.sealing import Sealer, SealError
from bot.staff.accounts import MAX_PASSWORD, Account, get_account, is_sealed, normalize_username, open_totp, seal_totp

log = logging.getLogger(__name__)

MAX_UNKNOWN_NAMES = 10_000


@dataclass(frozen=True)
class Lockout:
    failures: int = 5
    seconds: int = 900


@dataclass(frozen=True)
class SignIn:
    """The outcome. account: set on success. retry_after: seconds, > 0 when the name is locked (429).

    known: the name is an account's (the audit trail names it only then); reason: why it failed (for the audit
    detail: password, totp, totp_reused, disabled, unknown, locked).
    """

    account: Account | None = None
    retry_after: int = 0
    known: bool = False
    reason: str = ""


class UnknownNames:
    """Failed attempts per username that has no account, in memory; the least recently failed go past the bound."""

    def __init__(self, max_names: int = MAX_UNKNOWN_NAMES) -> None:
        self._max = max_names
        self._names: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, name: str, now: datetime, policy: Lockout) -> tuple[int, int]:
        """Count one attempt; returns (the attempt's number, seconds locked or 0)."""
        with self._lock:
            count, until = self._names.pop(name, (0, None))
            if until is not None and until > now:
                self._names[name] = (count, until)
                return count, _seconds(until - now)
            count = 1 if until is not None else count + 1
            if count > policy.failures:
                until = now + timedelta(seconds=policy.seconds)
                self._names[name] = (0, until)
                return count, policy.seconds
            self._names[name] = (count, None)
            while len(self._names) > self._max:
                self._names.popitem(last=False)
            return count, 0

    def failed(self, name: str, count: int, now: datetime, policy: Lockout) -> None:
        if count >= policy.failures:
            with self._lock:
                self._names[name] = (0, now + timedelta(seconds=policy.seconds))

    def __len__(self) -> int:
        return len(self._names)


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


@cache
def _dummy_hash() -> str:
    return PasswordHasher().hash("not a password of any account")


def totp_step(secret: str, code: str, when: datetime) -> int | None:
    """The time step (of now, one before or one after) whose code `code` is, or None."""
    code = code.replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(when)
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(when, counter_offset=offset), code):
            return now + offset
    return None


def _attempt(store: HandoffStore, name: str, policy: Lockout) -> tuple[tuple[object, ...] | None, int, int]:
    """Count an attempt on an account: (its credentials row or None if no account, attempt number, locked secs)."""
    now = store.clock()
    with store._tx() as c:
        rows = c.rows(
            "SELECT password_hash, totp_secret, last_totp_step, failed_logins, locked_until, disabled "
            "FROM staff_accounts WHERE username = ?",
            (name,),
        )
        if not rows:
            return None, 0, 0
        row = rows[0]
        until = opt_utc(row[4])
        if until is not None and until > now:
            return row, 0, _seconds(until - now)
        count = 1 if until is not None else int(row[3]) + 1
        if count > policy.failures:
            _lock(c, name, now, policy)
            return row, count, policy.seconds
        c.run("UPDATE staff_accounts SET failed_logins = ?, locked_until = NULL WHERE username = ?", (count, name))
        return row, count, 0


def _lock(c: Cursor, name: str, now: datetime, policy: Lockout) -> None:
    until = now + timedelta(seconds=policy.seconds)
    c.run("UPDATE staff_accounts SET failed_logins = 0, locked_until = ? WHERE username = ?", (until, name))


def _failed(store: HandoffStore, name: str, count: int, policy: Lockout, reason: str) -> SignIn:
    if count >= policy.failures:
        with store._tx() as c:
            _lock(c, name, store.clock(), policy)
    return SignIn(known=True, reason=reason)


def sign_in(
    store: HandoffStore,
    username: str,
    password: str,
    code: str,
    *,
    policy: Lockout,
    unknown: UnknownNames,
    sealer: Sealer | None,
    hasher: PasswordHasher | None = None,
) -> SignIn:
    """Check a username, password and TOTP code (blocking: argon2 takes tens of milliseconds)."""
    hasher = hasher or PasswordHasher()
    try:
        name = normalize_username(username)
    except ValueError:
        name = ""
    row, count, locked = _attempt(store, name, policy) if name else (None, 0, 0)
    if row is None:
        key = name or username.strip().lower()[:100]
        count, locked = unknown.attempt(key, store.clock(), policy)
        if locked:
            return SignIn(retry_after=locked, reason="locked")
        _verify(hasher, _dummy_hash(), password)
        unknown.failed(key, count, store.clock(), policy)
        return SignIn(reason="unknown")
    if locked:
        return SignIn(retry_after=locked, known=True, reason="locked")
    password_hash, stored_secret, last_step, _, _, disabled = row
    if not _verify(hasher, str(password_hash), password):
        return _failed(store, name, count, policy, "password")
    try:
        secret = open_totp(str(stored_secret), sealer)
    except SealError as exc:
        log.error("cannot open the TOTP secret of a staff account: %s", exc)
        return _failed(store, name, count, policy, "totp")
    step = totp_step(secret, code, store.clock())
    if step is None:
        return _failed(store, name, count, policy, "totp")
    if disabled:
        return _failed(store, name, count, policy, "disabled")
    sets = ["last_totp_step = ?", "failed_logins = 0", "locked_until = NULL"]
    params: list[object] = [step]
    if hasher.check_needs_rehash(str(password_hash)):
        sets.append("password_hash = ?")
        params.append(hasher.hash(password))
    if sealer is not None and not is_sealed(str(stored_secret)):
        sets.append("totp_secret = ?")
        params.append(seal_totp(secret, sealer))
    with store._tx() as c:
        # The step condition makes a replayed code lose even against a parallel sign-in with the same code.
        used = c.run(
            f"UPDATE staff_accounts SET {', '.join(sets)} WHERE username = ? AND last_totp_step < ?",  # nosec B608
            [*params, name, step],
        )
    if not used:
        return _failed(store, name, count, policy, "totp_reused")
    account = get_account(store, name)
    return SignIn(account=account, known=True) if account else SignIn(reason="unknown")


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    if not password or len(password) > MAX_PASSWORD:
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
