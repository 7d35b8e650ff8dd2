"""Answers are composed from knowledge-base facts only and carry their sources."""

from __future__ import annotations

from bot.conversation import answers
from bot.knowledge.loader import KnowledgeBase


def test_a_topic_answer_carries_the_fact_text_and_its_source(kb: KnowledgeBase) -> None:
    found = answers.topic_answer(kb, "methotrexate", [("administration",)])
    assert found is not None
    fact = kb.fact("methotrexate", "administration")
    assert fact is not None
    assert found.texts == [fact.text] and found.sources == [fact.source]
    assert found.fact_keys == ["methotrexate.administration"] and found.drug == "methotrexate"


def test_a_member_without_its_own_fact_gets_its_group_fact_with_a_lead_in(kb: KnowledgeBase) -> None:
    member, group, topic = next(
        (m, g, f.topic) for g in kb.drugs.values() for m in g.members for f in g.facts if kb.fact(m, f.topic) is None
    )
    found = answers.topic_answer(kb, member, [(topic,)])
    assert found is not None
    assert found.fact_keys == [f"{group.id}.{topic}"]
    assert found.texts[0].startswith(f"{answers.display_name(kb.drugs[member])} is one of the {group.name}.")


def test_no_fact_for_any_wanted_topic_gives_no_answer(kb: KnowledgeBase) -> None:
    missing = next(
        (d.id, t) for d in kb.medicines() for t in answers.TOPIC_LABELS if answers.find_fact(kb, d.id, (t,)) is None
    )
    assert answers.topic_answer(kb, missing[0], [(missing[1],)]) is None


def test_alternatives_fall_back_in_order(kb: KnowledgeBase) -> None:
    found = answers.topic_answer(kb, "dupilumab", [("no_such_topic", "what_is")])
    assert found is not None and found.topic == "what_is"


def test_a_comparison_names_each_medicine_and_says_what_a_handout_lacks(kb: KnowledgeBase) -> None:
    found = answers.compare(kb, ["methotrexate", "dupilumab"], [("onset",)])
    assert found is not None
    text = " ".join(found.texts)
    assert "Methotrexate" in text and "Dupilumab" in text
    assert set(found.fact_keys) <= {"methotrexate.onset", "dupilumab.onset"} and found.fact_keys


def test_a_comparison_of_two_topics_gives_both_for_each_medicine(kb: KnowledgeBase) -> None:
    found = answers.compare(kb, ["cyclosporine", "dupilumab"], [("onset",), ("interactions",)])
    assert found is not None and found.topic == "onset"
    assert found.fact_keys == ["cyclosporine.onset", "cyclosporine.interactions", "dupilumab.onset"]
    text = " ".join(found.texts)
    assert "Dupilumab (Dupixent): " in text and "doesn't cover interactions with other medicines" in text


def test_pack_joins_texts_up_to_the_message_limit() -> None:
    short = ["a" * 100, "b" * 100, "c" * 500]
    packed = answers.pack(short)
    assert packed == [f"{'a' * 100} {'b' * 100}", "c" * 500]
    assert all(len(m) <= answers.MAX_TEXT for m in packed)


def test_which_answers_cite_the_facts_behind_them(kb: KnowledgeBase) -> None:
    found = answers.which(kb, "injection")
    assert found is not None and found.topic == "administration"
    assert found.sources and all(key.endswith(".administration") for key in found.fact_keys)
    assert answers.which(kb, "no_such_attribute") is None
