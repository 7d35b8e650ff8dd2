"""Fit the topic reader's weights (bot/conversation/topics.yml) on the public dev sets.

    python -m bot.quality.topic_fit texts OUT.json     # the dev sets' in-domain questions, for the Rasa parser
    python -m bot.quality.topic_fit fit RANKINGS.json  # fit on them; prints leave-one-set-out accuracy

Only the dev sets (tuned on anyway) are used; the frozen half and the validation probes are never read here.
`make topic-reader` runs both steps with the Rasa parser in between.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.knowledge.schema import DRUG_TOPICS
from bot.quality.public_set import aspect_matches

DEV_SETS = ("dev", "answer_probe", "fresh_probe", "aspect_probe", "session11_probe")
PUBLIC_DIR = Path(__file__).resolve().parents[2] / "tests" / "eval" / "public"
C = 1.0  # scikit-learn's default regularisation


def dev_questions() -> list[tuple[str, dict[str, Any]]]:
    """(set, case) of the dev sets' in-domain questions on one knowledge-base topic."""
    found = []
    for name in DEV_SETS:
        for case in yaml.safe_load((PUBLIC_DIR / f"{name}.yml").read_text(encoding="utf-8")):
            if case["kind"] == "in_domain" and case.get("aspect") in DRUG_TOPICS:
                found.append((name, case))
    return found


def text_of(case: dict[str, Any]) -> str:
    return " ".join(" ".join(str(t) for t in case["turns"]).split())


def _rows(rankings: dict[str, list[tuple[str, float]]]) -> list[tuple[str, dict[str, Any], Any]]:
    """(set, case, evidence) for each dev question that names a covered medicine."""
    from bot.conversation.aspects import AspectModel, asked_first
    from bot.conversation.reading import read
    from bot.conversation.topics import gather
    from bot.encoder import get_encoder
    from bot.knowledge.loader import default_knowledge_base
    from bot.nlp.names import NameMatcher
    from bot.retrieval import Retriever
    from bot.settings import get_settings

    kb, encoder, cache = default_knowledge_base(), get_encoder(), get_settings().cache_dir
    names = NameMatcher(kb.names())
    aspects = AspectModel(kb, encoder, names, cache / "aspect-embeddings.npz")
    retriever = Retriever(kb, encoder, cache / "kb-embeddings.npz")
    rows = []
    for name, case in dev_questions():
        text = text_of(case)
        reading = read(text, names)
        known = asked_first(reading, [d for d in reading.known if d in kb.drugs])
        if known:
            rows.append((name, case, gather(reading, known[0], rankings[text], aspects, retriever)))
    return rows


def _fit(rows: list[tuple[str, dict[str, Any], Any]]) -> Any:
    from sklearn.linear_model import LogisticRegression

    x = [evidence.features(t) for _, _, evidence in rows for t in DRUG_TOPICS]
    y = [int(aspect_matches(case["aspect"], t, case.get("drug"))) for _, case, _ in rows for t in DRUG_TOPICS]
    return LogisticRegression(C=C, max_iter=2000).fit(np.array(x), np.array(y))


def _accuracy(model: Any, rows: list[tuple[str, dict[str, Any], Any]]) -> tuple[int, int]:
    right = 0
    for _, case, evidence in rows:
        scores = model.decision_function(np.array([evidence.features(t) for t in DRUG_TOPICS]))
        right += aspect_matches(case["aspect"], DRUG_TOPICS[int(np.argmax(scores))], case.get("drug"))
    return right, len(rows)


def fit(rankings_file: Path, out: Path) -> None:
    from bot.conversation.topics import FEATURES

    rankings = {k: [(str(i), float(c)) for i, c in v] for k, v in json.loads(rankings_file.read_text()).items()}
    rows = _rows(rankings)
    held_out = []
    for name in DEV_SETS:
        model = _fit([r for r in rows if r[0] != name])
        right, total = _accuracy(model, [r for r in rows if r[0] == name])
        held_out.append(f"{name} {right}/{total}")
    model = _fit(rows)
    weights = {f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0], strict=True)}
    about = (
        "The topic reader's weights (bot/conversation/topics.py), written by `make topic-reader`: a logistic regression"
        f" over (question, topic) pairs of the public dev sets ({', '.join(DEV_SETS)}; {len(rows)} questions naming a"
        f" medicine), fitted {dt.date.today().isoformat()}. Each dev set scored by the weights fitted on the others:"
        f" {', '.join(held_out)}."
    )
    header = textwrap.indent(textwrap.fill(about, width=116), "# ") + "\n"
    body = yaml.safe_dump({"weights": weights, "intercept": round(float(model.intercept_[0]), 4)}, sort_keys=False)
    out.write_text(header + body, encoding="utf-8")
    print(header + body)


def main(argv: list[str]) -> int:
    from bot.conversation.topics import WEIGHTS_FILE

    if len(argv) == 2 and argv[0] == "texts":
        Path(argv[1]).write_text(json.dumps(sorted({text_of(c) for _, c in dev_questions()})), encoding="utf-8")
        return 0
    if len(argv) == 2 and argv[0] == "fit":
        fit(Path(argv[1]), WEIGHTS_FILE)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
