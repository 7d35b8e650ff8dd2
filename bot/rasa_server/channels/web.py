"""The portal chat widget's Rasa input channel: POST /webhooks/web/webhook, plain HTTP JSON.

Request:  {"message": "...", "token": "<portal JWT>"}   when WEB_JWT_SECRET is set (or `Authorization: Bearer`)
          {"message": "...", "session": "<token we issued>"}   in the demo (no WEB_JWT_SECRET; omit on the first turn)
Response: {"session": "<token>" | null, "messages": [{"text", "buttons", "custom"}, ...]}

Identity is never chosen by the client: with a JWT the sender id is `web:<verified sub>`; without one the channel
issues a random session id (sender `web-<id>`) and an HMAC-signed token for it, and accepts only tokens it signed.
Errors are JSON {"error": code, "message": text} with a 4xx status; a failed bot turn still gets a 200 reply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.constants import DEFAULT_CLINIC_PHONE
from bot.rasa_server import logfmt, metrics
from bot.rasa_server.channels import identity
from bot.rasa_server.channels.bodies import MAX_JSON_BYTES as MAX_BODY_BYTES
from bot.rasa_server.channels.bodies import BadBody, check_size, parse_json_object
from bot.rasa_server.channels.common import (
    BadText,
    OnNewMessage,
    clean_text,
    fallback_messages,
    fallback_text,
    finish_turn,
    has_reply,
    run_turn,
)
from bot.rasa_server.channels.guards import GuardedBlueprint
from bot.rasa_server.channels.ids import WEB_ANONYMOUS, WEB_SIGNED_IN
from bot.rasa_server.settings import DEFAULT_ORIGINS, ChannelSettings

log = logging.getLogger(__name__)

_SID = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)
_IAT = re.compile(r"[0-9]{1,12}", re.ASCII)
_SANIC_CORS_DONE = "_sanic_cors_e"  # sanic_cors (Rasa's --cors) skips responses whose request.ctx has this set


class WebError(Exception):
    """A request we refuse, with the HTTP status and a JSON error the widget can show."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def parse_body(raw: bytes | None, content_length: str | None = None) -> dict[str, Any]:
    """The request's JSON object (any content type, so the widget can send a CORS "simple" request)."""
    try:
        check_size(content_length, raw, MAX_BODY_BYTES)
        return parse_json_object(raw, MAX_BODY_BYTES)
    except BadBody as err:
        raise WebError(err.status, err.code, str(err)) from None


def verify_jwt(token: str, secret: str, leeway: float = 30.0) -> str:
    """The verified `sub` of an HS256 token that has not expired; WebError 401 otherwise."""
    try:
        return identity.verify_jwt(token, secret, leeway)
    except identity.SignInError as err:
        raise WebError(401, err.code, str(err)) from None


class SessionSigner:
    """Anonymous demo sessions: a random id plus an HMAC over it, so clients can't pick or forge ids."""

    def __init__(self, key: bytes, ttl_seconds: float = 86400.0, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self) -> tuple[str, str]:
        """A new (token, sender id)."""
        sid = secrets.token_urlsafe(18)
        payload = f"{sid}.{int(self._clock())}"
        return f"v1.{payload}.{self._sign(payload)}", self.sender_id(sid)

    def verify(self, token: str) -> str:
        """The sender id of a token this key signed and that is not older than the TTL; WebError 401 otherwise."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not _SID.fullmatch(parts[1]) or not _IAT.fullmatch(parts[2]):
            raise WebError(401, "session_invalid", "This chat session is not valid. A new one will be started.")
        _, sid, issued, signature = parts
        if not hmac.compare_digest(signature.encode(), self._sign(f"{sid}.{issued}").encode()):
            raise WebError(401, "session_invalid", "This chat session is not valid. A new one will be started.")
        if self._clock() - int(issued) > self._ttl:
            raise WebError(401, "session_expired", "This chat session has expired. A new one will be started.")
        return self.sender_id(sid)

    @staticmethod
    def sender_id(sid: str) -> str:
        return f"{WEB_ANONYMOUS}{sid}"

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, b"web-session:v1:" + payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_message(message: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the widget may see of one collected bot message: text, buttons [{title, payload}] and custom."""
    out: dict[str, Any] = {}
    if isinstance(message.get("text"), str) and message["text"]:
        out["text"] = message["text"]
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in message.get("buttons") or []
        if isinstance(b, Mapping) and b.get("title") and b.get("payload")
    ]
    if buttons:
        out["buttons"] = buttons
    if isinstance(message.get("custom"), Mapping):
        out["custom"] = dict(message["custom"])
    return out or None


class WebInput(InputChannel):
    """Input channel for the portal widget (see the module docstring for the protocol)."""

    @classmethod
    def name(cls) -> str:
        return "web"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Secrets come from the environment only; credentials.yml just enables the channel.
        return cls.from_env()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebInput:
        settings = ChannelSettings.from_env(environ)
        return cls(
            jwt_secret=settings.web_jwt_secret,
            session_key=settings.web_session_secret.encode() if settings.web_session_secret else None,
            allowed_origins=settings.web_allowed_origins,
            clinic_phone=settings.clinic_phone,
            turn_timeout=settings.web_turn_timeout,
            session_ttl=settings.web_session_ttl,
        )

    def __init__(
        self,
        *,
        jwt_secret: str = "",
        session_key: bytes | None = None,
        allowed_origins: Iterable[str] = DEFAULT_ORIGINS,
        clinic_phone: str = DEFAULT_CLINIC_PHONE,
        turn_timeout: float = 30.0,
        session_ttl: float = 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jwt_secret = jwt_secret
        self.allowed_origins = frozenset(allowed_origins)
        self.clinic_phone = clinic_phone
        self.turn_timeout = turn_timeout
        if 0 < len(jwt_secret) < 32:
            log.warning("web channel: WEB_JWT_SECRET is shorter than 32 characters; use a long random secret")
        if not jwt_secret and session_key is None:
            log.warning(
                "web channel: neither WEB_JWT_SECRET nor WEB_SESSION_SECRET is set; anonymous sessions are signed "
                "with a per-process key and only this Rasa process will accept them"
            )
        self.sessions = SessionSigner(session_key or secrets.token_bytes(32), session_ttl, clock)

    def identify(self, request: Request, body: Mapping[str, Any]) -> tuple[str, str | None]:
        """(sender id, session token to hand back or None) for this request; WebError 401 when refused."""
        if self.jwt_secret:
            scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
            token = value.strip() if scheme.lower() == "bearer" else ""
            if not token and isinstance(body.get("token"), str):
                token = body["token"].strip()
            if not token:
                raise WebError(401, "token_missing", "Please sign in to the portal to use the chat.")
            return f"{WEB_SIGNED_IN}{verify_jwt(token, self.jwt_secret)}", None
        session = body.get("session")
        if session is None or session == "":
            token, sender_id = self.sessions.issue()
            return sender_id, token
        if not isinstance(session, str):
            raise WebError(401, "session_invalid", "This chat session is not valid. A new one will be started.")
        return self.sessions.verify(session), session

    def _cors(self, request: Request, resp: HTTPResponse) -> HTTPResponse:
        origin = (request.headers.get("origin") or "").rstrip("/")
        if origin and (origin in self.allowed_origins or "*" in self.allowed_origins):
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
            resp.headers["Access-Control-Max-Age"] = "600"
        resp.headers["Vary"] = "Origin"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        setattr(request.ctx, _SANIC_CORS_DONE, "1")
        return resp

    def _error(self, request: Request, err: WebError) -> HTTPResponse:
        resp = response.json({"error": err.code, "message": err.message}, status=err.status)
        if err.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if self.jwt_secret else "Session"
        return self._cors(request, resp)

    async def handle(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """One widget request: identify, validate, run the turn, answer with every message of it."""
        try:
            body = parse_body(request.body, request.headers.get("content-length"))
            sender_id, session = self.identify(request, body)
            text = clean_text(body.get("message"))
        except WebError as err:
            return self._error(request, err)
        except BadText as err:
            return self._error(request, WebError(400, err.code, str(err)))
        collected = await run_turn(
            on_new_message, text, sender_id, self.name(), self.turn_timeout, request.headers.get(logfmt.HEADER)
        )
        messages = [m for m in map(public_message, collected) if m]
        if not has_reply(messages):
            messages += fallback_messages(self.clinic_phone)
        await finish_turn(request.app, sender_id, messages)
        return self._cors(request, response.json({"session": session, "messages": messages}))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = GuardedBlueprint("web_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "auth": "jwt" if self.jwt_secret else "anonymous"})

        @bp.route("/webhook", methods=["POST", "OPTIONS"])
        async def receive(request: Request) -> HTTPResponse:
            if request.method == "OPTIONS":
                return self._cors(request, response.empty(status=204))
            try:
                return await self.handle(request, on_new_message)
            except Exception as exc:  # last resort: never a 5xx for the widget
                log.error("web channel error: %s", type(exc).__name__)
                metrics.count_turn(self.name(), [], "error", 0.0)
                log.debug("web channel error", exc_info=True)
                reply = {"text": fallback_text(self.clinic_phone)}
                return self._cors(request, response.json({"session": None, "messages": [reply]}))

        return bp
