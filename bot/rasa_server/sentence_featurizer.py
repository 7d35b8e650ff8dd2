"""A Rasa featurizer that adds the all-MiniLM-L6-v2 sentence embedding of each message (config.yml names it).

The intent classifier's other features are words and character n-grams of our own examples; a pretrained
sentence embedding lets it recognise wordings it has not seen (a parent's phrasing of "can I talk to a nurse").
Only sentence-level features are added; the token-level features (and so the `drug` entity) stay as they were.

The encoder is the ONNX export of bot.models (`python -m bot.models export DIR`, run by the Makefile before
training). Training copies it into the trained model, so a model archive carries its own encoder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.models import MODEL_FILE, TOKENIZER_FILE, OnnxEncoder

EXPORT_DIR = "export_dir"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), EXPORT_DIR: "var/models/minilm"}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not str(config.get(EXPORT_DIR) or "").strip():
            raise InvalidConfigException(f"{cls.__name__} needs '{EXPORT_DIR}' (the encoder's export directory)")

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers"]

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
        encoder: OnnxEncoder | None = None,
    ) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._encoder = encoder

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceFeaturizer:
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceFeaturizer:
        # The session and tokenizer are read into memory, so the storage directory may go away afterwards.
        with model_storage.read_from(resource) as directory:
            encoder = OnnxEncoder(Path(directory))
        return cls(config, execution_context.node_name, model_storage, resource, encoder)

    def train(self, training_data: TrainingData) -> Resource:
        source = Path(self._config[EXPORT_DIR])
        missing = [name for name in (MODEL_FILE, TOKENIZER_FILE) if not (source / name).is_file()]
        if missing:
            raise InvalidConfigException(
                f"{type(self).__name__}: {', '.join(missing)} not found in '{source}'; "
                f"run `.venv/bin/python -m bot.models export {source}` (the Makefile does) before training"
            )
        with self._model_storage.write_to(self._resource) as directory:
            for name in (MODEL_FILE, TOKENIZER_FILE):
                shutil.copyfile(source / name, Path(directory) / name)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        if self._encoder is None:
            raise RuntimeError(f"{type(self).__name__} was not trained or loaded")
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return messages
        vectors = self._encoder.encode([m.get(TEXT) for m in with_text])
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)
        return messages
