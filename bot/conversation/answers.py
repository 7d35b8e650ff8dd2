"""Answers composed from knowledge-base facts only, each carrying the sources it used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import GENERAL, Drug, Fact

MAX_TEXT = 600

TOPIC_LABELS: dict[str, str] = {
    "what_is": "what it is",
    "mechanism": "how it works",
    "administration": "how it is given",
    "onset": "how fast it works",
    "monitoring": "labs and monitoring",
    "side_effects": "side effects",
    "pregnancy": "pregnancy and breastfeeding",
    "immune": "the immune system",
    "approval": "approval and ages",
    "duration": "how long it is used",
    "interactions": "interactions with other medicines",
    "safety_warnings": "safety warnings",
    "guidelines": "guidelines",
}


@dataclass
class Answer:
    texts: list[str]
    drug: str | None
    topic: str
    sources: list[str] = field(default_factory=list)
    fact_keys: list[str] = field(default_factory=list)

    def add(self, text: str, drug_id: str, fact: Fact) -> None:
        self.texts.append(text)
        self.cite(drug_id, fact)

    def cite(self, drug_id: str, fact: Fact) -> None:
        if fact.source not in self.sources:
            self.sources.append(fact.source)
        self.fact_keys.append(f"{drug_id}.{fact.topic}")


def display_name(drug: Drug) -> str:
    return f"{drug.name} ({drug.brands[0]})" if drug.brands else drug.name


def find_fact(kb: KnowledgeBase, drug_id: str, topics: Sequence[str]) -> tuple[Drug, Fact, str] | None:
    """The first of `topics` the medicine has a fact for, else its group's fact with a lead-in."""
    drug = kb.drugs[drug_id]
    group = kb.group_of(drug_id)
    for topic in topics:
        fact = kb.fact(drug_id, topic)
        if fact is not None:
            return drug, fact, ""
        if group is not None and (group_fact := kb.fact(group.id, topic)) is not None:
            return group, group_fact, f"{display_name(drug)} is one of the {group.name}. "
    return None


def pack(texts: Sequence[str]) -> list[str]:
    """Join texts into as few messages as fit MAX_TEXT characters each."""
    messages: list[str] = []
    for text in texts:
        if messages and len(messages[-1]) + 1 + len(text) <= MAX_TEXT:
            messages[-1] = f"{messages[-1]} {text}"
        else:
            messages.append(text)
    return messages


def topic_answer(kb: KnowledgeBase, drug_id: str, wanted: Sequence[Sequence[str]]) -> Answer | None:
    """Facts about one medicine, one per wanted topic (each given as alternatives, best first)."""
    answer = Answer([], None if drug_id == GENERAL else drug_id, wanted[0][0])
    for alternatives in wanted:
        found = find_fact(kb, drug_id, alternatives)
        if found is None:
            continue
        owner, fact, lead = found
        if f"{owner.id}.{fact.topic}" in answer.fact_keys:
            continue
        if not answer.fact_keys:
            answer.topic = fact.topic
        answer.add(lead + fact.text, owner.id, fact)
    if not answer.texts:
        return None
    answer.texts = pack(answer.texts)
    return answer


def compare(kb: KnowledgeBase, drug_ids: Sequence[str], wanted: Sequence[Sequence[str]]) -> Answer | None:
    """The same topics for two or more medicines, side by side (each topic given as alternatives, best first).
    The answer is about the first medicine named, as a follow-up question would be."""
    answer = Answer([], drug_ids[0], wanted[0][0])
    for drug_id in drug_ids:
        name = display_name(kb.drugs[drug_id])
        said: list[str] = []
        for alternatives in wanted:
            found = find_fact(kb, drug_id, alternatives)
            if found is None:
                said.append(f"the clinic's handout doesn't cover {TOPIC_LABELS[alternatives[0]]}.")
                continue
            owner, fact, lead = found
            if not answer.fact_keys:
                answer.topic = fact.topic
            answer.cite(owner.id, fact)
            said.append(lead + fact.text)
        answer.texts.append(f"{name}: {' '.join(said)}")
    if not answer.fact_keys:
        return None
    answer.texts = pack(answer.texts)
    return answer


def _names(drugs: Sequence[Drug]) -> str:
    names = [display_name(d) for d in drugs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def which(kb: KnowledgeBase, attribute: str) -> Answer | None:
    """Answer "which medicines..." from the structured attributes; sources are the facts behind them."""
    meds = kb.medicines()
    answer = Answer([], None, attribute)

    def cite(drugs: Sequence[Drug], topic: str) -> None:
        for d in drugs:
            found = find_fact(kb, d.id, (topic,))
            if found and found[1].source not in answer.sources:
                answer.sources.append(found[1].source)
                answer.fact_keys.append(f"{found[0].id}.{found[1].topic}")

    if attribute in ("injection", "mouth"):
        other = "mouth" if attribute == "injection" else "injection"
        only = [d for d in meds if d.attributes.routes == [attribute]]
        both = [d for d in meds if attribute in d.attributes.routes and other in d.attributes.routes]
        form = "shots" if attribute == "injection" else "taken by mouth"
        text = f"Given only as {form}: {_names(only)}." if only else ""
        if both:
            text += f" Can be given by mouth or as a shot: {_names(both)}."
        answer.texts.append(text.strip())
        answer.topic = "administration"
        cite([*only, *both], "administration")
    elif attribute in ("immune", "not_immune"):
        yes = [d for d in meds if d.attributes.suppresses_immune]
        no = [d for d in meds if d.attributes.suppresses_immune is False]
        if attribute == "not_immune":
            answer.texts.append(f"Does not suppress the immune system: {_names(no)}.")
        answer.texts.append(f"Suppress the immune system: {_names(yes)}.")
        answer.topic = "immune"
        cite([*no, *yes], "immune")
    elif attribute in ("fastest", "slowest"):
        timed = sorted(
            (d for d in meds if d.attributes.onset_weeks),
            key=lambda d: d.attributes.onset_weeks or 0,
            reverse=attribute == "slowest",
        )
        answer.texts.append(f"From the handouts, {attribute[:-3]}est first:")
        for d in timed:
            found = find_fact(kb, d.id, ("onset",))
            if found:
                answer.texts.append(found[1].text)
        answer.topic = "onset"
        cite(timed, "onset")
    elif attribute == "approved":
        yes = [d for d in meds if d.attributes.fda_approved_for_eczema]
        no = [d for d in meds if d.attributes.fda_approved_for_eczema is False]
        answer.texts.append(f"FDA-approved for eczema: {_names(yes)}.")
        answer.texts.append(f"Not FDA-approved for eczema (used off-label, or not approved in the US): {_names(no)}.")
        answer.topic = "approval"
        cite([*yes, *no], "approval")
    elif attribute in ("biologic", "jak_inhibitor"):
        members = [d for d in meds if d.drug_class == attribute]
        label = "Biologics (shots)" if attribute == "biologic" else "JAK inhibitors (pills)"
        answer.texts.append(f"{label} in the clinic's handouts: {_names(members)}.")
        answer.topic = "what_is"
        cite(members, "what_is")
    else:
        return None
    answer.texts = pack(answer.texts)
    return answer
