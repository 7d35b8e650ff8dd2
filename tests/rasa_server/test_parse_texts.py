"""The Rasa-side parser that `make topic-reader` fits the topic reader's weights from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.rasa_server import parse_texts


class FakeAgent:
    async def parse_message(self, text: str) -> dict[str, Any]:
        ranking = [{"name": f"ask_{len(text)}", "confidence": 0.75}, {"name": "greet", "confidence": 0.25}]
        return {"intent_ranking": ranking}


def test_each_text_gets_its_intent_ranking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.agent import Agent

    monkeypatch.setattr(Agent, "load", staticmethod(lambda path: FakeAgent()))
    texts, out = tmp_path / "texts.json", tmp_path / "out.json"
    texts.write_text(json.dumps(["hi", "how fast"]))
    assert parse_texts.main([str(tmp_path / "model.tar.gz"), str(texts), str(out)]) == 0
    assert json.loads(out.read_text()) == {
        "hi": [["ask_2", 0.75], ["greet", 0.25]],
        "how fast": [["ask_8", 0.75], ["greet", 0.25]],
    }


def test_a_wrong_call_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_texts.main(["only-one"]) == 2
    assert "Usage" in capsys.readouterr().err
