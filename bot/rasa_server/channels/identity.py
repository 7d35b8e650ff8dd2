"""Who a conversation belongs to, as both sides derive it: the conversation-id prefixes, the SMS sender id (a keyed
hash of the phone number, also the opt-out key) and the portal JWT's verified subject.

Standard library and PyJWT only, so the staff app (Python 3.11) derives the same ids as the channels: it checks a
reply's number against the SMS opt-outs with `sms_sender_id` and serves a signed-in widget user's care-team
replies with `verify_jwt`.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import jwt

WEB_ANONYMOUS = "web-"  # web-<random session id>
WEB_SIGNED_IN = "web:"  # web:<portal JWT sub>
SMS = "sms:"  # sms:<keyed hash of the phone number>

_SUB = re.compile(r"[A-Za-z0-9._:@|-]{1,128}", re.ASCII)
_NUMBER_NOISE = re.compile(r"[\s().-]")


class SignInError(ValueError):
    """A portal sign-in token that is refused; `code` is the JSON error code, the message is for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sms_sender_id(phone: str, secret: str) -> str:
    """The SMS conversation id (and opt-out key) of a phone number; it does not reveal the number."""
    number = _NUMBER_NOISE.sub("", phone)
    digest = hmac.new(secret.encode(), b"sms-sender:" + number.encode(), hashlib.sha256).hexdigest()
    return f"{SMS}{digest[:32]}"


def verify_jwt(token: str, secret: str, leeway: float = 30.0) -> str:
    """The verified `sub` of an HS256 token that has not expired; SignInError otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}, leeway=leeway)
    except jwt.ExpiredSignatureError:
        raise SignInError("token_expired", "Your chat sign-in has expired. Please reload the page.") from None
    except jwt.InvalidTokenError:
        raise SignInError("token_invalid", "Your chat sign-in is not valid. Please reload the page.") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not _SUB.fullmatch(sub):
        raise SignInError("token_invalid", "Your chat sign-in is not valid. Please reload the page.")
    return sub
