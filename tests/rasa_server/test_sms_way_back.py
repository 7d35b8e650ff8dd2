"""The SMS channel's way back: the sender's number sealed into the turn's metadata, never in text or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from rasa_support import serve
from test_sms_channel import make_channel, send

from bot.constants import REPLY_TO_METADATA
from bot.rasa_server.channels.identity import sms_sender_id
from bot.rasa_server.channels.sms import SmsInput
from bot.rasa_server.settings import SettingsError
from bot.sealing import Sealer, new_key

PHONE = "+15557654321"


def test_with_a_key_the_turn_carries_the_number_sealed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sealer = Sealer(new_key())
    with serve([make_channel(tmp_path, sealer=sealer)], cors=None) as server:
        assert send(server, "my son has a fever", PHONE) == "You said: my son has a fever"
        (received,) = server.agent.received
    sealed = received.metadata[REPLY_TO_METADATA]
    assert sealer.open(sealed) == PHONE
    assert PHONE[2:] not in repr(received.metadata) and PHONE[2:] not in received.sender_id + received.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PHONE[2:] not in logged and sealed not in logged


def test_without_a_key_the_channel_works_and_warns_once_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    channel = make_channel(tmp_path)
    warnings = [r.getMessage() for r in caplog.records if "DATA_ENCRYPTION_KEY" in r.getMessage()]
    assert len(warnings) == 1 and "no way back" in warnings[0]
    with serve([channel], cors=None) as server:
        assert send(server, "hello", PHONE) == "You said: hello"
        assert send(server, "hello again", PHONE) == "You said: hello again"
        assert all(REPLY_TO_METADATA not in r.metadata for r in server.agent.received)
    assert len([r for r in caplog.records if "DATA_ENCRYPTION_KEY" in r.getMessage()]) == 1


def test_the_key_comes_from_the_environment_and_a_bad_one_stops_the_start(tmp_path: Path) -> None:
    env = {"TWILIO_AUTH_TOKEN": "tok", "SMS_OPTOUT_DB": str(tmp_path / "o.sqlite")}
    key = new_key()
    assert SmsInput.from_env({**env, "DATA_ENCRYPTION_KEY": key}).sealer is not None
    assert SmsInput.from_env(env).sealer is None
    with pytest.raises(SettingsError, match="^DATA_ENCRYPTION_KEY: ") as err:
        SmsInput.from_env({**env, "DATA_ENCRYPTION_KEY": "not-a-key"})
    assert "not-a-key" not in str(err.value)


def test_the_sender_id_is_the_shared_derivation(tmp_path: Path) -> None:
    channel = make_channel(tmp_path, id_secret="id-secret")
    assert channel.sender_id("+1 (555) 765-4321") == sms_sender_id(PHONE, "id-secret") == channel.sender_id(PHONE)
