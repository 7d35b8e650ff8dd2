"""Parse texts with a trained Rasa model (Python 3.10, .venv-rasa): the intent rankings the topic reader is fitted
on (`make topic-reader`). Usage: python -m bot.rasa_server.parse_texts MODEL TEXTS.json OUT.json"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path


async def parse(model: Path, texts: list[str]) -> list[list[tuple[str, float]]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    rankings: list[list[tuple[str, float]]] = []
    for text in texts:
        parsed = await agent.parse_message(text)
        rankings.append([(str(r["name"]), float(r["confidence"])) for r in parsed.get("intent_ranking") or []])
    return rankings


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)
    model, texts_file, out = (Path(a) for a in argv)
    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    rankings = asyncio.run(parse(model, texts))
    out.write_text(json.dumps(dict(zip(texts, rankings, strict=True))), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
