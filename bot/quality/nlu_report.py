"""Prints the per-intent table of a `rasa test nlu --cross-validation` run and writes docs/nlu-report.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.constants import ROOT


def table(report: dict[str, dict[str, float]], label: str = "intent") -> str:
    rows = [f"| {label} | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
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
    text = "# NLU cross-validation (5 folds)\n\n"
    command = "rasa test nlu --nlu data --config config.yml --cross-validation --folds 5"
    text += f"Produced by `make nlu-report` (`{command}`).\n\n"
    text += "## Intents\n\n" + table(intents) + "\n"
    # one report per entity extractor (Rasa names them <Extractor>_report.json)
    for path in sorted(results.glob("*_report.json")):
        if path.name != "intent_report.json":
            extractor = path.name.removesuffix("_report.json")
            text += f"\n## Entities ({extractor})\n\n" + table(json.loads(path.read_text()), "entity") + "\n"
    print(text)
    out = ROOT / "docs" / "nlu-report.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    weighted = intents.get("weighted avg", {}).get("f1-score", 0.0)
    print(f"intent F1 (weighted): {weighted:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
