"""The drug dictionary adds medicines the knowledge base lacks; the knowledge base's own names come first."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bot.nlp.dictionary import DrugDictionary, DrugMatch
from bot.nlp.lexicon import not_medicines
from bot.nlp.names import NameMatcher
from tests.nlp.test_names import NAMES


@pytest.fixture(scope="module")
def names() -> NameMatcher:
    matcher = NameMatcher(NAMES)
    matcher.warm_up()
    return matcher


@pytest.mark.parametrize(
    ("text", "drug_id", "surface"),
    [
        ("got hives after starting medrol", "unknown:methylprednisolone", "medrol"),
        ("Medrol, since monday", "unknown:methylprednisolone", "Medrol"),
        ("is it the hydroxyzine?", "unknown:hydroxyzine", "hydroxyzine"),
        ("(zyrtec)", "unknown:cetirizine", "zyrtec"),
        ("she takes Keppra.", "unknown:levetiracetam", "Keppra"),
        ("amoxicillin/clavulanate for an ear infection", "unknown:amoxicillin", "amoxicillin"),
    ],
)
def test_dictionary_names_medicines_the_kb_lacks_with_punctuation_attached(
    names: NameMatcher, text: str, drug_id: str, surface: str
) -> None:
    found = [(m.drug_id, m.surface) for m in names.find(text)]
    assert (drug_id, surface) in found


@pytest.mark.parametrize(
    ("text", "drug_id"),
    [
        ("felt off after cibinqo", "abrocitinib"),
        ("Cibinqo.", "abrocitinib"),
        ("deltasone for a flare", "systemic_steroids"),  # a brand the KB does not list, of a KB generic
        ("Adtralza!", "tralokinumab"),
        ("my son's dupixent", "dupilumab"),
    ],
)
def test_dictionary_names_of_kb_medicines_stay_kb_medicines(names: NameMatcher, text: str, drug_id: str) -> None:
    assert names.drug_ids(text) == [drug_id]


@pytest.mark.parametrize(
    "text",
    [
        "today my allergy is worse",
        "is dupixent an immunosuppressant?",
        "do biologics make antibodies",
        "why folic acid with mtx",
        "can he get the flu vaccine on dupixent",
        "water, coffee, pizza and gum",
        "I asked the doctor about it this morning",
        "caps lock is on, sorry",
        "are generics cheaper than the brand",
        "my daughter camila wants to know",
    ],
)
def test_dictionary_ordinary_words_and_classes_are_not_medicines(names: NameMatcher, text: str) -> None:
    assert [m for m in names.find(text) if not m.known] == []


def test_dictionary_shorter_names_and_stop_words_never_match() -> None:
    dictionary = DrugDictionary(frozenset({"medrol"}))
    assert dictionary.find(["medrol", "caps", "zyrtec"]) == [DrugMatch("cetirizine", 2, 3)]
    assert dictionary.generic("Cibinqo") == "abrocitinib"
    assert dictionary.generic("not a medicine") is None


def test_dictionary_vaccines_are_left_to_the_vaccine_category() -> None:
    assert "vaccine" in not_medicines().generic_words
    assert DrugDictionary(frozenset(), not_medicines().generic_words).find(["mmr", "vaccine"]) == []


def test_dictionary_per_message_cost_is_small(names: NameMatcher) -> None:
    text = "my daughter felt dizzy after her first medrol dose yesterday and she also takes zyrtec for allergies"
    start = time.perf_counter()
    for _ in range(20):
        names.find(text)
    assert (time.perf_counter() - start) / 20 < 0.2  # generous: 2 shared cores; ~10 ms a message here


def test_dictionary_is_not_loaded_at_import_or_construction() -> None:
    code = (
        "import sys; from bot.nlp.names import NameMatcher; NameMatcher({'m': ['methotrexate']}); "
        "print('drug_named_entity_recognition.drugs_finder' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
