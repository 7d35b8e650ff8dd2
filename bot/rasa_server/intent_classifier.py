"""The Rasa intent classifier (config.yml names it): logistic regression on a sentence embedding and n-grams.

Why not DIET's own intent head: with a few dozen examples per intent, DIET (words and character n-grams of our
examples only) scored 0.89 weighted F1 in 5-fold cross-validation. A pretrained sentence embedding recognises
wordings the examples don't have ("can I talk to a nurse" ~ "real person please"), and replacing medicine names
by one word lets "what is asthma" and "what is Dupixent" differ by what matters: a medicine is named. It runs after
the entity extractor (config.yml) and reads its `drug` entities.

Features per message, with each medicine name replaced by MASK: the all-MiniLM-L6-v2 embedding (the ONNX export of
bot.encoder, carried in the trained model) weighted by EMBEDDING_WEIGHT, plus tf-idf of word 1-2-grams and
character 2-4-grams. The names masked are the `drug` entities: annotated in training, found by the entity
extractor that runs before this component at run time. The embedding of each message is handed on in the parse
data (EMBEDDING), so the action server need not encode the same masked text again.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.constants import NAME_MASK as MASK
from bot.encoder import MODEL_FILE, TOKENIZER_FILE, OnnxEncoder, pack_vector

EXPORT_DIR = "export_dir"
EMBEDDING_WEIGHT = 2.0  # the embedding's share against the n-grams (scikit-learn check: F1 0.955; 0.951 at 2.5 or 3)
CLASSIFIER_FILE = "classifier.joblib"
RANKING_LENGTH = 10
# Parse-data key of the embedding handed on to the action server, which uses it instead of encoding the same
# masked text again (bot/conversation/reading.py): {"encoder": export id, "text": encoded text, "vector": base64}.
EMBEDDING = "embedding"


def masked(message: Message) -> str:
    """The message's text with each `drug` entity replaced by MASK."""
    text = str(message.get(TEXT) or "")
    entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") == "drug"]
    for entity in sorted(entities, key=lambda e: -int(e[ENTITY_ATTRIBUTE_START])):
        text = text[: entity[ENTITY_ATTRIBUTE_START]] + MASK + text[entity[ENTITY_ATTRIBUTE_END] :]
    return text


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # C: inverse regularisation; 50 was best of 5/20/50/100 in cross-validation.
        return {EXPORT_DIR: "var/models/minilm", "C": 50.0}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not str(config.get(EXPORT_DIR) or "").strip():
            raise InvalidConfigException(f"{cls.__name__} needs '{EXPORT_DIR}' (the encoder's export directory)")

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """This code and the encoder export are inputs too: a change to either must retrain, not hit Rasa's cache."""
        digest = hashlib.sha256(Path(__file__).read_bytes())
        for name in (MODEL_FILE, TOKENIZER_FILE):
            path = Path(config.get(EXPORT_DIR) or "") / name
            digest.update(
                f"{name}:{path.stat().st_size}:{path.stat().st_mtime_ns}".encode() if path.is_file() else b"-"
            )
        return digest.hexdigest()

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers", "sklearn"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        encoder: OnnxEncoder | None = None,
        fitted: dict[str, Any] | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._encoder = encoder
        self._fitted = fitted

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceIntentClassifier:
        cls.validate_config(config)
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceIntentClassifier:
        # Everything is read into memory, so the storage directory may go away afterwards.
        with model_storage.read_from(resource) as directory:
            encoder = OnnxEncoder(Path(directory))
            fitted = joblib.load(Path(directory) / CLASSIFIER_FILE)
        return cls(config, model_storage, resource, encoder, fitted)

    def train(self, training_data: TrainingData) -> Resource:
        source = Path(self._config[EXPORT_DIR])
        missing = [name for name in (MODEL_FILE, TOKENIZER_FILE) if not (source / name).is_file()]
        if missing:
            raise InvalidConfigException(
                f"{type(self).__name__}: {', '.join(missing)} not found in '{source}'; "
                f"run `.venv/bin/python -m bot.encoder export {source}` (the Makefile does) before training"
            )
        examples = training_data.intent_examples
        if len({m.get(INTENT) for m in examples}) < 2:
            raise InvalidConfigException(f"{type(self).__name__} needs examples of at least two intents")
        self._encoder = OnnxEncoder(source)
        texts = [masked(m) for m in examples]
        self._fitted = {
            "words": TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts),
            "chars": TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(texts),
        }
        model = LogisticRegression(C=float(self._config["C"]), max_iter=5000)
        features = self._features(texts, self._encoder.encode(texts))
        self._fitted["model"] = model.fit(features, [m.get(INTENT) for m in examples])
        with self._model_storage.write_to(self._resource) as directory:
            for name in (MODEL_FILE, TOKENIZER_FILE):
                shutil.copyfile(source / name, Path(directory) / name)
            joblib.dump(self._fitted, Path(directory) / CLASSIFIER_FILE)
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self._fitted is None:
            raise RuntimeError(f"{type(self).__name__} was not trained or loaded")
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return messages
        assert self._encoder is not None
        model: LogisticRegression = self._fitted["model"]
        texts = [masked(m) for m in with_text]
        vectors = self._encoder.encode(texts)
        probabilities = model.predict_proba(self._features(texts, vectors))
        for message, text, vector, row in zip(with_text, texts, vectors, probabilities, strict=True):
            order = np.argsort(-row)[:RANKING_LENGTH]
            ranking = [
                {INTENT_NAME_KEY: str(model.classes_[i]), PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            embedding = {"encoder": self._encoder.version, "text": text, "vector": pack_vector(vector)}
            message.set(EMBEDDING, embedding, add_to_output=True)
        return messages

    def _features(self, texts: list[str], vectors: np.ndarray) -> csr_matrix:
        assert self._fitted is not None
        embedding = csr_matrix(vectors * EMBEDDING_WEIGHT)
        words, chars = self._fitted["words"].transform(texts), self._fitted["chars"].transform(texts)
        return hstack([embedding, words, chars]).tocsr()
