"""Writes the knowledge base's medicine names into Rasa training data (synonyms and a lookup table),
so Rasa's `drug` entity and the spaCy name matcher know the same names.

`python -m bot.knowledge.export` rewrites data/nlu/drug_names.yml; a test fails when it is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.constants import ROOT
from bot.knowledge.loader import KnowledgeBase, default_knowledge_base

NAMES_FILE = ROOT / "data" / "nlu" / "drug_names.yml"


def render_names(kb: KnowledgeBase) -> str:
    lines = [
        "# Generated from bot/knowledge/content by `make kb-sync`; do not edit by hand.",
        'version: "3.1"',
        "nlu:",
    ]
    everything: list[str] = []
    for drug_id, names in sorted(kb.names().items()):
        others = sorted({n for n in names if n.casefold() != drug_id}, key=lambda n: (n.casefold(), n))
        everything += names
        if others:
            lines += [f"  - synonym: {drug_id}", "    examples: |"]
            lines += [f"      - {name}" for name in others]
    lines += ["  - lookup: drug", "    examples: |"]
    unique = {n.casefold(): n for n in sorted(everything, key=lambda n: (n.casefold(), n), reverse=True)}
    # longest first: Rasa's RegexEntityExtractor joins the table into one alternation, which takes the first name
    # that matches ("JAK" would cut "JAK inhibitors" short)
    lines += [f"      - {name}" for name in sorted(unique.values(), key=lambda n: (-len(n), n.casefold(), n))]
    return "\n".join(lines) + "\n"


def main(path: Path = NAMES_FILE) -> int:
    path.write_text(render_names(default_knowledge_base()), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
