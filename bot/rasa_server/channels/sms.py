"""The after-hours SMS line: a Twilio input channel at POST /webhooks/sms/webhook, answering inline with TwiML.

Enabled when TWILIO_AUTH_TOKEN is set (else 503). Every request's X-Twilio-Signature is checked against
SMS_PUBLIC_URL (the exact webhook URL configured in Twilio) or, when unset, the request URL; unsigned or tampered
requests get 403 with an empty body and never reach the bot. The sender id is a keyed hash of the phone number,
so raw numbers never reach the tracker store or the logs. A message already answered (same MessageSid or
I-Twilio-Idempotency-Token within SMS_REPLAY_TTL) gets an empty TwiML reply and no new turn. STOP-type keywords
opt a number out (stored in SQLite or PostgreSQL); replies are plain GSM-7 of at most two segments.

With DATA_ENCRYPTION_KEY set, each turn carries the sender's number sealed (Fernet, bot/sealing.py) in the message
metadata (`reply_to`), so a handoff ticket keeps an encrypted way back for the staff's reply; without it the
channel works the same but its tickets cannot be answered by text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.constants import DEFAULT_CLINIC_PHONE, REPLY_TO_METADATA, SMS_MAX_CHOICES
from bot.rasa_server import metrics
from bot.rasa_server.channels.bodies import MAX_FORM_BYTES, BadBody, FormFields, check_size, parse_form
from bot.rasa_server.channels.common import (
    BadText,
    OnNewMessage,
    clean_text,
    fallback_text,
    finish_turn,
    run_turn,
)
from bot.rasa_server.channels.gsm7 import SMS_LIMIT, gsm7_fit, is_gsm7
from bot.rasa_server.channels.guards import GuardedBlueprint
from bot.rasa_server.channels.identity import sms_sender_id
from bot.rasa_server.channels.optout import OptOutBackend, OptOuts, backend_from_settings
from bot.rasa_server.settings import DEFAULT_PROGRAM, ChannelSettings, SettingsError
from bot.sealing import Sealer, SealError

__all__ = ["SmsInput", "gsm7_fit", "is_gsm7", "keyword", "parse_form", "render_sms"]

log = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})  # YES only resubscribes a number that opted out
HELP_WORDS = frozenset({"HELP", "INFO"})
MAX_CHOICES = SMS_MAX_CHOICES  # the same numbers the assistant maps back
MAX_SMS_IN = 1600  # Twilio's limit for one incoming message
_KEYWORD = re.compile(r"\W*([A-Za-z]+)\W*", re.ASCII)


def keyword(body: str) -> str:
    """The upper-case keyword when the whole message is one word ("Stop." -> "STOP"), else ""."""
    match = _KEYWORD.fullmatch(body.strip())
    return match.group(1).upper() if match else ""


def render_sms(messages: Sequence[Mapping[str, Any]], clinic_phone: str, limit: int = SMS_LIMIT) -> str:
    """One SMS from a bot turn: texts joined, buttons as numbered choices, custom messages dropped, GSM-7, capped."""
    texts = [m["text"].strip() for m in messages if isinstance(m.get("text"), str) and m["text"].strip()]
    buttons = [b for m in messages for b in (m.get("buttons") or []) if isinstance(b, Mapping) and b.get("title")]
    body = " ".join(" ".join(texts).split())
    if buttons:
        choices = ", ".join(f"{i} for {b['title']}" for i, b in enumerate(buttons[:MAX_CHOICES], 1))
        body = f"{body} Reply {choices}.".strip()
    return gsm7_fit(body or fallback_text(clinic_phone), limit)


def _sealer(keys: str) -> Sealer | None:
    if not keys:
        return None
    try:
        return Sealer(keys)
    except SealError:  # the message names the variable, never the key
        raise SettingsError(
            "DATA_ENCRYPTION_KEY: must be Fernet keys (urlsafe base64 of 32 bytes), comma-separated"
        ) from None


class SmsInput(InputChannel):
    """Twilio SMS webhook channel (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "sms"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Secrets come from the environment only; credentials.yml just enables the channel.
        return cls.from_env()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmsInput:
        settings = ChannelSettings.from_env(environ)
        return cls(
            auth_token=settings.twilio_auth_token,
            id_secret=settings.sms_id_secret,
            public_url=settings.sms_public_url,
            program_name=settings.sms_program_name,
            clinic_phone=settings.clinic_phone,
            turn_timeout=settings.sms_turn_timeout,
            optouts=backend_from_settings(settings),
            replay_ttl=settings.sms_replay_ttl,
            sealer=_sealer(settings.data_encryption_key),
        )

    def __init__(
        self,
        *,
        auth_token: str,
        optouts: OptOutBackend,
        id_secret: str = "",
        public_url: str = "",
        program_name: str = DEFAULT_PROGRAM,
        clinic_phone: str = DEFAULT_CLINIC_PHONE,
        turn_timeout: float = 12.0,
        replay_ttl: float = 172800.0,
        sealer: Sealer | None = None,
    ) -> None:
        self.auth_token = auth_token
        # The sender-id key; defaults to the auth token. Set SMS_ID_SECRET so rotating the token keeps
        # conversations and opt-outs attached to the same numbers.
        self.id_secret = id_secret or auth_token
        self.public_url = public_url
        self.program_name = program_name
        self.clinic_phone = clinic_phone
        self.turn_timeout = turn_timeout
        self.optouts = OptOuts(optouts)
        self.replay_ttl = replay_ttl
        self.sealer = sealer
        if not auth_token:
            log.warning("sms channel: TWILIO_AUTH_TOKEN is not set; /webhooks/sms/webhook answers 503")
        elif sealer is None:
            log.warning(
                "sms channel: DATA_ENCRYPTION_KEY is not set; SMS handoff tickets keep no way back for a staff reply"
            )

    def sender_id(self, phone: str) -> str:
        """A stable id for a phone number that does not reveal it (also its opt-out key)."""
        return sms_sender_id(phone, self.id_secret)

    def way_back(self, phone: str) -> dict[str, str]:
        """The turn's metadata with the sender's number sealed, or nothing without a key."""
        return {REPLY_TO_METADATA: self.sealer.seal(phone)} if self.sealer is not None else {}

    def help_text(self) -> str:
        return gsm7_fit(
            f"{self.program_name}: general medicine information from the clinic, not medical advice. "
            f"Emergency? Call 911. Clinic: {self.clinic_phone}. Reply STOP to opt out."
        )

    def stop_text(self) -> str:
        return gsm7_fit(
            f"{self.program_name}: You are unsubscribed and will get no more messages. Reply START to resubscribe."
        )

    def start_text(self) -> str:
        return gsm7_fit(f"{self.program_name}: You are subscribed again. Reply HELP for help, STOP to opt out.")

    def not_text(self) -> str:
        return gsm7_fit(
            f"Please send your question as a text message. Emergency? Call 911. Clinic: {self.clinic_phone}."
        )

    def signed(self, request: Request) -> FormFields | None:
        """The form fields when the request carries a valid Twilio signature, else None; BadBody for a bad form."""
        signature = request.headers.get("x-twilio-signature", "")
        if not signature:
            return None
        check_size(request.headers.get("content-length"), request.body, MAX_FORM_BYTES)
        params = parse_form(request.body)
        url = self.public_url or request.url
        return params if RequestValidator(self.auth_token).validate(url, params, signature) else None

    async def first_delivery(self, request: Request, params: Mapping[str, list[str]]) -> bool:
        """False when this message (its MessageSid or Twilio's idempotency token) was already answered."""
        keys = [f"sid:{sid}" for sid in (params.get("MessageSid") or [])[:1] if sid]
        token = (request.headers.get("i-twilio-idempotency-token") or "").strip()[:200]
        if token:
            keys.append(f"token:{token}")
        if not keys:  # Twilio always sends a MessageSid; nothing to compare without one
            return True
        return await self.optouts.first_delivery(keys, self.replay_ttl)

    async def reply_to(
        self, params: Mapping[str, list[str]], on_new_message: OnNewMessage, app: Any = None
    ) -> str | None:
        """The SMS text to send back for one verified message, or None to send nothing."""
        phone = (params.get("From") or [""])[0]
        if not phone:
            return None
        sender = self.sender_id(phone)
        body = (params.get("Body") or [""])[0]
        word = keyword(body)
        if word in STOP_WORDS:
            newly = await self.optouts.opt_out(sender)
            log.info("sms %s opted out", sender[:12])
            return self.stop_text() if newly else None
        if await self.optouts.is_opted_out(sender):
            if word in START_WORDS:
                await self.optouts.opt_in(sender)
                log.info("sms %s opted in", sender[:12])
                return self.start_text()
            return None
        if word in ("START", "UNSTOP"):
            return self.start_text()
        if word in HELP_WORDS:
            return self.help_text()
        try:
            text = clean_text(body, limit=MAX_SMS_IN)
        except BadText:
            return self.not_text()
        messages = await run_turn(
            on_new_message, text, sender, self.name(), self.turn_timeout, metadata=self.way_back(phone)
        )
        log.info("sms turn for %s: %d bot messages", sender[:12], len(messages))
        if app is not None:
            await finish_turn(app, sender, messages)
        return render_sms(messages, self.clinic_phone)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = GuardedBlueprint("sms_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.auth_token else "disabled"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.auth_token:
                message = "The SMS channel is off: set TWILIO_AUTH_TOKEN to enable it."
                return response.json({"error": "sms_disabled", "message": message}, status=503)
            try:
                params = self.signed(request)
            except BadBody as err:
                return response.json({"error": err.code, "message": str(err)}, status=err.status)
            if params is None:
                log.warning("sms request with a missing or invalid Twilio signature refused")
                metrics.count_refused(self.name())
                return response.empty(status=403)
            try:
                replay = not await self.first_delivery(request, params)
                if replay:
                    log.warning("sms request for a message already answered (replay or retry); no new turn")
                text = None if replay else await self.reply_to(params, on_new_message, request.app)
            except Exception as exc:  # never a 5xx: Twilio would retry or show an error to nobody
                log.error("sms channel error: %s", type(exc).__name__)
                metrics.count_turn(self.name(), [], "error", 0.0)
                log.debug("sms channel error", exc_info=True)
                text = gsm7_fit(fallback_text(self.clinic_phone))
            twiml = MessagingResponse()
            if text:
                twiml.message(text)
            return response.text(str(twiml), content_type="text/xml; charset=utf-8")

        return bp
