"""The spaCy pipeline: blank English (trained pipelines are not available offline)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language


@lru_cache(maxsize=1)
def blank_nlp() -> Language:
    """A blank English spaCy pipeline, built once per process."""
    import spacy

    return spacy.blank("en")
