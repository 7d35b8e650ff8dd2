"""Minting the widget's sign-in token, as a patient portal does it (the example the README shows).

The portal and the Rasa web channel share WEB_JWT_SECRET. The portal puts its own session id for the logged-in
patient in `sub` and keeps the token short-lived; the channel verifies the signature and expiry and uses `sub` as
the conversation id, so nobody can open another person's conversation by choosing an id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import jwt

DEMO_COOKIE = "demo_patient"
_DEMO_ID = re.compile(r"demo-[A-Za-z0-9_-]{16}", re.ASCII)


def mint_widget_token(secret: str, subject: str, ttl_seconds: int = 600, now: float | None = None) -> str:
    """An HS256 JWT for the widget: `sub` = the patient's portal session id, expiring after ttl_seconds."""
    issued = int(time.time() if now is None else now)
    return jwt.encode({"sub": subject, "iat": issued, "exp": issued + ttl_seconds}, secret, algorithm="HS256")


def _sign(secret: str, patient: str) -> str:
    return hmac.new(secret.encode(), b"demo-patient:" + patient.encode(), hashlib.sha256).hexdigest()[:32]


def demo_patient_cookie(secret: str, patient: str) -> str:
    return f"{patient}.{_sign(secret, patient)}"


def demo_patient_id(secret: str, cookie: str) -> str:
    """The demo visitor's id from its signed cookie, or a new random id (demo stand-in for a portal login)."""
    patient, _, signature = cookie.partition(".")
    if _DEMO_ID.fullmatch(patient) and hmac.compare_digest(signature, _sign(secret, patient)):
        return patient
    return f"demo-{secrets.token_urlsafe(12)}"
