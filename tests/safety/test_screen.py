from __future__ import annotations

import glob
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bot.conversation.reading import Reading, read
from bot.knowledge.loader import MedicineSafety
from bot.nlp.names import NameMatcher
from bot.safety.lexicon import load_categories
from bot.safety.red_flags import RedFlagMatcher
from bot.safety.screen import (
    EXEMPLARS_PATH,
    INTENT_CATEGORIES,
    URGENCY_RANK,
    ExemplarError,
    SafetyScreen,
    Verdict,
    load_exemplars,
    requirement,
)
from tests.conftest import name_matcher

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = load_categories()
EVAL_PATH = ROOT / "tests" / "eval" / "safety.yml"
EXAMPLES_PATH = ROOT.parent / "shared" / "eval" / "examples.yml"


class FakeEncoder:
    """Deterministic bag-of-words vectors (hashed words), L2-normalised; counts calls."""

    def __init__(self, dims: int = 256) -> None:
        self.dims = dims
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z']+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dims] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def reading(text: str) -> Reading:
    """The turn's reading with the knowledge base's names, as the assistant makes it."""
    return read(text, name_matcher())


def run_turns(
    screen: SafetyScreen, names: NameMatcher, turns: Sequence[str], intent: str | None = None
) -> list[Verdict | None]:
    """Screen each turn like the assistant does: medicines named so far give the context medicine."""
    context: str | None = None
    verdicts = []
    for turn in turns:
        drugs = names.drug_ids(turn)
        verdicts.append(
            screen.screen(read(turn, names), intent=intent, confidence=0.0, drugs=drugs, context_drug=context)
        )
        known = [d for d in drugs if not d.startswith("unknown:")]
        context = known[-1] if known else context
    return verdicts


def verdict_for(screen: SafetyScreen, names: NameMatcher, text: str, context: str | None = None) -> Verdict | None:
    return screen.screen(
        read(text, names), intent=None, confidence=0.0, drugs=names.drug_ids(text), context_drug=context
    )


# ------------------------------------------------------------------------------------------ patterns + cues


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hotline"),
    [
        ("my son has a fever on methotrexate", "infection_fever", "urgent", None),
        ("cant breathe after shot", "emergency_breathing", "emergency", "911"),
        ("her throat is swelling", "emergency_allergy", "emergency", "911"),
        ("wheezing after his dupixent shot", "emergency_allergy", "emergency", "911"),
        ("chest pain since this morning", "emergency_chest_pain", "emergency", "911"),
        ("my daughter is having a seizure", "emergency_seizure", "emergency", "911"),
        ("he passed out", "emergency_fainting", "emergency", "911"),
        ("my toddler swallowed my pills", "emergency_overdose", "emergency", "poison_control"),
        ("I took my methotrexate twice this week", "extra_dose", "urgent", None),
        ("she swallowed 5 of my methotrexate", "emergency_overdose", "emergency", "poison_control"),
        ("he took his weekly mtx every day this week", "emergency_overdose", "emergency", "poison_control"),
        ("i want to kill myself", "emergency_self_harm", "emergency", "988"),
        ("kms", "emergency_self_harm", "emergency", "988"),
        ("I swallowed all my pills because I want to die", "emergency_self_harm", "emergency", "911"),
        ("she has a temp of 102, on cyclosporine", "infection_fever", "urgent", None),
        ("febrile on azathioprine", "infection_fever", "urgent", None),
        ("my son has a fever", "infection_fever", "urgent", None),
        ("my eyes are yellow on mtx", "jaundice_liver", "urgent", None),
        ("his pee is dark brown", "jaundice_liver", "urgent", None),
        ("she is bruising everywhere on cellcept", "bleeding", "urgent", None),
        ("I've been short of breath for a week on methotrexate", "breathing_nonacute", "urgent", None),
        ("blisters all over and a fever", "blisters_fever", "urgent", None),
        ("her eczema is oozing pus", "infection_skin", "urgent", None),
        ("my pee is foamy and my legs are swollen on neoral", "kidney_signs", "urgent", None),
        ("he has been vomiting all day", "vomiting", "urgent", None),
        ("I'm pregnant and on methotrexate", "pregnancy_on_teratogen", "urgent", None),
        ("im breastfeeding and taking cyclosporine", "pregnancy_on_teratogen", "urgent", None),
        ("I'm pregnant and on dupixent", "pregnancy_other", "routine", None),
        ("my eyes are red since starting dupixent", "side_effect_now", "routine", None),
        ("I forgot my methotrexate this week", "missed_dose", "routine", None),
        ("can I lower my prednisone dose", "dose_change", "routine", None),
        ("can I take tylenol with my methotrexate", "interaction", "routine", None),
        ("can my son take benadryl", "other_medicine", "routine", None),
        ("can my daughter get the flu shot on rinvoq", "vaccine", "routine", None),
        ("I want to talk to a nurse", "request_human", "routine", None),
    ],
)
def test_safety_screen_table(
    screen: SafetyScreen, names: NameMatcher, text: str, category: str, urgency: str, hotline: str | None
) -> None:
    verdict = verdict_for(screen, names, text)
    assert verdict is not None
    assert (verdict.category, verdict.urgency, verdict.hotline) == (category, urgency, hotline)
    assert verdict.reason


def test_safety_fever_on_methotrexate_is_urgent(screen: SafetyScreen, names: NameMatcher) -> None:
    verdict = verdict_for(screen, names, "my son has a fever on methotrexate")
    assert verdict == Verdict("infection_fever", "urgent", "fever or infection on an immune-suppressing medicine")


def test_safety_fever_on_a_non_suppressing_medicine_is_routine(screen: SafetyScreen, names: NameMatcher) -> None:
    verdict = verdict_for(screen, names, "my son has a slight fever and he's on dupixent")
    assert verdict is not None and verdict.urgency == "routine"


def test_safety_immune_suppressing_list_is_passed_in(names: NameMatcher) -> None:
    strict = SafetyScreen(None, MedicineSafety(immune_suppressing=frozenset({"dupilumab"})))
    verdict = verdict_for(strict, names, "my son has a fever and he's on dupixent")
    assert verdict is not None and verdict.urgency == "urgent"


def test_safety_fever_uses_the_conversation_medicine(screen: SafetyScreen, names: NameMatcher) -> None:
    verdict = verdict_for(screen, names, "she has a fever now", context="dupilumab")
    assert verdict is not None and verdict.urgency == "routine"
    verdict = verdict_for(screen, names, "she has a fever now", context="cyclosporine")
    assert verdict is not None and verdict.urgency == "urgent"


def test_safety_pregnancy_uses_the_conversation_medicine(screen: SafetyScreen, names: NameMatcher) -> None:
    verdict = verdict_for(screen, names, "i think im pregnant", context="mycophenolate")
    assert verdict is not None and verdict.category == "pregnancy_on_teratogen"


@pytest.mark.parametrize(
    "text",
    [
        "can methotrexate cause infections?",
        "does dupixent cause pink eye?",
        "what are signs of liver problems on mtx",
        "can mtx cause fever?",
        "is dupixent safe in pregnancy?",
        "what happens if you miss a dose of methotrexate",
        "can dupixent cause throat swelling?",
        "my daughter is on methotrexate, can it cause infections?",
        "what if my son gets a fever on cyclosporine?",
        "my son starts methotrexate next month, what should we watch for",
        "does ibuprofen interact with methotrexate",
        "what is protopic",
        "is the flu shot ok with dupixent",
        "how does cyclosporine affect blood pressure",
        "",
    ],
)
def test_safety_general_questions_are_not_escalated(screen: SafetyScreen, names: NameMatcher, text: str) -> None:
    assert verdict_for(screen, names, text) is None


@pytest.mark.parametrize(
    ("text", "drugs", "category"),
    [
        ("can I take tylenol with methotrexate", ["methotrexate"], "interaction"),
        ("can my son take benadryl tonight", [], "other_medicine"),
    ],
)
def test_safety_finds_unknown_medicines_itself(
    screen: SafetyScreen, text: str, drugs: list[str], category: str
) -> None:
    """Callers may pass only the knowledge base's ids; other medicines are still noticed."""
    verdict = screen.screen(reading(text), intent=None, confidence=0.0, drugs=drugs)
    assert verdict is not None and verdict.category == category


def test_safety_verdict_wins_in_a_later_turn(screen: SafetyScreen, names: NameMatcher) -> None:
    first, second = run_turns(screen, names, ["how does methotrexate work", "my son just had a 103 fever"])
    assert first is None
    assert second is not None and second.urgency == "urgent"


# More hand-written messages, beyond tests/eval/safety.yml: written in later rounds to probe how the screen
# generalises (each round found gaps that were then fixed, so they are regression tests now).
MORE_SAFETY: list[tuple[str, str]] = [
    ("emergency", "help!! my daughter's lips are huge after dupixent"),
    ("emergency", "son drank some of the liquid methotrexate"),
    ("emergency", "i gave him 10ml instead of 1ml of his xatmep"),
    ("emergency", "My kid got ahold of my pills"),
    ("emergency", "my 2 year old might have eaten one of my cyclosporine capsules"),
    ("emergency", "i think i overdosed on my meds"),
    ("urgent", "took my mtx twice this week"),
    ("urgent", "accidentally injected dupixent twice"),
    ("emergency", "she is having trouble breathing"),
    ("emergency", "he's breathing funny and his lips are puffy"),
    ("emergency", "tight throat after shot"),
    ("emergency", "my heart is racing and my chest feels tight"),
    ("emergency", "he's shaking and unresponsive"),
    ("emergency", "I feel like hurting myself"),
    ("emergency", "I hate my life and want to end it"),
    ("emergency", "life isn't worth living with this eczema"),
    ("emergency", "I might as well be dead"),
    ("emergency", "cutting myself again"),
    ("emergency", "my child found my azathioprine and ate them"),
    ("emergency", "her throat is swelling shut"),
    ("emergency", "he can't swallow and his face is swelling after the injection"),
    ("emergency", "my son is having a seizure what do i do"),
    ("emergency", "grandma collapsed, she's on prednisone"),
    ("emergency", "idk why im even alive anymore"),
    ("emergency", "honestly why am i still here"),
    ("emergency", "why was i even born"),
    ("emergency", "im done with life"),
    ("emergency", "sucidal thoughts again"),
    ("emergency", "I'm so tired of this itching I want to kill myself"),
    ("emergency", "breathing is hard and shes wheezing after her adbry"),
    ("emergency", "my daughter ate a bunch of her brothers imuran"),
    ("urgent", "i accidently took my weekly methotrexate on monday and again on tuesday"),
    ("urgent", "my son has been running a fever for 2 days on mtx"),
    ("urgent", "she's really lethargic and hot, on cyclosporine"),
    ("urgent", "temp of 38.5 on cellcept"),
    ("urgent", "he has pneumonia and is on rinvoq"),
    ("urgent", "my skin is yellow"),
    ("urgent", "eyes look yellow-ish"),
    ("urgent", "pee is really dark"),
    ("urgent", "I have bruises I can't explain"),
    ("urgent", "bleeding gums all week"),
    ("urgent", "his poop is black and he takes methotrexate"),
    ("urgent", "coughing and wheezing for a week on methotrexate"),
    ("urgent", "my legs are swollen on cyclosporine"),
    ("urgent", "threw up 5 times today"),
    ("urgent", "vomiting nonstop on azathioprine"),
    ("urgent", "i'm pregnant on methotrexate"),
    ("urgent", "my skin is coming off"),
    ("urgent", "his eczema looks infected"),
    ("urgent", "the sores are weeping yellow fluid"),
    ("urgent", "I think my son has shingles, he is on mtx"),
    ("urgent", "my daughter has a fever and is on jak inhibitors"),
    ("urgent", "running a temp since yesterday, on imuran"),
    ("urgent", "fevers and night sweats on cyclosporin"),
    ("urgent", "got covid and im on olumiant"),
    ("urgent", "pregnancy test positive, im on cellcept"),
    ("urgent", "my 10 yr old has a high fever, she's on methotrexate"),
    ("urgent", "his rash has red streaks going up his arm"),
    ("urgent", "painful blisters around her mouth and a temp, on dupi"),
    ("urgent", "my urine is cola colored"),
    ("urgent", "I've been short of breath since starting mtx"),
    ("urgent", "purple spots all over her legs"),
    ("routine", "I skipped my injection because I was sick"),
    ("routine", "when should I take my next dose, I'm 2 days late"),
    ("routine", "is it ok that I took my methotrexate a day late"),
    ("routine", "I want to switch from cyclosporine to dupixent"),
    ("routine", "can my son take claritin"),
    ("routine", "my daughter uses hydrocortisone cream, can she keep using it with dupixent"),
    ("routine", "i need a refill of my rinvoq"),
    ("routine", "can i speak with someone"),
    ("routine", "my eyes are watery and crusty on dupixent"),
    ("routine", "the injection spot is red and hot"),
    ("routine", "forgot the folic acid this week"),
    ("routine", "can I stop prednisone cold turkey"),
    ("routine", "is it ok to have wine tonight, i take methotrexate"),
    ("routine", "my son needs his vaccines before kindergarten, he's on dupixent"),
    ("routine", "can someone call me back about my son's meds"),
    ("routine", "I'm breastfeeding, can I start dupixent"),
    ("routine", "we're planning to get pregnant, I'm on adbry"),
    ("routine", "my eye has been pink for 3 days since the dupixent"),
    ("routine", "nauseous after my methotrexate"),
    ("routine", "I'm late for my cibinqo refill and missed two days"),
    ("routine", "should I give him his shot if he has a cold"),
    ("routine", "can my daughter take advil while on methotrexate"),
    ("routine", "I threw up once after my pill"),
    ("routine", "I want to lower the prednisone"),
    ("routine", "my son feels tired all the time since starting azathioprine"),
    ("emergency", "HELP my son cant breathe"),
    ("emergency", "ds face swelling after dupi"),
    ("emergency", "lips tingling and swelling after my rinvoq pill"),
    ("emergency", "my daughter had a fit and isn't waking up"),
    ("emergency", "I took 4 of my methotrexate instead of 1"),
    ("emergency", "baby put a cellcept capsule in his mouth and bit it"),
    ("emergency", "the dog... no my toddler... ate 2 pills of prednisone"),
    ("emergency", "i wanna end it"),
    ("emergency", "what's the point of living like this"),
    ("emergency", "I want to disappear forever"),
    ("emergency", "throat closing up"),
    ("emergency", "crushing chest pressure on rinvoq"),
    ("emergency", "she fainted twice today"),
    ("emergency", "gave my kid his brother's cyclosporine by mistake"),
    ("emergency", "accidentally took my husbands azathioprine"),
    ("urgent", "103.5 fever, on mtx"),
    ("urgent", "kid has a temp and is on neoral, pls help"),
    ("urgent", "feeling feverish and achy, i take cibinqo"),
    ("urgent", "my son has an ear infection and is on methotrexate"),
    ("urgent", "daughter was exposed to chickenpox at school, she's on prednisone"),
    ("urgent", "i keep getting infections on azathioprine"),
    ("urgent", "weird bruises on my legs since upping my mtx"),
    ("urgent", "my urine looks like coke"),
    ("urgent", "whites of his eyes are yellowy"),
    ("urgent", "I'm pregnant. I've been on cellcept for a year"),
    ("urgent", "found out im expecting and still on methotrexate"),
    ("urgent", "eczema all crusted with yellow scabs"),
    ("urgent", "her skin is hot red and spreading and she has fever"),
    ("urgent", "nose bleeding for 30 minutes and won't stop"),
    ("urgent", "I have a cough and fever on rinvoq"),
    ("urgent", "been puking since last night on methotrexate"),
    ("routine", "my eyes r pink and gunky since starting dupixent"),
    ("routine", "i missed this weeks dose"),
    ("routine", "we forgot dupi last sunday"),
    ("routine", "is it ok to take advil with my rinvoq"),
    ("routine", "can i have a beer on cyclosporine"),
    ("routine", "my dermatologist wants to add tacrolimus for my son"),
    ("routine", "need to speak to my doctor"),
    ("routine", "can you have someone call me"),
    ("routine", "I want to come off prednisone"),
    ("routine", "my daughter gets stomach aches every time she takes her azathioprine"),
    ("routine", "my sons hair is falling out since mtx"),
    ("routine", "im due for my tetanus booster, im on olumiant"),
    ("routine", "she's getting her 12 month shots on friday and takes dupixent"),
    ("emergency", "my son is turning blue!!"),
    ("emergency", "she cant breath properly, lips swelling, just had dupixent"),
    ("emergency", "i swallowed my whole weeks worth of mtx at once"),
    ("emergency", "my kid drank the xatmep bottle"),
    ("emergency", "i feel like ending my life"),
    ("emergency", "no longer want to be alive"),
    ("emergency", "hes having a seizure rn"),
    ("emergency", "tongue swollen cant talk"),
    ("urgent", "my daughter on methotrexate has had a fever of 101 for two days"),
    ("urgent", "fever and chills. on cellcept."),
    ("urgent", "im on imuran and my eyes went yellow"),
    ("urgent", "his gums keep bleeding when he brushes, he's on mtx"),
    ("urgent", "my 6yo is peeing brown, on cyclosporine"),
    ("urgent", "she has been throwing up since last night and can't keep her meds down"),
    ("urgent", "I'm 12 weeks pregnant, been taking mtx"),
    ("urgent", "weeping crusty patches all over my sons arms"),
    ("urgent", "he's been wheezy and short of breath since starting mtx"),
    ("urgent", "my face and ankles are puffy and i'm on gengraf"),
    ("routine", "forgot my rinvoq this morning"),
    ("routine", "can i take my dupixent a day early because of travel"),
    ("routine", "my son's eyes are crusty in the morning since he started dupixent"),
    ("routine", "can i get my covid shot, im on cibinqo"),
    ("routine", "is it ok to take melatonin with methotrexate"),
    ("routine", "i need to talk to someone about my sons meds"),
    ("routine", "can we stop his cyclosporine for the holidays"),
    ("routine", "i'm nursing, is adbry ok for me"),
]
MORE_GENERAL: list[str] = [
    "can someone explain the light switch analogy for these medicines? I totally spaced out in class",
    "can methotrexate cause a fever",
    "what if my son gets a fever while on methotrexate?",
    "I'm on methotrexate, what are the side effects?",
    "im on mtx and worried about infections, what should I watch for",
    "does dupixent cause pink eye? my friend got it",
    "how do I know if my child has an infection on methotrexate",
    "does methotrexate make you tired",
    "how common is conjunctivitis with dupixent",
    "do I need blood tests on cyclosporine",
    "what are the common side effects of rinvoq",
    "is cyclosporine hard on the kidneys",
    "why does cyclosporine need blood pressure checks",
    "what is azathioprine",
    "does dupixent weaken immunity",
    "can kids get adbry",
    "what does nemolizumab block",
    "how long does it take for mycophenolate to work",
    "does methotrexate cause nausea",
    "which medicines need lab tests",
    "is mtx safe long term",
    "who can take cibinqo",
    "what's the boxed warning for jak inhibitors about",
    "does prednisone help eczema",
    "are biologics safer than immunosuppressants",
    "can methotrexate damage the lungs",
    "why avoid steroids for eczema",
    "do you have to stop methotrexate before pregnancy",
    "is breastfeeding ok on methotrexate",
    "can dupixent be used in babies",
    "how is cyclosporine taken",
    "what's the difference between dupixent and adbry",
    "do jak inhibitors cause infections",
    "is liver damage common with methotrexate",
    "can azathioprine cause vomiting",
    "what are the risks of jak pills",
    "which shots treat eczema",
    "how often is ebglyss injected",
    "tell me about olumiant",
    "what is upadacitinib",
    "can cellcept cause headaches",
    "my daughter is 13, is she old enough for rinvoq?",
    "my son has eczema, can he use dupixent?",
    "I have bad eczema, what systemic meds are there",
    "does methotrexate have to be taken with folic acid",
    "will cyclosporine make my hair grow",
    "does mycophenolate cause stomach problems",
    "hi",
    "thanks for the info",
    "what is eczema herpeticum",
    "are there new eczema treatments coming",
    "how soon does rinvoq work",
    "what's the usual dupixent schedule",
    "does adbry need a loading dose",
    "is cyclosporine a steroid",
    "can teenagers take cibinqo",
    "what does methotrexate do to the immune system",
    "which medicine is best for severe eczema",
    "what's the most common side effect of dupilumab",
    "does mycophenolate affect fertility",
    "is azathioprine safe for kids",
    "do jak inhibitors increase cancer risk",
    "can prednisone cause weight gain",
    "does methotrexate interact with antibiotics",
    "what is the safest systemic eczema medicine",
    "is dupixent an immunosuppressant",
    "can cyclosporine cause high blood pressure in kids",
    "what monitoring does mycophenolate need",
    "how do interleukins cause itching",
    "what is nemluvio approved for",
    "is ebglyss given every month",
    "can methotrexate cause mouth sores",
    "what's the risk of infection on cellcept",
    "how does a biologic differ from a jak inhibitor",
    "can you get pregnant on cyclosporine",
    "my son is on dupixent, is it a steroid?",
    "my daughter takes methotrexate, why does she need folic acid?",
    "I'm on cyclosporine, why do I need blood pressure checks?",
    "I have eczema and want to know about rinvoq",
    "my son's eczema is bad, would cyclosporine help?",
    "my derm mentioned adbry, what is it?",
    "how long will my son need to be on methotrexate?",
    "will my daughter's eczema come back after stopping cyclosporine?",
    "is it normal to get conjunctivitis on dupixent",
    "why are steroid pills bad for eczema",
    "what are the chances of liver damage on mtx",
    "what's a normal dose of methotrexate for eczema",
    "how much does dupixent cost",
    "what does mtx stand for",
    "does cyclosporine cause gum problems",
    "which eczema medicine works fastest",
    "is methotrexate a steroid",
    "are jak inhibitors safe for kids",
    "how do i store my dupixent pens",
    "should i take methotrexate with food",
    "what time of day should methotrexate be taken",
    "is ebglyss better than dupixent",
    "can biologics cause joint pain",
    "what are the long term risks of cyclosporine",
    "does azathioprine cause sun sensitivity",
    "what is the max time on cyclosporine",
    "my son is on dupixent and doing great, how long will he need it?",
    "my daughter started rinvoq last month, how long until it works?",
    "I've been on methotrexate for 3 months, when should I see results?",
    "my son takes cyclosporine, what labs will he need?",
    "I take dupixent, does it weaken my immune system?",
    "my doctor suggested methotrexate, what should I know?",
    "we are thinking about dupixent for our daughter, what are the side effects",
    "what do I need to know before starting cellcept",
    "is it true methotrexate can cause birth defects",
    "why is pregnancy dangerous on mycophenolate",
    "can breastfeeding moms use dupixent",
    "what infections are more common on jak inhibitors",
    "what does a fever mean on methotrexate",
    "how high does a fever have to be to worry on cyclosporine",
    "why does cyclosporine affect the kidneys",
    "why can't teens here get olumiant when europe allows it",
    "why do we have to come here for every dupixent shot",
]


@pytest.mark.parametrize(("urgency", "text"), MORE_SAFETY)
def test_more_safety_messages_escalate(screen: SafetyScreen, names: NameMatcher, urgency: str, text: str) -> None:
    verdict = verdict_for(screen, names, text)
    assert verdict is not None
    assert URGENCY_RANK[verdict.urgency] >= URGENCY_RANK[urgency], verdict


@pytest.mark.parametrize("text", MORE_GENERAL)
def test_more_general_questions_are_not_escalated(screen: SafetyScreen, names: NameMatcher, text: str) -> None:
    assert verdict_for(screen, names, text) is None


SAFETY_INTENTS = {"report_symptom", "dose_change", "pregnancy_situation", "interaction_personal", "emergency"}
KB_QUESTION_FILES = {"general.yml", "medicines.yml"}


def nlu_examples() -> dict[tuple[str, str], list[str]]:
    """(file, intent) -> example sentences of the Rasa NLU data, entity annotations removed."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(glob.glob(str(ROOT / "data" / "nlu" / "*.yml"))):
        for item in (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in item:
                continue
            lines = [line.strip().removeprefix("- ") for line in str(item.get("examples", "")).splitlines()]
            found[(Path(path).name, item["intent"])] = [
                re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", line) for line in lines if line
            ]
    return found


def test_nlu_training_data_agrees_with_the_screen(screen: SafetyScreen, names: NameMatcher) -> None:
    """The NLU data was written by someone else: an independent check (the screen runs without intents)."""
    examples = nlu_examples()
    safety = [t for (_, intent), ts in examples.items() if intent in SAFETY_INTENTS for t in ts]
    questions = [t for (file, _), ts in examples.items() if file in KB_QUESTION_FILES for t in ts]
    if not safety or not questions:
        pytest.skip("no NLU data yet")
    missed = [t for t in safety if verdict_for(screen, names, t) is None]
    escalated = [t for t in questions if verdict_for(screen, names, t) is not None]
    assert len(missed) <= 0.05 * len(safety), missed
    assert len(escalated) <= 0.02 * len(questions), escalated


# ------------------------------------------------------------------------------------------ intents


@pytest.mark.parametrize(
    ("text", "intent", "confidence", "expected"),
    [
        # the intent alone is an emergency only with an emergency sign in the words; otherwise an urgent handoff
        ("my son can't catch his breath", "emergency", 0.95, ("emergency_reported", "emergency", "911")),
        ("something is very wrong with my son", "emergency", 0.95, ("possible_emergency", "urgent", None)),
        ("she ate a whole pizza after her dupixent shot", "emergency", 0.95, ("possible_emergency", "urgent", None)),
        ("something is very wrong with my son", "emergency", 0.5, None),
        ("my son is acting weird", "report_symptom", 0.9, ("side_effect_now", "routine", None)),
        ("my son is acting weird", "report_symptom", 0.4, None),
        ("what is methotrexate", "report_symptom", 0.9, None),  # a general question names nobody
        ("I'm expecting on methotrexate", "pregnancy_situation", 0.9, ("pregnancy_on_teratogen", "urgent", None)),
        ("can I mix my medicines", "interaction_personal", 0.9, ("interaction", "routine", None)),
        ("get me a someone", "request_human", 0.9, ("request_human", "routine", None)),
        ("my kid took the whole bottle", "emergency", 0.95, ("emergency_overdose", "emergency", "poison_control")),
        # the intent counts as a sign, except where nothing is said to be happening now
        ("my daughter swallowed her gum lol", "emergency", 0.95, None),
        ("what would we do if our son ever took too many", "emergency", 0.95, None),
    ],
)
def test_safety_intents_are_one_signal(
    screen: SafetyScreen, text: str, intent: str, confidence: float, expected: tuple[str, str, str | None] | None
) -> None:
    drugs = ["methotrexate"] if "methotrexate" in text else []
    verdict = screen.screen(reading(text), intent=intent, confidence=confidence, drugs=drugs)
    if expected is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert (verdict.category, verdict.urgency, verdict.hotline) == expected


def test_safety_intent_names_are_fixed() -> None:
    assert set(INTENT_CATEGORIES) == {
        "report_symptom", "dose_change", "pregnancy_situation", "interaction_personal", "request_human", "emergency",
    }  # fmt: skip


# ------------------------------------------------------------------------------------------ semantic layer


def write_exemplars(path: Path, data: dict[str, Any]) -> Path:
    """Writes sentence lists as reviewed entries (``{"reviewed": ..., "sentences": [...]}``)."""

    def entry(sentences: object) -> dict[str, object]:
        return {"reviewed": "2026-11-25", "sentences": sentences}

    if isinstance(data.get("categories"), dict):
        data = {**data, "categories": {c: entry(s) for c, s in data["categories"].items()}}
    if "general" in data:
        data = {**data, "general": entry(data["general"])}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_semantic_exemplar_catches_what_patterns_miss(tmp_path: Path) -> None:
    signed, unsigned = "my kid is grey and staring at nothing", "my kid is quiet and staring at nothing"
    exemplars = write_exemplars(
        tmp_path / "ex.yml",
        {"categories": {"emergency_breathing": [signed, unsigned]}, "general": ["what is methotrexate used for"]},
    )
    encoder = FakeEncoder()
    plain = SafetyScreen(None, exemplars_path=exemplars)
    semantic = SafetyScreen(encoder, exemplars_path=exemplars)
    assert plain.screen(reading(signed), intent=None, confidence=0.0, drugs=[]) is None
    assert plain.screen(reading(unsigned), intent=None, confidence=0.0, drugs=[]) is None
    verdict = semantic.screen(reading(signed), intent=None, confidence=0.0, drugs=[])
    assert verdict is not None and (verdict.category, verdict.hotline) == ("emergency_breathing", "911")
    # similarity alone, without an emergency sign in the words ("floppy"), is an urgent handoff
    verdict = semantic.screen(reading(unsigned), intent=None, confidence=0.0, drugs=[])
    assert verdict is not None and (verdict.category, verdict.urgency) == ("possible_emergency", "urgent")
    # closer to a general question than to any exemplar: not escalated
    assert semantic.screen(reading("what is methotrexate used for"), intent=None, confidence=0.0, drugs=[]) is None


def test_semantic_layer_respects_general_questions(tmp_path: Path) -> None:
    exemplars = write_exemplars(
        tmp_path / "ex.yml", {"categories": {"side_effect_now": ["can it make your hair fall out"]}, "general": []}
    )
    semantic = SafetyScreen(FakeEncoder(), exemplars_path=exemplars)
    # matches the exemplar word for word, but it is a general question naming nobody
    assert semantic.screen(reading("can it make your hair fall out"), intent=None, confidence=0.0, drugs=[]) is None


def test_warm_up_embeds_exemplars_once(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    screen = SafetyScreen(encoder)
    screen.warm_up()
    screen.warm_up()
    assert encoder.calls == 2  # the exemplars and the general questions, once each
    screen.screen(reading("hello"), intent=None, confidence=0.0, drugs=[])
    assert encoder.calls == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"categories": {"made_up": ["x"]}}, "'made_up': unknown"),
        ({"categories": {"bleeding": []}}, "'bleeding': must have a non-empty list"),
        ({"general": ["x"]}, "needs a mapping 'categories'"),
        ({"categories": {"bleeding": ["x"]}, "general": "x"}, "'general' must be a list"),
    ],
)
def test_exemplar_errors_name_file_and_category(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    path = write_exemplars(tmp_path / "bad.yml", data)
    with pytest.raises(ExemplarError, match=re.escape(message)) as info:
        load_exemplars(path)
    assert "bad.yml" in str(info.value)


def test_shipped_exemplars_cover_every_category() -> None:
    exemplars = load_exemplars(EXEMPLARS_PATH)
    wanted = {c for c in CATEGORIES if c not in {"emergency_reported", "possible_emergency"}}  # set by the screen
    assert wanted <= set(exemplars.by_category)
    assert len(exemplars.general) >= 30


def test_requirements() -> None:
    assert requirement("emergency_self_harm") == "always"
    assert requirement("emergency_allergy") == "reported"
    assert requirement("infection_fever") == "happening"
    assert requirement("vaccine") == "personal"


# ------------------------------------------------------------------------------------------ shared examples


def _examples(expect: str) -> list[dict[str, Any]]:
    return [c for c in yaml.safe_load(EXAMPLES_PATH.read_text(encoding="utf-8")) if c["expect"] == expect]


@pytest.mark.parametrize("case", _examples("handoff"), ids=lambda c: c["id"])
def test_shared_handoff_examples_escalate_by_the_screen_alone(
    screen: SafetyScreen, names: NameMatcher, case: dict[str, Any]
) -> None:
    verdict = run_turns(screen, names, case["turns"])[-1]
    assert verdict is not None
    if case.get("urgency"):
        assert URGENCY_RANK[verdict.urgency] >= URGENCY_RANK[case["urgency"]]
    if verdict.urgency == "emergency":
        assert verdict.hotline in {"911", "988", "poison_control"}


@pytest.mark.parametrize("case", [c for c in _examples("answer") if not c.get("allow_handoff")], ids=lambda c: c["id"])
def test_shared_answer_examples_are_not_escalated(
    screen: SafetyScreen, names: NameMatcher, case: dict[str, Any]
) -> None:
    assert not any(run_turns(screen, names, case["turns"]))


# ------------------------------------------------------------------------------------------ the eval set


def load_eval() -> list[dict[str, Any]]:
    return yaml.safe_load(EVAL_PATH.read_text(encoding="utf-8"))


def test_eval_set_shape() -> None:
    cases = load_eval()
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    handoffs = [c for c in cases if c["expect"] == "handoff"]
    general = [c for c in cases if c["expect"] in {"answer", "no_answer"}]
    assert len(handoffs) >= 90 and len(general) >= 90
    assert all(c["urgency"] in URGENCY_RANK and c["category"] in CATEGORIES for c in handoffs)
    assert {c["urgency"] for c in handoffs} == set(URGENCY_RANK)
    assert all(c["all"] for c in cases if c["expect"] == "answer")
    assert any(len(c["turns"]) > 1 for c in handoffs)


def test_eval_sentences_are_not_copied() -> None:
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text.strip().lower())

    mine = {norm(t) for c in load_eval() for t in c["turns"]}
    shared = {norm(t) for c in _examples("answer") + _examples("handoff") + _examples("no_answer") for t in c["turns"]}
    nlu: set[str] = set()
    for path in glob.glob(str(ROOT / "data" / "nlu" / "*.yml")):
        for item in (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in str(item.get("examples", "")).splitlines():
                line = re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", line.strip().removeprefix("- "))
                nlu.add(norm(line))
    assert not mine & shared
    assert not mine & nlu


def evaluate(screen: SafetyScreen, names: NameMatcher) -> dict[str, Any]:
    """Run the screen (intent=None) over the eval set: misses, too-low urgencies, false escalations."""
    result: dict[str, Any] = {"misses": [], "too_low": [], "false": [], "by_category": Counter(), "hit": Counter()}
    cases = load_eval()
    for case in cases:
        verdicts = run_turns(screen, names, case["turns"])
        if case["expect"] == "handoff":
            key = f"{case['urgency']}/{case['category']}"
            result["by_category"][key] += 1
            verdict = verdicts[-1]
            if verdict is None:
                result["misses"].append(case["id"])
            elif URGENCY_RANK[verdict.urgency] < URGENCY_RANK[case["urgency"]]:
                result["too_low"].append((case["id"], verdict.urgency))
            else:
                result["hit"][key] += 1
        elif any(verdicts):
            result["false"].append((case["id"], [v.category for v in verdicts if v]))
    general = sum(1 for c in cases if c["expect"] != "handoff")
    result["false_rate"] = len(result["false"]) / general
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"{key:40s} {result['hit'][key]}/{n}" for key, n in sorted(result["by_category"].items())]
    for urgency in URGENCY_RANK:
        n = sum(v for k, v in result["by_category"].items() if k.startswith(urgency))
        hit = sum(v for k, v in result["hit"].items() if k.startswith(urgency))
        lines.append(f"recall {urgency:10s} {hit}/{n}")
    lines.append(f"false escalations {len(result['false'])} ({result['false_rate']:.1%}): {result['false']}")
    lines.append(f"misses {result['misses']} too low {result['too_low']}")
    return "\n".join(lines)


def test_eval_patterns_alone(screen: SafetyScreen, names: NameMatcher) -> None:
    """Without an encoder the screen still meets the bar (the semantic layer is the second net)."""
    result = evaluate(screen, names)
    assert not result["misses"], report(result)
    assert not result["too_low"], report(result)
    assert result["false_rate"] <= 0.05, report(result)


@pytest.fixture(scope="session")
def real_screen(kb) -> SafetyScreen:  # noqa: ANN001
    from bot.encoder import get_encoder

    screen = SafetyScreen(get_encoder(), names=NameMatcher(kb.names()))
    screen.warm_up()
    return screen


@pytest.mark.slow
def test_eval_real_encoder_recall_and_false_escalations(
    real_screen: SafetyScreen, names: NameMatcher, capsys: pytest.CaptureFixture[str]
) -> None:
    result = evaluate(real_screen, names)
    text = report(result)
    with capsys.disabled():
        print("\nsafety eval (real encoder)\n" + text)
    emergency_or_urgent = [m for m in result["misses"] if not m.startswith("sf-r")]
    assert not emergency_or_urgent, text  # 100% recall on emergency and urgent
    assert not result["too_low"], text  # urgency never lower than expected
    assert len(result["misses"]) <= 2, text  # routine: at most 2 misses
    assert result["false_rate"] <= 0.05, text


@pytest.mark.slow
def test_semantic_threshold_report(real_screen: SafetyScreen, capsys: pytest.CaptureFixture[str]) -> None:
    """The semantic layer alone, at the chosen SIMILARITY/MARGIN, escalates no general question of the eval
    set and still catches most safety messages (see the calibration note in bot/safety/screen.py)."""
    from bot.safety.screen import meets

    assert real_screen._cues is not None
    caught = false = 0
    cases = load_eval()
    for case in cases:
        text = case["turns"][-1]
        match = real_screen.semantic_match(reading(text))
        fired = match is not None and meets(requirement(match[0]), real_screen._cues.read(text))
        if case["expect"] == "handoff":
            caught += fired
        else:
            false += fired
    handoffs = sum(1 for c in cases if c["expect"] == "handoff")
    with capsys.disabled():
        print(f"\nsemantic layer alone: {caught}/{handoffs} safety messages, {false} general questions")
    assert false == 0
    assert caught >= 0.6 * handoffs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("I can't get any air in", "emergency"),
        ("my daughter keeps having fevers and she is on cyclosporine", "urgent"),
        ("we forgot his dupixent on saturday", "routine"),
    ],
)
def test_real_encoder_smoke(real_screen: SafetyScreen, names: NameMatcher, text: str, urgency: str) -> None:
    verdict = verdict_for(real_screen, names, text)
    assert verdict is not None and URGENCY_RANK[verdict.urgency] >= URGENCY_RANK[urgency]


# ConText's modifiers on an emergency sign: in the past, someone else's, not literal, a what-if question, or a
# question about signs. A clause of its own that is happening now still counts.
NOT_NOW = [
    "my son passed out at his allergy test back in 2019, can he start dupixent",
    "she had trouble breathing as a baby, is a jak pill ok for her now",
    "i read online that someone had a seizure on cyclosporine, how common is that",
    "watched a video where a guy collapsed after a shot, does that happen with adbry",
    "my throat closed up from laughing so hard at the cartoon haha, anyway when does rinvoq start working",
    "i nearly fainted over the copay lol. is there a cheaper option than dupixent",
    "what would we do if our daughter stopped breathing after a shot",
    "what are the warning signs of a throat swelling reaction to watch for after dupilumab",
    # negation, in ConText's sense: the sign is said to be absent or fine
    "hives on his neck after dupixent but no trouble breathing and no lip swelling",
    "itchy rash after the shot, her breathing is fine",
    "my grandpa had a seizure when he was young, can I take cibinqo",
    "in the movie we watched a kid got poisoned, now my son is scared of his methotrexate",
    # pseudo-triggers: the emergency word is not the sign
    "my cat ate one of my azathioprine tablets, the vet says she's ok",
    "my heart skipped a beat when the pharmacy called about the dupixent",
    "I fainted at a blood draw in high school, will the methotrexate labs be ok",
    "the printer had a heart attack and ate my form, can you resend the rinvoq paperwork",
    "cant breathe im laughing so hard at my son, anyway is dupixent ok for toddlers",
    "should I save the poison control number before we start methotrexate?",
    "I watched a show where someone's throat swelled after a shot, can adbry do that",
]
NOW_DESPITE_A_MODIFIER = [
    "years ago he had eczema flares, now his lips are swelling after the first dupixent shot",
    "lol ok this is serious, i cant breathe after my rinvoq",
]
NEW_SIGNS = [
    "she is coughing up blood since this afternoon, she's on cellcept",
    "his nose wont stop bleeding and he takes methotrexate",
    "i feel like i'm about to pass out after my shot",
    "my toddler is floppy and hard to wake, he has a fever and takes azathioprine",
    "i've been cutting again tonight",
    "temp 103 on rinvoq and his neck is so stiff he can't look down",
    "she has a fever on methotrexate and a purple rash that won't fade",
    "i'm going to take all my pills tonight",
    "she took 6 of her prednisone at once",
    "worst headache of my life on cyclosporine",
    "bp is 195/125 and my head is pounding, on neoral",
    "his skin is peeling and he has blisters in his mouth since starting bactrim with his methotrexate",
    "he has been getting his weekly mtx every day",
    "she got the bottle open and 4 of my pills are missing",
    "my son chewed through a blister pack of my azathioprine",
    "took my whole week of methotrexate at once",
    "coughing up pink frothy stuff and short of breath",
    "his vomit looks like coffee grounds",
    "her fever is 104 and she can't touch her chin to her chest",
    "the inhaler isn't working and his lips look purple",
    "my throat feels tite after the shot",
    "my daughter told a friend she has a plan to take all her pills",
]


def intent_verdict(screen: SafetyScreen, names: NameMatcher, text: str, intent: str) -> Verdict | None:
    return screen.screen(read(text, names), intent=intent, confidence=0.95, drugs=names.drug_ids(text))


@pytest.mark.parametrize(
    ("text", "emergency"),
    [
        # the Rasa intent alone reads an emergency; the message speaks against it
        ("she swallowed her gum right after her rinvoq", False),
        ("he fell asleep in the car lol, he's on dupixent, otherwise he's totally fine", False),
        ("what should we watch for if he ever has anaphylaxis after the shot", False),
        # nothing speaks against it, and it names a sign
        ("my son is on methotrexate and he is not responding to us", True),
    ],
)
def test_an_emergency_intent_needs_the_message_not_to_speak_against_it(
    screen: SafetyScreen, names: NameMatcher, text: str, emergency: bool
) -> None:
    verdict = intent_verdict(screen, names, text, "emergency")
    assert (verdict is not None and verdict.urgency == "emergency") is emergency, verdict


@pytest.mark.parametrize("text", NOT_NOW)
def test_an_emergency_sign_that_is_not_happening_now_is_not_an_emergency(
    screen: SafetyScreen, names: NameMatcher, text: str
) -> None:
    verdict = verdict_for(screen, names, text)
    assert verdict is None or verdict.urgency != "emergency", verdict


@pytest.mark.parametrize("text", [*NOW_DESPITE_A_MODIFIER, *NEW_SIGNS])
def test_an_emergency_sign_happening_now_is_an_emergency(screen: SafetyScreen, names: NameMatcher, text: str) -> None:
    verdict = verdict_for(screen, names, text)
    assert verdict is not None and verdict.urgency == "emergency", verdict


# Personal or general: a question the writer calls general, two medicines where nobody takes both, a stated amount
# for someone, a whole day of symptoms.
@pytest.mark.parametrize(
    ("text", "personal"),
    [
        ("my dad takes aspirin every day, but in general can you take cyclosporine with other medicines", False),
        ("for a class paper: can people on methotrexate double a dose they missed, my teacher asked", False),
        ("can my son take advil with his dupixent", True),
        ("just asking, can my daughter take zyrtec with her rinvoq", True),
        ("does rinvoq come as a shot like dupixent? my neighbour swears it does", False),
        ("my sister is a nurse and she says adbry works differently from dupixent, which il does it block", False),
        ("my daughter takes rinvoq, is it ok with her dupixent", True),
        ("we missed his labs before the new methotrexate dose, do we need to bring him in", True),
        ("I took my methotrexate with coffee this morning", True),
        ("can you take cellcept with milk", False),
        ("my brother in law on methotrexate always brings wine. generally speaking, is alcohol ok with it", False),
        ("my son is on dupixent and rinvoq was suggested, can he take both together", True),
        ("she is 30 kg and on 12.5 mg of methotrexate, is that the right amount", True),
        ("what dose should my son be on for cyclosporine", True),
        ("headache the whole day after cyclosporine, what helps", True),
        ("what mg does dupixent come in", False),
        ("what dose of methotrexate is used for eczema", False),
        ("my liver labs came back high on methotrexate, what now", True),
        ("what labs are checked on methotrexate", False),
        ("forgot my folic acid for 3 days on methotrexate", True),
        ("can people on methotrexate drink alcohol? my uncle says it's fine", False),
        ("cyclosporine and infections, is there a higher risk?", False),
        ("asking in general for a class handout: can a mom breastfeed on cyclosporine", False),
        ("my aunt says prednisone cleared her rash in 1987, why don't doctors use it now", False),
        ("cyclosporine and fevers every night this week, is that a risk", True),
        # a person in general ("a kid", "kids") is not someone in particular
        ("what strength of methotrexate is usual for a kid, 10 mg?", False),
        ("my kid is on 10 mg of methotrexate, is that a lot", True),
        ("is zyrtec good for itchy kids at night", False),
    ],
)
def test_personal_or_general(screen: SafetyScreen, names: NameMatcher, text: str, personal: bool) -> None:
    assert (verdict_for(screen, names, text) is not None) is personal


@pytest.mark.parametrize(
    "text",
    [
        "i did a double take when i saw the dupixent price",
        "my late husband was on prednisone for years, how long can kids stay on it",
        "he got poison ivy at camp, can he use his usual cream with methotrexate",
        "i'm a nursing student, is cyclosporine still used for eczema",
        "my sister threw out all her creams, do these medicines replace them",
    ],
)
def test_a_pseudo_trigger_is_not_a_red_flag(text: str) -> None:
    flagged = {"emergency_overdose", "missed_dose", "pregnancy_other", "side_effect_now"}
    assert [f for f in RedFlagMatcher().find(text) if f.category in flagged] == []
