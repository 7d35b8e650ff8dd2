"""Reply wording from replies.yml, rendered per channel ("sms" gets the short form where there is one)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import Settings

REPLIES_FILE = Path(__file__).resolve().parent / "replies.yml"


@lru_cache(maxsize=1)
def _templates() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(REPLIES_FILE.read_text(encoding="utf-8"))
    return {name: dict(forms) for name, forms in data.items()}


def names() -> list[str]:
    return list(_templates())


def render(name: str, settings: Settings, channel: str = "web", **values: str) -> str:
    """The reply `name` for the channel, with clinic settings and `values` filled in."""
    forms = _templates()[name]
    template = forms.get(channel) or forms["web"]
    fields = {"clinic_name": settings.clinic_name, "clinic_phone": settings.clinic_phone, **values}
    return " ".join(template.format(**fields).split())
