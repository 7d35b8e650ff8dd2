"""The Rasa intent classifier (Rasa venv): masking, training, ranking, and the model archive round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ACTION_NAME, ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.encoder import OnnxEncoder, unpack_vector
from bot.rasa_server.intent_classifier import EMBEDDING, SentenceIntentClassifier, masked

EXPORT = Path(__file__).resolve().parents[2] / "var" / "models" / "minilm"  # made by the Makefile

EXAMPLES = {
    "ask_what_is": ["what is {}", "tell me about {}", "what kind of medicine is {}", "info on {} please"],
    "ask_side_effects": ["side effects of {}", "does {} cause nausea", "what are the risks of {}", "is {} risky"],
    "out_of_scope": ["what is asthma", "what's the weather today", "tell me a joke", "what is croup"],
    "request_human": ["can I talk to a nurse", "i want a real person", "connect me to staff", "human please"],
}
DRUGS = ["Dupixent", "methotrexate", "Rinvoq", "CellCept"]


def _drug(template: str, drug: str) -> Message:
    start = template.index("{}")
    text = template.format(drug)
    entity = {"entity": "drug", "start": start, "end": start + len(drug), "value": drug}
    return Message({TEXT: text, ENTITIES: [entity]})


def _training_data() -> TrainingData:
    messages = []
    for intent, templates in EXAMPLES.items():
        for i, template in enumerate(templates):
            message = _drug(template, DRUGS[i]) if "{}" in template else Message({TEXT: template})
            message.set(INTENT, intent)
            messages.append(message)
    return TrainingData(messages)


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="intent_classifier")


def _config(export: Path) -> dict[str, object]:
    return {**SentenceIntentClassifier.get_default_config(), "export_dir": str(export)}


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    SentenceIntentClassifier.create(_config(EXPORT), storage, Resource("clf"), _context()).train(_training_data())
    return storage


@pytest.fixture(scope="module")
def loaded(storage: LocalModelStorage) -> SentenceIntentClassifier:
    return SentenceIntentClassifier.load(_config(EXPORT), storage, Resource("clf"), _context())


def test_masked_replaces_each_drug_entity() -> None:
    message = Message(
        {
            TEXT: "is Dupixent safer than methotrexate for kids",
            ENTITIES: [
                {"entity": "drug", "start": 3, "end": 11, "value": "dupilumab"},
                {"entity": "drug", "start": 23, "end": 35, "value": "methotrexate"},
                {"entity": "other", "start": 40, "end": 44, "value": "kids"},
            ],
        }
    )
    assert masked(message) == "is medicine safer than medicine for kids"
    assert masked(Message({TEXT: "what is asthma"})) == "what is asthma"


def test_unseen_wordings_get_the_right_intent_with_a_ranking(loaded: SentenceIntentClassifier) -> None:
    cases = {
        "could I speak with a nurse please": "request_human",
        "will it rain this weekend": "out_of_scope",
        "what side effects does it have": "ask_side_effects",
    }
    messages = [Message({TEXT: text}) for text in cases]
    loaded.process(messages)
    for message, expected in zip(messages, cases.values(), strict=True):
        intent, ranking = message.get(INTENT), message.get(INTENT_RANKING_KEY)
        assert intent["name"] == expected, message.get(TEXT)
        assert ranking[0] == intent and len(ranking) == len(EXAMPLES)
        confidences = [r["confidence"] for r in ranking]
        assert confidences == sorted(confidences, reverse=True) and abs(sum(confidences) - 1) < 1e-6
        assert message.as_dict(only_output_properties=True)[INTENT] == intent  # Rasa returns it in the parse


def test_a_named_medicine_decides_between_lookalike_questions(loaded: SentenceIntentClassifier) -> None:
    with_drug = _drug("what is {}", "Olumiant")  # a medicine the examples never named
    without = Message({TEXT: "what is eczema herpeticum"})
    loaded.process([with_drug, without])
    assert with_drug.get(INTENT)["name"] == "ask_what_is"
    assert without.get(INTENT)["name"] == "out_of_scope"


def test_the_loaded_model_predicts_what_the_trained_one_did(storage: LocalModelStorage) -> None:
    trained = SentenceIntentClassifier.create(_config(EXPORT), storage, Resource("clf2"), _context())
    trained.train(_training_data())
    reloaded = SentenceIntentClassifier.load(_config(EXPORT), storage, Resource("clf2"), _context())
    before, after = Message({TEXT: "hello is anyone there"}), Message({TEXT: "hello is anyone there"})
    trained.process([before])
    reloaded.process([after])
    ranks = [[r["confidence"] for r in m.get(INTENT_RANKING_KEY)] for m in (before, after)]
    assert np.allclose(ranks[0], ranks[1], atol=1e-6)


def test_the_embedding_it_encoded_is_handed_on_in_the_parse_data(loaded: SentenceIntentClassifier) -> None:
    message = _drug("what are the side effects of {} for kids", "Dupixent")
    loaded.process([message])
    output = message.as_dict(only_output_properties=True)
    embedding = output[EMBEDDING]
    assert embedding["text"] == "what are the side effects of medicine for kids"
    encoder = OnnxEncoder(EXPORT)
    assert embedding["encoder"] == encoder.version and len(embedding["vector"]) < 2100  # base64 of 384 float32
    np.testing.assert_array_equal(unpack_vector(embedding["vector"]), encoder.encode([embedding["text"]])[0])
    # Rasa keeps custom parse-data keys in the user event and the latest_message it sends the action server
    tracker = DialogueStateTracker("someone", slots=[])
    tracker.update(UserUttered(message.get(TEXT), output[INTENT], output.get(ENTITIES, []), output))
    state = tracker.current_state(EventVerbosity.ALL)  # as RemoteAction sends it
    assert state["latest_message"][EMBEDDING] == embedding
    assert state["events"][-1]["parse_data"][EMBEDDING] == embedding


def test_messages_without_text_are_left_alone(loaded: SentenceIntentClassifier) -> None:
    message = Message({ACTION_NAME: "action_listen"})
    loaded.process([message])
    assert message.get(INTENT) is None


def test_training_without_the_export_says_how_to_make_it(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path / "storage")
    classifier = SentenceIntentClassifier.create(_config(tmp_path / "none"), storage, Resource("c"), _context())
    with pytest.raises(InvalidConfigException, match="python -m bot.encoder export"):
        classifier.train(_training_data())


def test_the_export_directory_must_be_configured() -> None:
    with pytest.raises(InvalidConfigException, match="export_dir"):
        SentenceIntentClassifier.validate_config({**SentenceIntentClassifier.get_default_config(), "export_dir": ""})


def test_an_unloaded_classifier_refuses_to_guess(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path / "storage")
    classifier = SentenceIntentClassifier.create(_config(EXPORT), storage, Resource("c"), _context())
    with pytest.raises(RuntimeError, match="not trained"):
        classifier.process([Message({TEXT: "hi"})])


def test_the_cache_fingerprint_follows_the_encoder_export(tmp_path: Path) -> None:
    config = _config(tmp_path)
    before = SentenceIntentClassifier.fingerprint_addon(config)
    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / name).write_text("x")
    after = SentenceIntentClassifier.fingerprint_addon(config)
    assert before != after and after == SentenceIntentClassifier.fingerprint_addon(config)
