"""Rasa's REST channel with input checks and a guaranteed reply (see failsafe.py). Same URL: /webhooks/rest/webhook."""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.failsafe import MAX_MESSAGE_CHARS, clean_text, reply_safely, too_long_messages

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def parse_body(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The request body as a JSON object, or an error message for the client."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "the request body is not valid UTF-8"
    except json.JSONDecodeError:
        return None, "the request body is not valid JSON"
    if not isinstance(body, dict):
        return None, "the request body must be a JSON object"
    return body, None


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("safe_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body, problem = parse_body(request.body or b"")
            if body is None:
                return _error(400, problem or "bad request")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > 128:
                return _error(400, "'sender' must be a non-empty string of at most 128 characters")
            if not isinstance(text, str):
                return _error(400, "'message' must be a string")
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json(too_long_messages())
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            collector = CollectingOutputChannel()
            message = UserMessage(clean_text(text), collector, sender, input_channel=self.name(), metadata=metadata)
            messages = await reply_safely(lambda: on_new_message(message), lambda: collector.messages)
            return response.json(messages)

        return webhook
