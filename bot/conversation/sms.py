"""The SMS form of a reply: one message of at most two segments, "Reply MORE" for the rest, numbered choices."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.constants import SMS_LIMIT
from bot.constants import SMS_MAX_CHOICES as MAX_CHOICES
from bot.constants import SMS_MORE as MORE
from bot.conversation.types import Reply, Turn

__all__ = ["MAX_CHOICES", "MORE", "SMS_LIMIT", "SmsForm", "form", "shortcut", "split"]


@dataclass
class SmsForm:
    text: str
    more: str | None = None
    choices: list[str] = field(default_factory=list)  # payloads, in the order they are numbered


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def split(text: str, limit: int = SMS_LIMIT) -> tuple[str, str | None]:
    """First part (ending in "Reply MORE" when something is left) and the rest, cut between sentences."""
    if len(text) <= limit:
        return text, None
    budget = limit - len(MORE)
    head: list[str] = []
    sentences = _sentences(text)
    for sentence in sentences:
        if len(" ".join([*head, sentence])) > budget:
            break
        head.append(sentence)
    if not head:  # one very long sentence: cut between words
        cut = text[:budget].rsplit(" ", 1)[0]
        return cut + MORE, text[len(cut) :].strip()
    rest = " ".join(sentences[len(head) :])
    return " ".join(head) + MORE, rest


def form(texts: list[str], buttons: list[dict[str, str]]) -> SmsForm:
    body = " ".join(texts)
    choices = buttons[:MAX_CHOICES]
    if choices:
        numbered = ", ".join(f"{i} for {b['title']}" for i, b in enumerate(choices, 1))
        body = f"{body} Reply {numbered}, or type the name."
    first, rest = split(body)
    return SmsForm(first, rest, [b["payload"] for b in choices])


def shortcut(turn: Turn) -> tuple[Turn, Reply | None]:
    """SMS "MORE" sends the rest of the last answer; a digit picks one of the numbered choices."""
    word = turn.text.strip().upper()
    if word == "MORE" and turn.slot_more:
        first, rest = split(turn.slot_more)
        return turn, Reply("continuation", [first], slots={"sms_more": rest})
    if word.isdigit() and 0 < int(word) <= len(turn.slot_choices):
        payload = turn.slot_choices[int(word) - 1]
        intent = re.match(r"/(\w+)", payload)
        drug = re.search(r'"drug":\s*"(\w+)"', payload)
        picked = replace(
            turn,
            text=payload,
            intent=intent.group(1) if intent else None,
            confidence=1.0,
            entity_drugs=(drug.group(1),) if drug else (),
        )
        return picked, None
    return turn, None
