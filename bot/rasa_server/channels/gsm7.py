"""Plain GSM-7 text for SMS: conversion, length in septets, and a hard two-segment cap.

Standard library only (and bot.constants), so the knowledge-base tests (Python 3.11 venv) can use it too.
"""

from __future__ import annotations

import re
import unicodedata

from bot.constants import SMS_LIMIT, SMS_MORE

__all__ = ["MORE", "SMS_LIMIT", "gsm7_fit", "is_gsm7", "septets", "to_gsm7", "unsendable"]

# GSM 03.38 default alphabet (without ESC) and its extension table (each extension character costs 2 septets).
BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = set("^{}\\[~]|€")
MORE = SMS_MORE  # the same words as the assistant's own split (bot/conversation/sms.py)

_REPLACE = {
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    **dict.fromkeys("\t\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
    **dict.fromkeys("•·●▪◦", "-"),
    "…": "...",
    "×": "x",
    "÷": "/",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "±": "+/-",
    "→": "->",
    "←": "<-",
    "½": "1/2",
    "¼": "1/4",
    "¾": "3/4",
    "©": "(c)",
    "µ": "u",
    "μ": "u",
}
_SPACES = re.compile(r"[ ]{2,}")


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet or its extension table."""
    return all(ch in BASIC or ch in EXTENSION for ch in text)


def septets(text: str) -> int:
    """Length as the phone network counts it (extension characters take two septets)."""
    return sum(2 if ch in EXTENSION else 1 for ch in text)


def _char(ch: str) -> str:
    if ch in BASIC or ch in EXTENSION:
        return ch
    if ch in _REPLACE:
        return _REPLACE[ch]
    # Accented letters outside GSM-7 lose their accent (á -> a); anything else (emoji, symbols) is dropped.
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and all(c in BASIC or c in EXTENSION for c in base) else ""


def unsendable(text: str) -> list[str]:
    """The visible characters `to_gsm7` would drop (emoji, symbols with no GSM-7 stand-in), each once."""
    dropped = [ch for ch in text if ch not in _REPLACE and _char(ch) == ""]
    return list(dict.fromkeys(dropped))


def to_gsm7(text: str) -> str:
    """Plain GSM-7 text: curly quotes, dashes and ellipses replaced; emoji and other characters dropped."""
    out = "".join(_char(ch) for ch in text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in out.replace("\r\n", "\n").split("\n")).strip()


def gsm7_fit(text: str, limit: int = SMS_LIMIT) -> str:
    """GSM-7 text of at most `limit` septets; a cut text ends with MORE (last safety net)."""
    clean = to_gsm7(text)
    if septets(clean) <= limit:
        return clean
    budget = limit - septets(MORE)
    if budget <= 0:
        return _prefix(clean, limit)
    head = _prefix(clean, budget)
    cut_mid_word = len(head) < len(clean) and not clean[len(head)].isspace()
    sentence_end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if sentence_end >= budget // 2:
        head = head[: sentence_end + 1]
    elif cut_mid_word and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:-\n") + MORE


def _prefix(text: str, budget: int) -> str:
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ch in EXTENSION else 1
        if used > budget:
            return text[:i]
    return text
