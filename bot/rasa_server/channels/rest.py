"""Rasa's REST channel with input checks and a guaranteed reply. Same URL: /webhooks/rest/webhook."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.constants import DEFAULT_CLINIC_PHONE
from bot.rasa_server import action_check
from bot.rasa_server.channels.common import (
    BadText,
    OnNewMessage,
    clean_text,
    fallback_messages,
    finish_turn,
    has_reply,
    run_turn,
)
from bot.rasa_server.settings import ChannelSettings


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or BadText saying what is wrong with it."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadText("invalid_utf8", "The request body is not valid UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise BadText("invalid_json", "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise BadText("invalid_body", "The request body must be a JSON object.")
    return body


class SafeRestInput(RestInput):
    def __init__(self, clinic_phone: str = DEFAULT_CLINIC_PHONE, turn_timeout: float = 30.0) -> None:
        self.clinic_phone = clinic_phone
        self.turn_timeout = turn_timeout

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SafeRestInput:
        settings = ChannelSettings.from_env(environ)
        return cls(settings.clinic_phone, settings.rest_turn_timeout)

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SafeRestInput:
        action_check.install()  # every profile serves this channel, so its start-up is the hook
        return cls.from_env()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("safe_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = parse_body(request.body or b"")
                sender = body.get("sender")
                if not isinstance(sender, str) or not 0 < len(sender.strip()) <= 128:
                    raise BadText("invalid_sender", '"sender" must be a non-empty string of at most 128 characters.')
                text = clean_text(body.get("message"))
            except BadText as err:
                status = 413 if err.code == "message_too_long" else 400
                return _error(status, err.code, str(err))
            messages = await run_turn(on_new_message, text, sender, self.name(), self.turn_timeout)
            if not has_reply(messages):
                messages += fallback_messages(self.clinic_phone)
            await finish_turn(request.app, sender, messages)
            return response.json(messages)

        return webhook
