"""The Rasa sentence featurizer (Rasa venv): trained into the model archive, adds one 384-d sentence vector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ACTION_NAME, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_server.sentence_featurizer import SentenceFeaturizer

EXPORT = Path(__file__).resolve().parents[2] / "var" / "models" / "minilm"  # made by the Makefile


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="sentence_featurizer")


def _config(export: Path) -> dict[str, object]:
    return {**SentenceFeaturizer.get_default_config(), "export_dir": str(export)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> SentenceFeaturizer:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("sentence_featurizer")
    config = _config(EXPORT)
    SentenceFeaturizer.create(config, storage, resource, _context()).train(TrainingData())
    return SentenceFeaturizer.load(config, storage, resource, _context())


def test_each_message_gets_one_normalised_sentence_vector(trained: SentenceFeaturizer) -> None:
    messages = [Message({TEXT: "can i talk to a nurse"}), Message({TEXT: "what is methotrexate"})]
    trained.process(messages)
    vectors = []
    for message in messages:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None  # token features (and the drug entity) are left to the other featurizers
        assert sentence is not None and sentence.features.shape == (1, 384)
        vectors.append(sentence.features[0])
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) < 0.9  # different questions, different vectors


def test_messages_without_text_are_left_alone(trained: SentenceFeaturizer) -> None:
    message = Message({ACTION_NAME: "action_listen"})
    trained.process([message])
    assert message.features == []


def test_the_same_text_gets_the_same_vector_in_training_and_at_run_time(trained: SentenceFeaturizer) -> None:
    data = TrainingData([Message({TEXT: "is dupixent a shot", "intent": "ask_administration"})])
    trained.process_training_data(data)
    live = Message({TEXT: "is dupixent a shot"})
    trained.process([live])
    train_vector = data.training_examples[0].get_dense_features(TEXT)[1]
    live_vector = live.get_dense_features(TEXT)[1]
    assert train_vector is not None and live_vector is not None
    assert np.allclose(train_vector.features, live_vector.features, atol=1e-5)


def test_training_without_the_export_says_how_to_make_it(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path / "storage")
    featurizer = SentenceFeaturizer.create(_config(tmp_path / "none"), storage, Resource("f"), _context())
    with pytest.raises(InvalidConfigException, match="python -m bot.models export"):
        featurizer.train(TrainingData())


def test_the_export_directory_must_be_configured() -> None:
    with pytest.raises(InvalidConfigException, match="export_dir"):
        SentenceFeaturizer.validate_config({**SentenceFeaturizer.get_default_config(), "export_dir": ""})
