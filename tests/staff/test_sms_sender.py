"""The Twilio sender (the official client, pointed at the local fake) and the SMS body's rules."""

from __future__ import annotations

import logging

import pytest

from bot.ops.ports import free_port
from bot.settings import Settings
from bot.staff.sms_sender import BaseUrlHttpClient, BodyError, SmsSender, sms_body
from tests.fake_twilio import FakeTwilio

TO = "+15558675309"


def sender_for(fake: FakeTwilio, **changes: str) -> SmsSender:
    return SmsSender(Settings.from_env({**fake.env(), **changes}))


def test_the_real_client_sends_one_authenticated_message(fake_twilio: FakeTwilio, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    result = sender_for(fake_twilio).send(TO, "Please call the clinic.")
    (sent,) = fake_twilio.received()
    assert result.ok and result.sid == sent.sid and sent.sid.startswith("SM")
    assert (sent.to, sent.from_, sent.body, sent.auth_ok) == (
        TO,
        fake_twilio.from_number,
        "Please call the clinic.",
        True,
    )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TO not in logged and "Please call" not in logged and fake_twilio.auth_token not in logged


@pytest.mark.parametrize("changed", ["TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID"])
def test_wrong_credentials_are_refused_by_the_fake_and_reported(fake_twilio: FakeTwilio, changed: str) -> None:
    other = "AC" + "0" * 32 if changed == "TWILIO_ACCOUNT_SID" else "wrong-token"
    result = sender_for(fake_twilio, **{changed: other}).send(TO, "Hello")
    assert not result.ok and result.error == "20003"
    assert [m.auth_ok for m in fake_twilio.received()] == [False]


def test_a_refusal_and_an_unreachable_api_are_failures_not_exceptions(fake_twilio: FakeTwilio) -> None:
    fake_twilio.refuse_next(21211)
    assert sender_for(fake_twilio).send(TO, "Hello").error == "21211"
    down = sender_for(fake_twilio, TWILIO_API_BASE=f"http://127.0.0.1:{free_port()}").send(TO, "Hello")
    assert not down.ok and down.error == "ConnectionError"


def test_the_base_url_rewrite_keeps_path_and_query() -> None:
    client = BaseUrlHttpClient("http://127.0.0.1:9/prefix")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=1"
    assert client.rewrite(url) == "http://127.0.0.1:9/prefix/2010-04-01/Accounts/AC1/Messages.json?PageSize=1"


def test_the_sender_needs_its_three_settings() -> None:
    assert not SmsSender(Settings.from_env({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})).configured


def test_sms_body_rules() -> None:
    assert sms_body("\u201cSoon\u201d \u2014 ok\u2026") == '"Soon" - ok...'
    assert sms_body("x" * 306) == "x" * 306
    with pytest.raises(BodyError) as long:
        sms_body("x" * 307)
    assert long.value.code == "too_long"
    with pytest.raises(BodyError) as braces:
        sms_body("[" * 154)  # extension characters count twice
    assert braces.value.code == "too_long"
    with pytest.raises(BodyError) as emoji:
        sms_body("ok \U0001f44d")
    assert emoji.value.code == "not_gsm7" and "\U0001f44d" in str(emoji.value)
