"""Every environment variable the Rasa server's own code reads (the channels), validated at start.

The Rasa server runs on Python 3.10 with pydantic 1, so this is a plain reader (standard library only); the
3.11 processes use bot/settings.py. An empty variable counts as unset. Secrets are excluded from the repr.
(Rasa reads ACTION_SERVER_URL, TRACKER_DB, DB_*, REDIS_* and SQL_* itself, from the endpoints files.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bot.constants import DEFAULT_CLINIC_PHONE, ROOT

T = TypeVar("T")

DEFAULT_ORIGINS = ("http://127.0.0.1:8000",)
DEFAULT_PROGRAM = "Eczema clinic medicine info"
DEFAULT_OPTOUT_DB = Path("var") / "sms_optout.sqlite"


class SettingsError(ValueError):
    """An environment variable with an invalid value; the message names the variable."""


def _positive_number(raw: str) -> float:
    value = float(raw)
    if not value > 0:  # also refuses nan
        raise ValueError
    return value


def _at_least_a_day(raw: str) -> float:
    value = float(raw)
    if not value >= 86400:  # Twilio retries and replays within a day must be caught; also refuses nan
        raise ValueError
    return value


def _port_or_zero(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError
    return value


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(o.rstrip("/") for o in re.split(r"[\s,]+", raw) if o)


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError
    return raw


@dataclass(frozen=True)
class ChannelSettings:
    clinic_phone: str = DEFAULT_CLINIC_PHONE
    rest_turn_timeout: float = 30.0  # seconds for one bot turn before the fallback reply
    rest_api_key: str = field(default="", repr=False)  # empty: the REST channel is open to any caller
    # Portal widget channel (web).
    web_jwt_secret: str = field(default="", repr=False)
    web_session_secret: str = field(default="", repr=False)
    web_allowed_origins: tuple[str, ...] = DEFAULT_ORIGINS
    web_turn_timeout: float = 30.0
    web_session_ttl: float = 86400.0
    # SMS channel (Twilio) and its opt-out store.
    twilio_auth_token: str = field(default="", repr=False)
    sms_id_secret: str = field(default="", repr=False)
    sms_public_url: str = ""
    sms_program_name: str = DEFAULT_PROGRAM
    sms_turn_timeout: float = 12.0
    sms_replay_ttl: float = 172800.0  # seconds a MessageSid is remembered to refuse replays (at least 24 hours)
    database_url: str = field(default="", repr=False)  # PostgreSQL for opt-outs; empty means SQLite
    sms_optout_db: Path = ROOT / DEFAULT_OPTOUT_DB  # relative values are from the repository root
    # Fernet key(s) sealing the sender's number into the message metadata (bot/sealing.py); empty: no way back.
    data_encryption_key: str = field(default="", repr=False)
    # Each Rasa process's Prometheus metrics (bot/rasa_server/metrics.py), never on the public port; 0: off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9157

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChannelSettings:
        """Settings from os.environ (or `environ`); SettingsError naming the first invalid variable."""
        env = os.environ if environ is None else environ

        def get(name: str, parse: Callable[[str], T], default: T, problem: str = "") -> T:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except ValueError:
                raise SettingsError(f"{name}: {problem} (got {raw!r})") from None

        number = "must be a number of seconds greater than 0"
        return cls(
            clinic_phone=get("CLINIC_PHONE", str, DEFAULT_CLINIC_PHONE),
            rest_turn_timeout=get("REST_TURN_TIMEOUT", _positive_number, cls.rest_turn_timeout, number),
            rest_api_key=env.get("REST_API_KEY", "").strip(),
            web_jwt_secret=env.get("WEB_JWT_SECRET", ""),
            web_session_secret=env.get("WEB_SESSION_SECRET", ""),
            web_allowed_origins=get("WEB_ALLOWED_ORIGINS", _origins, DEFAULT_ORIGINS) or DEFAULT_ORIGINS,
            web_turn_timeout=get("WEB_TURN_TIMEOUT", _positive_number, cls.web_turn_timeout, number),
            web_session_ttl=get("WEB_SESSION_TTL", _positive_number, cls.web_session_ttl, number),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            sms_id_secret=env.get("SMS_ID_SECRET", ""),
            sms_public_url=get("SMS_PUBLIC_URL", _http_url, "", "must be an http(s) URL"),
            sms_program_name=get("SMS_PROGRAM_NAME", str, DEFAULT_PROGRAM),
            sms_turn_timeout=get("SMS_TURN_TIMEOUT", _positive_number, cls.sms_turn_timeout, number),
            sms_replay_ttl=get("SMS_REPLAY_TTL", _at_least_a_day, cls.sms_replay_ttl, "must be at least 86400 seconds"),
            database_url=env.get("DATABASE_URL", ""),
            sms_optout_db=ROOT / get("SMS_OPTOUT_DB", Path, DEFAULT_OPTOUT_DB),
            data_encryption_key=env.get("DATA_ENCRYPTION_KEY", "").strip(),
            metrics_host=get("METRICS_HOST", str, cls.metrics_host),
            metrics_port=get("RASA_METRICS_PORT", _port_or_zero, cls.metrics_port, "must be a port number or 0"),
        )
