"""Prints the per-intent table of a `rasa test nlu --cross-validation` run and writes docs/nlu-report.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.settings import ROOT


def table(report: dict[str, dict[str, float]]) -> str:
    rows = ["| intent | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
    for name, m in sorted(report.items()):
        if isinstance(m, dict) and "support" in m and name not in ("micro avg", "macro avg", "weighted avg"):
            rows.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1-score']:.3f} | {m['support']} |")
    for name in ("macro avg", "weighted avg"):
        if name in report:
            m = report[name]
            rows.append(
                f"| **{name}** | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1-score']:.3f} | {m['support']} |"
            )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    results = Path(argv[0]) if argv else ROOT / "var" / "results" / "nlu"
    intents = json.loads((results / "intent_report.json").read_text())
    entities_path = results / "DIETClassifier_report.json"
    text = "# NLU cross-validation (5 folds)\n\n"
    text += "Produced by `make nlu-report` (`rasa test nlu --cross-validation --folds 5`).\n\n"
    text += "## Intents\n\n" + table(intents) + "\n"
    if entities_path.exists():
        text += "\n## Entities\n\n" + table(json.loads(entities_path.read_text())) + "\n"
    print(text)
    out = ROOT / "docs" / "nlu-report.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    weighted = intents.get("weighted avg", {}).get("f1-score", 0.0)
    print(f"intent F1 (weighted): {weighted:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
