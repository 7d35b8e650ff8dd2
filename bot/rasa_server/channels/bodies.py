"""Request bodies parsed defensively: a size cap before parsing, and every decode or structure problem a BadBody
(a 4xx with a clear code), never an exception the server turns into a 500."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qs

from bot.rasa_server.channels.common import BadText

MAX_JSON_BYTES = 64 * 1024
MAX_FORM_BYTES = 64 * 1024  # a Twilio SMS webhook is a few kilobytes at most
MAX_FORM_FIELDS = 200
MAX_NUMBER_CHARS = 64  # far below Python's int-digits limit, far above any real field


class BadBody(BadText):
    """A request body we refuse; `status` is the HTTP status to answer with (400 or 413)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.status = status


def check_size(content_length: str | None, body: bytes | None, limit: int) -> None:
    """BadBody 413 when the declared or the actual body is larger than `limit` bytes."""
    declared = (content_length or "").strip()
    too_large = BadBody("body_too_large", "The request is too large.", 413)
    if declared:
        if not declared.isdigit() or len(declared) > 12:
            raise BadBody("invalid_length", "The Content-Length header is not a number.")
        if int(declared) > limit:
            raise too_large
    if body is not None and len(body) > limit:
        raise too_large


def _number(raw: str) -> float | int:
    if len(raw) > MAX_NUMBER_CHARS:
        raise BadBody("invalid_number", "The request contains a number that is too long.")
    value = float(raw) if any(c in raw for c in ".eE") else int(raw)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadBody("invalid_number", "The request contains a number that is too large.")
    return value


def _constant(name: str) -> Any:
    raise BadBody("invalid_number", f"{name} is not a JSON number.")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise BadBody("duplicate_key", "The request body repeats a field.")
    return result


def parse_json_object(raw: bytes | None, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The body as a JSON object (strict: no NaN/Infinity, no repeated keys, bounded numbers); BadBody otherwise."""
    if not raw:
        raise BadBody("empty_body", 'Send a JSON object such as {"message": "your question"}.')
    check_size(None, raw, limit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("invalid_utf8", "The request body is not valid UTF-8 text.") from None
    try:
        data = json.loads(
            text, parse_int=_number, parse_float=_number, parse_constant=_constant, object_pairs_hook=_unique_keys
        )
    except BadBody:
        raise
    except RecursionError:
        raise BadBody("invalid_json", "The request body is nested too deeply.") from None
    except ValueError:  # JSONDecodeError included
        raise BadBody("invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadBody("invalid_body", 'The request body must be a JSON object such as {"message": "..."}.')
    return data


class FormFields(dict):  # type: ignore[type-arg]
    """Form fields as lists, with the `getall` Twilio's validator uses for repeated fields."""

    def getall(self, name: str) -> list[str]:
        return list(self[name])


def parse_form(raw: bytes | None, limit: int = MAX_FORM_BYTES) -> FormFields:
    """An application/x-www-form-urlencoded body; BadBody when too large, not UTF-8 or with too many fields."""
    check_size(None, raw, limit)
    try:
        text = (raw or b"").decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise BadBody("invalid_utf8", "The form is not valid UTF-8 text.") from None
    except ValueError:  # more than MAX_FORM_FIELDS fields
        raise BadBody("invalid_form", "The form has too many fields.") from None
    return FormFields(fields)
