"""Semantic retrieval over knowledge-base facts and their paraphrases.

Embeddings are cached on disk keyed by a hash of each embedded text, so a changed fact re-embeds only itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.encoder import Encoder
from bot.knowledge.loader import FactRef, KnowledgeBase

if TYPE_CHECKING:
    from bot.conversation.reading import Vectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    ref: FactRef
    score: float


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """A text -> vector cache in one .npz file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            try:
                with np.load(path) as data:
                    self._vectors = {k: data[k] for k in data.files}
            except (OSError, ValueError) as exc:  # a broken cache is rebuilt, never fatal
                log.warning("ignoring unreadable embedding cache %s: %s", path, exc)

    def embed(self, encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
        keys = [_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=False) if k not in self._vectors}.items())
        if missing:
            vectors = encoder.encode([t for _, t in missing])
            for (k, _), v in zip(missing, vectors, strict=False):
                self._vectors[k] = np.asarray(v, dtype=np.float32)
            self._save(set(keys))
        return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)

    def _save(self, keep: set[str]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, **{k: v for k, v in self._vectors.items() if k in keep})  # type: ignore[arg-type]
        tmp.replace(self.path)


def rank(query: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Cosine scores of one normalised query against normalised rows."""
    if matrix.size == 0:
        return np.zeros(0, dtype=np.float32)
    return matrix @ query


class Retriever:
    """Finds the facts closest in meaning to a question, optionally within given medicines."""

    def __init__(self, kb: KnowledgeBase, encoder: Encoder, cache_path: Path | None = None) -> None:
        self.kb = kb
        self.encoder = encoder
        self.cache = EmbeddingCache(cache_path)
        self._owners: list[FactRef] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)

    def warm_up(self) -> None:
        texts: list[str] = []
        owners: list[FactRef] = []
        for ref in self.kb.facts():
            for text in (ref.fact.text, *ref.fact.paraphrases):
                texts.append(text)
                owners.append(ref)
        self._matrix = self.cache.embed(self.encoder, texts)
        self._owners = owners

    def search(
        self, question: str, drugs: Sequence[str] = (), top_k: int = 3, vectors: Vectors | None = None
    ) -> list[Hit]:
        """Best facts for the question, one hit per fact, highest score first. ``vectors`` (the turn's) encodes
        each question once per turn."""
        if not self._owners:
            self.warm_up()
        query = vectors.get(self.encoder, question) if vectors is not None else self.encoder.encode([question])[0]
        scores = rank(query, self._matrix)
        best: dict[str, Hit] = {}
        for ref, score in zip(self._owners, scores, strict=False):
            if drugs and ref.drug.id not in drugs:
                continue
            if ref.key not in best or score > best[ref.key].score:
                best[ref.key] = Hit(ref, float(score))
        return sorted(best.values(), key=lambda h: h.score, reverse=True)[:top_k]
