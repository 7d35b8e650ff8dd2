"""The topic reader: the readers' evidence on a question about one medicine, weighed by fitted weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.topics import (
    FEATURES,
    Evidence,
    TopicsFileError,
    TopicWeights,
    intent_scores,
    load_weights,
    topic_weights,
)
from bot.conversation.types import Turn
from bot.conversation.understanding import TOPIC_INTENTS
from tests.conftest import make_assistant
from tests.fakes import FixedScores


def _evidence(**given: object) -> Evidence:
    values: dict[str, object] = {
        "aspect_scores": {},
        "intent_scores": {},
        "words": (),
        "question_words": (),
        "retrieval": {},
    }
    values.update(given)
    return Evidence(**values)  # type: ignore[arg-type]


def test_the_weights_file_weighs_every_feature_and_each_reader_counts_for_its_topic():
    weights = topic_weights()
    assert len(weights.weights) == len(FEATURES)
    # more belief from the aspect model or the intent, or the questions naming the topic, raises its score
    for given in (
        {"aspect_scores": {"onset": 0.9}},
        {"intent_scores": {"onset": 0.9}},
        {"question_words": ("onset",)},
    ):
        assert weights.ranked(_evidence(**given))[0][0] == "onset"


def test_two_readers_agreeing_outweigh_a_topic_word_of_the_story():
    evidence = _evidence(
        aspect_scores={"onset": 0.6, "side_effects": 0.1},
        intent_scores={"onset": 0.4},
        words=("side_effects",),
    )
    assert topic_weights().ranked(evidence)[0][0] == "onset"


def test_intent_scores_keep_the_best_confidence_per_topic():
    ranking = [("ask_side_effects", 0.5), ("ask_safety", 0.3), ("greet", 0.2), ("ask_onset", 0.1)]
    scores = intent_scores(ranking, TOPIC_INTENTS)
    assert scores["side_effects"] == 0.5 and scores["onset"] == 0.1 and "greet" not in scores


def test_a_weights_file_missing_a_feature_is_refused(tmp_path: Path):
    path = tmp_path / "topics.yml"
    path.write_text("weights: {aspect_model: 1.0}\nintercept: 0\n")
    with pytest.raises(TopicsFileError, match="retrieval_best"):
        load_weights(path)


def test_a_weights_file_without_an_intercept_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "topics.yml"
    weights = "\n".join(f"  {name}: 1.0" for name in FEATURES)
    path.write_text(f"weights:\n{weights}\n")
    with pytest.raises(TopicsFileError, match="intercept"):
        load_weights(path)
    path.write_text(f"weights:\n{weights}\nintercept: high\n")
    with pytest.raises(TopicsFileError, match="intercept"):
        load_weights(path)


def test_an_assistant_with_the_topic_reader_answers_the_weighed_topic(kb, settings, store):
    # the story names side effects; the question asks how soon it works, which both the unsure intent and the
    # aspect model read: without the topic reader the story's word decides
    text = "my sister had side effects from her acne pills years ago. with dupixent is it a quick thing?"
    turn = Turn(text, intent="ask_onset", confidence=0.25, intent_ranking=(("ask_onset", 0.25),))
    reader = FixedScores({"onset": 0.5, "side_effects": 0.2, "what_is": 0.1})
    plain = make_assistant(kb, settings, store)
    plain.aspects = reader
    assert plain.respond(turn).custom["topic"] == "side_effects"
    weighed = make_assistant(kb, settings, store)
    weighed.aspects, weighed.topic_weights = reader, topic_weights()
    reply = weighed.respond(turn)
    assert (reply.kind, reply.custom["drug"], reply.custom["topic"]) == ("answer", "dupilumab", "onset")


def test_only_names_still_get_what_the_medicine_is(kb, settings, store):
    assistant = make_assistant(kb, settings, store)
    assistant.aspects = FixedScores({"onset": 0.5, "what_is": 0.1})
    assistant.topic_weights = TopicWeights(tuple(1.0 for _ in FEATURES), 0.0)
    reply = assistant.respond(Turn("dupixent?"))
    assert reply.custom["topic"] == "what_is"
