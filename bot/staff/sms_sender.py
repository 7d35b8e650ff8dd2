"""Sending a staff reply by SMS with the official `twilio` client (Messages resource), and the body's rules.

Settings: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (HTTP Basic credentials of the account), TWILIO_FROM_NUMBER (the
clinic's Twilio number, the SMS line's own), TWILIO_API_BASE (default https://api.twilio.com).

Why an HttpClient subclass for TWILIO_API_BASE: the library's generated resources build absolute URLs on
``https://api.twilio.com`` and the client has no base-URL setting (region and edge only move the host within
``*.twilio.com``). What it does accept is an ``http_client``; ``BaseUrlHttpClient`` keeps Twilio's own request code
(auth, form encoding, timeouts) and only swaps the scheme and host for TWILIO_API_BASE, so tests run the real
client against a local fake of the Messages endpoint (tests/fake_twilio.py).

The body is GSM-7 of at most two segments: a reply that would need other characters or more segments is refused
with a clear error for the clinician to fix, never truncated or stripped silently. Nothing here logs the number,
the text or Twilio's error message (which can quote the number); a failure is recorded by its error code only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.rasa_server.channels.gsm7 import SMS_LIMIT, septets, to_gsm7, unsendable
from bot.settings import Settings

DEFAULT_API_BASE = "https://api.twilio.com"
TIMEOUT = 10.0  # seconds per Twilio request; the route runs it off the event loop

# The twilio library logs each request's URL and headers at INFO: keep that out of the app's logs.
_quiet = logging.getLogger("bot.staff.sms_sender.twilio")
_quiet.setLevel(logging.WARNING)


class BodyError(ValueError):
    """A reply text that cannot go out as one SMS as written; ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sms_body(text: str) -> str:
    """The reply as the SMS will carry it: GSM-7 (curly quotes and dashes made plain), at most two segments."""
    dropped = unsendable(text)
    if dropped:
        shown = " ".join(dropped[:5])
        raise BodyError("not_gsm7", f"A text message can't carry these characters: {shown}. Please remove them.")
    body = to_gsm7(text)
    if not body:
        raise BodyError("bad_request", "The reply is empty.")
    if septets(body) > SMS_LIMIT:
        raise BodyError(
            "too_long",
            f"The reply is {septets(body)} characters as a text message; the limit is {SMS_LIMIT} "
            "(two SMS segments). Please shorten it.",
        )
    return body


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, with each request's scheme and host replaced by the configured API base."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout, logger=_quiet)
        base = urlsplit(base_url)
        self._scheme, self._netloc, self._prefix = base.scheme, base.netloc, base.path.rstrip("/")

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, self.rewrite(url), *args, **kwargs)


@dataclass(frozen=True)
class SendResult:
    sid: str | None = None  # Twilio's message sid when it accepted the message
    error: str | None = None  # Twilio's error code (e.g. "21610"), or the kind of failure

    @property
    def ok(self) -> bool:
        return self.sid is not None


class SmsSender:
    def __init__(self, settings: Settings) -> None:
        self.account_sid = settings.twilio_account_sid
        self.auth_token = settings.twilio_auth_token.get_secret_value()
        self.from_number = settings.twilio_from_number
        self.api_base = settings.twilio_api_base

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.from_number)

    def _client(self) -> Client:
        http = (
            TwilioHttpClient(timeout=TIMEOUT, logger=_quiet)
            if self.api_base == DEFAULT_API_BASE
            else BaseUrlHttpClient(self.api_base)
        )
        # `environment`: the client would otherwise read TWILIO_* (edge, region) from os.environ itself.
        return Client(self.account_sid, self.auth_token, http_client=http, environment={"TWILIO_EDGE": ""})

    def send(self, to: str, body: str) -> SendResult:
        """Send one SMS (blocking: call it in a thread). Never raises for a refused or failed send."""
        try:
            message = self._client().messages.create(to=to, from_=self.from_number, body=body)
        except TwilioRestException as exc:
            return SendResult(error=str(exc.code or f"http_{exc.status}"))
        except (TwilioException, OSError, ValueError) as exc:  # requests' errors are OSErrors
            return SendResult(error=type(exc).__name__)
        sid = getattr(message, "sid", None)
        return SendResult(sid=str(sid)) if sid else SendResult(error="no_sid")
