"""The way back to the person: which channel a staff reply can reach them on, and call-back numbers.

- SMS: the channel seals the sender's number into the turn (``Turn.reply_to``); the ticket keeps it as its contact.
- A signed-in widget user (conversation ``web:<portal sub>``): the care team replies in the chat.
- Anyone else (an anonymous widget session, REST) has no way back. When a key is configured the bot asks for a
  call-back number; a number the person then types (recognised by the patterns in ``phone_numbers.yml``) is sealed
  and kept as the ticket's SMS contact, and the ticket keeps the message with the number masked.

The wording promises only what the channel can deliver (``replies.yml``: reply_by_sms, reply_in_chat, ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.conversation.types import Turn
from bot.rasa_server.channels.identity import WEB_SIGNED_IN
from bot.sealing import Sealer
from bot.settings import Settings

PHONE_FILE = Path(__file__).resolve().parent / "phone_numbers.yml"
_WORDS = re.compile(r"[a-z']+")

Contact = tuple[str, str]  # (kind, sealed value), as bot.handoff.contacts stores it

# The promise each way back allows (reply names in replies.yml).
PROMISES = {"sms": "reply_by_sms", "web": "reply_in_chat", "callback": "reply_by_callback"}


@dataclass(frozen=True)
class PhoneRules:
    patterns: tuple[re.Pattern[str], ...]
    mask: str
    filler: frozenset[str]
    country_code: str


@lru_cache(maxsize=1)
def phone_rules() -> PhoneRules:
    """The call-back number rules from phone_numbers.yml; ValueError naming the file and field if one is bad."""
    data: dict[str, Any] = yaml.safe_load(PHONE_FILE.read_text(encoding="utf-8")) or {}

    def fail(field: str, problem: str) -> ValueError:
        return ValueError(f"{PHONE_FILE.name}: {field}: {problem}")

    raw = data.get("patterns")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, str) and p for p in raw):
        raise fail("patterns", "must be a non-empty list of regular expressions")
    try:
        patterns = tuple(re.compile(p) for p in raw)
    except re.error as err:
        raise fail("patterns", f"bad pattern ({err})") from None
    mask, code, filler = data.get("mask"), str(data.get("default_country_code", "")), data.get("filler")
    if not isinstance(mask, str) or not mask or any(p.search(mask) for p in patterns):
        raise fail("mask", "must be a non-empty string that is not itself a number")
    if not code.isdigit():
        raise fail("default_country_code", "must be digits")
    if not isinstance(filler, list) or not all(isinstance(w, str) for w in filler):
        raise fail("filler", "must be a list of words")
    return PhoneRules(patterns, mask, frozenset(w.casefold() for w in filler), code)


def find_numbers(text: str) -> list[str]:
    """The phone numbers in a message, in order, as typed."""
    found: list[tuple[int, str]] = []
    for pattern in phone_rules().patterns:
        found += [(m.start(), m.group(0)) for m in pattern.finditer(text)]
    return [number for _, number in sorted(found)]


def mask_numbers(text: str) -> str:
    rules = phone_rules()
    for pattern in rules.patterns:
        text = pattern.sub(rules.mask, text)
    return text


def e164(raw: str) -> str | None:
    """+<country><number> for a typed number (national numbers get the default country code), else None."""
    digits = re.sub(r"\D", "", raw)
    code = phone_rules().country_code
    if raw.strip().startswith("+"):
        number = digits
    elif len(digits) == 10:
        number = code + digits
    elif len(digits) == 11 and digits.startswith(code):
        number = digits
    else:
        return None
    return f"+{number}" if 8 <= len(number) <= 15 else None


def only_a_number(masked: str) -> bool:
    """The message is a number and filler words ("my number is ..."), nothing the bot should answer."""
    rules = phone_rules()
    if rules.mask not in masked:
        return False
    rest = masked.replace(rules.mask, " ").casefold()
    return all(word in rules.filler for word in _WORDS.findall(rest))


@dataclass(frozen=True)
class Callback:
    text: str  # the message as the ticket may keep it (a taken number masked)
    sealed: str | None = None  # the first number it gave, sealed


class WayBack:
    def __init__(self, settings: Settings) -> None:
        key = settings.data_encryption_key.get_secret_value()
        self.sealer = Sealer(key) if key.strip() else None

    @staticmethod
    def from_channel(turn: Turn) -> Contact | None:
        """The contact the channel brought: the SMS sender's sealed number."""
        return ("sms", turn.reply_to) if turn.channel == "sms" and turn.reply_to else None

    def takes_callbacks(self, turn: Turn) -> bool:
        """The conversation has no way back of its own, and a typed number can be kept safely."""
        signed_in = turn.conversation_id.startswith(WEB_SIGNED_IN)
        return self.sealer is not None and turn.channel != "sms" and not signed_in

    def callback(self, turn: Turn, text: str) -> Callback:
        """The message with a call-back number taken out of it (sealed), when this conversation takes them."""
        if not self.takes_callbacks(turn) or self.sealer is None:
            return Callback(text)
        numbers = [n for n in map(e164, find_numbers(text)) if n]
        if not numbers:
            return Callback(text)
        return Callback(mask_numbers(text), self.sealer.seal(numbers[0]))

    def transcript(self, turn: Turn, turns: Sequence[dict[str, str]]) -> list[dict[str, str]]:
        """The transcript a ticket keeps: numbers typed earlier in a call-back conversation masked."""
        if not self.takes_callbacks(turn):
            return [dict(t) for t in turns]
        return [{**t, "text": mask_numbers(t["text"])} if t.get("role") == "user" else dict(t) for t in turns]

    @staticmethod
    def channel(turn: Turn, ticket_channel: str | None) -> str | None:
        """How a reply to this conversation's ticket reaches the person: sms, web, callback, or None."""
        if turn.channel == "sms" and (turn.reply_to or ticket_channel == "sms"):
            return "sms"
        if turn.conversation_id.startswith(WEB_SIGNED_IN):
            return "web"
        return "callback" if ticket_channel == "sms" else None

    def promise(self, turn: Turn, way: str | None) -> str:
        """The reply name of the sentence that says how (or whether) the care team can answer."""
        if way is not None:
            return PROMISES[way]
        return "no_way_back_ask" if self.takes_callbacks(turn) else "no_way_back"
