"""The ONNX sentence encoder gives the reference (sentence-transformers) vectors, and is exported once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot import models

TEXTS = [
    "what are the side effects of methotrexate?",
    "hi",
    "",
    "my son has a fever on medicine and he has been throwing up all night, what should we do",
    "Émoji 😀 <script>alert(1)</script>",
    "word " * 400,  # past the model's 256-token limit: truncated the same way
]


@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory: pytest.TempPathFactory) -> models.OnnxEncoder:
    path = models.onnx_dir(tmp_path_factory.mktemp("cache"))
    models.export_onnx(path)
    return models.OnnxEncoder(path)


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(onnx_encoder: models.OnnxEncoder) -> None:
    reference = models.SentenceEncoder().encode(TEXTS)
    vectors = onnx_encoder.encode(TEXTS)
    assert vectors.shape == reference.shape == (len(TEXTS), 384)
    assert np.abs(vectors - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_a_batch_gives_the_same_vectors_as_one_text_at_a_time(onnx_encoder: models.OnnxEncoder) -> None:
    batch = onnx_encoder.encode(TEXTS)
    single = np.vstack([onnx_encoder.encode([t]) for t in TEXTS])
    assert np.abs(batch - single).max() < 1e-4
    assert onnx_encoder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_the_export_is_reused_and_named_by_the_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_CACHE_DIR", str(tmp_path))
    models.get_encoder.cache_clear()
    try:
        models.get_encoder()
        exported = [p for p in tmp_path.iterdir()]
        assert [p.name for p in exported] == [models.onnx_dir(tmp_path).name]
        assert sorted(p.name for p in exported[0].iterdir()) == [models.MODEL_FILE, models.TOKENIZER_FILE]
        stamp = (exported[0] / models.MODEL_FILE).stat().st_mtime_ns
        models.get_encoder.cache_clear()
        models.get_encoder()
        assert (exported[0] / models.MODEL_FILE).stat().st_mtime_ns == stamp  # not exported again
    finally:
        models.get_encoder.cache_clear()
