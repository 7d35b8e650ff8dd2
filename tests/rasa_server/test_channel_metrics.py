"""run_turn counts each turn: its reply kind, or the fallback and why (bot/rasa_server/metrics.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from bot.rasa_server.channels.common import run_turn


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def replying(message: Any) -> None:
    await message.output_channel.send_text_message(message.sender_id, "An answer.")
    await message.output_channel.send_custom_json(message.sender_id, {"kind": "answer"})


async def silent(message: Any) -> None:
    return None


async def failing(message: Any) -> None:
    raise ConnectionError("action server down")


async def slow(message: Any) -> None:
    await asyncio.sleep(5)


def test_each_turn_is_counted_by_kind_or_by_fallback_cause() -> None:
    cases = [(replying, "answer", None), (silent, "fallback", "no_reply"), (failing, "fallback", "error")]
    cases.append((slow, "fallback", "timeout"))
    for handler, kind, cause in cases:
        turns = value("bot_channel_turns_total", channel="web", kind=kind)
        fallbacks = value("bot_fallback_replies_total", channel="web", cause=cause or "none")
        asyncio.run(run_turn(handler, "hello", "web-sender-1", "web", timeout=0.2))
        assert value("bot_channel_turns_total", channel="web", kind=kind) == turns + 1
        if cause:
            assert value("bot_fallback_replies_total", channel="web", cause=cause) == fallbacks + 1


def test_an_unknown_channel_or_kind_is_labelled_other() -> None:
    before = value("bot_channel_turns_total", channel="other", kind="answer")
    asyncio.run(run_turn(replying, "hello", "s", "telegram-123", timeout=1))
    assert value("bot_channel_turns_total", channel="other", kind="answer") == before + 1
