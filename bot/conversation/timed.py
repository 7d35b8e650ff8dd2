"""The safety screen and the retriever, timed per call in bot_stage_seconds (bot.metrics); service.py builds these."""

from __future__ import annotations

from typing import Any

from bot import metrics
from bot.retrieval import Hit, Retriever
from bot.safety.screen import SafetyScreen, Verdict


class TimedScreen(SafetyScreen):
    def screen(self, *args: Any, **kwargs: Any) -> Verdict | None:
        with metrics.timed("safety"):
            return super().screen(*args, **kwargs)


class TimedRetriever(Retriever):
    def search(self, *args: Any, **kwargs: Any) -> list[Hit]:
        with metrics.timed("retrieval"):
            return super().search(*args, **kwargs)
