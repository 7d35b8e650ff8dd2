"""Encryption at rest for the ways back to a person (a phone number): Fernet, keys from DATA_ENCRYPTION_KEY.

Shared by the Rasa SMS channel (which seals the sender's number before it enters the conversation) and the staff app
(which opens it to send a reply). DATA_ENCRYPTION_KEY is one or more Fernet keys separated by commas: the first
seals, any opens, so a key can be rotated without losing the tickets sealed under the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(ValueError):
    """No key is configured, a key is malformed, or a sealed value does not open with the configured keys."""


class Sealer:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SealError("DATA_ENCRYPTION_KEY is not set")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError):
            raise SealError(
                "DATA_ENCRYPTION_KEY must be Fernet keys (urlsafe base64 of 32 bytes), comma-separated"
            ) from None

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise SealError("the sealed value does not open with the configured keys") from None


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")
