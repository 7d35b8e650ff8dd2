"""JSON log lines and the request id that follows one turn across Rasa, the action server and the staff app.

Standard library only: the Rasa server (Python 3.10) and the 3.11 processes both import it. A line carries the
time, level, logger, the formatted message, the request id when one is set and the exception text; never a
request body (the code logs no message text at INFO or above).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import TextIO

HEADER = "X-Request-ID"
METADATA_KEY = "request_id"
_VALID_ID = re.compile(r"[A-Za-z0-9-]{1,64}")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def valid_request_id(raw: object) -> str | None:
    """`raw` if it can be a request id (1-64 letters, digits or dashes), else None."""
    return raw if isinstance(raw, str) and _VALID_ID.fullmatch(raw) else None


def new_request_id(incoming: object = None) -> str:
    """A valid incoming id (X-Request-ID header, message metadata) or a fresh random one."""
    return valid_request_id(incoming) or uuid.uuid4().hex


def from_metadata(metadata: object) -> str | None:
    """The request id the Rasa channel put in a user message's metadata, if valid."""
    return valid_request_id(metadata.get(METADATA_KEY)) if isinstance(metadata, dict) else None


@contextmanager
def request_id_scope(request_id: str | None) -> Iterator[str | None]:
    """Log records made inside carry `request_id` (None: no id)."""
    token = current_request_id.set(request_id)
    try:
        yield request_id
    finally:
        current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Sets record.request_id to the current request's id (`missing` outside a request, "-" for text lines)."""

    def __init__(self, missing: str | None = None) -> None:
        super().__init__()
        self.missing = missing

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get() or self.missing
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (when known), exception (if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = valid_request_id(getattr(record, "request_id", None) or current_request_id.get())
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) writing JSON lines with the request id."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler
