"""The Rasa server's settings (bot/rasa_server/settings.py): the one place its code reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.constants import DEFAULT_CLINIC_PHONE, ROOT, SMS_MAX_CHOICES, SMS_MORE
from bot.rasa_server.channels.optout import SqliteOptOuts, backend_from_env
from bot.rasa_server.channels.rest import SafeRestInput
from bot.rasa_server.channels.sms import MAX_CHOICES, SmsInput
from bot.rasa_server.channels.web import WebInput
from bot.rasa_server.settings import ChannelSettings, SettingsError

SETTINGS_MODULE = ROOT / "bot" / "rasa_server" / "settings.py"
_ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES and isinstance(node.value, ast.Name):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for alias in node.names if alias.name in _ENV_NAMES]
    return lines


def test_only_the_settings_module_reads_the_environment_in_what_rasa_loads() -> None:
    loaded = [*sorted((ROOT / "bot" / "rasa_server").rglob("*.py")), ROOT / "bot" / "encoder.py"]
    loaded.append(ROOT / "bot" / "constants.py")
    loaded.remove(SETTINGS_MODULE)
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in loaded for line in environment_reads(path)]
    assert offenders == []
    assert environment_reads(SETTINGS_MODULE)  # the scan does see a read


def test_defaults() -> None:
    settings = ChannelSettings.from_env({})
    assert settings == ChannelSettings()
    assert settings.clinic_phone == DEFAULT_CLINIC_PHONE and settings.web_allowed_origins == ("http://127.0.0.1:8000",)
    assert settings.sms_optout_db == ROOT / "var" / "sms_optout.sqlite" and settings.sms_turn_timeout == 12.0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REST_TURN_TIMEOUT", "soon"),
        ("WEB_TURN_TIMEOUT", "0"),
        ("WEB_SESSION_TTL", "-1"),
        ("SMS_TURN_TIMEOUT", "nan"),
        ("SMS_PUBLIC_URL", "bot.example.org/webhooks/sms/webhook"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}: must be .*got {value!r}"):
        ChannelSettings.from_env({variable: value})


def test_the_channels_fail_at_start_on_an_invalid_value() -> None:
    with pytest.raises(SettingsError, match="^WEB_TURN_TIMEOUT: "):
        WebInput.from_env({"WEB_TURN_TIMEOUT": "x"})
    with pytest.raises(SettingsError, match="^REST_TURN_TIMEOUT: "):
        SafeRestInput.from_env({"REST_TURN_TIMEOUT": "x"})
    with pytest.raises(SettingsError, match="^SMS_TURN_TIMEOUT: "):
        SmsInput.from_env({"SMS_TURN_TIMEOUT": "x", "TWILIO_AUTH_TOKEN": "t"})


def test_secrets_are_not_in_the_repr() -> None:
    env = {
        "WEB_JWT_SECRET": "jwt-1",
        "WEB_SESSION_SECRET": "session-2",
        "TWILIO_AUTH_TOKEN": "twilio-3",
        "SMS_ID_SECRET": "id-4",
        "DATABASE_URL": "postgresql://u:pw-5@h/db",
    }
    shown = repr(ChannelSettings.from_env(env))
    assert not [value for value in env.values() if value in shown]


def test_the_channels_take_their_settings_from_the_mapping(tmp_path: Path) -> None:
    env = {
        "CLINIC_PHONE": "555-0142",
        "REST_TURN_TIMEOUT": "5",
        "SMS_TURN_TIMEOUT": "3.5",
        "SMS_PROGRAM_NAME": "Clinic info",
        "SMS_OPTOUT_DB": str(tmp_path / "o.sqlite"),
        "TWILIO_AUTH_TOKEN": "t",
        "WEB_SESSION_TTL": "60",
    }
    rest = SafeRestInput.from_env(env)
    assert (rest.clinic_phone, rest.turn_timeout) == ("555-0142", 5.0)
    sms = SmsInput.from_env(env)
    assert (sms.clinic_phone, sms.turn_timeout, sms.program_name) == ("555-0142", 3.5, "Clinic info")
    assert isinstance(sms.optouts.backend, SqliteOptOuts) and sms.optouts.backend.path == tmp_path / "o.sqlite"
    assert WebInput.from_env(env).clinic_phone == "555-0142"
    relative = backend_from_env({"SMS_OPTOUT_DB": "var/x.sqlite"})
    assert isinstance(relative, SqliteOptOuts) and relative.path == ROOT / "var" / "x.sqlite"


def test_sms_choices_and_wording_are_the_assistants() -> None:
    assert MAX_CHOICES == SMS_MAX_CHOICES <= 9  # single digits the assistant maps back
    assert SMS_MORE.strip() == "Reply MORE for more."
