"""One reading of a user message per turn: the medicines it names, its wording, its topics and its vectors.

The assistant reads a message once and hands the reading to the safety screen and to the answer steps, so names
are matched once per turn and each distinct text is encoded at most once. The masked text is usually not encoded
here at all: the Rasa server's intent classifier encoded it already and sends the vector in the parse data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.constants import NAME_MASK as MASK
from bot.conversation.types import Mention, NameFinder
from bot.conversation.understanding import topics_in_text
from bot.encoder import Encoder, unpack_vector

log = logging.getLogger(__name__)

# The word that replaces a covered medicine's name; the Rasa intent classifier masks with the same word.
UNKNOWN = "unknown:"


@dataclass(frozen=True)
class Embedding:
    """A sentence vector computed by another process: by which encoder export, of exactly which text."""

    encoder: str
    text: str
    vector: np.ndarray

    @classmethod
    def from_parse_data(cls, data: Any) -> Embedding | None:
        """The ``embedding`` entry of Rasa's parse data; None when it is absent or malformed."""
        if not isinstance(data, Mapping):
            return None
        try:
            return cls(str(data["encoder"]), str(data["text"]), unpack_vector(str(data["vector"])))
        except (KeyError, ValueError) as exc:  # a bad base64 string is a ValueError too
            log.warning("ignoring a malformed embedding in the parse data: %s", exc)
            return None


class Vectors:
    """One turn's sentence vectors by encoder and exact text, each encoded at most once. A given embedding stands
    in for the encoder's own vector when it comes from the same export and is of the identical text."""

    def __init__(self, given: Embedding | None = None) -> None:
        self._given = given
        self._vectors: dict[tuple[Encoder, str], np.ndarray] = {}

    def get(self, encoder: Encoder, text: str) -> np.ndarray:
        key = (encoder, text)
        if key not in self._vectors:
            given = self._given
            if given is not None and given.text == text and given.encoder == getattr(encoder, "version", None):
                self._vectors[key] = given.vector
            else:
                self._vectors[key] = np.asarray(encoder.encode([text])[0], dtype=np.float32)
        return self._vectors[key]


@dataclass(frozen=True)
class Reading:
    text: str  # the message as read (the assistant collapses whitespace first)
    mentions: tuple[Mention, ...]  # medicines named, in order; ``unknown:<name>`` ids for ones the KB lacks
    masked: str  # covered medicines' names replaced by MASK: what the encoders see
    wording: str  # every medicine name removed, so "JAK pills" is not read as a topic word
    topics: tuple[str, ...]  # topics the wording names, in order
    vectors: Vectors

    @property
    def known(self) -> list[str]:
        """Distinct ids of the covered medicines named, in order of first mention."""
        return list(dict.fromkeys(m.drug_id for m in self.mentions if not m.drug_id.startswith(UNKNOWN)))

    @property
    def unknown(self) -> list[Mention]:
        return [m for m in self.mentions if m.drug_id.startswith(UNKNOWN)]


def read(text: str, names: NameFinder | None, embedding: Embedding | None = None) -> Reading:
    """Read a message once; without a name finder (button payloads) no medicine is looked for."""
    mentions = tuple(names.find(text)) if names is not None else ()
    wording = text
    for mention in mentions:
        wording = wording.replace(mention.surface, " ")
    wording = " ".join(wording.split())
    return Reading(
        text, mentions, mask_names(text, mentions), wording, tuple(topics_in_text(wording)), Vectors(embedding)
    )


def mask_names(text: str, mentions: Sequence[Mention]) -> str:
    """The text with each covered medicine's name replaced by MASK."""
    for mention in reversed([m for m in mentions if not m.drug_id.startswith(UNKNOWN)]):
        text = f"{text[: mention.start_char]}{MASK}{text[mention.end_char :]}"
    return text
