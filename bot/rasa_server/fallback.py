"""The reply when the bot cannot answer (action server down, slow or failing, no Rasa replica up).

No medical content, only where to get help. Standard library only. The nginx entry point's canned reply
(deploy/nginx/bot.conf.template) is the same JSON; tests/ops/test_nginx.py checks they agree.
"""

from __future__ import annotations

from typing import Any


def fallback_text(clinic_phone: str) -> str:
    return (
        f"Sorry, I can't answer right now. Please call the clinic at {clinic_phone}. If this is an emergency, call 911."
    )


def fallback_messages(clinic_phone: str, reason: str = "unavailable") -> list[dict[str, Any]]:
    return [
        {"text": fallback_text(clinic_phone)},
        {"custom": {"kind": "abstain", "reason": reason, "clinic_phone": clinic_phone}},
    ]
