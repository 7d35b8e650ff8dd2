from __future__ import annotations

import subprocess
import sys

import pytest

from bot.nlp.lexicon import other_medicines
from bot.nlp.names import Mention, NameMatcher
from bot.safety.cues import CueReader
from bot.safety.lexicon import load_categories, load_red_flags
from bot.safety.red_flags import RedFlagMatcher

# A hand-made names table shaped like KnowledgeBase.names(), so these tests do not move with the content.
NAMES: dict[str, list[str]] = {
    "methotrexate": ["Methotrexate", "Trexall", "Otrexup", "MTX"],
    "cyclosporine": ["Cyclosporine", "Neoral", "Gengraf", "ciclosporin"],
    "azathioprine": ["Azathioprine", "Imuran", "AZA"],
    "mycophenolate": ["Mycophenolate", "CellCept", "Myfortic", "mycophenolate mofetil", "MMF"],
    "systemic_steroids": ["Systemic steroids", "prednisone", "prednisolone", "pred", "steroid pills"],
    "dupilumab": ["Dupilumab", "Dupixent"],
    "jak_inhibitors": ["JAK inhibitors", "JAK inhibitor"],
    "abrocitinib": ["Abrocitinib", "Cibinqo"],
    "upadacitinib": ["Upadacitinib", "Rinvoq"],
    "baricitinib": ["Baricitinib", "Olumiant"],
    "tralokinumab": ["Tralokinumab", "Adbry", "Adtralza"],
    "lebrikizumab": ["Lebrikizumab", "Ebglyss"],
    "nemolizumab": ["Nemolizumab", "Nemluvio"],
}


@pytest.fixture(scope="module")
def names() -> NameMatcher:
    return NameMatcher(NAMES)


@pytest.fixture(scope="module")
def flags() -> RedFlagMatcher:
    return RedFlagMatcher()


@pytest.fixture(scope="module")
def cues() -> CueReader:
    return CueReader()


# ------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("text", "drug_id"),
    [
        ("is Methotrexate safe", "methotrexate"),
        ("MTX and folic acid", "methotrexate"),
        ("my son takes trexall", "methotrexate"),
        ("NEORAL capsules", "cyclosporine"),
        ("what is cibinqo", "abrocitinib"),
        ("rinvoq for teens", "upadacitinib"),
        ("ebglyss monthly?", "lebrikizumab"),
        ("adbry shots", "tralokinumab"),
        ("nemluvio", "nemolizumab"),
        ("olumiant in europe", "baricitinib"),
        ("pred 10 mg", "systemic_steroids"),
    ],
)
def test_names_exact_brand_and_generic(names: NameMatcher, text: str, drug_id: str) -> None:
    [mention] = names.find(text)
    assert mention.drug_id == drug_id
    assert mention.exact


@pytest.mark.parametrize(
    ("text", "drug_id", "surface"),
    [
        ("is metotrexate a chemo", "methotrexate", "metotrexate"),
        ("duplixent side effects", "dupilumab", "duplixent"),
        ("cellsept and pregnancy", "mycophenolate", "cellsept"),
        ("side effects of cyclosporne", "cyclosporine", "cyclosporne"),
        ("dupixant for kids", "dupilumab", "dupixant"),
        ("is rinvok a pill", "upadacitinib", "rinvok"),
        ("azathioprin nausea", "azathioprine", "azathioprin"),
        ("tralokinamab", "tralokinumab", "tralokinamab"),
    ],
)
def test_names_misspellings_match_fuzzily(names: NameMatcher, text: str, drug_id: str, surface: str) -> None:
    [mention] = names.find(text)
    assert (mention.drug_id, mention.surface, mention.exact) == (drug_id, surface, False)


@pytest.mark.parametrize(
    "text",
    [
        "the side effects after six weeks",
        "I'm pregnant and worried",
        "can I use a steroid cream",
        "prep for the visit",
        "bred and fed",
        "my period cycle is late",
        "what other things should I know",
        "I never feel better",
        "a question about these medicines in general",
        "is the handout in english",
        "the doctor ordered more labs",
        "a neural pathway",
    ],
)
def test_names_ordinary_words_are_never_a_clinic_medicine(names: NameMatcher, text: str) -> None:
    assert [m for m in names.find(text) if m.known] == []


@pytest.mark.parametrize(
    ("text", "drug_id"),
    [
        ("is tacrolimus safe", "unknown:tacrolimus"),
        ("Elidel on the face", "unknown:pimecrolimus"),
        ("protopic", "unknown:tacrolimus"),
        ("can I use steroid cream", "unknown:steroid cream"),
        ("tylenol for fever", "unknown:acetaminophen"),
        ("ruxolitinib cream", "unknown:ruxolitinib cream"),
        ("xolair shots", "unknown:omalizumab"),
        ("aquaphor at night", "unknown:aquaphor"),
    ],
)
def test_names_unknown_medicines_are_flagged_not_mapped(names: NameMatcher, text: str, drug_id: str) -> None:
    assert [m.drug_id for m in names.find(text)] == [drug_id]


def test_names_asked_again_give_the_same_mentions_and_a_caller_cannot_change_them(names: NameMatcher) -> None:
    first = names.find("does mtx or dupixent need labs")
    first.clear()
    again = names.find("does mtx or dupixent need labs")
    assert [m.drug_id for m in again] == ["methotrexate", "dupilumab"]
    assert [m.drug_id for m in names.find("is cellcept safe")] == ["mycophenolate"]
    assert names.find("") == []


def test_names_kb_name_beats_unknown_list() -> None:
    matcher = NameMatcher({"topicals": ["tacrolimus"]}, unknown=["tacrolimus", "pimecrolimus"])
    assert matcher.drug_ids("tacrolimus or pimecrolimus") == ["topicals", "unknown:pimecrolimus"]


def test_names_are_ordered_deduplicated_with_char_offsets(names: NameMatcher) -> None:
    text = "Dupixent vs mycophenolate mofetil vs dupixent"
    mentions = names.find(text)
    assert mentions == [
        Mention("dupilumab", "Dupixent", 0, 8, True),
        Mention("mycophenolate", "mycophenolate mofetil", 12, 33, True),
        Mention("dupilumab", "dupixent", 37, 45, True),
    ]
    assert names.drug_ids(text) == ["dupilumab", "mycophenolate"]
    assert all(text[m.start_char : m.end_char] == m.surface for m in mentions)


def test_names_longest_match_wins(names: NameMatcher) -> None:
    assert [(m.drug_id, m.surface) for m in names.find("a JAK inhibitor pill")] == [("jak_inhibitors", "JAK inhibitor")]


def test_default_unknown_names_are_clean() -> None:
    assert {"steroid cream", "birth control", "ruxolitinib cream"} <= set(other_medicines())
    assert all(name == " ".join(name.split()) and "," not in name for name in other_medicines())


def test_names_empty_text(names: NameMatcher) -> None:
    assert names.find("") == []


def test_names_with_the_real_knowledge_base(kb) -> None:  # noqa: ANN001
    matcher = NameMatcher(kb.names())
    assert matcher.drug_ids("metotrexate or duplixent? not tacrolimus") == [
        "methotrexate",
        "dupilumab",
        "unknown:tacrolimus",
    ]


def test_a_kb_name_inflected_is_not_an_unknown_medicine(kb) -> None:  # noqa: ANN001
    # the dictionary reads "cyclosporines" as its own "cyclosporins", a generic the KB lacks
    matcher = NameMatcher(kb.names())
    assert matcher.drug_ids("what are cyclosporines side effects") == ["cyclosporine"]
    assert matcher.drug_ids("cyclophosphamide or cyclosporine") == ["unknown:cyclophosphamide", "cyclosporine"]

    # steroid pills and shots by another name are the systemic steroids; a steroid cream is not
    assert matcher.drug_ids("is a medrol dose pack ok") == ["systemic_steroids"]
    assert matcher.drug_ids("dexamethasone tablets") == ["systemic_steroids"]


def test_nothing_is_built_at_import_time() -> None:
    code = "import bot.nlp.names, bot.safety.screen, bot.nlp.pipeline as m; print(m.blank_nlp.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


# ------------------------------------------------------------------------------------------ red flags


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("cant breath after shot", "emergency_breathing"),
        ("cnt breathe", "emergency_breathing"),
        ("he is having trouble breathing", "emergency_breathing"),
        ("she can't breathe!!", "emergency_breathing"),
        ("his lips are swelling", "emergency_allergy"),
        ("swollen tongue", "emergency_allergy"),
        ("throat feels tight", "emergency_allergy"),
        ("face is puffing up", "emergency_allergy"),
        ("wheezing after the shot", "emergency_allergy"),
        ("chest pain", "emergency_chest_pain"),
        ("having a seizure", "emergency_seizure"),
        ("he had a siezure", "emergency_seizure"),
        ("she passed out", "emergency_fainting"),
        ("swallowed 5 pills", "emergency_overdose"),
        ("got into the pills", "emergency_overdose"),
        ("ate the bottle", "emergency_overdose"),
        ("took too many", "emergency_overdose"),
        ("gave a double dose", "extra_dose"),
        ("want to die", "emergency_self_harm"),
        ("kill myself", "emergency_self_harm"),
        ("kms", "emergency_self_harm"),
        ("feeling suicidal", "emergency_self_harm"),
        ("i dont want to live", "emergency_self_harm"),
        ("hurt myself", "emergency_self_harm"),
        ("fever", "infection_fever"),
        ("temp 102", "infection_fever"),
        ("temp of 38.9", "infection_fever"),
        ("febrile", "infection_fever"),
        ("feverish", "infection_fever"),
        ("yellow skin", "jaundice_liver"),
        ("eyes look yellowish", "jaundice_liver"),
        ("jaundice", "jaundice_liver"),
        ("dark urine", "jaundice_liver"),
        ("pee is dark", "jaundice_liver"),
        ("brown pee", "jaundice_liver"),
        ("foamy pee", "kidney_signs"),
        ("swollen ankles", "kidney_signs"),
        ("bleeding gums", "bleeding"),
        ("bruising everywhere", "bleeding"),
        ("blood in his stool", "bleeding"),
        ("blisters and a fever", "blisters_fever"),
        ("oozing", "infection_skin"),
        ("pus", "infection_skin"),
        ("crusty weeping skin", "infection_skin"),
        ("rash looks infected", "infection_skin"),
        ("vomiting all day", "vomiting"),
        ("throwing up nonstop", "vomiting"),
        ("cant keep anything down", "vomiting"),
        ("skin is peeling off", "severe_rash"),
        ("short of breath", "breathing_nonacute"),
        ("pregnant", "pregnancy_other"),
        ("im preggo", "pregnancy_other"),
        ("breastfeeding", "pregnancy_other"),
        ("red eyes", "side_effect_now"),
        ("pink eye", "side_effect_now"),
        ("forgot to take", "missed_dose"),
        ("missed my shot", "missed_dose"),
        ("lower my dose", "dose_change"),
        ("flu shot", "vaccine"),
        ("talk to a nurse", "request_human"),
        ("i want a real person", "request_human"),
        ("i need an ambulance", "emergency_reported"),
        ("my son is not waking up", "emergency_fainting"),
        ("i've been losing hair", "side_effect_now"),
        ("her gums are swollen", "side_effect_now"),
        ("he gained a lot of weight", "side_effect_now"),
        ("she put on weight", "side_effect_now"),
        ("we stopped her azathioprine", "dose_change"),
        ("we want a break from cibinqo", "dose_change"),
        ("back to my old dose", "dose_change"),
        ("can i take my antidepressant too", "interaction"),
    ],
)
def test_red_flags_tolerate_typos_and_shorthand(flags: RedFlagMatcher, text: str, category: str) -> None:
    found = flags.find(text)
    assert category in {f.category for f in found}, found
    flag = next(f for f in found if f.category == category)
    assert flag.urgency == load_categories()[category].urgency
    assert flag.reason


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("hay fever season", "infection_fever"),
        ("a fever blister on the lip", "infection_fever"),
        ("flu shot next week", "infection_fever"),
        ("a cold sore", "infection_fever"),
        ("the injection went fine", "infection_fever"),
        ("blood pressure check", "bleeding"),
        ("blood tests every month", "bleeding"),
        ("this itch is killing me", "emergency_self_harm"),
        ("I can breathe fine", "emergency_breathing"),
        ("his second dupixent shot", "emergency_overdose"),
        ("can i drink on mtx", "emergency_overdose"),
        ("I took my pills this morning", "emergency_overdose"),
        ("I threw up once", "vomiting"),
        ("are you a real person?", "request_human"),
        ("can people on methotrexate get live vaccines", "request_human"),
        ("after stopping cyclosporine", "dose_change"),
        ("tell me a bit about imuran", "emergency_overdose"),
        ("my son keeps waking up at night", "emergency_fainting"),
        ("my son is waking up itchy", "emergency_fainting"),
    ],
)
def test_red_flags_do_not_fire_on_lookalikes(flags: RedFlagMatcher, text: str, category: str) -> None:
    assert category not in {f.category for f in flags.find(text)}


def test_red_flag_span_points_at_the_phrase(flags: RedFlagMatcher) -> None:
    text = "ok so my tongue is swelling up"
    [flag] = [f for f in flags.find(text) if f.category == "emergency_allergy"]
    assert text[flag.span[0] : flag.span[1]] == "tongue is swelling"


def test_red_flag_extra_dose_is_its_own_kind(flags: RedFlagMatcher) -> None:
    extra = [f for f in flags.find("I took a double dose") if f.category == "extra_dose"]
    assert extra
    assert {f.kind for f in extra} == {"dose"}
    # more than one extra dose stays an overdose
    assert {f.category for f in flags.find("I took a double dose of all my pills")} >= {"emergency_overdose"}


def test_every_pattern_category_is_known() -> None:
    assert {key.partition(":")[0] for key in load_red_flags().patterns} <= set(load_categories())


# ------------------------------------------------------------------------------------------ cues


@pytest.mark.parametrize(
    "text",
    [
        "my son has a fever on methotrexate",
        "fever since last night",
        "cant breathe after shot",
        "temp 102 on mtx",
        "I'm 8 weeks pregnant",
        "she is having chills right now",
        "is it normal that my eyes are red after my shot?",
    ],
)
def test_cues_statements_and_reports_are_happening(cues: CueReader, text: str) -> None:
    assert cues.read(text).happening_at(0)


@pytest.mark.parametrize(
    "text",
    [
        "can methotrexate cause infections?",
        "does dupixent cause pink eye?",
        "what are signs of liver problems on mtx",
        "can I get pregnant on methotrexate?",
        "what if my son gets a fever on methotrexate?",
        "methotrexate side effects",
        "my son starts cyclosporine next month",
    ],
)
def test_cues_general_questions_and_what_ifs_are_not_happening(cues: CueReader, text: str) -> None:
    reading = cues.read(text)
    assert not reading.happening, reading


def test_cues_are_read_per_clause(cues: CueReader) -> None:
    text = "my daughter is on methotrexate, can it cause infections?"
    reading = cues.read(text)
    assert reading.person
    assert not reading.happening_at(text.index("infections"))


def test_cues_bare_phrase_needs_a_cue_somewhere(cues: CueReader) -> None:
    assert not cues.read("Rinvoq and pregnancy").happening
    assert cues.read("fevr and sore throat, im on the jak pill").happening_at(0)


@pytest.mark.parametrize(
    ("text", "person"),
    [("my son", True), ("I have eczema", True), ("dd is 4", True), ("does it work", False), ("you can", False)],
)
def test_cues_person(cues: CueReader, text: str, person: bool) -> None:
    assert cues.read(text).person is person
