"""Answerability: a medicine question is answered only when a fact of the asked aspect answers it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.conversation.aspects import (
    ASPECTS_FILE,
    AspectError,
    AspectModel,
    Guess,
    asked_part,
    aspect_data,
    load_aspects,
    named_aspect,
    named_term,
    nlu_questions,
    training_set,
)
from bot.conversation.assistant import Assistant
from bot.conversation.reading import Reading, read
from bot.conversation.types import Turn
from tests.conftest import make_assistant, name_matcher
from tests.fakes import FixedScores, HashingEncoder

THRESHOLD = aspect_data().threshold


@dataclass
class FixedGuess:
    """A deterministic aspect reader: always the same aspect with the same probability."""

    aspect: str
    score: float

    def guess(self, reading: Reading) -> Guess:
        return Guess(self.aspect, self.score, {self.aspect: self.score})


def _with_reader(kb, settings, store, aspect: str, score: float) -> Assistant:  # noqa: ANN001
    assistant = make_assistant(kb, settings, store)
    assistant.aspects = FixedGuess(aspect, score)
    return assistant


@pytest.mark.parametrize(
    ("text", "aspect", "drug", "words"),
    [
        ("does cibinqo help with vitiligo", "other_disease", "abrocitinib", "other conditions"),
        ("which firm brings ebglyss to market", "manufacturer", "lebrikizumab", "who makes"),
        ("is neoral ok if you have a wheat allergy", "ingredients", "cyclosporine", "ingredients"),
        ("what is a normal amount of imuran to be on", "strength", "azathioprine", "doses and strengths"),
    ],
)
def test_an_uncovered_aspect_of_a_covered_medicine_abstains_naming_both(kb, settings, store, text, aspect, drug, words):
    reply = _with_reader(kb, settings, store, aspect, 0.9).respond(Turn(text))
    assert reply.kind == "abstain"
    assert (reply.custom["reason"], reply.custom["drug"], reply.custom["aspect"]) == ("not_covered", drug, aspect)
    assert kb.drugs[drug].name in reply.texts[0] and words in reply.texts[0]
    assert "care team" in reply.texts[0] and reply.slots["drug"] == drug


@pytest.mark.parametrize(("score", "abstains"), [(THRESHOLD - 0.01, False), (THRESHOLD, True), (0.99, True)])
def test_the_threshold_decides_between_answering_and_abstaining(kb, settings, store, score, abstains):
    reply = _with_reader(kb, settings, store, "manufacturer", score).respond(
        Turn("tell me who is behind dupixent", intent="ask_what_is", confidence=0.9)
    )
    assert (reply.kind == "abstain") is abstains
    if not abstains:
        assert reply.custom["topic"] == "what_is"


@pytest.mark.parametrize(
    ("text", "drug", "intent"),
    [
        ("how does methotrexate calm the skin", "methotrexate", "ask_mechanism"),
        ("what checks are needed on cyclosporine", "cyclosporine", "ask_monitoring"),
        ("is dupixent approved for little kids", "dupilumab", "ask_approval"),
    ],
)
def test_a_covered_topic_still_answers(kb, settings, store, text, drug, intent):
    topic = intent.removeprefix("ask_")
    reply = _with_reader(kb, settings, store, topic, 0.95).respond(Turn(text, intent=intent, confidence=0.9))
    assert (reply.kind, reply.custom["drug"], reply.custom["topic"]) == ("answer", drug, topic)


@pytest.mark.parametrize(("administration", "device", "kind"), [(0.44, 0.2, "answer"), (0.2, 0.7, "abstain")])
def test_a_covered_topic_named_beside_an_uncovered_word_wins_when_the_model_rates_it_higher(
    kb, settings, store, administration, device, kind
):
    assistant = make_assistant(kb, settings, store)
    assistant.aspects = FixedScores({"administration": administration, "device": device})
    turn = Turn("does dupixent come as a pill or is it needles?", intent="ask_administration", confidence=0.9)
    reply = assistant.respond(turn)
    assert reply.kind == kind
    if kind == "abstain":
        assert reply.custom["aspect"] == "device"


@pytest.mark.parametrize(("administration", "device", "kind"), [(0.41, 0.16, "answer"), (0.25, 0.15, "abstain")])
def test_an_uncovered_word_yields_to_a_covered_topic_the_model_is_confident_of(
    kb, settings, store, administration, device, kind
):
    assistant = make_assistant(kb, settings, store)
    assistant.aspects = FixedScores({"administration": administration, "device": device})
    reply = assistant.respond(Turn("dupixent: is it something you chew or a needle thing"))
    assert reply.kind == kind
    assert reply.custom.get("topic" if kind == "answer" else "aspect") == (
        "administration" if kind == "answer" else "device"
    )


def test_a_schedule_the_handout_lacks_gets_a_partial_answer_that_says_so(kb, settings, store):
    reply = _with_reader(kb, settings, store, "schedule", 0.9).respond(Turn("adbry, is it weekly or monthly?"))
    text = reply.texts[0]
    assert (reply.kind, reply.custom["reason"], reply.custom["aspect"]) == ("abstain", "partial", "schedule")
    assert "don't give how often Tralokinumab (Adbry) is given" in text and "This is all they say" in text
    assert kb.fact("tralokinumab", "administration").text in text  # type: ignore[union-attr]
    assert reply.custom["facts"] == ["tralokinumab.administration"]


def test_a_schedule_the_handout_gives_is_answered(kb, settings, store):
    reply = _with_reader(kb, settings, store, "schedule", 0.9).respond(Turn("dupixent, is it weekly or monthly?"))
    assert reply.kind == "answer" and "2 weeks" in reply.texts[0]


@pytest.mark.parametrize(
    ("text", "drug", "kind", "term"),
    [
        ("could dupixent be hard on the kidneys", "dupilumab", "organ", "kidneys"),
        ("do people on azathioprine get pimples", "azathioprine", "symptom", "acne"),
        ("is losing hair a thing with mycophenolate", "mycophenolate", "symptom", "hair loss"),
        ("can prednisone stunt a kid's growth", "systemic_steroids", "symptom", "growth"),
    ],
)
def test_an_organ_or_symptom_no_fact_names_is_not_answered(kb, settings, store, text, drug, kind, term):
    reply = _with_reader(kb, settings, store, "side_effects", 0.8).respond(Turn(text))
    assert (reply.kind, reply.custom["drug"], reply.custom["aspect"]) == ("abstain", drug, kind)
    assert f"don't mention {term} for {kb.drugs[drug].name}" in reply.texts[0]


@pytest.mark.parametrize(
    ("text", "word"),
    [("can neoral be rough on the kidneys", "kidney"), ("is methotrexate bad for your liver", "liver")],
)
def test_an_organ_a_fact_names_is_answered_from_that_fact(kb, settings, store, text, word):
    reply = _with_reader(kb, settings, store, "what_is", 0.3).respond(Turn(text))
    assert reply.kind == "answer" and word in reply.texts[0].lower()


def test_wording_that_names_an_uncovered_aspect_abstains_without_a_medicine_too(assistant):
    reply = assistant.respond(Turn("do these shots need to go in the fridge"))
    assert (reply.custom["reason"], reply.custom["drug"], reply.custom["aspect"]) == ("not_covered", None, "storage")
    assert "storing medicines" in reply.texts[0]


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("can he have a beer on it", "alcohol"),
        ("is there a coupon for it", "cost"),
        ("what colour are the tablets", "appearance"),
        ("what are the side effects", None),
        ("what does good control look like", None),
        ("what if you forget a dose", "missed_dose"),
        ("forgot to give it yesterday, now what", "missed_dose"),
        ("is it fire and forget, or are there checkups", None),
        ("should you stay out of the sun on it", "activities"),
    ],
)
def test_wording_names_an_uncovered_aspect(text, aspect):
    found = named_aspect(text)
    assert (found.id if found else None) == aspect


def test_the_sms_form_of_every_uncovered_aspect_is_gsm7_and_fits(kb, settings):
    from bot.conversation import replies, sms
    from bot.rasa_server.channels.gsm7 import SMS_LIMIT, is_gsm7, septets

    disclaimer = replies.render("disclaimer", settings, "sms")
    for drug in kb.medicines():
        for aspect in aspect_data().aspects.values():
            text = replies.render("not_covered", settings, "sms", subject=aspect.named(drug.name))
            assert is_gsm7(text) and septets(sms.form([disclaimer, text], []).text) <= SMS_LIMIT, text
            assert sms.form([disclaimer, text], []).more is None, text


def test_the_model_learns_covered_topics_and_uncovered_aspects(kb):
    model = AspectModel(kb, HashingEncoder(), name_matcher())
    model.warm_up()
    names = name_matcher()
    for text, aspect in [
        ("which drug company sells rinvoq", "manufacturer"),
        ("how do you say dupilumab", "pronunciation"),
        ("what are the side effects of methotrexate", "side_effects"),
    ]:
        assert model.guess(read(text, names)).aspect == aspect, text


def test_training_masks_medicine_names_and_covers_every_aspect(kb):
    texts, labels = training_set(kb, name_matcher(), aspect_data())
    assert set(aspect_data().aspects) <= set(labels) and "side_effects" in labels
    assert not any("dupixent" in t.lower() for t in texts)


def test_the_nlu_medicine_questions_train_their_topics(kb):
    questions = nlu_questions()
    assert ("what is methotrexate?", "what_is") in questions
    assert not any("](" in text for text, _ in questions)  # entity markup is stripped
    texts, labels = training_set(kb, name_matcher(), aspect_data(), questions[:3])
    assert labels[:3] == [topic for _, topic in questions[:3]] and "[" not in texts[0]


def test_a_bad_aspects_file_names_the_entry(tmp_path: Path):
    original = ASPECTS_FILE.read_text(encoding="utf-8")
    path = tmp_path / "aspects.yml"
    path.write_text(original.replace("pattern: 'overdos\\w*", "pattern: '(overdos\\w*"), encoding="utf-8")
    with pytest.raises(AspectError, match="aspects: overdose: invalid pattern"):
        load_aspects(path)


def test_only_the_questions_of_a_message_name_an_aspect_or_organ():
    story = "My mom takes pills for her heart and her kidneys. Is cyclosporine hard on other medicines?"
    assert asked_part(story) == " Is cyclosporine hard on other medicines?"
    assert named_term(story) is None
    assert named_term("does cyclosporine hurt the kidneys? asking for my son") is not None
    assert named_term("cyclosporine and the kidneys") is not None  # no question: all of it is asked


def test_a_sentence_that_opens_like_a_question_is_asked_without_a_question_mark():
    story = "My mom takes pills for her heart and her kidneys. so does cyclosporine mess with other meds"
    assert asked_part(story) == " so does cyclosporine mess with other meds"
    assert named_term(story) is None
    assert named_term("my son has eczema. can cyclosporine hurt the kidneys") is not None


@pytest.mark.parametrize(
    ("confidence", "model", "topic"),
    [(0.5, "onset", "onset"), (0.5, "side_effects", "what_is"), (0.1, "onset", "what_is")],
)
def test_an_unsure_topic_intent_is_taken_when_the_aspect_model_agrees(kb, settings, store, confidence, model, topic):
    # the model's score stays below the floor at which it would pick the fact on its own
    assistant = _with_reader(kb, settings, store, model, 0.2)
    turn = Turn("dupixent, keep seeing the ads for it on tv", intent="ask_onset", confidence=confidence)
    reply = assistant.respond(turn)
    assert (reply.kind, reply.custom["drug"], reply.custom["topic"]) == ("answer", "dupilumab", topic)


def test_a_topic_the_model_is_sure_of_comes_before_the_fact_naming_an_organ_of_the_story(kb, settings, store):
    # no sentence opens like a question, so all of it is asked and the story's organ is named
    text = "SANDIMMUNE. ORIGINALLY MADE FOR WHAT. MY AUNT THINKS ONLY KIDNEY TRANSPLANT PATIENTS GET IT"
    sure = _with_reader(kb, settings, store, "what_is", THRESHOLD).respond(Turn(text))
    assert (sure.kind, sure.custom["topic"]) == ("answer", "what_is")
    unsure = _with_reader(kb, settings, store, "what_is", THRESHOLD - 0.1).respond(Turn(text))
    assert unsure.kind == "answer" and "kidney" in unsure.texts[0].lower()
