from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from bot.knowledge.export import NAMES_FILE, render_names
from bot.knowledge.loader import CONTENT_DIR, KnowledgeBaseError, default_knowledge_base, load_knowledge_base
from bot.knowledge.schema import DRUG_TOPICS, GENERAL_TOPICS
from bot.settings import ROOT

UPDATES = ROOT.parent / "shared" / "content" / "updates.yml"
MEDICINES = [
    "methotrexate", "cyclosporine", "azathioprine", "mycophenolate", "systemic_steroids", "dupilumab",
    "jak_inhibitors", "abrocitinib", "upadacitinib", "baricitinib", "tralokinumab", "lebrikizumab", "nemolizumab",
]  # fmt: skip


@pytest.fixture(scope="module")
def kb():
    return default_knowledge_base()


def test_every_medicine_of_the_deck_is_covered(kb):
    assert set(MEDICINES) <= set(kb.drugs)


def test_every_general_topic_has_a_fact(kb):
    assert {f.topic for f in kb.drugs["general"].facts} == set(GENERAL_TOPICS)


@pytest.mark.parametrize(
    ("drug", "name"),
    [("methotrexate", "Xatmep"), ("methotrexate", "MTX"), ("cyclosporine", "ciclosporin"), ("azathioprine", "Imuran"),
     ("mycophenolate", "MMF"), ("mycophenolate", "Myfortic"), ("dupilumab", "Dupixent"), ("upadacitinib", "Rinvoq"),
     ("abrocitinib", "Cibinqo"), ("baricitinib", "Olumiant"), ("tralokinumab", "Adtralza"), ("lebrikizumab", "Ebglyss"),
     ("nemolizumab", "Nemluvio"), ("systemic_steroids", "prednisolone"), ("systemic_steroids", "steroid pills")],
)  # fmt: skip
def test_medicine_is_known_by_its_brand_and_other_names(kb, drug, name):
    assert name.casefold() in {n.casefold() for n in kb.drugs[drug].names}


def test_every_update_is_imported_with_its_source(kb):
    updates = yaml.safe_load(UPDATES.read_text())
    for update in updates:
        facts = kb.drugs[update["drug"]].facts
        assert any(update["source"].split(";")[0][:40] in f.source for f in facts), update["drug"]


@pytest.mark.parametrize(
    ("drug", "outdated"),
    [("dupilumab", r"12 years and older"), ("tralokinumab", "trials underway"), ("lebrikizumab", "trials underway"),
     ("nemolizumab", "has shown promising")],
)  # fmt: skip
def test_superseded_deck_claims_are_not_stated(kb, drug, outdated):
    assert all(outdated not in f.text for f in kb.drugs[drug].facts)


def test_stale_facts_are_listed_oldest_first(kb):
    today = max(f.fact.reviewed for f in kb.facts())
    oldest = min(f.fact.reviewed for f in kb.facts())
    assert kb.stale_facts(oldest, 0) == []
    assert all(s.fact.reviewed < today for s in kb.stale_facts(today, 0))
    stale = kb.stale_facts(today + dt.timedelta(days=400), 365)
    assert len(stale) == len(kb.facts())
    assert [s.fact.reviewed for s in stale] == sorted(s.fact.reviewed for s in stale)


def test_generated_rasa_names_are_up_to_date(kb):
    assert NAMES_FILE.read_text() == render_names(kb), "run `make kb-sync`"


def test_lookup_names_that_contain_another_come_before_it(kb):
    # Rasa's RegexEntityExtractor takes the first alternative that matches, so "JAK" must not precede "JAK pills"
    lookup = yaml.safe_load(render_names(kb))["nlu"][-1]
    names = [line[2:].casefold() for line in lookup["examples"].splitlines()]
    assert "jak inhibitors" in names and "jak" in names
    for i, shorter in enumerate(names):
        assert not any(re.search(rf"\b{re.escape(shorter)}\b", longer) for longer in names[i + 1 :]), shorter


# --- validation errors name the file, the entry and the field --------------------------------------------------

GOOD = {
    "id": "testdrug",
    "name": "Testdrug",
    "drug_class": "immunosuppressant",
    "facts": [
        {
            "topic": "what_is",
            "text": "Testdrug is a medicine for testing.",
            "source": "Test source",
            "reviewed": "2026-01-01",
        }
    ],
}


def _write(directory: Path, name: str, data: object) -> None:
    (directory / name).write_text(data if isinstance(data, str) else yaml.safe_dump(data))


def _kb_dir(tmp_path: Path, drug: object) -> Path:
    general = yaml.safe_load((CONTENT_DIR / "general.yml").read_text())
    _write(tmp_path, "general.yml", general)
    _write(tmp_path, "testdrug.yml", drug)
    return tmp_path


def _broken(**changes: object) -> dict:
    drug = {**GOOD, "facts": [dict(GOOD["facts"][0])]}
    for key, value in changes.items():
        if key.startswith("fact_"):
            drug["facts"][0][key[5:]] = value
        else:
            drug[key] = value
    return drug


@pytest.mark.parametrize(
    ("drug", "field"),
    [
        (_broken(fact_topic="dosage"), "facts -> 0 -> topic"),
        (_broken(fact_source=""), "facts -> 0 -> source"),
        (_broken(fact_reviewed="last spring"), "facts -> 0 -> reviewed"),
        (_broken(fact_text="x" * 700), "facts -> 0 -> text"),
        (_broken(drug_class="vitamin"), "drug_class"),
        (_broken(facts=[]), "facts"),
        (_broken(colour="blue"), "colour"),
        (_broken(members=["nosuchdrug"]), "members"),
        (_broken(aliases=["MTX"]), "aliases"),
        ({k: v for k, v in GOOD.items() if k != "name"}, "name"),
    ],
)
def test_invalid_file_names_file_entry_and_field(tmp_path, drug, field):
    directory = _kb_dir(tmp_path, drug)
    if field == "aliases":
        _write(directory, "methotrexate.yml", yaml.safe_load((CONTENT_DIR / "methotrexate.yml").read_text()))
    with pytest.raises(KnowledgeBaseError) as err:
        load_knowledge_base(directory)
    message = str(err.value)
    assert "testdrug" in message and f"[{field}" in message


def test_duplicate_topic_is_rejected(tmp_path):
    drug = {**GOOD, "facts": GOOD["facts"] * 2}
    with pytest.raises(KnowledgeBaseError, match=r"testdrug.yml: entry 'testdrug': field \[facts -> 1 -> topic\]"):
        load_knowledge_base(_kb_dir(tmp_path, drug))


def test_general_topic_on_a_medicine_is_rejected(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="not allowed"):
        load_knowledge_base(_kb_dir(tmp_path, _broken(fact_topic="goals")))


@pytest.mark.parametrize("content", ["key: [unclosed", "- just\n- a list\n"])
def test_unreadable_file_is_named(tmp_path, content):
    with pytest.raises(KnowledgeBaseError, match="testdrug.yml"):
        load_knowledge_base(_kb_dir(tmp_path, content))


def test_drug_topics_and_general_topics_do_not_overlap():
    assert not set(DRUG_TOPICS) & set(GENERAL_TOPICS)
