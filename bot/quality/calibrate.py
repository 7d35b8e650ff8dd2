"""Calibrates the retrieval thresholds on the project's evaluation set; writes docs/calibration.md.

For each single-turn case of tests/eval/*.yml that should be answered, the score of the best fact that satisfies the
case's regexes (the right fact); for each case that must not be answered, the best score of any fact. The question
is the turn's masked text (medicine names replaced by "medicine"), as the assistant retrieves with. `make calibrate`.
"""

from __future__ import annotations

import re
import sys

import yaml

from bot.constants import ROOT
from bot.conversation import assistant
from bot.conversation.reading import read
from bot.encoder import get_encoder
from bot.knowledge.loader import default_knowledge_base
from bot.nlp.names import NameMatcher
from bot.retrieval import Retriever
from bot.settings import get_settings

CANDIDATES = (0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6)


def _rate(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.0%}" if values else "n/a"


def main() -> int:
    kb = default_knowledge_base()
    retriever = Retriever(kb, get_encoder(), get_settings().cache_dir / "kb-embeddings.npz")
    retriever.warm_up()
    names = NameMatcher(kb.names())
    scores: dict[str, dict[str, list[float]]] = {
        "global": {"answer": [], "no_answer": []},
        "drug": {"answer": [], "no_answer": []},
    }
    for path in sorted((ROOT / "tests" / "eval").glob("*.yml")):
        for case in yaml.safe_load(path.read_text()):
            if len(case["turns"]) != 1 or case["expect"] == "handoff":
                continue
            reading = read(" ".join(case["turns"][0].split()), names)
            if reading.unknown:
                continue
            drugs = [d for d in reading.known if d in kb.drugs][:1]
            hits = retriever.search(reading.masked, drugs=drugs, top_k=50)
            kind = "drug" if drugs else "global"
            if case["expect"] == "answer":
                right = [
                    h.score for h in hits if all(re.search(rx, h.ref.fact.text, re.I) for rx in case.get("all", []))
                ]
                if right:
                    scores[kind]["answer"].append(max(right))
            elif hits:
                scores[kind]["no_answer"].append(hits[0].score)
    lines = ["# Retrieval thresholds", "", __doc__.strip(), ""]
    for kind, chosen in (("global", assistant.RETRIEVAL_THRESHOLD), ("drug", assistant.DRUG_THRESHOLD)):
        pos, neg = scores[kind]["answer"], scores[kind]["no_answer"]
        lines += [
            f"## {kind} retrieval (chosen: {chosen})",
            "",
            f"{len(pos)} answer cases, {len(neg)} no-answer cases.",
            "",
        ]
        lines += ["| threshold | right fact kept | no-answer rejected |", "|---|---|---|"]
        for t in sorted({*CANDIDATES, chosen}):
            lines.append(f"| {t} | {_rate([s >= t for s in pos])} | {_rate([s < t for s in neg])} |")
        lines.append("")
    lines += [
        "Within a named medicine, retrieval alone cannot tell a covered question from an uncovered one about the same",
        "medicine (missed doses, vaccines, storage score as high as real questions), so those are caught by wording",
        "first (bot/conversation/understanding.py `uncovered_subject`), and within-medicine retrieval is used only to",
        "check the intent's topic (rerank margin) and for questions whose topic the wording does not name.",
    ]
    out = ROOT / "docs" / "calibration.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
