"""Settings the staff app refuses to start with, each with a message naming the variable.

- STAFF_TOKEN, when set, is machine access only and must be at least 32 characters, on any address (`make run`
  generates one when it is unset).
- Beyond loopback (STAFF_HOST not 127.0.0.1, ::1 or localhost: a deployment), DATA_ENCRYPTION_KEY is required: it
  seals the staff accounts' TOTP secrets (and the ways back to a person). Locally the secrets may stay unsealed.
- STAFF_AUTH=proxy needs STAFF_TRUSTED_PROXIES: without it no identity header would ever be honoured.
"""

from __future__ import annotations

import ipaddress

from bot.sealing import Sealer, SealError
from bot.settings import Settings

MIN_STAFF_TOKEN = 32


class StaffConfigError(ValueError):
    """The staff app's settings are unsafe; the message names each variable."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name may resolve to anything


def problems(settings: Settings) -> list[str]:
    found = []
    token = settings.staff_token.get_secret_value()
    if token and len(token) < MIN_STAFF_TOKEN:
        found.append(
            f"STAFF_TOKEN: must be at least {MIN_STAFF_TOKEN} characters (it is machine access only; "
            "staff sign in with their accounts), e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    keys = settings.data_encryption_key.get_secret_value()
    if keys:
        try:
            Sealer(keys)
        except SealError as exc:
            found.append(f"DATA_ENCRYPTION_KEY: {exc}")
    elif not is_loopback(settings.staff_host):
        found.append(
            "DATA_ENCRYPTION_KEY: required when STAFF_HOST is not a loopback address (it seals the staff "
            "accounts' TOTP secrets); make one with python -c 'from bot.sealing import new_key; print(new_key())'"
        )
    if settings.staff_auth == "proxy" and not settings.trusted_proxies:
        found.append("STAFF_TRUSTED_PROXIES: required with STAFF_AUTH=proxy (the proxy's addresses or CIDRs)")
    return found


def check(settings: Settings) -> None:
    """StaffConfigError naming every problem, if any."""
    if found := problems(settings):
        raise StaffConfigError("; ".join(found))
