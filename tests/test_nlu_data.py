"""The Rasa training data reaches every fact of the knowledge base and shares no sentence with the evaluation."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
import yaml

from bot.conversation.understanding import GENERAL_INTENT, TOPIC_INTENTS
from bot.quality.evaluate import default_paths, load_cases
from bot.settings import ROOT

ENTITY = re.compile(r"\[([^\]]+)\](?:\((\w+)\)|(\{[^}]*\}))")


def _examples() -> list[tuple[str, str]]:
    """(intent, annotated example) pairs from data/nlu."""
    pairs = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block:
                pairs += [
                    (block["intent"], line[2:].strip()) for line in block["examples"].splitlines() if line.strip()
                ]
    return pairs


def _drugs(example: str, names: dict[str, str]) -> list[str]:
    found = []
    for surface, entity, spec in ENTITY.findall(example):
        if spec:
            data = json.loads(spec)
            if data.get("entity") == "drug":
                found.append(data.get("value") or names.get(surface.casefold(), surface))
        elif entity == "drug":
            found.append(names.get(surface.casefold(), surface))
    return found


def _plain(text: str) -> str:
    text = ENTITY.sub(lambda m: m.group(1), text)
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


@pytest.fixture(scope="module")
def examples() -> list[tuple[str, str]]:
    return _examples()


def test_every_annotated_name_is_a_known_medicine(kb, examples):  # noqa: ANN001
    names = {n.casefold(): d for d, all_names in kb.names().items() for n in all_names}
    unknown = {s for _, ex in examples for s in _drugs(ex, names) if s not in kb.drugs}
    assert not unknown


def test_every_fact_is_reachable_from_an_nlu_example(kb, examples):  # noqa: ANN001
    names = {n.casefold(): d for d, all_names in kb.names().items() for n in all_names}
    reachable: dict[str, set[str]] = defaultdict(set)
    for intent, example in examples:
        for drug in _drugs(example, names):
            reachable[drug] |= set(TOPIC_INTENTS.get(intent, ()))
    missing = [
        ref.key for ref in kb.facts() if ref.drug.id != "general" and ref.fact.topic not in reachable[ref.drug.id]
    ]
    assert not missing, f"no NLU example reaches: {missing}"


@pytest.mark.slow
def test_every_general_fact_is_reached_by_a_general_example(kb, examples, settings):  # noqa: ANN001
    from bot.conversation.assistant import Turn
    from bot.encoder import get_encoder
    from bot.retrieval import Retriever
    from tests.conftest import MemoryStore, make_assistant

    retriever = Retriever(kb, get_encoder(), settings.cache_dir / "kb-embeddings.npz")
    assistant = make_assistant(kb, settings, MemoryStore(), retriever=retriever)
    reached = {
        assistant.respond(Turn(_plain(ex), intent=GENERAL_INTENT, confidence=0.9)).custom.get("topic")
        for intent, ex in examples
        if intent == GENERAL_INTENT
    }
    assert {f.topic for f in kb.drugs["general"].facts} <= reached


def test_domain_and_training_data_have_the_same_intents(examples):  # noqa: ANN001
    domain = set(yaml.safe_load((ROOT / "domain.yml").read_text())["intents"])
    assert {intent for intent, _ in examples} == domain


def test_no_evaluation_sentence_is_in_the_training_data(examples):  # noqa: ANN001
    trained = {_plain(ex) for _, ex in examples}
    evaluated = {_plain(turn) for _, case in load_cases(default_paths()) for turn in case["turns"]}
    overlap = sorted(evaluated & trained)
    assert not overlap, overlap
