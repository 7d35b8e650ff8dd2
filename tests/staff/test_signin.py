"""Signing in: password and TOTP, no code used twice, and the lockout (for real and unknown names alike)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from asgi_support import PASSWORD, Clock

from bot.handoff.sqlite import SqliteHandoffStore
from bot.sealing import Sealer, new_key
from bot.staff.accounts import create_account, get_account, update_account
from bot.staff.signin import Lockout, SignIn, UnknownNames, sign_in, totp_step

POLICY = Lockout(failures=3, seconds=600)


class Setup:
    def __init__(self, tmp: Path, sealer: Sealer | None = None) -> None:
        self.clock = Clock()
        self.store = SqliteHandoffStore(tmp / "handoff.sqlite", clock=self.clock)
        self.unknown = UnknownNames()
        self.sealer = sealer
        self.secret = create_account(self.store, "ann", "Ann", "clinician", PASSWORD, sealer=sealer)

    def code(self, steps: int = 0) -> str:
        return pyotp.TOTP(self.secret).at(self.clock.now, counter_offset=steps)

    def attempt(self, username: str = "ann", password: str = PASSWORD, code: str | None = None) -> SignIn:
        return sign_in(
            self.store,
            username,
            password,
            self.code() if code is None else code,
            policy=POLICY,
            unknown=self.unknown,
            sealer=self.sealer,
        )


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_the_right_password_and_code_sign_in_with_the_accounts_role(setup: Setup) -> None:
    result = setup.attempt("  ANN ")
    assert result.account is not None and result.account.identity().role == "clinician"
    assert result.account.username == "ann" and result.known


def test_a_code_is_accepted_once_and_an_earlier_step_never_after(setup: Setup) -> None:
    code = setup.code()
    assert setup.attempt(code=code).account is not None
    replay = setup.attempt(code=code)
    assert replay.account is None and replay.reason == "totp_reused"
    assert setup.attempt(code=setup.code(-1)).reason == "totp_reused"  # older than the one used
    assert setup.attempt(code=setup.code(+1)).account is not None  # the next step is still new
    setup.clock.advance(seconds=30)
    assert setup.attempt(code=setup.code()).reason == "totp_reused"  # that step was already used early


def test_one_step_either_side_is_accepted_two_are_not(tmp_path: Path) -> None:
    for steps, accepted in ((-2, False), (-1, True), (1, True), (2, False)):
        setup = Setup(tmp_path / str(steps))
        result = setup.attempt(code=setup.code(steps))
        assert (result.account is not None) is accepted, steps
        assert accepted or result.reason == "totp"


def test_totp_step_reads_only_six_digits(setup: Setup) -> None:
    now = setup.clock.now
    code = setup.code()
    step = pyotp.TOTP(setup.secret).timecode(now)
    assert totp_step(setup.secret, f"{code[:3]} {code[3:]}", now) == step
    for bad in ("", "12345", "1234567", "abcdef", code + "0"):
        assert totp_step(setup.secret, bad, now) is None


def test_the_same_code_sent_twice_at_once_signs_in_only_once(setup: Setup) -> None:
    code = setup.code()
    results: list[SignIn] = []
    threads = [threading.Thread(target=lambda: results.append(setup.attempt(code=code))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.account is not None for r in results) == 1


@pytest.mark.parametrize("username", ["ann", "nobody"])
def test_after_the_failures_a_name_is_locked_for_the_period_even_with_the_right_password(
    setup: Setup, username: str
) -> None:
    for _ in range(POLICY.failures):
        result = setup.attempt(username=username, password="wrong password!!")
        assert result.account is None and result.retry_after == 0
    locked = setup.attempt(username=username)
    assert locked.account is None and locked.retry_after == POLICY.seconds and locked.reason == "locked"
    setup.clock.advance(seconds=POLICY.seconds - 1)
    assert setup.attempt(username=username).retry_after == 1  # still locked a second before the end
    setup.clock.advance(seconds=1)
    after = setup.attempt(username=username, code=setup.code(1))
    assert after.retry_after == 0 and (after.account is not None) is (username == "ann")


def test_an_unknown_name_is_answered_like_a_real_one(setup: Setup) -> None:
    real = [setup.attempt(username="ann", password="wrong password!!") for _ in range(POLICY.failures + 1)]
    fake = [setup.attempt(username="nobody", password="wrong password!!") for _ in range(POLICY.failures + 1)]
    assert [r.retry_after for r in real] == [r.retry_after for r in fake] == [0, 0, 0, POLICY.seconds]
    assert all(r.account is None for r in real + fake)
    assert [r.known for r in real] == [True] * 4 and [r.known for r in fake] == [False] * 4


def test_a_success_clears_the_count_and_the_table_keeps_the_lock(setup: Setup) -> None:
    for _ in range(POLICY.failures - 1):
        setup.attempt(password="wrong password!!")
    assert setup.attempt().account is not None
    account = get_account(setup.store, "ann")
    assert account is not None and account.failed_logins == 0
    for _ in range(POLICY.failures):
        setup.attempt(password="wrong password!!", code=setup.code(1))
    account = get_account(setup.store, "ann")
    assert account is not None and account.locked_until == setup.clock.now + timedelta(seconds=POLICY.seconds)


def test_a_wrong_code_or_a_disabled_account_counts_as_a_failure(setup: Setup) -> None:
    assert setup.attempt(code="000000" if setup.code() != "000000" else "111111").reason == "totp"
    update_account(setup.store, "ann", disabled=True)
    disabled = setup.attempt()
    assert disabled.account is None and disabled.reason == "disabled"
    assert setup.attempt().retry_after == 0
    assert setup.attempt().retry_after == POLICY.seconds  # the third failure locked it
    update_account(setup.store, "ann", disabled=False)  # enabling clears the lock
    assert setup.attempt(code=setup.code(1)).account is not None


def test_a_sealed_secret_needs_the_key(tmp_path: Path) -> None:
    setup = Setup(tmp_path, sealer=Sealer(new_key()))
    setup.sealer = Sealer(new_key())  # the key was changed without keeping the old one
    assert setup.attempt().reason == "totp"
    setup.sealer = None
    assert setup.attempt().reason == "totp"


def test_the_unknown_names_map_is_bounded() -> None:
    names = UnknownNames(max_names=3)
    now = Clock().now
    for n in range(10):
        names.attempt(f"user{n}", now, POLICY)
    assert len(names) == 3
