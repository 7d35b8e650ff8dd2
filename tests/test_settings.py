"""One source of settings (bot/settings.py) and of shared constants (bot/constants.py)."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest
import yaml

from bot.constants import ROOT, SMS_LIMIT, SMS_MAX_CHOICES, SMS_MORE, URGENCIES, URGENCY_RANK
from bot.settings import Settings, SettingsError, child_environ, get_settings, use_offline_models

SETTINGS_MODULES = {ROOT / "bot" / "settings.py", ROOT / "bot" / "rasa_server" / "settings.py"}
_ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(path: Path) -> list[str]:
    """`file:line` of each os.environ / os.getenv (or `from os import environ`) use in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    os_names = {"os"} | {
        alias.asname for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        if alias.name == "os" and alias.asname
    }  # fmt: skip
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES:
            if isinstance(node.value, ast.Name) and node.value.id in os_names:
                found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in _ENV_NAMES for alias in node.names):
                found.append(node.lineno)
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return [f"{name}:{line}" for line in sorted(found)]


def test_only_the_settings_modules_read_the_environment() -> None:
    sources = [p for folder in ("bot", "actions") for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(sources) > 30
    offenders = [hit for path in sources if path not in SETTINGS_MODULES for hit in environment_reads(path)]
    assert offenders == [], "read the environment through bot/settings.py (or bot/rasa_server/settings.py)"


def test_the_scan_finds_every_kind_of_environment_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os as o\nfrom os import getenv\nx = o.environ.get('A')\ny = o.getenv('B')\nz = o.path\n")
    assert environment_reads(sample) == [f"{sample}:{n}" for n in (2, 3, 4)]


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("ACTION_PORT", "abc", "must be an integer"),
        ("STAFF_PORT", "70000", "must be at most 65535"),
        ("ACTION_WORKERS", "0", "must be at least 1"),
        ("ENCODER_THREADS", "two", "must be an integer"),
        ("RETENTION_DAYS", "-5", "must be at least 1"),
        ("ENTRY_TIMEOUT", "soon", "must be an integer"),
        ("LOG_LEVEL", "loud", "must be one of DEBUG"),
        ("CLINIC_HOURS", "weekdays 9-5", "expected 'DAYS HH:MM-HH:MM'"),
        ("CLINIC_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("REDIS_KEY_PREFIX", "eczema:prod", "alphanumeric"),
        ("RASA_REPLICAS", "rasa-1:5005", "http(s) URLs"),
        ("STAFF_AUTH", "sso", "'password' or 'proxy'"),
        ("STAFF_TRUSTED_PROXIES", "10.0.0.0/8, proxy", "IP addresses or CIDRs"),
        ("STAFF_PROXY_HEADER", "X User:", "HTTP header name"),
        ("STAFF_LOCKOUT_FAILURES", "0", "must be at least 1"),
        ("AUDIT_RETENTION_DAYS", "0", "must be at least 1"),
        ("DATA_ENCRYPTION_KEY", "not-a-fernet-key", "must be Fernet keys"),
        ("TWILIO_API_BASE", "api.twilio.com", "http(s) URLs"),
        ("PORTAL_WEBHOOK_URL", "portal.example/hook", "must be an http(s) URL"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(variable: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({variable: value})
    assert str(err.value).startswith(f"{variable}: ") and problem in str(err.value)
    if variable in ("DATA_ENCRYPTION_KEY", "PORTAL_WEBHOOK_URL"):  # secrets: never echoed
        assert value not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_every_invalid_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError, match=r"ACTION_PORT: .*; DB_PORT: "):
        Settings.from_env({"ACTION_PORT": "x", "DB_PORT": "y"})


def test_defaults_and_empty_values() -> None:
    settings = Settings.from_env({"CLINIC_PHONE": "", "DB_NAME": "", "ACTION_PORT": "6000"})
    assert settings.clinic_phone == "555-0100" and settings.db_name == "eczema" and settings.action_port == 6000
    assert settings.tracker_db == ROOT / "var" / "tracker.db" and settings.handoff_db_path.parent == ROOT / "var"
    assert settings.log_level == "INFO" and Settings.from_env({"LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_secrets_never_show_in_a_repr_a_dump_or_an_error() -> None:
    secrets = {
        "STAFF_TOKEN": "tok-staff-1",
        "WEB_JWT_SECRET": "jwt-secret-2",
        "WEB_SESSION_SECRET": "session-3",
        "DB_PASSWORD": "pw-4",
        "REDIS_PASSWORD": "pw-5",
        "DATABASE_URL": "postgresql://u:pw-6@h/db",
        "STAFF_WEBHOOK_URL": "https://hooks.example/key-7",
        "DATA_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "TWILIO_AUTH_TOKEN": "twilio-token-8",
        "SMS_ID_SECRET": "sms-id-9",
        "PORTAL_WEBHOOK_URL": "https://portal.example/hook-10",
        "PORTAL_WEBHOOK_SECRET": "portal-hook-11",
    }
    settings = Settings.from_env(secrets)
    shown = repr(settings) + str(settings) + settings.model_dump_json() + str(settings.model_dump())
    assert not [value for value in secrets.values() if value in shown]
    assert settings.staff_token.get_secret_value() == "tok-staff-1"
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**secrets, "ACTION_PORT": "x"})
    assert not [value for value in secrets.values() if value in str(err.value)]


def test_replace_makes_a_validated_copy() -> None:
    base = Settings.from_env({"CLINIC_PHONE": "555-0111"})
    copy = base.replace(handoff_db_path="/tmp/h.sqlite", database_url="postgresql://x/y")
    assert copy.clinic_phone == "555-0111" and copy.handoff_db_path == Path("/tmp/h.sqlite")
    assert copy.database_url.get_secret_value() == "postgresql://x/y" and not base.database_url
    with pytest.raises(SettingsError, match="^ACTION_PORT: must be an integer"):
        base.replace(action_port="x")
    with pytest.raises(Exception, match="frozen"):
        base.clinic_phone = "1"  # type: ignore[misc]


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINIC_PHONE", "555-0177")
    first = get_settings()
    monkeypatch.setenv("CLINIC_PHONE", "555-0178")
    assert get_settings() is first and first.clinic_phone == "555-0177"


def test_postgres_url_quotes_its_parts() -> None:
    settings = Settings.from_env({"DB_HOST": "h", "DB_USER": "bot user", "DB_PASSWORD": "p@ss/word"})
    assert settings.postgres_url() == "postgresql://bot%20user:p%40ss%2Fword@h:5432/eczema"
    assert settings.postgres_url("postgres").endswith("@h:5432/postgres")


def test_the_database_name_default_is_the_one_deploy_uses() -> None:
    from bot.ops.stack import PROD_DEFAULTS

    config = yaml.safe_load((ROOT / "deploy" / "k8s" / "configmap.yaml").read_text())["data"]
    compose = (ROOT / "deploy" / "docker-compose.yml").read_text()
    assert Settings.env_default("DB_NAME") == PROD_DEFAULTS["DB_NAME"] == config["DB_NAME"] == "eczema"
    assert "${DB_NAME:-eczema}" in compose


def test_child_environ_and_offline_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINIC_NAME", "A clinic")
    env = child_environ(RASA_TELEMETRY_ENABLED="false")
    assert env["CLINIC_NAME"] == "A clinic" and env["RASA_TELEMETRY_ENABLED"] == "false"
    env["CLINIC_NAME"] = "changed"
    assert os.environ["CLINIC_NAME"] == "A clinic"
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    use_offline_models()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "0"


def test_the_readme_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Settings (environment variables)", 1)[1].split("\n## ", 1)[0]
    first_cells = [row.split("|")[1] for row in section.splitlines() if row.startswith("| `")]
    listed = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    channel_source = (ROOT / "bot" / "rasa_server" / "settings.py").read_text()
    channel_vars = set(re.findall(r"""get\("([A-Z0-9_]+)\"""", channel_source))
    fields = {f.alias for f in Settings.model_fields.values()}
    assert len(channel_vars) > 10
    assert fields | channel_vars <= listed, sorted((fields | channel_vars) - listed)


def test_shared_constants_have_one_definition() -> None:
    from bot.conversation import assistant, handoffs, sms
    from bot.handoff import models
    from bot.quality import evaluate
    from bot.rasa_server.channels import gsm7
    from bot.safety import screen

    assert handoffs.URGENCY_RANK is screen.URGENCY_RANK is evaluate.URGENCY_RANK is URGENCY_RANK
    assert models.URGENCIES is URGENCIES and sorted(URGENCY_RANK, key=URGENCY_RANK.__getitem__) == [
        "routine",
        "urgent",
        "emergency",
    ]
    assert sms.SMS_LIMIT == gsm7.SMS_LIMIT == SMS_LIMIT == 306
    assert sms.MORE == gsm7.MORE == SMS_MORE and sms.MAX_CHOICES == SMS_MAX_CHOICES
    # The behaviour the thresholds had before they moved to bot/constants.py.
    assert (assistant.INTENT_CONFIDENCE, screen.INTENT_CONFIDENCE, screen.EMERGENCY_INTENT_CONFIDENCE) == (
        0.6,
        0.7,
        0.8,
    )
    literals = re.compile(r"^\s*(URGENCY_RANK|SMS_LIMIT|MAX_CHOICES|INTENT_CONFIDENCE)\s*[:=]", re.MULTILINE)
    redefined = [
        str(p.relative_to(ROOT)) for p in (ROOT / "bot").rglob("*.py") if p.name != "constants.py"
        if literals.search(p.read_text(encoding="utf-8"))
    ]  # fmt: skip
    assert redefined == ["bot/rasa_server/channels/sms.py"]  # MAX_CHOICES = SMS_MAX_CHOICES, an alias
    assert "555-0100" not in "".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py") if p.name != "constants.py"
    )


def test_the_stack_refuses_an_invalid_child_environment_before_starting_anything() -> None:
    from bot.ops.stack import Stack

    with pytest.raises(SettingsError, match="^ACTION_WORKERS: must be at least 1"):
        Stack(env={"ACTION_WORKERS": "0"})._env()
    with pytest.raises(ValueError, match="^WEB_TURN_TIMEOUT: "):
        Stack(env={"WEB_TURN_TIMEOUT": "soon"})._env()
