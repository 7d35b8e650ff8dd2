"""Small deterministic stand-ins shared by tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.conversation.aspects import Guess
from bot.conversation.reading import Reading
from bot.nlp.names import Mention, NameMatcher


class HashingEncoder:
    """Bag-of-words vectors (each word hashed to a dimension), L2-normalised; records the texts it encodes."""

    def __init__(self, dims: int = 384, version: str | None = None) -> None:
        self.dims = dims
        self.texts: list[str] = []
        if version is not None:
            self.version = version

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += texts
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9']+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dims] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


class CountingNames:
    """A NameMatcher that counts the texts it is asked about."""

    def __init__(self, names: NameMatcher) -> None:
        self.names = names
        self.calls: list[str] = []

    def find(self, text: str) -> list[Mention]:
        self.calls.append(text)
        return self.names.find(text)


@dataclass
class FixedScores:
    """An aspect reader that gives every message the same scores."""

    scores: dict[str, float]

    def guess(self, reading: Reading) -> Guess:
        best = max(self.scores, key=lambda k: self.scores[k])
        return Guess(best, self.scores[best], self.scores)
