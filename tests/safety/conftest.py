"""The real screen (patterns and cues, no encoder) and the knowledge base's name matcher, shared by the safety tests."""

from __future__ import annotations

import pytest

from bot.nlp.names import NameMatcher
from bot.safety.screen import SafetyScreen


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    s = SafetyScreen(None)
    s.warm_up()
    return s


@pytest.fixture(scope="module")
def names(kb) -> NameMatcher:  # noqa: ANN001
    return NameMatcher(kb.names())
