"""Load and validate the knowledge base; errors name the file, the entry and the field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.knowledge.schema import DRUG_TOPICS, GENERAL, GENERAL_TOPICS, Drug, Fact, SafetyProperty

CONTENT_DIR = Path(__file__).resolve().parent / "content"


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is invalid. The message names file, entry and field."""


@dataclass(frozen=True)
class FactRef:
    """A fact together with the medicine it belongs to."""

    drug: Drug
    fact: Fact

    @property
    def key(self) -> str:
        return f"{self.drug.id}.{self.fact.topic}"


@dataclass(frozen=True)
class SafetyRef:
    """A medicine's safety property (``methotrexate.safety.avoid_in_pregnancy``), for the audit."""

    drug: Drug
    name: str
    prop: SafetyProperty

    @property
    def key(self) -> str:
        return f"{self.drug.id}.safety.{self.name}"


@dataclass(frozen=True)
class MedicineSafety:
    """Medicine ids by the properties that set the safety screen's urgency."""

    immune_suppressing: frozenset[str] = frozenset()
    not_in_pregnancy: frozenset[str] = frozenset()
    not_while_breastfeeding: frozenset[str] = frozenset()


@dataclass
class KnowledgeBase:
    drugs: dict[str, Drug]

    def fact(self, drug_id: str, topic: str) -> Fact | None:
        drug = self.drugs.get(drug_id)
        if drug is None:
            return None
        return next((f for f in drug.facts if f.topic == topic), None)

    def facts(self) -> list[FactRef]:
        return [FactRef(d, f) for d in self.drugs.values() for f in d.facts]

    def group_of(self, drug_id: str) -> Drug | None:
        """The group a medicine belongs to (abrocitinib -> jak_inhibitors), if any."""
        return next((d for d in self.drugs.values() if drug_id in d.members), None)

    def medicines(self) -> list[Drug]:
        """Every real medicine (not the "general" pseudo-medicine, not groups)."""
        return [d for d in self.drugs.values() if d.id != GENERAL and not d.members]

    def names(self) -> dict[str, list[str]]:
        """Medicine id -> every name it is known by (general excluded)."""
        return {d.id: d.names for d in self.drugs.values() if d.id != GENERAL}

    def safety_properties(self) -> list[SafetyRef]:
        return [SafetyRef(d, name, prop) for d in self.drugs.values() for name, prop in d.safety.properties().items()]

    def medicine_safety(self) -> MedicineSafety:
        """The medicines whose safety property is true (unset counts as not)."""

        def having(name: str) -> frozenset[str]:
            return frozenset(ref.drug.id for ref in self.safety_properties() if ref.name == name and ref.prop.value)

        return MedicineSafety(
            immune_suppressing=having("suppresses_immune"),
            not_in_pregnancy=having("avoid_in_pregnancy"),
            not_while_breastfeeding=having("avoid_while_breastfeeding"),
        )

    def stale_safety(self, today: dt.date, window_days: int) -> list[SafetyRef]:
        """Safety properties whose last review is older than the window, oldest first."""
        cutoff = today - dt.timedelta(days=window_days)
        stale = [ref for ref in self.safety_properties() if ref.prop.reviewed < cutoff]
        return sorted(stale, key=lambda ref: ref.prop.reviewed)

    def stale_facts(self, today: dt.date, window_days: int) -> list[FactRef]:
        """Facts whose last review is older than the window, oldest first."""
        cutoff = today - dt.timedelta(days=window_days)
        stale = [ref for ref in self.facts() if ref.fact.reviewed < cutoff]
        return sorted(stale, key=lambda ref: ref.fact.reviewed)


def _format_errors(path: Path, entry: str, error: ValidationError) -> str:
    lines = []
    for err in error.errors():
        where = " -> ".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"{path.name}: entry {entry!r}: field [{where}] {err['msg']}")
    return "\n".join(lines)


def load_drug_file(path: Path) -> Drug:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{path.name}: entry '(file)': field [(root)] must be a mapping")
    entry = str(raw.get("id", path.stem))
    try:
        drug = Drug.model_validate(raw)
    except ValidationError as exc:
        raise KnowledgeBaseError(_format_errors(path, entry, exc)) from exc
    _check_topics(path, drug)
    _check_safety(path, drug)
    return drug


def _check_topics(path: Path, drug: Drug) -> None:
    allowed = GENERAL_TOPICS if drug.id == GENERAL else DRUG_TOPICS
    seen: set[str] = set()
    for i, fact in enumerate(drug.facts):
        where = f"{path.name}: entry {drug.id!r}: field [facts -> {i} -> topic]"
        if fact.topic not in allowed:
            raise KnowledgeBaseError(f"{where} topic {fact.topic!r} is not allowed here")
        if fact.topic in seen:
            raise KnowledgeBaseError(f"{where} duplicate topic {fact.topic!r}")
        seen.add(fact.topic)


def _check_safety(path: Path, drug: Drug) -> None:
    """Only medicines have safety properties, and they agree with the answering attributes where both are set."""
    where = f"{path.name}: entry {drug.id!r}: field [safety"
    if drug.id == GENERAL and drug.safety.properties():
        raise KnowledgeBaseError(f"{where}] the general entry has no safety properties")
    immune = drug.safety.suppresses_immune
    answer = drug.attributes.suppresses_immune
    if immune is not None and answer is not None and immune.value != answer:
        raise KnowledgeBaseError(
            f"{where} -> suppresses_immune] {immune.value} contradicts attributes.suppresses_immune {answer}"
        )


def _check_names(drugs: dict[str, Drug]) -> None:
    owner: dict[str, str] = {}
    for drug in drugs.values():
        for name in drug.names if drug.id != GENERAL else []:
            key = name.casefold()
            if key in owner and owner[key] != drug.id:
                raise KnowledgeBaseError(
                    f"{drug.id}.yml: entry {drug.id!r}: field [aliases] name {name!r} already belongs to {owner[key]!r}"
                )
            owner[key] = drug.id
    for drug in drugs.values():
        for member in drug.members:
            if member not in drugs:
                raise KnowledgeBaseError(
                    f"{drug.id}.yml: entry {drug.id!r}: field [members] unknown medicine {member!r}"
                )


def load_knowledge_base(directory: Path = CONTENT_DIR) -> KnowledgeBase:
    """Read every *.yml file in the directory; raise KnowledgeBaseError on the first bad one."""
    drugs: dict[str, Drug] = {}
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise KnowledgeBaseError(f"{directory}: no knowledge-base files (*.yml)")
    for path in files:
        drug = load_drug_file(path)
        if drug.id in drugs:
            raise KnowledgeBaseError(f"{path.name}: entry {drug.id!r}: field [id] duplicate medicine id")
        drugs[drug.id] = drug
    if GENERAL not in drugs:
        raise KnowledgeBaseError(f"{directory}: missing general.yml (id: {GENERAL})")
    _check_names(drugs)
    return KnowledgeBase(drugs)


@lru_cache(maxsize=1)
def default_knowledge_base() -> KnowledgeBase:
    return load_knowledge_base(CONTENT_DIR)
