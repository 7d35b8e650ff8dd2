"""The safety categories: base urgency and a short reason for staff."""

from __future__ import annotations

from dataclasses import dataclass

from bot.constants import Urgency as Urgency  # re-exported for red_flags and screen


@dataclass(frozen=True)
class Category:
    urgency: Urgency
    reason: str


# Every category a red flag (or an exemplar) can have, with its base urgency and a short reason for staff.
# The safety screen adjusts urgency by medicine (fever, pregnancy) and adds the hotline. Between verdicts of
# the same urgency, the one listed first here wins (more specific first).
CATEGORIES: dict[str, Category] = {
    "emergency_allergy": Category("emergency", "allergic reaction: swelling of lips, tongue, face or throat"),
    "emergency_breathing": Category("emergency", "cannot breathe"),
    "emergency_chest_pain": Category("emergency", "chest pain"),
    "emergency_seizure": Category("emergency", "seizure"),
    "emergency_fainting": Category("emergency", "fainting or passed out"),
    "emergency_overdose": Category("emergency", "swallowed pills or took an extra or wrong dose"),
    "emergency_self_harm": Category("emergency", "thoughts of self-harm"),
    "emergency_reported": Category("emergency", "emergency reported"),
    "blisters_fever": Category("urgent", "blisters with fever"),
    "infection_fever": Category("urgent", "fever or infection on an immune-suppressing medicine"),
    "infection_skin": Category("urgent", "oozing or infected skin"),
    "jaundice_liver": Category("urgent", "yellow skin or eyes, or dark urine"),
    "bleeding": Category("urgent", "bleeding or bruising"),
    "breathing_nonacute": Category("urgent", "breathing trouble (not acute)"),
    "allergic_reaction": Category("urgent", "allergic reaction without breathing trouble"),
    "kidney_signs": Category("urgent", "possible kidney problem (foamy urine or swelling)"),
    "blood_clot": Category("urgent", "possible blood clot (leg pain or swelling)"),
    "vomiting": Category("urgent", "vomiting that does not stop"),
    "severe_rash": Category("urgent", "severe rash with peeling or blisters"),
    "pregnancy_on_teratogen": Category("urgent", "pregnancy on methotrexate or mycophenolate"),
    "pregnancy_other": Category("routine", "pregnancy or breastfeeding"),
    "side_effect_now": Category("routine", "side effect now"),
    "missed_dose": Category("routine", "missed dose"),
    "dose_change": Category("routine", "dose question or change"),
    "interaction": Category("routine", "another medicine, alcohol or supplement with this medicine"),
    "other_medicine": Category("routine", "question about another medicine they take"),
    "vaccine": Category("routine", "vaccine while on a medicine"),
    "request_human": Category("routine", "asked for a person"),
}
