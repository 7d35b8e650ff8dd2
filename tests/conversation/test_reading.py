"""The turn's reading: names matched once, the masked text and the wording, topics, and one vector per text."""

from __future__ import annotations

import numpy as np
import pytest

from bot.conversation.reading import Embedding, Vectors, mask_names, read
from bot.conversation.types import Turn
from bot.knowledge.loader import KnowledgeBase
from bot.retrieval import Retriever
from bot.safety.screen import SafetyScreen
from tests.conftest import KeywordScreen, make_assistant, name_matcher
from tests.fakes import CountingNames, HashingEncoder


def test_a_reading_has_the_medicines_the_masked_text_the_wording_and_the_topics() -> None:
    reading = read("can I take tylenol with MTX? side effects of methotrexate and labs", name_matcher())
    assert [m.drug_id for m in reading.mentions] == ["unknown:acetaminophen", "methotrexate", "methotrexate"]
    assert reading.known == ["methotrexate"]
    assert [m.surface for m in reading.unknown] == ["tylenol"]
    assert reading.masked == "can I take tylenol with medicine? side effects of medicine and labs"
    assert reading.wording == "can I take with ? side effects of and labs"
    assert reading.topics == ("side_effects", "monitoring")


def test_names_are_not_read_as_topic_words() -> None:
    reading = read("are jak inhibitor pills safe", name_matcher())
    assert reading.known == ["jak_inhibitors"] and reading.masked == "are medicine pills safe"
    assert "jak" not in reading.wording.lower()


def test_without_a_name_finder_nothing_is_looked_for() -> None:
    reading = read('/inform_drug{"drug":"methotrexate"}', None)
    assert reading.mentions == () and reading.masked == reading.text == reading.wording


def test_masking_keeps_the_names_of_medicines_the_kb_lacks() -> None:
    text = "is benadryl ok with dupixent"
    assert mask_names(text, name_matcher().find(text)) == "is benadryl ok with medicine"


def test_a_turn_matches_names_once_and_hands_the_screen_the_reading(kb, settings, store) -> None:  # noqa: ANN001
    counting = CountingNames(name_matcher())
    seen = []

    class RecordingScreen(KeywordScreen):
        def screen(self, reading, **kwargs):  # noqa: ANN001, ANN003
            seen.append(reading)
            return None

    assistant = make_assistant(kb, settings, store, screen=RecordingScreen())
    assistant.names = counting
    reply = assistant.respond(Turn("what are the side effects of dupixent", intent="ask_side_effects", confidence=0.9))
    assert reply.kind == "answer" and reply.custom["drug"] == "dupilumab"
    assert counting.calls == ["what are the side effects of dupixent"]
    assert [r.masked for r in seen] == ["what are the side effects of medicine"]


# --- one vector per text and turn ----------------------------------------------------------------------------


def _given(text: str, version: str = "v1") -> Embedding:
    return Embedding(version, text, np.full(4, 0.5, dtype=np.float32))


@pytest.mark.parametrize(
    ("given", "version", "encoded"),
    [
        (_given("some text"), "v1", []),  # same export, same text: used as is
        (_given("some text", "v0"), "v1", ["some text"]),  # another export
        (_given("other text"), "v1", ["some text"]),  # another text
        (_given("some text"), None, ["some text"]),  # an encoder without a version
        (None, "v1", ["some text"]),
    ],
)
def test_a_given_vector_is_used_only_for_the_same_export_and_text(
    given: Embedding | None, version: str | None, encoded: list[str]
) -> None:
    encoder = HashingEncoder(dims=4, version=version)
    vectors = Vectors(given)
    first = vectors.get(encoder, "some text")
    assert vectors.get(encoder, "some text") is first
    assert encoder.texts == encoded
    if not encoded:
        np.testing.assert_array_equal(first, np.full(4, 0.5))


def test_each_encoder_has_its_own_vectors() -> None:
    one, two = HashingEncoder(dims=8), HashingEncoder(dims=16)
    vectors = Vectors()
    assert vectors.get(one, "a").shape == (8,) and vectors.get(two, "a").shape == (16,)


@pytest.fixture
def encoded_assistant(kb: KnowledgeBase, settings, store):  # noqa: ANN001
    encoder = HashingEncoder(version="v1")
    screen = SafetyScreen(encoder, names=name_matcher())
    screen.warm_up()
    retriever = Retriever(kb, encoder)
    retriever.warm_up()
    encoder.texts.clear()
    return make_assistant(kb, settings, store, screen=screen, retriever=retriever), encoder


def test_the_screen_and_retrieval_share_one_vector_of_the_masked_text(encoded_assistant) -> None:  # noqa: ANN001
    assistant, encoder = encoded_assistant
    reply = assistant.respond(Turn("how is methotrexate given"))
    assert reply.kind == "answer" and reply.custom["drug"] == "methotrexate"
    assert encoder.texts == ["how is medicine given"]


def test_the_rasa_servers_vector_saves_the_encoding(encoded_assistant) -> None:  # noqa: ANN001
    assistant, encoder = encoded_assistant
    text = "how is medicine given"
    given = Embedding("v1", text, HashingEncoder().encode([text])[0])
    reply = assistant.respond(Turn("how is methotrexate given", embedding=given))
    assert encoder.texts == []
    assert reply.custom == assistant.respond(Turn("how is methotrexate given")).custom  # same vector, same answer
    stale = Embedding("v0", text, given.vector)
    assistant.respond(Turn("how is methotrexate given", embedding=stale))
    assert encoder.texts == [text, text]
