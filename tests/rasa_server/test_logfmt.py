"""bot/rasa_server/logfmt.py: one JSON object per log line, with the request id inside a request only."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.rasa_server import logfmt


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    logger = logging.getLogger("tests.logfmt")
    handler = logfmt.json_handler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_the_request_id_only_inside_a_request(logged) -> None:  # noqa: ANN001
    logger, stream = logged
    logger.info("outside")
    with logfmt.request_id_scope("turn-1"):
        logger.warning("inside %d", 2)
    logger.info("after")
    first, inside, after = lines(stream)
    assert set(first) == {"time", "level", "logger", "message"} == set(after)
    assert inside == {**inside, "level": "WARNING", "logger": "tests.logfmt", "message": "inside 2"}
    assert inside["request_id"] == "turn-1" and "request_id" not in after


def test_an_exception_is_in_the_line_and_multiline_text_stays_one_line(logged) -> None:  # noqa: ANN001
    logger, stream = logged
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed\nbadly")
    assert len(stream.getvalue().splitlines()) == 1
    (line,) = lines(stream)
    assert line["message"] == "failed\nbadly" and "ValueError: boom" in str(line["exception"])


def test_no_field_but_the_formatted_message_carries_text(logged) -> None:  # noqa: ANN001
    logger, stream = logged
    logger.info("a turn", extra={"text": "my son has a fever", "body": b"secret"})
    (line,) = lines(stream)
    assert "fever" not in json.dumps(line) and "secret" not in json.dumps(line)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abc-123", True), ("A" * 64, True), ("A" * 65, False), ("a b", False), ("", False), ("x\n", False), (7, False)],
)
def test_an_incoming_request_id_is_kept_only_when_short_and_plain(incoming: object, kept: bool) -> None:
    rid = logfmt.new_request_id(incoming)
    assert (rid == incoming) is kept and logfmt.valid_request_id(rid) == rid


def test_the_request_id_comes_from_message_metadata() -> None:
    assert logfmt.from_metadata({"request_id": "r-1"}) == "r-1"
    assert logfmt.from_metadata({"request_id": "r 1"}) is None and logfmt.from_metadata(None) is None
