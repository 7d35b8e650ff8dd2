"""Measure medspaCy's ConText against the safety screen's own cue reader on emergency signs (issue 12).

Both judge the same red-flag spans (bot/safety/red_flags.py) of real emergencies and of harmless lookalikes from
the evaluation sets: does the span count as happening now? The cue reader's answer is the screen's own
(`SafetyScreen._flag_counts`); ConText's is "not negated, not hypothetical, not historical", with its family
modifier ignored (a parent writing about a child is the clinic's usual patient, not family history). medspaCy is
not a dependency: install it beside the project without its pins (1.2.0 pins spaCy 3.5 but runs on 3.8),
    pip install --target var/medspacy --no-deps medspacy==1.2.0 pysbd PyRuSH loguru PyFastNER quicksectx
then run `PYTHONPATH=var/medspacy .venv/bin/python scripts/context_compare.py`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.conversation.reading import read
from bot.knowledge.loader import default_knowledge_base
from bot.nlp.names import NameMatcher
from bot.safety.screen import SafetyScreen, _find_flags

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "old safety set": ROOT / "tests/eval/safety.yml",
    "public dev": ROOT / "tests/eval/public/dev.yml",
    "urgency probe": ROOT / "tests/eval/public/urgency_probe.yml",
}


def cases() -> list[tuple[str, str, bool]]:
    """(set, message, is a real emergency) for the emergencies and the lookalikes of each set."""
    found = []
    for name, path in SETS.items():
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            text = case["turns"][-1]
            if case.get("urgency") == "emergency" or case.get("kind") == "emergency":
                found.append((name, text, True))
            elif case.get("kind") == "emergency_lookalike":
                found.append((name, text, False))
    return found


def main() -> None:
    import medspacy.context  # noqa: F401  (registers the medspacy_context factory)
    import spacy
    from spacy.tokens import Span

    nlp = spacy.blank("en")
    sentencizer = nlp.add_pipe("sentencizer")
    context = nlp.add_pipe("medspacy_context")
    kb = default_knowledge_base()
    names = NameMatcher(kb.names())
    screen = SafetyScreen(None, names=names)
    screen.warm_up()
    tally: dict[tuple[str, bool], list[int]] = {}
    for name, text, real in cases():
        reading = read(text, names)
        flags = [f for f in _find_flags(screen._flags, text, reading.unknown) if f.urgency == "emergency"]
        if not flags:
            continue
        cues = screen._cues.read(text)
        ours = any(screen._flag_counts(f, cues, True) for f in flags)
        doc = sentencizer(nlp.make_doc(text))
        spans = [doc.char_span(f.span[0], f.span[1], label="SIGN", alignment_mode="expand") for f in flags]
        doc.ents = spacy.util.filter_spans([s for s in spans if isinstance(s, Span)])
        doc = context(doc)
        theirs = any(not (e._.is_negated or e._.is_hypothetical or e._.is_historical) for e in doc.ents)
        counts = tally.setdefault((name, real), [0, 0, 0])
        counts[0] += 1
        counts[1] += ours
        counts[2] += theirs
    print("| set | messages with an emergency sign | cue reader: counted | ConText: counted |")
    print("|---|---|---|---|")
    for (name, real), (n, ours, theirs) in sorted(tally.items()):
        kind = "real emergencies" if real else "lookalikes"
        print(f"| {name}, {kind} | {n} | {ours} | {theirs} |")


if __name__ == "__main__":
    main()
