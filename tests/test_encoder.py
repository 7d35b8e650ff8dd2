"""The ONNX sentence encoder gives the reference (sentence-transformers) vectors, and is exported once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot import encoder

TEXTS = [
    "what are the side effects of methotrexate?",
    "hi",
    "",
    "my son has a fever on medicine and he has been throwing up all night, what should we do",
    "Émoji 😀 <script>alert(1)</script>",
    "word " * 400,  # past the model's 256-token limit: truncated the same way
]


@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory: pytest.TempPathFactory) -> encoder.OnnxEncoder:
    path = encoder.onnx_dir(tmp_path_factory.mktemp("cache"))
    encoder.export_onnx(path)
    return encoder.OnnxEncoder(path)


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(onnx_encoder: encoder.OnnxEncoder) -> None:
    reference = encoder.SentenceEncoder().encode(TEXTS)
    vectors = onnx_encoder.encode(TEXTS)
    assert vectors.shape == reference.shape == (len(TEXTS), 384)
    assert np.abs(vectors - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_a_batch_gives_the_same_vectors_as_one_text_at_a_time(onnx_encoder: encoder.OnnxEncoder) -> None:
    batch = onnx_encoder.encode(TEXTS)
    single = np.vstack([onnx_encoder.encode([t]) for t in TEXTS])
    assert np.abs(batch - single).max() < 1e-4
    assert onnx_encoder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_the_export_is_reused_and_named_by_the_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_CACHE_DIR", str(tmp_path))
    encoder.get_encoder.cache_clear()
    try:
        encoder.get_encoder()
        exported = [p for p in tmp_path.iterdir()]
        assert [p.name for p in exported] == [encoder.onnx_dir(tmp_path).name]
        assert sorted(p.name for p in exported[0].iterdir()) == [encoder.MODEL_FILE, encoder.TOKENIZER_FILE]
        stamp = (exported[0] / encoder.MODEL_FILE).stat().st_mtime_ns
        encoder.get_encoder.cache_clear()
        encoder.get_encoder()
        assert (exported[0] / encoder.MODEL_FILE).stat().st_mtime_ns == stamp  # not exported again
    finally:
        encoder.get_encoder.cache_clear()
