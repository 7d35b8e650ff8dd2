"""Typed records of the knowledge base. Content lives in YAML files beside this module."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Topics a medicine can have facts about.
DRUG_TOPICS: tuple[str, ...] = (
    "what_is",  # what it is, what it was first used for, its history
    "mechanism",  # how it works
    "administration",  # how it is given and how often
    "onset",  # how fast it works
    "monitoring",  # labs, blood pressure, folic acid and other checks
    "side_effects",  # common, less common and serious side effects
    "pregnancy",  # pregnancy and breastfeeding
    "immune",  # whether it suppresses the immune system / infection risk
    "approval",  # FDA approval, off-label status, ages
    "duration",  # how long it is used
    "interactions",  # interactions with other medicines (general facts only)
    "safety_warnings",  # boxed warnings
    "guidelines",  # what professional guidelines say
)

# Topics of the pseudo-medicine "general" (facts that are about systemic medicines as a whole).
GENERAL_TOPICS: tuple[str, ...] = (
    "systemic_overview",  # what systemic medicines are
    "when_used",  # when they are used
    "how_they_help",  # inflammation, the itch-scratch cycle
    "immunosuppressants",  # immune-suppressing medicines as a group, off-label
    "biologics",  # biologics and interleukins
    "analogy",  # the light-switch analogy
    "emerging",  # treatments in development / emerging therapies
    "key_points",  # key points of the deck
    "goals",  # treatment goals
    "read_more",  # where to read more
)

TOPICS: tuple[str, ...] = DRUG_TOPICS + GENERAL_TOPICS
GENERAL = "general"

DrugClass = Literal["immunosuppressant", "steroid", "biologic", "jak_inhibitor", "general"]
Route = Literal["mouth", "injection"]


class Fact(BaseModel):
    """One answerable statement, worded for patients, with where it came from."""

    model_config = ConfigDict(extra="forbid")

    topic: str
    text: str = Field(min_length=20, max_length=600)
    source: str = Field(min_length=3)
    reviewed: dt.date
    # Other ways people ask for this fact; used by semantic retrieval.
    paraphrases: list[str] = Field(default_factory=list)

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, value: str) -> str:
        if value not in TOPICS:
            raise ValueError(f"unknown topic {value!r}; known: {', '.join(TOPICS)}")
        return value


class Attributes(BaseModel):
    """Structured properties used to answer "which medicines..." questions."""

    model_config = ConfigDict(extra="forbid")

    routes: list[Route] = Field(default_factory=list)
    suppresses_immune: bool | None = None
    # Rough time to a noticeable effect, in weeks, where the deck gives one.
    onset_weeks: float | None = None
    fda_approved_for_eczema: bool | None = None


class SafetyProperty(BaseModel):
    """A property that sets the safety screen's urgency, with where it comes from (a deck slide or a public
    update, as facts cite) and when the clinic last reviewed it."""

    model_config = ConfigDict(extra="forbid")

    value: bool
    source: str = Field(min_length=3)
    reviewed: dt.date
    note: str | None = None


# The properties of ``Safety``; unset (null) where the sources are silent.
SAFETY_PROPERTIES: tuple[str, ...] = ("suppresses_immune", "avoid_in_pregnancy", "avoid_while_breastfeeding")


class Safety(BaseModel):
    """What the safety screen needs to know of a medicine: a fever on an immune-suppressing medicine is urgent,
    and so is pregnancy or breastfeeding on a medicine to avoid then."""

    model_config = ConfigDict(extra="forbid")

    suppresses_immune: SafetyProperty | None = None
    avoid_in_pregnancy: SafetyProperty | None = None
    avoid_while_breastfeeding: SafetyProperty | None = None

    def properties(self) -> dict[str, SafetyProperty]:
        """The properties that are set, by name."""
        found = {name: getattr(self, name) for name in SAFETY_PROPERTIES}
        return {name: prop for name, prop in found.items() if prop is not None}


class Drug(BaseModel):
    """A medicine (or the pseudo-medicine "general") and everything known about it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z_]+$")
    name: str  # display name, e.g. "Methotrexate"
    drug_class: DrugClass
    brands: list[str] = Field(default_factory=list)
    # Abbreviations, other spellings and common misspellings that mean this medicine.
    aliases: list[str] = Field(default_factory=list)
    # Member medicines of a group (jak_inhibitors -> abrocitinib, ...).
    members: list[str] = Field(default_factory=list)
    attributes: Attributes = Field(default_factory=Attributes)
    safety: Safety = Field(default_factory=Safety)
    facts: list[Fact] = Field(min_length=1)

    @property
    def names(self) -> list[str]:
        """Every name this medicine is known by: the display name, brands and aliases."""
        return [self.name, *self.brands, *self.aliases]
