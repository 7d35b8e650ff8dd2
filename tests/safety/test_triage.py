"""Personal situations on any medicine reach staff, and urgency is calibrated: an emergency needs an emergency
sign, not just a word like "swallowed" or "took". Phrasings written for these tests (not from the eval sets)."""

from __future__ import annotations

import pytest

from bot.constants import URGENCY_RANK
from bot.nlp.names import NameMatcher
from bot.safety.screen import SafetyScreen
from tests.safety.test_screen import verdict_for


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        # a symptom after a medicine the knowledge base does not cover
        ("broke out in hives two days after starting keflex", "urgent"),
        ("my husband has been dizzy since he started lisinopril", "routine"),
        # another medicine with theirs, whichever
        ("is it fine for her to have melatonin with her rinvoq", "routine"),
        ("my boy takes cellcept, can he have a zyrtec", "routine"),
        # clinical decisions
        ("do you think my daughter needs to go up on her cyclosporine", "routine"),
        ("should i switch from olumiant to a shot", "routine"),
        ("will the doctor be prescribing him adbry next visit", "routine"),
        ("is 25 mg of mtx too much for me", "routine"),
        ("can she get her ebglyss injection if she has a cold sore", "routine"),
        ("my pen was left in a hot car, can i still use it", "routine"),
        # pregnancy or breastfeeding of anyone named, on any medicine
        ("my momma is breastfeeding my little brother and takes medrol", "routine"),
        ("my girlfriend just found out she's pregnant and she's on methotrexate", "urgent"),
        # a stated dose and whether a symptom comes from it
        ("he gets 10mg of prednisolone a day, is that why he can't sleep", "routine"),
    ],
)
def test_personal_situations_on_any_medicine_reach_staff(
    screen: SafetyScreen, names: NameMatcher, text: str, urgency: str
) -> None:
    verdict = verdict_for(screen, names, text)
    assert verdict is not None, text
    assert URGENCY_RANK[verdict.urgency] >= URGENCY_RANK[urgency], verdict
    assert verdict.urgency != "emergency", verdict


@pytest.mark.parametrize(
    "text",
    [
        "my son chewed his gum right after his methotrexate",
        "she ate a banana with her azathioprine this morning",
        "took my olumiant 3 hours late because i overslept",
        "i drank some orange juice with my cyclosporine",
        "he had a few crackers and then his prednisone",
        "this cream is killing my budget lol",
        "she carries an epipen for peanuts, is dupixent ok for kids",
        "my toddler got hold of the tv remote",
        "I took all my pills today like i should",
    ],
)
def test_lookalikes_are_not_emergencies(screen: SafetyScreen, names: NameMatcher, text: str) -> None:
    verdict = verdict_for(screen, names, text)
    assert verdict is None or verdict.urgency != "emergency", verdict


@pytest.mark.parametrize(
    ("text", "hotline"),
    [
        ("my kid swallowed a handful of my zoloft", "poison_control"),
        ("toddler ate several of grandma's lisinopril tablets", "poison_control"),
        ("she downed the whole bottle of benadryl", "poison_control"),
        ("his face is drooping and he can't lift his arm", "911"),
        ("my speech is slurring and I take rinvoq", "911"),
        ("crushing chest pressure since my first cibinqo pill", "911"),
        ("i've been stockpiling my pills for a while now", "988"),
        ("she used her epipen after the dupixent shot", "911"),
    ],
)
def test_real_emergencies_get_emergency_wording(
    screen: SafetyScreen, names: NameMatcher, text: str, hotline: str
) -> None:
    verdict = verdict_for(screen, names, text)
    assert verdict is not None and verdict.urgency == "emergency", (text, verdict)
    assert verdict.hotline == hotline, verdict


@pytest.mark.parametrize(
    "text",
    [
        "my husband has arthritis, what does humira do",
        "is dupixent an immunosuppressant",
        "what is the usual starting dose of cyclosporine for kids",
        "can you take methotrexate with folic acid",
    ],
)
def test_general_questions_naming_other_medicines_are_answered(
    screen: SafetyScreen, names: NameMatcher, text: str
) -> None:
    assert verdict_for(screen, names, text) is None
