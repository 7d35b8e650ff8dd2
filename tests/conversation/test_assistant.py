from __future__ import annotations

import pytest

from bot.conversation.assistant import Turn
from bot.conversation.understanding import TOPIC_INTENTS
from bot.knowledge.loader import FactRef
from bot.retrieval import Hit
from tests.conftest import FakeVerdict, KeywordScreen, MemoryStore, make_assistant

TOPIC_INTENT = {topics[0]: intent for intent, topics in TOPIC_INTENTS.items()}


def _intent_for(ref: FactRef) -> str:
    return next(i for i, topics in TOPIC_INTENTS.items() if ref.fact.topic in topics)


def test_every_medicine_fact_is_answered_with_its_source(kb, assistant):
    for ref in kb.facts():
        if ref.drug.id == "general" or ref.drug.members:
            continue
        if ref.fact.topic == "safety_warnings" and kb.fact(ref.drug.id, "side_effects"):
            continue  # side-effect questions get the side-effects fact first
        intent = _intent_for(ref)
        reply = assistant.respond(Turn("?", intent=intent, confidence=0.9, entity_drugs=(ref.drug.id,)))
        assert reply.kind == "answer", ref.key
        assert reply.custom["drug"] == ref.drug.id
        assert ref.fact.source in reply.custom["sources"]
        assert ref.fact.text in " ".join(reply.texts)


@pytest.mark.parametrize(("text", "intent", "expected"), [
    ("tell me about methotrexate", "ask_what_is", ["cancer"]),
    ("how is dupixent given", "ask_administration", ["2 weeks"]),
    ("side effects of Neoral", "ask_side_effects", ["blood pressure", "kidney"]),
    ("is rinvoq approved for teens", "ask_approval", ["12"]),
    ("does imuran weaken the immune system", "ask_immune", ["immune"]),
])  # fmt: skip
def test_question_is_answered_from_the_named_medicine(assistant, text, intent, expected):
    reply = assistant.respond(Turn(text, intent=intent, confidence=0.95))
    assert reply.kind == "answer"
    for word in expected:
        assert word in " ".join(reply.texts)


def test_group_fact_answers_for_a_member_without_its_own(assistant):
    reply = assistant.respond(Turn("how does cibinqo work", intent="ask_mechanism", confidence=0.9))
    assert reply.kind == "answer" and reply.custom["drug"] == "abrocitinib"
    assert reply.texts[0].startswith("Abrocitinib (Cibinqo) is one of the JAK inhibitors.")
    assert reply.custom["facts"] == ["jak_inhibitors.mechanism"]


def test_side_effect_question_falls_back_to_the_boxed_warning(assistant):
    reply = assistant.respond(Turn("what are the side effects of rinvoq", intent="ask_side_effects", confidence=0.9))
    assert reply.custom["facts"] == ["upadacitinib.safety_warnings"]


def test_medicine_carries_over_to_the_next_question(assistant):
    first = assistant.respond(Turn("tell me about cyclosporine", intent="ask_what_is", confidence=0.9))
    assert first.slots["drug"] == "cyclosporine"
    second = assistant.respond(
        Turn("how fast does it work?", intent="ask_onset", confidence=0.9, slot_drug=first.slots["drug"])
    )
    assert (second.kind, second.custom["drug"], second.custom["topic"]) == ("answer", "cyclosporine", "onset")


def test_topic_carries_over_when_the_medicine_changes(assistant):
    first = assistant.respond(Turn("does dupilumab need labs?", intent="ask_monitoring", confidence=0.9))
    assert first.custom["topic"] == "monitoring"
    second = assistant.respond(
        Turn("what about methotrexate?", intent="inform_drug", confidence=0.9, slot_drug="dupilumab",
             slot_topic=first.slots["topic"])
    )  # fmt: skip
    assert (second.custom["drug"], second.custom["topic"]) == ("methotrexate", "monitoring")
    assert "folic" in " ".join(second.texts).lower()


def test_missing_medicine_gets_a_clarifying_question_then_the_answer(assistant):
    ask = assistant.respond(Turn("what are the side effects", intent="ask_side_effects", confidence=0.9))
    assert ask.kind == "clarify" and ask.slots == {"topic": "side_effects"}
    payloads = [b["payload"] for b in ask.buttons]
    assert '/inform_drug{"drug":"methotrexate"}' in payloads
    pick = assistant.respond(
        Turn('/inform_drug{"drug":"methotrexate"}', intent="inform_drug", confidence=1.0,
             entity_drugs=("methotrexate",), slot_topic="side_effects")
    )  # fmt: skip
    assert (pick.kind, pick.custom["drug"], pick.custom["topic"]) == ("answer", "methotrexate", "side_effects")


def test_two_topics_in_one_message_are_answered_together(assistant):
    reply = assistant.respond(Turn("side effects and labs for cyclosporine", intent="ask_side_effects", confidence=0.9))
    assert set(reply.custom["facts"]) == {"cyclosporine.side_effects", "cyclosporine.monitoring"}
    assert all(len(t) <= 600 for t in reply.texts)


def test_comparison_names_both_medicines(assistant):
    reply = assistant.respond(
        Turn("which works faster, methotrexate or cyclosporine?", intent="ask_compare", confidence=0.9)
    )
    text = " ".join(reply.texts)
    assert reply.kind == "answer" and "Methotrexate" in text and "Cyclosporine" in text
    assert reply.custom["topic"] == "onset" and len(reply.custom["sources"]) == 2


@pytest.mark.parametrize(("text", "present", "absent"), [
    ("which eczema medicines are shots?", ["Dupilumab"], ["Azathioprine"]),
    ("which ones don't suppress the immune system", ["Dupilumab"], []),
    ("which works fastest", ["Cyclosporine"], []),
])  # fmt: skip
def test_which_questions_are_answered_from_the_structured_knowledge(assistant, text, present, absent):
    reply = assistant.respond(Turn(text, intent="ask_which", confidence=0.9))
    body = " ".join(reply.texts)
    assert reply.kind == "answer" and reply.custom["sources"]
    assert all(p in body for p in present) and not any(a in body for a in absent)


def test_fastest_lists_the_fastest_first(assistant):
    body = " ".join(assistant.respond(Turn("which works fastest", intent="ask_which", confidence=0.9)).texts)
    assert body.index("Cyclosporine") < body.index("Methotrexate") < body.index("Azathioprine")


@pytest.mark.parametrize(("text", "intent"), [
    ("what's the weather tomorrow", "out_of_scope"),
    ("can you reset my portal password", "out_of_scope"),
    ("is tacrolimus ointment safe", "ask_pregnancy"),
    ("blah blah qwerty", None),
])  # fmt: skip
def test_questions_outside_the_knowledge_base_are_not_answered(assistant, text, intent):
    reply = assistant.respond(Turn(text, intent=intent, confidence=0.9 if intent else 0.0))
    assert reply.kind == "abstain"
    assert "555-0199" in " ".join(reply.texts)


@pytest.mark.parametrize(
    ("intent", "kind"), [("greet", "chitchat"), ("thank", "chitchat"), ("bot_challenge", "chitchat")]
)
def test_chitchat(assistant, intent, kind):
    assert assistant.respond(Turn("hey", intent=intent, confidence=0.99)).kind == kind


def test_first_reply_carries_the_disclaimer(assistant):
    reply = assistant.respond(Turn("hi", intent="greet", confidence=0.99, first_turn=True))
    assert "not medical advice" in reply.texts[0].lower() or "can't give medical advice" in reply.texts[0]
    assert "911" in reply.texts[0]
    later = assistant.respond(Turn("hi", intent="greet", confidence=0.99))
    assert all("911" not in t for t in later.texts)


@pytest.fixture
def screened(kb, settings):
    store = MemoryStore()
    screen = KeywordScreen({
        "swelling": FakeVerdict("emergency_allergy", "emergency", "swelling after a shot", "911"),
        "fever": FakeVerdict("infection_fever", "urgent", "fever on an immune-suppressing medicine"),
        "missed": FakeVerdict("missed_dose", "routine", "missed dose"),
    })  # fmt: skip
    return make_assistant(kb, settings, store, screen=screen), store


def test_emergency_gets_911_first_even_before_the_disclaimer(screened):
    assistant, store = screened
    reply = assistant.respond(Turn("tongue swelling after dupixent", conversation_id="c1", first_turn=True))
    assert reply.texts[0].startswith("Call 911")
    assert reply.custom["urgency"] == "emergency" and reply.custom["ticket_id"] in store.tickets


def test_urgent_handoff_says_when_and_gives_the_phone(screened):
    assistant, store = screened
    reply = assistant.respond(Turn("my son has a fever on mtx", conversation_id="web:c2", channel="web"))
    assert reply.kind == "handoff" and reply.custom["urgency"] == "urgent"
    assert "[urgent reply time]" in reply.texts[0] and "555-0199" in reply.texts[0]
    assert reply.slots == {"handoff_ticket": reply.custom["ticket_id"]}


def test_after_a_handoff_messages_join_the_ticket_and_questions_still_get_answers(screened):
    assistant, store = screened
    first = assistant.respond(Turn("I missed my methotrexate", conversation_id="c3"))
    ticket = first.custom["ticket_id"]
    followup = assistant.respond(Turn("I also missed it last week", conversation_id="c3", slot_ticket=ticket))
    assert followup.kind == "handoff" and followup.custom["ticket_id"] == ticket and len(store.tickets) == 1
    answer = assistant.respond(
        Turn("what are the side effects of dupixent", intent="ask_side_effects", confidence=0.9, conversation_id="c3",
             slot_ticket=ticket)
    )  # fmt: skip
    assert answer.kind == "answer" and "already have your message" in answer.texts[-1]
    assert store.tickets[ticket].messages[-1] == "what are the side effects of dupixent"


def test_a_more_urgent_message_after_a_handoff_opens_a_new_ticket(screened):
    assistant, store = screened
    first = assistant.respond(Turn("I missed my dose", conversation_id="c4"))
    worse = assistant.respond(Turn("now he has a fever", conversation_id="c4", slot_ticket=first.custom["ticket_id"]))
    assert worse.custom["urgency"] == "urgent" and worse.custom["ticket_id"] != first.custom["ticket_id"]


def test_a_possible_emergency_is_urgent_and_says_when_to_call_911(kb, settings):
    screen = KeywordScreen({"wrong": FakeVerdict("possible_emergency", "urgent", "sounds like an emergency")})
    reply = make_assistant(kb, settings, MemoryStore(), screen=screen).respond(Turn("something is wrong with him"))
    assert reply.kind == "handoff" and reply.custom["urgency"] == "urgent"
    assert "call 911 now" in reply.texts[0] and "trouble breathing" in reply.texts[0]
    assert not reply.texts[0].startswith("Call 911")


@pytest.mark.parametrize(("text", "topic", "present", "absent"), [
    ("how long do people usually stay on immune suppressing medicines", "duration", ["Methotrexate", "Azathioprine"],
     ["Dupilumab"]),
    ("do the biologics need blood work", "monitoring", ["Dupilumab"], ["Methotrexate"]),
])  # fmt: skip
def test_a_class_and_a_topic_is_answered_by_the_members_facts(assistant, text, topic, present, absent):
    reply = assistant.respond(Turn(text, intent=TOPIC_INTENT[topic], confidence=0.9))
    body = " ".join(reply.texts)
    assert reply.kind == "answer" and reply.custom["topic"] == topic
    assert all(p in body for p in present) and not any(a in body for a in absent)


def test_what_a_class_is_is_not_answered_by_its_members(assistant):
    reply = assistant.respond(Turn("what are biologics", intent="ask_what_is", confidence=0.9))
    assert not any(t.startswith("Dupilumab") for t in reply.texts)


def test_handoff_reply_survives_a_failing_store(kb, settings):
    screen = KeywordScreen({"fever": FakeVerdict("infection_fever", "urgent", "fever")})
    assistant = make_assistant(kb, settings, MemoryStore(fail=True), screen=screen)
    reply = assistant.respond(Turn("fever on cyclosporine"))
    assert reply.kind == "handoff" and "555-0199" in reply.texts[0]


@pytest.mark.parametrize(("text", "kind"), [("", "chitchat"), ("   ", "chitchat"), ("x" * 20_000, "abstain")])
def test_empty_and_overlong_messages_get_a_clear_reply(assistant, text, kind):
    reply = assistant.respond(Turn(text))
    assert reply.kind == kind and reply.texts


@pytest.mark.parametrize(
    "text",
    ["does ibuprofen interact with methotrexate", "is tacrolimus ointment like dupixent", "what is tacrolimus"],
)
def test_a_medicine_outside_the_knowledge_base_is_never_answered_about(assistant, text):
    reply = assistant.respond(Turn(text, intent="ask_interactions", confidence=0.9))
    assert reply.kind == "abstain" and reply.custom["reason"] == "unknown_medicine"


@pytest.mark.parametrize(
    ("text", "drug", "aspect", "words"),
    [
        ("what happens if you miss a dose of methotrexate", "methotrexate", "missed_dose", "missed or late dose"),
        ("can you drink alcohol on cyclosporine", "cyclosporine", "alcohol", "alcohol"),
        ("are live vaccines ok with imuran", "azathioprine", "vaccines", "vaccines"),
    ],
)
def test_subjects_the_handouts_do_not_cover_get_an_honest_no(assistant, text, drug, aspect, words):
    reply = assistant.respond(Turn(text, intent="ask_side_effects", confidence=0.9))
    assert reply.kind == "abstain" and reply.custom["drug"] == drug and reply.custom["aspect"] == aspect
    assert words in reply.texts[0] and "handouts don't cover" in reply.texts[0]


def test_a_list_question_without_which_is_answered_across_medicines(assistant):
    reply = assistant.respond(Turn("are there shots for eczema", intent="ask_administration", confidence=0.9))
    assert reply.kind == "answer" and "Dupilumab" in reply.texts[0]


def test_a_topic_the_medicine_has_no_fact_for_is_not_answered_with_another_fact(assistant):
    reply = assistant.respond(Turn("is dupixent safe in pregnancy", intent="ask_pregnancy", confidence=0.9))
    assert reply.kind == "abstain" and reply.custom["reason"] == "no_fact"


# --- SMS ------------------------------------------------------------------------------------------------------


def test_sms_answers_fit_two_segments_and_more_sends_the_rest(kb, assistant):
    from bot.conversation.sms import SMS_LIMIT

    first = assistant.respond(Turn("side effects and labs of cyclosporine", channel="sms", intent="ask_side_effects",
                                   confidence=0.9, first_turn=True))  # fmt: skip
    assert len(first.texts) == 1 and len(first.texts[0]) <= SMS_LIMIT
    assert first.texts[0].endswith("Reply MORE for more.") and first.slots["sms_more"]
    more = assistant.respond(Turn("more", channel="sms", slot_more=first.slots["sms_more"]))
    assert more.kind == "continuation" and more.texts[0] in first.slots["sms_more"]


def test_sms_clarify_offers_numbered_choices_and_a_digit_picks_one(assistant):
    ask = assistant.respond(Turn("what are the side effects", channel="sms", intent="ask_side_effects", confidence=0.9))
    assert "Reply 1 for" in ask.texts[0] and ask.buttons == [] and ask.slots["choices"]
    pick = assistant.respond(
        Turn("2", channel="sms", slot_choices=tuple(ask.slots["choices"]), slot_topic="side_effects")
    )
    assert pick.kind == "answer" and pick.custom["topic"] == "side_effects"
    assert f'"drug":"{pick.custom["drug"]}"' in ask.slots["choices"][1]


def test_every_answer_in_the_knowledge_base_fits_the_sms_limits(kb, settings):
    from bot.conversation import replies, sms
    from bot.rasa_server.channels.gsm7 import SMS_LIMIT, is_gsm7, septets

    disclaimer = replies.render("disclaimer", settings, "sms")
    for ref in kb.facts():
        first = sms.form([disclaimer, ref.fact.text], []).text
        assert septets(first) <= SMS_LIMIT and is_gsm7(first), (ref.key, first)


def test_sms_erase_confirmation_by_number(assistant):
    ask = assistant.respond(Turn("delete my data", channel="sms", intent="delete_my_data", confidence=0.95))
    assert "Reply 1 for Yes, delete" in ask.texts[0]
    done = assistant.respond(
        Turn("1", channel="sms", slot_choices=tuple(ask.slots["choices"]), slot_pending_erase=True)
    )
    assert done.kind == "erased"


def test_two_names_of_one_medicine_compared_ask_about_brands_which_the_handouts_lack(assistant):
    reply = assistant.respond(Turn("is trexall the same thing as methotrexate?", intent="ask_compare", confidence=0.9))
    assert reply.kind == "abstain" and reply.custom["aspect"] == "brand_generic"
    assert reply.custom["drug"] == "methotrexate"


def test_a_medicine_the_facts_name_is_not_an_unknown_medicine(assistant):
    reply = assistant.respond(
        Turn("why do people on cellcept have to use birth control?", intent="ask_pregnancy", confidence=0.9)
    )
    assert reply.kind == "answer" and reply.custom["facts"] == ["mycophenolate.pregnancy"]


class _Ranked:
    """A retriever that ranks dupilumab's administration fact well above its mechanism fact, whatever is asked."""

    def __init__(self, kb) -> None:  # noqa: ANN001
        facts = {r.fact.topic: r for r in kb.facts() if r.drug.id == "dupilumab"}
        self.hits = [Hit(facts["administration"], 0.9), Hit(facts["mechanism"], 0.3)]

    def search(self, text, drugs=None, top_k=1, vectors=None):  # noqa: ANN001, ANN201
        return self.hits[:top_k]


def test_a_topic_the_medicine_lacks_is_not_swapped_for_another(kb, settings, store):
    assistant = make_assistant(kb, settings, store, retriever=_Ranked(kb))
    reply = assistant.respond(Turn("do you stay on dupixent forever?", intent="ask_duration", confidence=0.9))
    assert reply.kind == "abstain" and reply.custom["reason"] == "no_fact"
    # the same retriever does change the topic when the medicine has a fact on the asked one
    reply = assistant.respond(Turn("tell me about dupixent please", intent="ask_mechanism", confidence=0.9))
    assert reply.kind == "answer" and reply.custom["topic"] == "administration"


def test_a_comparison_is_about_the_first_medicine_named(assistant):
    reply = assistant.respond(Turn("is rinvoq riskier than dupixent?", intent="ask_compare", confidence=0.9))
    assert reply.kind == "answer" and reply.custom["drug"] == "upadacitinib"


def test_of_several_topics_named_the_boxed_warning_comes_first(assistant):
    text = "is rinvoq a shot or a pill, and does it have a boxed warning?"
    reply = assistant.respond(Turn(text, intent="ask_administration", confidence=0.9))
    assert reply.kind == "answer" and reply.custom["topic"] == "safety_warnings"
    assert reply.custom["facts"] == ["upadacitinib.safety_warnings", "upadacitinib.administration"]


@pytest.mark.parametrize(("text", "kind"), [
    ("does dairy cause eczema flares in babies?", "abstain"),
    ("whats the difference between atopic dermatitis and contact dermatitis", "abstain"),
    ("when are systemic medicines used?", "answer"),
    ("what is the itch-scratch cycle?", "answer"),
])  # fmt: skip
def test_a_general_question_must_be_about_the_medicines(assistant, text, kind):
    assert assistant.respond(Turn(text, intent="ask_general", confidence=0.9)).kind == kind


def test_the_medicine_a_question_names_comes_before_one_its_story_names(assistant):
    text = "we read all about rinvoq last year, now the doctor prefers cyclosporine. how fast does cyclosporine work?"
    reply = assistant.respond(Turn(text, intent="ask_onset", confidence=0.9))
    assert (reply.kind, reply.custom["drug"], reply.custom["topic"]) == ("answer", "cyclosporine", "onset")
