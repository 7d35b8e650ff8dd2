"""Rasa's REST channel with input checks and a guaranteed reply. Same URL: /webhooks/rest/webhook.

For trusted callers (tools, tests, integrations): when REST_API_KEY is set, POST needs it as
`Authorization: Bearer <key>` or `X-Api-Key: <key>` (else 401). Callers name the conversation ("sender"), so ids in
the web and SMS channels' namespaces are refused (see ids.py); bodies are parsed defensively (see bodies.py).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.constants import DEFAULT_CLINIC_PHONE
from bot.rasa_server import action_check, logfmt, metrics
from bot.rasa_server.channels.bodies import MAX_JSON_BYTES as MAX_BODY_BYTES
from bot.rasa_server.channels.bodies import BadBody, check_size, parse_json_object
from bot.rasa_server.channels.common import (
    BadText,
    OnNewMessage,
    clean_text,
    fallback_messages,
    finish_turn,
    has_reply,
    run_turn,
)
from bot.rasa_server.channels.guards import GuardedBlueprint
from bot.rasa_server.channels.ids import rest_sender
from bot.rasa_server.settings import ChannelSettings

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


def parse_body(raw: bytes | None) -> dict[str, Any]:
    """The request body as a JSON object, or BadBody saying what is wrong with it."""
    return parse_json_object(raw)


def presented_key(request: Request) -> str:
    """The API key a request carries (`Authorization: Bearer` or `X-Api-Key`), or ""."""
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (request.headers.get("x-api-key") or "").strip()


class SafeRestInput(RestInput):
    def __init__(self, clinic_phone: str = DEFAULT_CLINIC_PHONE, turn_timeout: float = 30.0, api_key: str = "") -> None:
        self.clinic_phone = clinic_phone
        self.turn_timeout = turn_timeout
        self.api_key = api_key
        if not api_key:
            log.warning("rest channel: REST_API_KEY is not set; /webhooks/rest/webhook is open to any caller")

    def authorized(self, request: Request) -> bool:
        if not self.api_key:
            return True
        return hmac.compare_digest(presented_key(request).encode(), self.api_key.encode())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SafeRestInput:
        settings = ChannelSettings.from_env(environ)
        return cls(settings.clinic_phone, settings.rest_turn_timeout, settings.rest_api_key)

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SafeRestInput:
        action_check.install()  # every profile serves this channel, so its start-up is the hook
        metrics.start_server()
        return cls.from_env()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = GuardedBlueprint("safe_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorized(request):
                metrics.count_refused(self.name())
                resp = _error(401, "unauthorized", "This endpoint needs the REST API key (Authorization: Bearer).")
                resp.headers["WWW-Authenticate"] = "Bearer"
                return resp
            try:
                check_size(request.headers.get("content-length"), request.body, MAX_BODY_BYTES)
                body = parse_body(request.body)
                sender = rest_sender(body.get("sender"))
                text = clean_text(body.get("message"))
            except BadText as err:
                status = err.status if isinstance(err, BadBody) else 413 if err.code == "message_too_long" else 400
                return _error(status, err.code, str(err))
            messages = await run_turn(
                on_new_message, text, sender, self.name(), self.turn_timeout, request.headers.get(logfmt.HEADER)
            )
            if not has_reply(messages):
                messages += fallback_messages(self.clinic_phone)
            await finish_turn(request.app, sender, messages)
            return response.json(messages)

        return webhook
